"""Generic discovery in the spider, unit by unit (bare spider, responses built in memory).

The end-to-end crawls are in test_generic_discovery.py; here each rule is pinned on its
own: what a page's kind makes the spider do, the pagination walk and its stop, the
trap guards, the page budget, robots.txt sitemaps and advertised feeds.
"""

from __future__ import annotations

from scrapy.http import HtmlResponse, Request, TextResponse

from archive.discover.sitemaps import robots_sitemaps
from archive.outlet.config import outlet_from_mapping
from spiders.news import NewsSpider
from tests.sites.newsgen import make_articles, render_article, render_listing, render_plain

BASE = "http://gazette.example"
ARTICLES = make_articles(30)
BY_INDEX = {a.index: a for a in ARTICLES}


def spider(**extra) -> NewsSpider:
    return NewsSpider(outlet=outlet_from_mapping({"name": "gazette",
                                                  "start_urls": [BASE + "/"], **extra}))


def respond(url: str, html: str, **meta) -> HtmlResponse:
    request = Request(url, meta={"kind": "page", "hints": {}, **meta})
    return HtmlResponse(url, body=html.encode(), request=request,
                        headers={"Content-Type": "text/html; charset=utf-8"})


def requests_of(out) -> dict[str, Request]:
    return {r.url: r for r in out if isinstance(r, Request)}


def test_seeds_are_fronts_parsed_by_page_and_robots_for_sitemaps():
    # a spider outside a crawl has no robots.txt middleware to read robots.txt for it, so
    # it asks for robots.txt itself (in a crawl: test_robots_sitemaps_from_the_middleware)
    seeds = list(spider().start_requests())
    assert [(r.url, r.meta["kind"], r.callback.__name__) for r in seeds] == [
        (BASE + "/", "page", "parse_page"), (BASE + "/robots.txt", "robots", "parse_robots")]
    assert seeds[0].meta["seed"] is True
    named = spider(sitemaps=[BASE + "/sitemap.xml"])
    assert [r.meta["kind"] for r in named.start_requests()] == ["page", "sitemap"]
    ruled = spider(article_urls=["/a/"])  # rule-driven: fronts as before
    assert [r.meta["kind"] for r in ruled.start_requests()] == ["front"]


def test_robots_sitemap_lines_in_scope_only():
    s = spider()
    body = (f"User-agent: *\nDisallow: /x\nSitemap: {BASE}/sm.xml\n"
            "sitemap: http://elsewhere.example/sm.xml\n").encode()
    response = TextResponse(BASE + "/robots.txt", body=body,
                            request=Request(BASE + "/robots.txt", meta={"kind": "robots"}))
    out = list(s.parse_robots(response))
    assert [(r.url, r.meta["kind"]) for r in out] == [(BASE + "/sm.xml", "sitemap")]


def test_robots_sitemaps_from_the_middleware():
    """What the robots.txt middleware announced: read once per start origin, in scope only;
    other origins' robots.txt and rule-driven outlets are no sitemap seeds."""
    lines = robots_sitemaps(f"User-agent: *\nSitemap: /sm.xml\n  SITEMAP : {BASE}/news.xml\n"
                            "Sitemap: http://elsewhere.example/sm.xml\n", BASE + "/robots.txt")
    assert lines == [BASE + "/sm.xml", BASE + "/news.xml", "http://elsewhere.example/sm.xml"]
    s = spider()
    assert list(s.robots_sitemap_requests("cdn.gazette.example", lines)) == []
    out = list(s.robots_sitemap_requests("Gazette.Example", lines))
    assert [(r.url, r.meta["kind"], r.meta["sitemap_depth"]) for r in out] == [
        (BASE + "/sm.xml", "sitemap", 0), (BASE + "/news.xml", "sitemap", 0)]
    assert list(s.robots_sitemap_requests("gazette.example", lines)) == []  # once
    assert list(spider(article_urls=["/a/"]).robots_sitemap_requests("gazette.example",
                                                                       lines)) == []
    named = spider(sitemaps=[BASE + "/sitemap.xml"])  # the outlet's own sitemaps win
    assert list(named.robots_sitemap_requests("gazette.example", lines)) == []


