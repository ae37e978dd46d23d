"""Finding outlets: a registered name (spiders/outlets/NAME.yaml) or a path to a YAML file.

The resolver itself is archive/outlet/registry.py; this module only binds the registry
directory that ships with the spiders package, so the CLI and the spiders resolve a name
the same way.
"""

from __future__ import annotations

from pathlib import Path

from archive.outlet import registry
from archive.outlet.config import OutletConfig
from spiders import OUTLETS_DIR  # the data directory only; spiders/__init__ imports none

OUTLET_DIRS: tuple[Path, ...] = (OUTLETS_DIR,)


def registered_outlets() -> dict[str, Path]:
    """Registered outlet names and their files, sorted by name."""
    return registry.registered_outlets(OUTLET_DIRS)


def resolve_outlet(outlet: OutletConfig | str | Path) -> OutletConfig:
    """An OutletConfig from itself, a registered outlet name, or an outlet file's path."""
    return registry.resolve_outlet(outlet, OUTLET_DIRS)
