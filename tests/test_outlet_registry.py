"""The outlet registry (archive/outlet/registry.py): one search order for every caller."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive.outlet.config import OutletConfigError, load_outlet
from archive.outlet.registry import registered_outlets, resolve_outlet
from crawler import outlets
from spiders import OUTLETS_DIR


def write_outlet(directory: Path, file_stem: str, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{file_stem}.yaml"
    path.write_text(f"name: {name}\nstart_urls: [https://news.example.org/]\n"
                    "article_urls: ['/story/']\n", encoding="utf-8")
    return path


def test_names_are_file_stems_and_the_first_directory_wins(tmp_path: Path):
    local, shipped = tmp_path / "local", tmp_path / "shipped"
    write_outlet(shipped, "gazette", "gazette")
    write_outlet(shipped, "courier", "courier")
    override = write_outlet(local, "gazette", "gazette-local")
    found = registered_outlets([local, shipped])
    assert list(found) == ["courier", "gazette"]
    assert found["gazette"] == override
    assert resolve_outlet("gazette", [local, shipped]).name == "gazette-local"


def test_a_registered_name_wins_over_a_same_named_path(tmp_path: Path, monkeypatch):
    registry = tmp_path / "registry"
    write_outlet(registry, "gazette", "gazette")
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "gazette").mkdir()  # a directory named like the outlet in the working dir
    monkeypatch.chdir(workdir)
    assert resolve_outlet("gazette", [registry]).name == "gazette"


def test_paths_configs_and_unknown_names(tmp_path: Path):
    registry = tmp_path / "registry"
    write_outlet(registry, "gazette", "gazette")
    elsewhere = write_outlet(tmp_path / "elsewhere", "other", "other")
    assert resolve_outlet(str(elsewhere), [registry]).name == "other"
    assert resolve_outlet(elsewhere, [registry]).name == "other"  # a Path is always a path
    config = load_outlet(elsewhere)
    assert resolve_outlet(config, [registry]) is config
    with pytest.raises(OutletConfigError, match="unknown outlet 'nope'.*gazette"):
        resolve_outlet("nope", [registry])
    with pytest.raises(OutletConfigError, match="no such outlet file"):
        resolve_outlet(str(tmp_path / "missing.yaml"), [registry])


def test_crawler_binds_the_shipped_outlets():
    assert outlets.outlet_dirs() == (OUTLETS_DIR,)
    assert outlets.registered_outlets()["rudaw"] == OUTLETS_DIR / "rudaw.yaml"
    assert outlets.resolve_outlet("rudaw").name == "rudaw"