def test_article_page_is_an_item_and_its_related_links_are_followed_two_hops():
    s = spider()
    article = next(a for a in ARTICLES if a.reach == "listed" and a.related)
    url = BASE + article.path
    out = list(s.parse_page(respond(url, render_article(article, BY_INDEX, BASE),
                                    kind="article")))
    items = [o for o in out if isinstance(o, dict)]
    assert len(items) == 1 and items[0]["url"] == url and items[0]["kind"] == "article"
    followed = requests_of(out)
    for index in article.related:
        related = followed[BASE + BY_INDEX[index].link_path]
        assert related.meta["article_hops"] == 1 and related.meta["kind"] == "article"
    assert BASE + f"/tag/{article.tags[0]}" in followed  # tag pages: navigation
    assert followed[BASE + f"/tag/{article.tags[0]}"].meta["kind"] == "page"
    assert not [u for u in followed if "/search" in u or "/login" in u]  # traps dropped
    # two hops from the last listing: an article reached at hop 2 follows nothing
    other = next(a for a in ARTICLES if a.index not in article.related and a is not article)
    out = list(s.parse_page(respond(BASE + other.path, render_article(other, BY_INDEX, BASE),
                                    kind="article", article_hops=2)))
    assert [o for o in out if isinstance(o, dict)] and not requests_of(out)


def test_listing_follows_teasers_and_only_the_next_page():
    s = spider()
    pages = [("1", "/section/x"), ("3", "/section/x?page=3"), ("4", "/section/x?page=4")]
    html = render_listing("Section x", ARTICLES[:8], pages, "/section/x?page=2")
    out = requests_of(s.parse_page(respond(BASE + "/section/x", html)))
    for article in ARTICLES[:8]:
        assert out[BASE + article.link_path].meta["kind"] == "article"
    assert BASE + "/section/x?page=2" in out
    assert BASE + "/section/x?page=3" not in out and BASE + "/section/x?page=4" not in out
    # listings are fetched before articles
    assert out[BASE + "/section/x?page=2"].priority > out[BASE + ARTICLES[0].link_path].priority
    assert not [o for o in s.parse_page(respond(BASE + "/section/x", html)) if isinstance(o, dict)]


class ArchiveKnows(NewsSpider):
    """A spider whose state holds ``archived`` (the crawl tests use the real state)."""

    archived: set[str] = set()

    def is_archived(self, url: str) -> bool:
        return url in self.archived


def test_pagination_walk_stops_after_two_pages_without_new_articles():
    s = ArchiveKnows(outlet=outlet_from_mapping({"name": "g", "start_urls": [BASE + "/"]}))
    s.archived = {BASE + a.link_path for a in ARTICLES[8:24]}
    first = render_listing("Section x", ARTICLES[:8], [], "/section/x?page=2")
    out = requests_of(s.parse_page(respond(BASE + "/section/x", first)))
    assert out[BASE + "/section/x?page=2"].meta["series_barren"] == 0
    second = render_listing("Section x", ARTICLES[8:16], [], "/section/x?page=3")
    out = requests_of(s.parse_page(respond(BASE + "/section/x?page=2", second)))
    assert out[BASE + "/section/x?page=3"].meta["series_barren"] == 1  # archived: go on
    third = render_listing("Section x", ARTICLES[16:24], [], "/section/x?page=4")
    out = requests_of(s.parse_page(respond(BASE + "/section/x?page=3", third,
                                           series_barren=1)))
    assert BASE + "/section/x?page=4" not in out  # second archived page in a row: stop


