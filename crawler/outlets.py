"""Finding outlets: a registered name (spiders/outlets/NAME.yaml) or a path to a YAML file.

The resolver itself is archive/outlet/registry.py; this module only binds the registry
directory that ships with the spiders package, so the CLI and the spiders resolve a name
the same way.
"""

from __future__ import annotations

from pathlib import Path

from archive.outlet import registry
from archive.outlet.config import OutletConfig


def outlet_dirs() -> tuple[Path, ...]:
    """The registry directories: the outlet files shipped in spiders/outlets/.

    Imported on call, not at module level: imports run spiders -> crawler, and
    spiders/__init__ is only the data directory's location (no Scrapy, no cycle).
    """
    from spiders import OUTLETS_DIR

    return (OUTLETS_DIR,)


def registered_outlets() -> dict[str, Path]:
    """Registered outlet names and their files, sorted by name."""
    return registry.registered_outlets(outlet_dirs())


def resolve_outlet(outlet: OutletConfig | str | Path) -> OutletConfig:
    """An OutletConfig from itself, a registered outlet name, or an outlet file's path."""
    return registry.resolve_outlet(outlet, outlet_dirs())
