"""Clearing a state forgets everything an outlet owns, template side included.

The template pass keeps three things with an outlet's crawl state besides its articles
(``archive.state.templates``, ``archive.state.source_hashes``): its template stores (one
per edition language), the marks of records still waiting for a settled store, and the
source-hash pairs of its articles.  ``clear``/``clear_outlet`` must empty them too, or a
``state rebuild --only OUTLET`` keeps stale marks, stores and pairs a full rebuild would
not have.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive.extract.templates import TemplateStore
from archive.state import open_state
from archive.state.base import default_state_path
from archive.state.source_hashes import remember_sources, source_of
from archive.state.templates import (
    load_templates,
    mark_unsettled,
    replace_templates,
    unsettled_records,
)
from tests.conftest import crawl, run_cli
from tests.sites import late
from tests.sites.generated import serve_table

SHA, SRC = "a" * 64, "b" * 64
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def a_store() -> TemplateStore:
    store = TemplateStore()
    for number in range(3):
        store.learn(f"page-{number}", ["box", f"own-{number}"], "news", "2026-05-01")
    return store


def fill(state, outlet: str) -> None:
    """An article, two edition stores, a mark per edition and a source-hash pair."""
    state.record_article(outlet, "k1", f"https://{outlet}.test/1", SHA, 1, NOW)
    for language in ("eng", "fra"):
        replace_templates(state, f"{outlet}/{language}", a_store())
        mark_unsettled(state, f"{outlet}/{language}", [(f"{outlet}-1", 1)])
    remember_sources(state, outlet, [("k1", SHA, SRC)])


def owned(state, outlet: str) -> dict:
    """What the state holds for ``outlet`` (empty values when it holds nothing)."""
    return {"articles": state.count_articles(outlet),
            "stores": [load_templates(state, f"{outlet}/{lang}").pages
                       for lang in ("eng", "fra")],
            "marks": [unsettled_records(state, f"{outlet}/{lang}") for lang in ("eng", "fra")],
            "source": source_of(state, outlet, "k1", SHA)}


NOTHING = {"articles": 0, "stores": [0, 0], "marks": [[], []], "source": None}


@pytest.fixture(params=["sqlite", "redis"])
def state(request, tmp_path):
    if request.param == "sqlite":
        opened = open_state(tmp_path / "state.sqlite3")
    else:
        url = request.getfixturevalue("redis_url")
        opened = open_state(f"{url}?prefix=tplclear-{uuid.uuid4().hex[:10]}")
    yield opened
    opened.clear()
    opened.close()


def test_clear_outlet_forgets_its_templates_marks_and_source_hashes(state):
    for outlet in ("quay", "pier"):
        fill(state, outlet)
    held = owned(state, "pier")
    assert held == {"articles": 1, "stores": [3, 3], "marks": [[("pier-1", 1)]] * 2,
                    "source": SRC}
    state.clear_outlet("quay")
    assert owned(state, "quay") == NOTHING
    assert owned(state, "pier") == held  # another outlet keeps everything


def test_clear_forgets_every_outlets_templates_marks_and_source_hashes(state):
    for outlet in ("quay", "pier"):
        fill(state, outlet)
    state.clear()
    assert owned(state, "quay") == owned(state, "pier") == NOTHING


# ---- state rebuild --only --------------------------------------------------------------

_TABLES = {"extract_templates": "SELECT outlet, data FROM extract_templates",
           "extract_template_unsettled": "SELECT outlet, id, version FROM "
                                         "extract_template_unsettled",
           "source_hashes": "SELECT outlet, key, content_sha256, source_sha256 FROM "
                            "source_hashes",
           "articles": "SELECT o.name, a.key, a.version, a.content_sha256 FROM articles a "
                       "JOIN outlets o ON o.id = a.outlet_id"}


def tables(path: Path) -> dict[str, list[tuple]]:
    db = sqlite3.connect(path)
    try:
        found = {name: sorted(db.execute(sql)) for name, sql in _TABLES.items()}
    finally:
        db.close()
    # a store's JSON lists fingerprints in learning order: compare what it says
    found["extract_templates"] = [(name, json.loads(data))
                                  for name, data in found["extract_templates"]]
    return found


@pytest.mark.slow
def test_rebuild_only_an_outlet_gives_the_tables_of_a_full_rebuild(tmp_path):
    soon = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0).isoformat()
    store = tmp_path / "store"
    with serve_table(late.pages(soon), vary=True) as base:
        outlet_file = late.write_outlet(base, tmp_path, "box-last")
        result = crawl(outlet_file, store)
    assert result.returncode == 0, result.stderr[-3000:]
    crawled = default_state_path(store)
    before = tables(crawled)
    assert before["extract_templates"] and before["source_hashes"]
    assert len(before["extract_template_unsettled"]) == late.ARTICLES  # a young store

    full = tmp_path / "full.sqlite3"
    done = run_cli("state", "rebuild", "--store", str(store), "--outlet", str(outlet_file),
                   "--state", str(full))
    assert done.returncode == 0, done.stderr[-3000:]

    only = tmp_path / "only.sqlite3"
    shutil.copy(crawled, only)
    with open_state(only) as state:  # stale facts of quay no corpus record backs, and pier's
        replace_templates(state, "quay/fra", a_store())
        mark_unsettled(state, "quay/eng", [("quay-lost", 1)])
        remember_sources(state, "quay", [("lost", SHA, SRC)])
        fill(state, "pier")
    done = run_cli("state", "rebuild", "--store", str(store), "--outlet", str(outlet_file),
                   "--only", "--state", str(only))
    assert done.returncode == 0, done.stderr[-3000:]
    rebuilt, reference = tables(only), tables(full)
    for name, rows in rebuilt.items():
        assert [r for r in rows if not r[0].startswith("pier")] == reference[name], name
    with open_state(only) as state:
        assert owned(state, "pier")["marks"] == [[("pier-1", 1)]] * 2  # not touched
