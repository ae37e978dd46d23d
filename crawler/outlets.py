"""Finding outlets: a registered name (spiders/outlets/NAME.yaml) or a path to a YAML file."""

from __future__ import annotations

from pathlib import Path

from archive.outlet.config import OutletConfig, OutletConfigError, load_outlet
from spiders import OUTLETS_DIR


def registered_outlets() -> dict[str, Path]:
    """Registered outlet names and their files, sorted by name."""
    return {p.stem: p for p in sorted(OUTLETS_DIR.glob("*.yaml"))}


def resolve_outlet(name_or_path: str) -> OutletConfig:
    """Load a registered outlet by name, or an outlet file by path."""
    registered = registered_outlets()
    if name_or_path in registered:
        return load_outlet(registered[name_or_path])
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        return load_outlet(candidate)
    names = ", ".join(registered) or "(none)"
    raise OutletConfigError(
        f"unknown outlet {name_or_path!r}: registered outlets are {names}; "
        "or give the path to an outlet YAML file (see README: Adding an outlet)"
    )
