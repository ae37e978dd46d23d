"""The house rules of the code base, checked on the source (README: Architecture).

archive/ is one subpackage per stage of the data flow; a stage imports only itself and
earlier stages, so the flow reads from ``ls archive`` and no import circle can form between
stages.  archive/ never imports Scrapy, Twisted, crawler/ or spiders/; imports run
spiders -> crawler -> archive.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# earliest first: a stage may import the stages before it, never those after it
STAGES = ["store", "outlet", "discover", "extract", "warc", "runs", "corpus", "state", "replay"]
FORBIDDEN_IN_ARCHIVE = ("scrapy", "twisted", "scrapy_redis", "crawler", "spiders")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement in ``path`` names (function-level imports too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # ``from archive import store`` names the subpackage in the alias
            if node.module == "archive":
                found.extend((node.lineno, f"archive.{a.name}") for a in node.names)
    return found


def python_files(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "archive" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in STAGES else None


def test_every_archive_module_belongs_to_a_stage():
    loose = [p.relative_to(ROOT).as_posix() for p in python_files("archive")
             if p.parent == ROOT / "archive" and p.name != "__init__.py"]
    assert loose == [], f"modules outside a stage subpackage: {loose}"
    folders = sorted(p.name for p in (ROOT / "archive").iterdir()
                     if (p / "__init__.py").is_file())
    assert folders == sorted(STAGES)


def test_archive_never_imports_scrapy_crawler_or_spiders():
    offences = []
    for path in python_files("archive"):
        for line, module in imported_modules(path):
            if module.split(".")[0] in FORBIDDEN_IN_ARCHIVE:
                offences.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offences == []


def test_stages_import_only_earlier_stages():
    offences = []
    for path in python_files("archive"):
        rel = path.relative_to(ROOT / "archive").parts
        if len(rel) == 1:  # archive/__init__.py: the public API may use every stage
            continue
        own = STAGES.index(rel[0])
        for line, module in imported_modules(path):
            stage = stage_of(module)
            if stage is not None and STAGES.index(stage) > own:
                offences.append(f"archive/{'/'.join(rel)}:{line} ({rel[0]}) imports "
                                f"{module} ({stage}, a later stage)")
    assert offences == []


@pytest.mark.parametrize("package,forbidden", [("crawler", "spiders")])
def test_crawler_never_imports_spiders_at_module_level(package, forbidden):
    offences = []
    for path in python_files(package):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only: commands may load spider classes lazily
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == forbidden:
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offences == []


# "a file over ~400 lines is usually two files": a few sit just above 400 by a docstring or
# two; nothing may grow past this ceiling without being split
MAX_MODULE_LINES = 450


def test_no_module_is_two_modules():
    too_long = []
    for package in ("archive", "crawler", "spiders"):
        for path in python_files(package):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_MODULE_LINES:
                too_long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert too_long == []
