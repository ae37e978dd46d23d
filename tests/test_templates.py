"""Template learning with no per-outlet rules (archive.extract.templates and its uses):
fingerprints, the store's rules and guards, persistence with the state (SQLite and a real
Redis), the crawl-time post-pass with its cold start, and end to end on generated outlets
crawled over real HTTP, then re-extracted."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive.corpus.records import read
from archive.corpus.reextract import reextract
from archive.corpus.templating import WARM_PAGES, TemplatePass
from archive.extract.article import build_record_and_fingerprints
from archive.extract.templates import TemplateStore, fingerprint, mask
from archive.outlet.config import load_outlet, outlet_from_mapping
from archive.state.base import default_state_path
from archive.state.sqlite import SQLiteState
from archive.state.templates import (
    StateTemplates,
    clear_templates,
    load_templates,
    save_templates,
)
from archive.store.base import LocalStore
from tests.conftest import crawl, run_cli
from tests.sites import generated

FURNITURE = {text for outlet in generated.FURNITURE.values() for language in outlet.values()
             for text in language}
STAMP_WORDS = list(generated.STAMP.values())


def outlet_for(name: str, **extra):
    return outlet_from_mapping({"name": name, "start_urls": ["http://news.example.org/"],
                                "article_urls": ["/9"], **extra})


def records_of(name: str, outlet) -> list[tuple[dict, list, generated.GenArticle]]:
    pages = generated.pages(name)
    out = []
    for article in generated.articles(name):
        record, fingerprints = build_record_and_fingerprints(
            {"url": f"http://news.example.org{article.path}",
             "body": pages[article.path].encode(), "status": 200}, outlet, "run1")
        out.append((record, fingerprints, article))
    return out


def assert_clean(record: dict, article: generated.GenArticle) -> None:
    """The record's text is the article's own paragraphs, nothing else, nothing less."""
    assert record["text"].split("\n\n") == article.paragraphs, article.path
    for furniture in FURNITURE:
        assert furniture not in record["text"]
    assert not any(word in record["text"] for word in STAMP_WORDS)


# ---- fingerprints and the store --------------------------------------------------------------

def test_fingerprint_masks_digits_and_month_names_but_not_the_place():
    assert mask("Last updated 3 May 2024, 10:15") == mask("Last Updated 21 June 2025, 9:02")
    assert fingerprint("div>p", "Updated 3 May") == fingerprint("div>p", "Updated 9 June")
    assert fingerprint("div>p", "Updated 3 May") != fingerprint("aside>p", "Updated 3 May")
    assert fingerprint("div>p", "Sign up now") != fingerprint("div>p", "Sign in now")


def learn(store: TemplateStore, pages: int, sections: int, days: int,
          wander: bool = False) -> None:
    for n in range(pages):
        fps = [f"body{n}a", f"body{n}b", f"body{n}c"]
        fps.insert(n % 4 if wander else 0, "box")
        store.learn(f"page{n}", fps, f"section{n % sections}", f"2026-05-{1 + n % days:02d}")


def test_a_block_is_template_only_across_pages_sections_days_and_at_one_place():
    store = TemplateStore()
    learn(store, 6, sections=1, days=3)
    assert not store.is_template("box")  # one section: news of that section
    store = TemplateStore()
    learn(store, 6, sections=3, days=1)
    assert not store.is_template("box")  # one day
    store = TemplateStore()
    learn(store, 3, sections=3, days=3)
    assert not store.is_template("box")  # too few pages
    store = TemplateStore()
    learn(store, 8, sections=3, days=3, wander=True)
    assert not store.is_template("box")  # wanders around the text: a repeated sentence
    store = TemplateStore()
    learn(store, 8, sections=3, days=3)
    assert store.is_template("box") and not store.is_template("body1a")
    assert not store.learn("page1", ["box"], "x", "2026-06-01")  # each page counts once
    again = TemplateStore.from_dict(store.to_dict())
    assert again.templates() == store.templates() == ["box"]


def test_compaction_forgets_single_sightings_and_keeps_templates():
    store = TemplateStore()
    learn(store, 8, sections=3, days=3)
    store.compact(max_entries=5, max_ids=4)
    assert set(store.seen) == {"box"} and store.is_template("box")
    assert len(store.page_ids) == 4


def test_guards_keep_the_lead_long_blocks_and_the_allowlist():
    from archive.extract.templates import apply

    store = TemplateStore()
    lead, long_block, credit, box = ("L" * 120, "X" * 320, "Reporting by the Wire.", "Box")
    for n in range(10):
        store.learn(f"p{n}", [lead, long_block, credit, box, f"own{n}"], f"s{n % 2}",
                    f"d{n % 3}")
    paragraphs = [lead, long_block, credit, box, "own"]
    import re

    kept, _, removed = apply(paragraphs, [lead, long_block, credit, box, "own"], store,
                             [re.compile("^Reporting by")])
    assert kept == [lead, long_block, credit, "own"] and removed == [box]


# ---- the crawl-time pass, offline ------------------------------------------------------------

def test_cold_start_holds_records_until_the_run_taught_the_store():
    outlet = outlet_for("harbour")
    stage = TemplatePass(outlet)
    released = []
    made = records_of("harbour", outlet)
    assert len(made) < WARM_PAGES  # the whole run is a cold start
    for record, fingerprints, article in made:
        released += stage.accept(record, fingerprints, article)
    assert released == []  # nothing written while the store is cold
    released = stage.finish()
    assert len(released) == len(made) and stage.cleaned_records == len(made)
    for record, article in released:
        assert_clean(record, article)
        assert record["modified"] is not None  # the stamp became metadata
        options = record["extractor"]["options"]
        assert options["removed_blocks"] == len(options["removed_fingerprints"]) >= 3


def test_warm_store_cleans_each_record_at_once_and_keeps_a_repeated_correction():
    outlet = outlet_for("harbour")
    warm: dict[str, TemplateStore] = {}
    for copy in ("earlier", "older", "oldest", "first"):  # pages of earlier runs
        for record, fingerprints, _ in records_of("harbour", outlet):
            warm.setdefault(record["language"], TemplateStore()).learn(
                f"{record['id']}-{copy}", fingerprints, record["section"],
                record["published"][:10])
    stage = TemplatePass(outlet, stores=warm)
    assert stage.warm("eng") and stage.warm("ckb")
    for record, fingerprints, article in records_of("harbour", outlet):
        released = stage.accept(record, fingerprints, article)
        assert [a for _, a in released] == [article]
        assert_clean(record, article)
    corrected = [a for _, _, a in records_of("harbour", outlet)
                 if a.paragraphs.count(generated.CORRECTION) == 2]
    assert corrected  # the article that carries the correction twice kept both


def test_each_edition_learns_its_own_furniture():
    stage = TemplatePass(outlet_for("harbour"))
    for record, fingerprints, article in records_of("harbour", outlet_for("harbour")):
        stage.accept(record, fingerprints, article)
    stage.finish()
    assert set(stage.stores) == {"eng", "ckb"}
    english, sorani = stage.stores["eng"], stage.stores["ckb"]
    assert english.templates() and sorani.templates()
    assert not set(english.templates()) & set(sorani.templates())


def test_allowlist_keeps_recurring_content():
    newsletter = generated.FURNITURE["harbour"]["eng"][0]
    outlet = outlet_for("harbour", template_allow=["^Never miss a tide"])
    stage = TemplatePass(outlet)
    for record, fingerprints, article in records_of("harbour", outlet):
        stage.accept(record, fingerprints, article)
    english = [r for r, a in stage.finish() if a.language == "eng"]
    assert english and all(newsletter in r["text"] for r in english)


# ---- persistence ---------------------------------------------------------------------------

def filled_store(name: str = "harbour") -> TemplateStore:
    store = TemplateStore()
    for record, fingerprints, _ in records_of(name, outlet_for(name)):
        store.learn(record["id"], fingerprints, record["section"], record["published"][:10])
    return store


def check_persistence(state) -> None:
    assert load_templates(state, "harbour").pages == 0
    first = filled_store()
    merged = save_templates(state, "harbour", first)
    assert merged.pending == []
    loaded = load_templates(state, "harbour")
    assert loaded.templates() == first.templates() and loaded.pages == first.pages
    # two workers that loaded the same store each learn a page: both pages are kept
    one, two = load_templates(state, "harbour"), load_templates(state, "harbour")
    one.learn("extra-1", ["a"], "s", "d")
    two.learn("extra-2", ["b"], "s", "d")
    save_templates(state, "harbour", one)
    save_templates(state, "harbour", two)
    assert load_templates(state, "harbour").pages == first.pages + 2
    assert load_templates(state, "valley").pages == 0  # per outlet
    clear_templates(state, "harbour")
    assert load_templates(state, "harbour").pages == 0


def test_store_persists_in_the_sqlite_state(tmp_path):
    with SQLiteState(tmp_path / "state.sqlite") as state:
        check_persistence(state)


def test_store_persists_in_redis(redis_url):
    from archive.state.redis import RedisState

    state = RedisState.from_url(f"{redis_url}?prefix=tpltest")
    try:
        state.clear()
        check_persistence(state)
    finally:
        state.clear()


# ---- end to end: crawl over HTTP, then reextract -------------------------------------------

@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    work = tmp_path_factory.mktemp("generated")
    with generated.serve() as site:
        results = {}
        for name in generated.EDITIONS:
            outlet_file = site.write_outlet(name, work)
            result = crawl(outlet_file, work / "store")
            assert result.returncode == 0, result.stderr
            results[name] = outlet_file
    return work / "store", results


def check_corpus(store: Path, name: str) -> None:
    articles = {a.path: a for a in generated.articles(name)}
    records = list(read(LocalStore(str(store)), outlet=name))
    assert len(records) == len(articles)
    for record in records:
        path = record["url"].split("://", 1)[1].split("/", 1)[1]
        assert_clean(record, articles["/" + path])
        assert record["modified"] is not None


@pytest.mark.slow
def test_crawl_with_no_rules_writes_no_furniture(crawled):
    store, outlets = crawled
    for name in outlets:
        check_corpus(store, name)
    with SQLiteState(default_state_path(store)) as state:
        for store_key in ("harbour/eng", "harbour/ckb", "valley/kmr", "valley/tur"):
            assert load_templates(state, store_key).templates(), store_key  # learnt, kept


@pytest.mark.slow
def test_reextract_keeps_the_records_clean_and_the_stores_it_learnt(crawled):
    store, outlets = crawled
    keys = ("harbour/eng", "harbour/ckb", "valley/kmr", "valley/tur")
    with SQLiteState(default_state_path(store)) as state:
        crawl_learnt = {key: load_templates(state, key).templates() for key in keys}
        for key in keys:  # a state that lost its stores (or never had them)
            clear_templates(state, key)
        for name, outlet_file in outlets.items():
            result = reextract(LocalStore(str(store)), load_outlet(outlet_file), workers=1,
                               templates=StateTemplates(state))
            assert result.records == len(generated.articles(name))
            check_corpus(store, name)
        for key in keys:  # kept for the next crawl, which starts warm
            again = load_templates(state, key)
            assert again.templates() == crawl_learnt[key], key
            assert again.pages == sum(a.language == key[-3:] for name in outlets
                                      for a in generated.articles(name)), key


@pytest.mark.slow
def test_reextract_cli_keeps_the_stores_in_the_default_state(crawled):
    store, outlets = crawled
    with SQLiteState(default_state_path(store)) as state:
        clear_templates(state, "harbour/eng")
    done = run_cli("reextract", "--store", str(store), "--outlet", str(outlets["harbour"]),
                   "--workers", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    with SQLiteState(default_state_path(store)) as state:
        assert load_templates(state, "harbour/eng").templates()
    check_corpus(store, "harbour")


def test_reextract_pass_keeps_no_per_record_state_and_cleans_from_the_staged_lines(tmp_path):
    """``StagedTemplates`` learns into bounded stores only (no pending pages, no table of
    fingerprints by record): the fingerprints come back from each staged line."""
    import json

    from archive.corpus.records import encode_record
    from archive.corpus.templating import StagedTemplates, learn_fields, stamp

    outlet = outlet_for("harbour")
    staged = StagedTemplates(outlet)
    path = tmp_path / "harbour.jsonl"
    made = records_of("harbour", outlet)
    with open(path, "w", encoding="utf-8") as out:
        for record, fingerprints, _ in made:
            stamp(record, fingerprints)
            out.write(encode_record(record))
            staged.learn(record["id"], record["version"], learn_fields(record, fingerprints))
    assert all(store.pending == [] for store in staged.stores.values())
    assert set(vars(staged)) == {"outlet", "persistence", "stores", "allow", "removed_blocks"}
    hashes: dict = {}
    staged.clean_staged(path, hashes)
    by_id = {a.path: a for _, _, a in made}
    cleaned = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(cleaned) == len(made) and len(hashes) == len(made)
    for record in cleaned:
        assert_clean(record, by_id[record["url"].split("news.example.org", 1)[1]])
        assert hashes[(record["id"], 1)] == record["content_sha256"]
