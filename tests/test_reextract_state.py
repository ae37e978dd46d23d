"""``reextract`` keeps the crawl state's article hashes in step with the corpus.

A re-extraction that changes an article's text changes its ``content_sha256``; the next
captured edit of the article chains on the state's hash (``previous_sha256``), so the
state must hold the re-extracted one, or the edit points at a hash no record has.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest

from archive.corpus.records import read
from archive.state.base import default_state_path
from archive.store.base import LocalStore
from tests.conftest import crawl, run_cli
from tests.sites import late
from tests.sites.generated import serve_table

TABLE = ("<table><tr><td>Berth fees at the north pier rose by four per cent this week, "
         "the harbour board said in its notice to skippers.</td></tr></table>")


@pytest.mark.slow
def test_an_edit_after_reextract_chains_on_the_reextracted_hash(tmp_path):
    soon = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0).isoformat()
    table = late.pages(soon)
    edited = late.articles(soon)[0]  # published "soon": re-checked by the next crawl
    table[edited.path] = table[edited.path].replace('<div class="story">',
                                                    f'<div class="story">{TABLE}', 1)
    store = tmp_path / "store"
    with serve_table(table, vary=True) as base:
        outlet_file = late.write_outlet(base, tmp_path, "early")
        first = crawl(outlet_file, store, "--recheck", "3s")
        assert first.returncode == 0, first.stderr[-3000:]
        crawled = {r["url"]: r for r in read(LocalStore(str(store)))}
        url = base + edited.path
        assert "Berth fees" in crawled[url]["text"]

        done = run_cli("reextract", "--store", str(store), "--outlet", str(outlet_file),
                       "--workers", "1", "--option", "include_tables=false")
        assert done.returncode == 0, done.stderr[-3000:]
        reextracted = {r["url"]: r for r in read(LocalStore(str(store)))}
        assert "Berth fees" not in reextracted[url]["text"]
        new_sha = reextracted[url]["content_sha256"]
        assert new_sha != crawled[url]["content_sha256"]
        db = sqlite3.connect(default_state_path(store))
        try:  # every article row and source pair holds the winning record's hash
            rows = dict(db.execute("SELECT url, content_sha256 FROM articles"))
            pairs = dict(db.execute("SELECT content_sha256, source_sha256 FROM source_hashes"))
        finally:
            db.close()
        for record in reextracted.values():
            assert rows[record["url"]] == record["content_sha256"], record["url"]
            assert record["content_sha256"] in pairs, record["url"]

        first_paragraph = edited.paragraphs[1]
        table[edited.path] = table[edited.path].replace(
            first_paragraph, first_paragraph + " The board later corrected the figure.", 1)
        time.sleep(3.5)  # the re-checks of the pages published "soon" fall due
        second = crawl(outlet_file, store, "--recheck", "3s")
        assert second.returncode == 0, second.stderr[-3000:]
    versions = [r for r in read(LocalStore(str(store)), all_versions=True) if r["url"] == url]
    latest = max(versions, key=lambda r: r["version"])
    assert latest["version"] == 2 and "corrected the figure" in latest["text"]
    assert latest["previous_sha256"] == new_sha
    assert second.reports[0]["new_versions"] == 1, second.reports[0]
