"""The page classifier, pagination, trap guards, page budget and coverage ledger (pure)."""

from __future__ import annotations

import pytest

from archive.discover.coverage import CoverageLedger
from archive.discover.pagetype import read_page
from archive.discover.pagination import is_paginated, next_page, page_ref
from archive.discover.traps import PageBudget, trap_reason
from archive.outlet.urls import normalize_url
from tests.sites.newsgen import make_articles, render_article, render_listing, render_plain

BASE = "http://news.example"
ARTICLES = make_articles(12)
BY_INDEX = {a.index: a for a in ARTICLES}


@pytest.mark.parametrize("style,reason", [(0, "structured data"), (1, "structured data"),
                                          (2, "dated prose block")])
def test_articles_of_every_markup_style_are_articles(style, reason):
    article = next(a for a in ARTICLES if a.style == style)
    view = read_page(render_article(article, BY_INDEX, BASE), BASE + article.path)
    assert (view.kind, view.reason) == ("article", reason)
    # its related coverage is there to follow, as headline links
    related = {BASE + BY_INDEX[i].link_path for i in article.related}
    assert related <= {link.url for link in view.links if link.is_headline}


def test_listing_and_other_pages():
    listing = render_listing("Section", ARTICLES[:8], [("2", "/s?page=2")], "/s?page=2")
    view = read_page(listing, BASE + "/s")
    assert view.kind == "listing" and view.headline_links == 8
    assert view.next_urls == [BASE + "/s?page=2"]
    assert view.feeds == [BASE + "/feed.xml"]
    # the modified time shown beside each teaser travels with its link
    modified = {link.url: link.modified for link in view.links if link.is_headline}
    assert modified[BASE + ARTICLES[0].link_path] == ARTICLES[0].modified.isoformat()
    about = read_page(render_plain("About us", "An invented newspaper."), BASE + "/about")
    assert about.kind == "other"


def test_og_article_stamp_on_a_listing_does_not_make_it_an_article():
    html = render_listing("Front", ARTICLES[:12] * 2, [], None).replace(
        "</head>", '<meta property="og:type" content="article"></head>')
    # 12 distinct headline links, no prose: still a listing (needs 15 to override markup)
    assert read_page(html, BASE + "/").kind == "listing"


def test_unparseable_and_empty_pages_are_other():
    assert read_page("", BASE).kind == "other"
    assert read_page(b"\x00\x01", BASE).kind == "other"


def test_pagination_shapes_and_next_page():
    assert page_ref(BASE + "/news?page=3").number == 3
    assert page_ref(BASE + "/tag/x/page/4/").series == page_ref(BASE + "/tag/x/page/2").series
    assert page_ref(BASE + "/author/a?offset=16").number == 16
    assert not is_paginated(BASE + "/news/2026/11/30/story")
    links = [BASE + f"/news?page={n}" for n in (1, 5, 3, 2)] + [BASE + "/other?page=2"]
    assert next_page(BASE + "/news", links) == BASE + "/news?page=2"
    assert next_page(BASE + "/news?page=2", links) == BASE + "/news?page=3"
    assert next_page(BASE + "/news?page=5", links) is None
    assert next_page(BASE + "/tag/x", [BASE + "/tag/x/page/2"]) == BASE + "/tag/x/page/2"
    assert next_page(BASE + "/a?offset=8", [BASE + "/a?offset=16", BASE + "/a?offset=0"]) \
        == BASE + "/a?offset=16"
    assert next_page(BASE + "/x", [], [BASE + "/x/more"]) == BASE + "/x/more"


def test_normalisation_keeps_pagination_parameters():
    for url in (BASE + "/news?page=2", BASE + "/a?offset=16", BASE + "/b?p=3&utm_source=x"):
        assert page_ref(normalize_url(url)) == page_ref(url)
    assert normalize_url(BASE + "/news?page=2") != normalize_url(BASE + "/news?page=3")


@pytest.mark.parametrize("url,reason", [
    (BASE + "/" + "x" * 1100, "too_long"),
    (BASE + "/a/b/a/b/a/b/a/b/a/b", "path_repetition"),
    (BASE + "/search?q=news", "search"),
    (BASE + "/?s=water", "search"),
    (BASE + "/login", "login"),
    (BASE + "/wp-login.php", "login"),
    (BASE + "/news?sort=date", "faceted"),
    (BASE + "/news?region=north&year=2020", "faceted"),
    (BASE + "/files/report.PDF", "not_a_page"),
    (BASE + "/img/photo.jpg", "not_a_page"),
    (BASE + "/news?page=2", None),
    (BASE + "/stories/politics/story-12.html", None),
    (BASE + "/a/b/a/b/a/b/a/b", None),  # four repeats are allowed
    (BASE + "/author/x?offset=8", None),
])
def test_trap_reasons(url, reason):
    assert trap_reason(url) == reason


def test_page_budget_grows_with_articles_and_refuses_beyond():
    budget = PageBudget(floor=3, per_article=2.0)
    assert [budget.take(0) for _ in range(4)] == [True, True, True, False]
    assert budget.take(5)  # ten allowed once five articles were seen
    assert budget.spent == 4 and budget.refused == 1 and budget.limit(5) == 10


def test_coverage_ledger_counts_channels_and_reasons():
    ledger = CoverageLedger()
    for url in ("u1", "u2", "u3"):
        ledger.declare("sitemap", url)
    ledger.declare("feed", "u1")
    ledger.declare("listing", "tag-page")
    ledger.settle("u1", "archived")
    ledger.settle("u2", "http_404")
    ledger.settle("u2", "page_budget", overwrite=False)  # the first reason stays
    ledger.settle("tag-page", "not_an_article")
    report = ledger.report()
    sitemap = report["channels"]["sitemap"]
    assert (sitemap["declared"], sitemap["archived"], sitemap["missing"]) == (3, 1, 2)
    assert sitemap["missing_reasons"] == {"http_404": 1, "not_fetched": 1}
    assert report["channels"]["feed"]["missing"] == 0
    assert report["channels"]["listing"] == {"declared": 1, "archived": 0, "not_articles": 1,
                                             "missing": 0, "missing_reasons": {}}
    assert {m["url"]: m["reason"] for m in report["missing"]} == {"u2": "http_404",
                                                                 "u3": "not_fetched"}


def test_worker_coverage_sections_merge():
    from archive.runs.merge import merge_reports

    def worker(name: str, missing_url: str) -> dict:
        ledger = CoverageLedger()
        ledger.declare("feed", f"{name}-ok")
        ledger.declare("feed", missing_url)
        ledger.settle(f"{name}-ok", "archived")
        ledger.settle(missing_url, "http_500")
        return {"run_id": "r", "outlet": "o", "worker_id": name, "coverage": ledger.report()}

    merged = merge_reports([worker("a", "gone"), worker("b", "gone")])["coverage"]
    assert merged["channels"]["feed"]["declared"] == 4
    assert merged["channels"]["feed"]["missing_reasons"] == {"http_500": 2}
    assert merged["missing"] == [{"url": "gone", "channels": ["feed"], "reason": "http_500"}]
    assert merged["archived_this_run"] == 2