def test_pages_seen_earlier_in_the_run_do_not_stop_a_first_walk():
    s = spider()
    html = render_listing("Tag y", ARTICLES[:8], [], "/tag/y/page/2")
    list(s.parse_page(respond(BASE + "/tag/y", html)))  # seen via another listing
    again = render_listing("Section x", ARTICLES[:8], [], "/section/x?page=3")
    out = requests_of(s.parse_page(respond(BASE + "/section/x?page=2", again,
                                           series_barren=1)))
    # not archived yet: older pages may hold articles no other listing reached
    assert out[BASE + "/section/x?page=3"].meta["series_barren"] == 0
    # but the page sinks in priority: it brought nothing new to this run
    assert out[BASE + "/section/x?page=3"].meta["barren"] == 1


def test_other_pages_try_headline_links_but_not_navigation():
    s = spider()
    links = " ".join(f'<a href="{a.path}">{a.title}</a>' for a in ARTICLES[:2])
    html = render_plain("Events", "Nothing on.", links + ' <a href="/calendar/2026/12">Next</a>')
    out = requests_of(s.parse_page(respond(BASE + "/calendar/2026/11", html)))
    pages = {u for u, r in out.items() if r.meta["kind"] != "feed"}
    assert pages == {BASE + a.path for a in ARTICLES[:2]}
    assert s.ledger.outcome[BASE + "/calendar/2026/11"] == "not_an_article"


def test_page_budget_refuses_navigation_beyond_the_limit():
    s = spider(page_budget_floor=2, page_budget_per_article=0)
    nav = " ".join(f'<a href="/topic/{n}">t{n}</a>' for n in range(5))
    html = render_listing("Front", ARTICLES[:8], [], None).replace("</main>", nav + "</main>")
    out = requests_of(s.parse_page(respond(BASE + "/", html, seed=True)))
    navigation = [u for u, r in out.items() if r.meta["kind"] == "page"]
    assert len(navigation) == 2 and s.budget.spent == 2
    assert s.budget.refused >= 5 and not [u for u in out if "/topic/" in u]
    assert s.ledger.outcome[BASE + "/topic/4"] == "page_budget"
    assert all(BASE + a.link_path in out for a in ARTICLES[:8])  # articles are not budgeted
    report = s.coverage_report()
    assert report["page_budget"]["refused"] == s.budget.refused


def test_advertised_feed_used_only_when_the_outlet_names_none():
    html = render_listing("Front", ARTICLES[:8], [], None)
    out = requests_of(spider().parse_page(respond(BASE + "/", html, seed=True)))
    assert out[BASE + "/feed.xml"].meta["kind"] == "feed"
    named = spider(feeds=[BASE + "/rss"])
    out = requests_of(named.parse_page(respond(BASE + "/", html, seed=True)))
    assert BASE + "/feed.xml" not in out


def test_article_url_rules_are_priors_under_generic_discovery():
    s = spider(article_urls=["/stories/"], discovery="generic")
    html = render_listing("Front", ARTICLES[:8], [], None)
    out = requests_of(s.parse_page(respond(BASE + "/", html, seed=True)))
    stories = [r for u, r in out.items() if "/stories/" in u]
    others = [r for u, r in out.items() if "/a/" in u]
    assert stories and others
    assert min(r.priority for r in stories) > max(r.priority for r in others)


def test_article_found_again_closer_to_a_listing_gets_its_links_followed():
    s = spider()
    article = next(a for a in ARTICLES if a.reach == "listed" and a.related)
    url = BASE + article.path
    request = s.follow_generic(url, {"via": "article"}, "article", {"article_hops": 2})
    assert request is not None and request.meta["article_hops"] == 2
    response = HtmlResponse(url, body=render_article(article, BY_INDEX, BASE).encode(),
                            request=request, headers={"Content-Type": "text/html"})
    out = list(s.parse_page(response))
    assert not [r for r in out if isinstance(r, Request) and r.meta["kind"] != "feed"]
    assert s._held  # at the hop limit: its links are held, not followed
    others = [a for a in ARTICLES if a.index not in article.related and a is not article]
    listing = render_listing("Section", [article, *others[:7]], [], None)
    followed = requests_of(s.parse_page(respond(BASE + "/section/y", listing)))
    for index in article.related:
        assert followed[BASE + BY_INDEX[index].link_path].meta["article_hops"] == 1
