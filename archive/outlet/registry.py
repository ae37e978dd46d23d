"""The outlet registry: an outlet's name is the stem of a YAML file in a registry directory.

One resolver for every entry point (the CLI, ``scrapy crawl news -a outlet=...``, state and
re-extraction commands), so a name means the same outlet everywhere.  It lives in archive/
and takes the directories as a parameter because the registered files ship with the
spiders package, which archive/ must not import; crawler/outlets.py binds the directories.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from archive.outlet.config import OutletConfig, OutletConfigError, load_outlet

OUTLET_SUFFIXES = (".yaml", ".yml")


def registered_outlets(dirs: Iterable[Path]) -> dict[str, Path]:
    """Registered outlet names and their files, sorted by name.

    When two directories hold the same name, the earlier directory wins: a caller can put
    a local directory in front of the shipped one to override an outlet.
    """
    found: dict[str, Path] = {}
    for directory in dirs:
        for path in sorted(Path(directory).glob("*.yaml")):
            found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def resolve_outlet(outlet: OutletConfig | str | Path, dirs: Iterable[Path]) -> OutletConfig:
    """An OutletConfig from itself, a registered name, or the path of an outlet YAML file.

    A registered name wins over a same-named file in the working directory: a bare name is
    what an operator types for a registered outlet, a path has a suffix or a slash.
    Anything else is an OutletConfigError that lists the registered names.
    """
    if isinstance(outlet, OutletConfig):
        return outlet
    registered = registered_outlets(dirs)
    if isinstance(outlet, str) and outlet in registered:
        return load_outlet(registered[outlet])
    candidate = Path(outlet)
    if isinstance(outlet, Path) or candidate.suffix in OUTLET_SUFFIXES or candidate.exists():
        return load_outlet(candidate)
    names = ", ".join(registered) or "(none)"
    raise OutletConfigError(
        f"unknown outlet {str(outlet)!r}: registered outlets are {names}; "
        "or give the path to an outlet YAML file (see README: Adding an outlet)"
    )
