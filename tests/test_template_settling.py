"""Template cleaning that does not depend on fetch order (issue 12's cold start).

An outlet whose newsletter box is only recognisable as furniture once the store has seen
more than ``WARM_PAGES`` pages (``tests/sites/late.py``): the records a young store let
through dirty are cleaned again at the end of the run, and those of an earlier run at the
end of the next; change detection compares the text before template removal, so a
template learnt since a version was written never makes an unchanged page a new version.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive.corpus.records import read
from archive.corpus.templating import (
    SETTLED_PAGES,
    WARM_PAGES,
    TemplatePass,
    source_sha256,
)
from archive.extract.article import build_record_and_fingerprints, content_sha256
from archive.extract.templates import TemplateStore, learn_record
from archive.outlet.config import outlet_from_mapping
from archive.state.base import default_state_path
from archive.state.sqlite import SQLiteState
from archive.state.templates import (
    StateTemplates,
    load_templates,
    mark_unsettled,
    save_templates,
    unsettled_records,
)
from archive.store.base import LocalStore
from tests.conftest import crawl
from tests.sites import late
from tests.sites.generated import serve_table

OUTLET = outlet_from_mapping({"name": "quay", "start_urls": ["http://quay.example.org/"],
                              "article_urls": ["/9"]})
SOON = "2026-06-01T08:00:00+00:00"


def made(numbers=None) -> list[tuple[dict, list, late.LateArticle]]:
    pages = late.pages(SOON)
    items = late.articles(SOON)
    out = []
    for article in (items if numbers is None else [items[n] for n in numbers]):
        record, fingerprints = build_record_and_fingerprints(
            {"url": f"http://quay.example.org{article.path}",
             "body": pages[article.path].encode(), "status": 200}, OUTLET, "run1")
        out.append((record, fingerprints, article))
    return out


def in_order(order: str) -> list[tuple[dict, list, late.LateArticle]]:
    records = made()
    boxed = [r for r in records if r[2].boxed]
    plain = [r for r in records if not r[2].boxed]
    return boxed + plain if order == "box-first" else plain + boxed


def run_pass(stage: TemplatePass, records) -> tuple[dict[str, dict], int]:
    """Feed a run's records: what it wrote by id (a record written again replaces the
    first), and how many were dirty before the end-of-run cleaning."""
    written: dict[str, dict] = {}
    for record, fingerprints, article in records:
        for done, _ in stage.accept(record, fingerprints, article):
            written[done["id"]] = done
            stage.written(done)
    for done, _ in stage.finish():
        written[done["id"]] = done
        stage.written(done)
    dirty = sum(late.BOX in r["text"] for r in written.values())
    for done, _ in stage.reclean():
        written[done["id"]] = done
    return written, dirty


def test_a_late_template_cleans_every_record_whatever_the_fetch_order():
    texts = {}
    assert late.ARTICLES > WARM_PAGES and late.ARTICLES < SETTLED_PAGES
    for order in late.ORDERS:
        written, dirty = run_pass(TemplatePass(OUTLET), in_order(order))
        if order == "box-last":  # the box became template only after most box pages
            assert dirty > 0
        assert len(written) == late.ARTICLES
        assert not [r["id"] for r in written.values() if late.BOX in r["text"]], order
        by_path = {a.path: a for _, _, a in made()}
        for record in written.values():
            article = by_path[record["url"].split("quay.example.org", 1)[1]]
            assert record["text"].split("\n\n") == article.paragraphs
            options = record["extractor"]["options"]
            if article.boxed:  # the hash before removal is the hash of the full page text
                full = "\n\n".join([*article.paragraphs[:2], late.BOX,
                                    *article.paragraphs[2:]])
                assert source_sha256(record) == content_sha256(record["title"], full)
                assert options["removed_paragraphs"] == [[2, late.BOX]]
            assert record["content_sha256"] == content_sha256(record["title"], record["text"])
            assert WARM_PAGES <= options["template_pages"] <= late.ARTICLES  # marked
        texts[order] = {rid: r["text"] for rid, r in written.items()}
    assert texts["box-first"] == texts["box-last"]


def test_the_next_run_cleans_what_an_earlier_run_left_dirty(tmp_path):
    early = made(late.EARLY)
    rest = [r for r in made() if r[2] not in [a for _, _, a in early]]
    with SQLiteState(tmp_path / "state.sqlite3") as state:
        first, dirty = run_pass(TemplatePass(OUTLET, StateTemplates(state)), early)
        assert dirty == 3 == sum(late.BOX in r["text"] for r in first.values())
        assert len(unsettled_records(state, "quay/eng")) == len(early)  # marked for later

        def reader(wanted):
            return [r for r in first.values() if (r["id"], r["version"]) in wanted]

        stage = TemplatePass(OUTLET, StateTemplates(state), reader=reader)
        second, _ = run_pass(stage, rest)
        assert stage.stores["eng"].pages == late.ARTICLES  # loaded the first run's pages
        corpus = {**first, **second}
        assert len(corpus) == late.ARTICLES
        assert not [rid for rid, r in corpus.items() if late.BOX in r["text"]]
        # a store under SETTLED_PAGES keeps the marks: a later run cleans them again
        assert len(unsettled_records(state, "quay/eng")) == late.ARTICLES
        # once the store has settled, the run that cleans them drops their marks
        settled = load_templates(state, "quay/eng")
        box = next(fps[2] for _, fps, a in early if a.boxed)
        for number in range(SETTLED_PAGES):  # pages of other runs, a third with the box
            fingerprints = [f"own-{number}", f"more-{number}", *([box] if number % 3 == 0
                                                                else [])]
            settled.learn(f"filler-{number}", fingerprints, f"s{number % 2}", "2026-05-01")
        stage = TemplatePass(OUTLET, StateTemplates(state), stores={"eng": settled},
                             reader=lambda wanted: [r for r in corpus.values()
                                                    if (r["id"], r["version"]) in wanted])
        stage.finish()
        assert stage.reclean() == []  # clean already
        assert unsettled_records(state, "quay/eng") == []


def test_a_mark_whose_record_is_lost_is_dropped_only_by_the_sole_writer(tmp_path):
    """Runs that meet none of the outlet's pages (a quiet day) still look at its marks:
    the stores of the languages its YAML names are loaded at the end of the run."""
    early = made(late.EARLY)
    named = outlet_from_mapping({"name": "quay", "start_urls": ["http://quay.example.org/"],
                                 "article_urls": ["/9"], "language": "eng"})
    with SQLiteState(tmp_path / "state.sqlite3") as state:
        first, _ = run_pass(TemplatePass(OUTLET, StateTemplates(state)), early)
        lost = sorted(first)[:2]  # their corpus file was lost: the reader never finds them
        kept = {rid: r for rid, r in first.items() if rid not in lost}

        def reader(wanted):
            return [r for r in kept.values() if (r["id"], r["version"]) in wanted]

        peer = TemplatePass(named, StateTemplates(state), reader=reader)
        peer.finish()
        peer.reclean()  # a worker of a shared crawl: a peer's record may not be published
        assert peer.lost_marks == 0
        assert len(unsettled_records(state, "quay/eng")) == len(early)
        sole = TemplatePass(named, StateTemplates(state), reader=reader)
        sole.drop_lost = True
        sole.finish()
        sole.reclean()
        assert sole.lost_marks == 2
        assert unsettled_records(state, "quay/eng") == sorted(
            (rid, 1) for rid in kept)  # the young store keeps the found ones marked


# ---- over HTTP, through the crawler -----------------------------------------------------

def corpus_lines(store: Path) -> list[dict]:
    lines = []
    for path in sorted(store.glob("corpus/quay/*/*/*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            lines += [json.loads(line) for line in handle]
    return lines


def state_hashes(store: Path) -> dict[str, tuple[int, str]]:
    db = sqlite3.connect(default_state_path(store))
    try:
        return {key: (version, sha) for key, version, sha in db.execute(
            "SELECT key, version, content_sha256 FROM articles")}
    finally:
        db.close()


def check_store(store: Path) -> dict[str, str]:
    for path in sorted(store.glob("corpus/quay/*/*/*.jsonl.gz")):  # one line per version
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            keys = [(r["id"], r["version"]) for r in map(json.loads, handle)]
        assert len(keys) == len(set(keys)), path
    records = list(read(LocalStore(str(store)), outlet="quay", all_versions=True))
    assert not [r["url"] for r in records if late.BOX in r["text"]]
    assert {r["version"] for r in records} == {1}  # no version made by the template
    hashes = state_hashes(store)
    for record in records:  # the state knows each article by its cleaned text
        key = next(k for k in hashes if record["url"].endswith(k.rsplit("/", 1)[-1]))
        assert hashes[key] == (1, record["content_sha256"]), record["url"]
    return {r["url"].split("/", 3)[3]: r["text"] for r in records}


@pytest.fixture(scope="module")
def site():
    soon = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0).isoformat()
    with serve_table(late.pages(soon), vary=True) as base:
        yield base


@pytest.mark.slow
def test_two_crawls_in_opposite_orders_write_the_same_clean_texts(site, tmp_path):
    texts = {}
    for order in late.ORDERS:
        store = tmp_path / order
        result = crawl(late.write_outlet(site, tmp_path, order), store)
        assert result.returncode == 0, result.stderr[-3000:]
        texts[order] = check_store(store)
        assert len(texts[order]) == late.ARTICLES
        # the report counts every box removed, by the first cleaning or the end-of-run one
        templates = result.reports[0]["templates"]
        boxed = sum(a.boxed for a in late.articles(SOON))
        assert templates["blocks_removed"] == boxed, templates
        assert templates["lost_marks"] == 0, templates
        assert f"template_blocks={boxed} recleaned={templates['recleaned']}" in result.stdout
    assert texts["box-first"] == texts["box-last"]


@pytest.mark.slow
def test_a_template_learnt_since_makes_no_new_version(site, tmp_path):
    """Three early pages carry the box, too few to learn it: they are written with it.
    Then the state's store learns the box (another worker's pages), and the next run
    re-checks the early pages: unchanged (no version 2), and the dirty ones cleaned."""
    store = tmp_path / "store"
    outlet_file = late.write_outlet(site, tmp_path, "early")
    first = crawl(outlet_file, store, "--recheck", "3s")
    assert first.returncode == 0, first.stderr[-3000:]
    assert sum(late.BOX in r["text"] for r in corpus_lines(store)) == 3
    warm = TemplateStore()
    for record, fingerprints, _ in made():
        learn_record(warm, {**record, "id": f"elsewhere-{record['id']}"}, fingerprints)
    lost = ("quay:/quay/eng/harbour/99999", 1)  # its run's spool file gone, never recovered
    with SQLiteState(default_state_path(store)) as state:
        save_templates(state, "quay/eng", warm)
        mark_unsettled(state, "quay/eng", [lost])
        marked = unsettled_records(state, "quay/eng")
    assert len(marked) == 12 + 1
    time.sleep(3.5)  # the re-checks of the pages published "soon" fall due
    second = crawl(outlet_file, store, "--recheck", "3s")
    assert second.returncode == 0, second.stderr[-3000:]
    assert first.reports[0]["templates"] == {"blocks_removed": 0, "recleaned": 0,
                                             "lost_marks": 0}
    report = second.reports[0]
    assert report["unchanged"] >= 2, report  # the boxed pages published "soon" among them
    assert report["new_versions"] == 0, report
    # the first run's three dirty records, cleaned again at the end of this one; the mark
    # no corpus record answers is dropped and counted, the others wait for a settled store
    assert report["templates"] == {"blocks_removed": 3, "recleaned": 3, "lost_marks": 1}
    assert "template_blocks=3 recleaned=3 lost_marks=1" in second.stdout
    with SQLiteState(default_state_path(store)) as state:
        assert unsettled_records(state, "quay/eng") == sorted(set(marked) - {lost})
    check_store(store)
