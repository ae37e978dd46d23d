"""The template store's page-id set: exact membership at 8 bytes a page (issue 19)."""

from __future__ import annotations

import json
import sys

from archive.extract import pageids
from archive.extract.pageids import PageIds
from archive.extract.templates import TemplateStore


def test_membership_survives_merges_and_round_trip(monkeypatch):
    monkeypatch.setattr(pageids, "RECENT_LIMIT", 7)  # many merges of the recent set
    ids = PageIds()
    added = [f"outlet:article/{n}" for n in range(0, 500, 3)]
    for page_id in added:
        ids.add(page_id)
        ids.add(page_id)  # twice: still one page
    assert len(ids) == len(added)
    assert all(page_id in ids for page_id in added)
    assert not any(f"outlet:article/{n}" in ids for n in range(1, 500, 3))
    again = PageIds.from_text(ids.to_text())
    assert len(again) == len(added) and all(page_id in again for page_id in added)
    assert "outlet:article/1" not in again


def test_cost_is_eight_bytes_a_page():
    ids = PageIds.from_ids(f"rudaw:eng/{n}" for n in range(50_000))
    assert len(ids) == 50_000
    assert sys.getsizeof(ids._sorted) < 8 * 50_000 + 1024
    assert len(ids.to_text()) < 50_000 * 8 * 4 / 3 + 8  # base64 of the packed digests


def test_keep_half_forgets_half():
    ids = PageIds.from_ids(str(n) for n in range(1000))
    ids.keep_half()
    assert len(ids) == 500
    assert sum(str(n) in ids for n in range(1000)) == 500


def test_store_saved_with_an_id_list_still_loads():
    """A template store persisted before the digests (a JSON list of ids) keeps its pages:
    none is learnt twice after the upgrade."""
    old = {"pages": 2, "page_ids": ["harbour:a/1", "harbour:a/2"], "seen": {}}
    store = TemplateStore.from_dict(json.loads(json.dumps(old)))
    assert "harbour:a/1" in store.page_ids and len(store.page_ids) == 2
    assert not store.learn("harbour:a/1", ["f1"], "news", "2026-01-01")
    assert store.learn("harbour:a/3", ["f1"], "news", "2026-01-01")
    saved = store.to_dict()
    assert "page_ids" not in saved
    assert len(TemplateStore.from_dict(saved).page_ids) == 3
