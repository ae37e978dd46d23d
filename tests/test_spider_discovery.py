"""Discovery by the spiders: the real Rudaw outlet file, spider units, and real crawls.

The crawls run the spider alone (no capture pipeline) in a subprocess against the sample
outlet over real HTTP; assertions use the server's own request log.  A subprocess because
Twisted's reactor cannot be restarted inside one pytest process.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from scrapy.http import HtmlResponse, Request, Response, XmlResponse

from archive.discover.feeds import parse_feed
from archive.discover.sitemaps import parse_sitemap
from archive.extract.charset import header_charset
from archive.outlet.config import load_outlet, outlet_from_mapping
from archive.outlet.urls import article_id, article_key
from spiders import OUTLETS_DIR
from spiders.articles import canonical_link
from spiders.news import NewsSpider, spider_class_for
from spiders.rudaw import RudawSpider

REPO_ROOT = Path(__file__).resolve().parents[1]
EDITIONS = ("english", "sorani", "kurmanci", "turkish", "arabic")

# Runs one crawl with the outlet's spider only; prints nothing, writes a JSON summary:
# items (body replaced by its length), stats, and every request that reached the
# downloader with its meta kind.
RUNNER = r"""
import json, sys
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from crawler.outlets import resolve_outlet
from spiders.news import spider_class_for

outlet_path, out_path = sys.argv[1], sys.argv[2]
outlet = resolve_outlet(outlet_path)
items, requests = [], []

def scraped(item, response, spider):
    row = {k: v for k, v in item.items() if k != "body"}
    row["body_len"] = len(item["body"])
    row["body_type"] = type(item["body"]).__name__
    items.append(row)

def reached(request, spider):
    requests.append({"url": request.url, "kind": request.meta.get("kind"),
                     "hints": request.meta.get("hints")})

process = CrawlerProcess({
    "ROBOTSTXT_OBEY": True, "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False, "COOKIES_ENABLED": False, "RETRY_TIMES": 0,
    "DOWNLOAD_TIMEOUT": 10, "DOWNLOAD_DELAY": 0, "CONCURRENT_REQUESTS": 8,
    "DOWNLOAD_FAIL_ON_DATALOSS": False,  # as crawler/settings.py: cut bodies arrive flagged
    # the address guard, as in crawler/settings.py: a redirect to a private port is refused
    "DOWNLOADER_MIDDLEWARES": {"crawler.guard.AddressGuardMiddleware": 50},
})
crawler = process.create_crawler(spider_class_for(outlet))
crawler.signals.connect(scraped, signal=signals.item_scraped)
crawler.signals.connect(reached, signal=signals.request_reached_downloader)
process.crawl(crawler, outlet=outlet)
process.start()
stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, (int, float))}
with open(out_path, "w", encoding="utf-8") as handle:
    json.dump({"items": items, "stats": stats, "requests": requests}, handle)
"""


def run_crawl(outlet_file: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(outlet_file), str(out)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    result["stderr"] = proc.stderr
    return result


# ---- the real Rudaw outlet file ----------------------------------------------------------


def test_real_rudaw_outlet_loads_and_matches_research_examples():
    outlet = load_outlet(OUTLETS_DIR / "rudaw.yaml")
    assert outlet.name == "rudaw" and outlet.spider == "rudaw"
    assert spider_class_for(outlet) is RudawSpider
    assert {e.language for e in outlet.editions} == {"eng", "ckb", "kmr", "tur", "arb"}
    assert outlet.timezone == "Asia/Baghdad" and outlet.date_order == "dmy"
    assert outlet.download_delay == 1.0 and outlet.concurrency == 2
    articles = [
        "https://www.rudaw.net/english/categories/syria/1079288",
        "https://www.rudaw.net/sorani/categories/iraq/1860958",
        "https://www.rudaw.net/kurmanci/categories/rojhilata-navn/1301794",
        "https://www.rudaw.net/turkish/categories/kurdistan/512345",
        "https://www.rudawarabia.net/arabic/categories/news/1367254",
        "https://www.rudaw.net/english/middleeast/iraq/260820204",
        "https://www.rudaw.net/english/middleeast/syria/05032020",
        "https://rudaw.net/english/kurdistan/09092016",
        "https://www.rudaw.net/turkish/middleeast/turkey/220620258",
        "https://www.rudawarabia.net/arabic/kurdistan/250420224",
    ]
    for url in articles:
        assert outlet.is_article_url(url), url
        assert not outlet.is_denied_url(url), url
    not_articles = [
        "https://www.rudaw.net/english", "https://www.rudaw.net/english/categories/syria",
        "https://www.rudaw.net/english/authors/some-one", "https://www.rudaw.net/english/tv",
        "https://www.rudaw.net/english/categories/syria/12",  # id too short
        "https://www.example.com/english/categories/syria/1079288",
    ]
    for url in not_articles:
        assert not outlet.is_article_url(url), url
    for url in ("https://www.rudaw.net/english/authors/x", "https://www.rudaw.net/english/live",
                "https://www.rudaw.net/sorani/search?q=x", "https://www.rudaw.net/english/video/1",
                "https://www.rudaw.net/private/x"):
        assert outlet.is_denied_url(url), url
    assert outlet.is_listing_url("https://www.rudaw.net/english/middleeast?page=2")
    assert article_id(outlet, "https://www.rudaw.net/kurmanci/categories/middleeast/1301794") \
        == article_id(outlet, "https://www.rudaw.net/kurmanci/categories/rojhilata-navn/1301794")\
        == "rudaw:kurmanci/1301794"
    assert article_key(outlet, "https://www.rudaw.net/english/middleeast/syria/05032020"
                               "?utm_source=rss") == "english/legacy/05032020"


def test_rudaw_spider_defaults_to_the_real_outlet_and_news_spider_needs_one():
    spider = RudawSpider()
    assert spider.outlet.name == "rudaw"
    assert set(spider.allowed_domains) == {"rudaw.net", "rudawarabia.net"}
    assert spider.edition_segments == set(EDITIONS)
    with pytest.raises(ValueError, match="outlet"):
        NewsSpider()
    assert NewsSpider(outlet="rudaw").outlet.name == "rudaw"  # registered name
    assert NewsSpider(outlet=str(OUTLETS_DIR / "rudaw.yaml")).outlet.name == "rudaw"  # -a path


# ---- spider units on constructed responses -----------------------------------------------

BASE = "http://127.0.0.1:8700"


def sample_outlet(**overrides):
    data = {
        "name": "unit", "spider": "rudaw",
        "start_urls": [f"{BASE}/english", "http://127.0.0.1:8701/arabic"],
        "article_urls": [r"/categories/[a-z-]+/\d{4,9}$", r"/(?:[a-z]+/){1,3}\d{8}$"],
        "follow_urls": [r"/english/middleeast(\?page=\d+)?$"],
        "deny_urls": ["/private/"],
        "editions": [{"prefix": f"{BASE}/english/", "language": "eng"},
                     {"prefix": "http://127.0.0.1:8701/arabic/", "language": "arb"}],
    }
    data.update(overrides)
    return outlet_from_mapping(data)


def html(url: str, body: str, **kw) -> HtmlResponse:
    request = Request(url, meta=kw.pop("meta", {"kind": "front"}))
    return HtmlResponse(url, body=body.encode(), encoding="utf-8", request=request, **kw)


def test_scope_refuses_other_local_origins_and_metadata_address():
    spider = NewsSpider(outlet=sample_outlet())
    assert spider.in_scope(f"{BASE}/english/x")
    assert spider.in_scope("http://127.0.0.1:8701/arabic/x")
    assert not spider.in_scope("http://127.0.0.1:9/admin")
    assert not spider.in_scope("http://169.254.169.254/latest/meta-data/")
    assert not spider.in_scope("http://localhost:8700/english")
    assert not spider.in_scope("ftp://127.0.0.1:8700/x")
    real = NewsSpider(outlet="rudaw")
    assert real.in_scope("http://rudaw.net/english/x")  # other scheme, subdomain rules
    assert real.in_scope("https://images.rudaw.net/x.jpg")
    assert not real.in_scope("https://rudaw.net.evil.example/english")
    assert not real.in_scope("http://10.0.0.5/english")


def test_front_links_classified_normalized_and_denied():
    spider = NewsSpider(outlet=sample_outlet())
    page = html(f"{BASE}/english/middleeast", """<html><body>
      <a href="/english/middleeast/syria/05032020">a</a>
      <a href="/english/middleeast/syria/05032020?utm_source=x#c">same</a>
      <a href="/english/middleeast?page=2">next</a>
      <a href="/private/middleeast/syria/05032020">private</a>
      <a href="http://127.0.0.1:9/admin/categories/x/1234567">other port</a>
      <a href="http://169.254.169.254/latest/meta-data/">metadata</a>
      <a href="/english/about">about</a><a href="mailto:x@y">m</a><a href="javascript:x()">j</a>
      </body></html>""", meta={"kind": "listing", "listing_hops": 1})
    out = list(spider.parse_listing(page))
    assert [(r.url, r.meta["kind"]) for r in out] == [
        (f"{BASE}/english/middleeast/syria/05032020", "article"),
        (f"{BASE}/english/middleeast?page=2", "listing"),
    ]
    assert out[1].meta["listing_hops"] == 2
    assert 404 in out[0].meta["handle_httpstatus_list"]
    assert 301 not in out[0].meta["handle_httpstatus_list"]  # redirects still followed
    assert "handle_httpstatus_all" not in out[0].meta
    assert out[0].meta["hints"] == {"via": "listing", "found_on": f"{BASE}/english/middleeast"}


def test_article_pages_yield_items_and_never_follow_links():
    spider = NewsSpider(outlet=sample_outlet())
    url = f"{BASE}/english/categories/middleeast/1079288"
    body = ('<html><head><link rel="canonical" href="/english/categories/syria/1079288">'
            '</head><body><a href="/english/categories/iraq/1079301">x</a></body></html>')
    request = Request(url, meta={"kind": "article", "hints": {"title": "T"},
                                 "redirect_urls": [f"{BASE}/english/kurdistan/09092016"]})
    response = HtmlResponse(url, body=body.encode(), request=request,
                            headers={"Content-Type": "text/html; charset=UTF-8"})
    out = list(spider.parse_article(response))
    assert len(out) == 1
    item = out[0]
    assert item["url"] == url and item["request_url"] == f"{BASE}/english/kurdistan/09092016"
    assert item["canonical_url"] == f"{BASE}/english/categories/syria/1079288"
    assert item["status"] == 200 and item["body"] == body.encode()
    assert item["encoding"] == "utf-8" and item["content_type"] == "text/html; charset=UTF-8"
    assert item["kind"] == "article" and item["hints"] == {"title": "T"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", item["fetched_at"])
    assert item["warc_record"] is None and item["outlet"] == "unit"
    # the canonical is now known: discovering it later does not request it again
    assert spider.make_request(f"{BASE}/english/categories/syria/1079288", "article") is None


@pytest.mark.parametrize("status, body, ctype, failure", [
    (404, b"<html>gone</html>", "text/html", "http_404"),
    (500, b"<html>oops</html>", "text/html", "http_500"),
    (200, b"", "text/html", "empty_body"),
    (200, b"%PDF-1.4 ...", "application/pdf", "not_html"),
    (200, b"%PDF-1.4 ...", "application/octet-stream", "not_html"),
])
def test_bad_article_responses_are_counted_never_yielded(status, body, ctype, failure):
    spider = NewsSpider(outlet=sample_outlet())
    failures = []
    spider.fail = lambda kind, url, detail="": failures.append(kind)
    url = f"{BASE}/english/categories/bad/1079903"
    response = Response(url, status=status, body=body, headers={"Content-Type": ctype},
                        request=Request(url, meta={"kind": "article"}))
    assert list(spider.parse_article(response)) == []
    assert failures == [failure]


@pytest.mark.parametrize("flag", ["dataloss", "download_stopped"])
def test_cut_short_article_bodies_never_become_items(flag):
    spider = NewsSpider(outlet=sample_outlet())
    url = f"{BASE}/english/categories/bad/1079905"
    response = HtmlResponse(url, body=b"<html><head><title>half", flags=[flag],
                            request=Request(url, meta={"kind": "article"}))
    assert list(spider.parse_article(response)) == []


def test_feed_entries_become_article_requests_with_hints_and_merge():
    spider = NewsSpider(outlet=sample_outlet())
    feed = (b'<?xml version="1.0"?><rss version="2.0"><channel>'
            b"<item><title>One</title><link>/english/middleeast/syria/05032020?utm_source=rss"
            b"</link><pubDate>Thu, 05 Mar 2020 12:00:00 +0300</pubDate></item>"
            b"<item><title>Off</title><link>http://127.0.0.1:9/x/y/05032020</link></item>"
            b"</channel></rss>")
    response = XmlResponse(f"{BASE}/english/rss", body=feed,
                           request=Request(f"{BASE}/english/rss", meta={"kind": "feed"}))
    out = list(spider.parse_feed(response))
    assert [r.url for r in out] == [f"{BASE}/english/middleeast/syria/05032020"]
    hints = out[0].meta["hints"]
    assert hints["title"] == "One" and hints["published"] == "2020-03-05T12:00:00+03:00"
    # the same article found on a listing before it was fetched: no second request,
    # but the pending one keeps the feed hints and gains nothing it already had
    page = html(f"{BASE}/english/middleeast",
                '<a href="/english/middleeast/syria/05032020">x</a>')
    assert list(spider.parse_front(page)) == []
    assert out[0].meta["hints"]["via"] == "feed"


def test_broken_feed_and_sitemap_are_counted():
    spider = NewsSpider(outlet=sample_outlet())
    failures = []
    spider.fail = lambda kind, url, detail="": failures.append((kind, detail))
    bad = Response(f"{BASE}/english/bad/rss", body=b"<rss><channel><item>",
                   request=Request(f"{BASE}/english/bad/rss"))
    assert list(spider.parse_feed(bad)) == []
    notxml = Response(f"{BASE}/sitemaps/broken.xml", body=b"this is not xml",
                      request=Request(f"{BASE}/sitemaps/broken.xml"))
    assert list(spider.parse_sitemap(notxml)) == []
    assert [k for k, _ in failures] == ["broken_feed", "broken_sitemap"]
    assert all("malformed XML" in d for _, d in failures)


def test_sitemap_index_depth_cap():
    spider = NewsSpider(outlet=sample_outlet())
    index = (b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             b"<sitemap><loc>" + BASE.encode() + b"/sitemap.xml</loc></sitemap>"
             b"<sitemap><loc>http://127.0.0.1:9/sitemap.xml</loc></sitemap></sitemapindex>")

    def at(depth):
        request = Request(f"{BASE}/sitemap.xml", meta={"kind": "sitemap", "sitemap_depth": depth})
        return Response(f"{BASE}/sitemap.xml", body=index, request=request)

    out = list(spider.parse_sitemap(at(0)))
    assert [(r.url, r.meta["kind"], r.meta["sitemap_depth"]) for r in out] == [
        (f"{BASE}/sitemap.xml", "sitemap", 1)]
    assert out[0].dont_filter is False  # the dupefilter drops a self-reference
    assert list(spider.parse_sitemap(at(spider.max_sitemap_depth))) == []


def test_flight_data_builds_edition_article_urls_with_hints():
    spider = RudawSpider(outlet=sample_outlet(image_base="https://images.example"))
    flight = json.dumps({"latest": [
        {"ID": 1367254, "Title": "عنوان", "Summary": "S", "imgPath": "/images/a.jpg",
         "categorySlug": "news", "PublishedDate": "2026-11-20T10:15:00+03:00"},
        {"ID": 1367255, "Title": "Private slug", "categorySlug": "private"}]},
        ensure_ascii=False)
    literal = json.dumps("7:" + flight + "\n", ensure_ascii=False)
    body = f"<html><body><script>self.__next_f.push([1,{literal}])</script></body></html>"
    out = list(spider.parse_front(html("http://127.0.0.1:8701/arabic", body)))
    # the second object's URL (/categories/private/...) hits deny_urls: not requested
    assert [r.url for r in out] == ["http://127.0.0.1:8701/arabic/categories/news/1367254"]
    hints = out[0].meta["hints"]
    assert hints["via"] == "flight" and hints["title"] == "عنوان"
    assert hints["image"] == "https://images.example/images/a.jpg"
    assert hints["published"] == "2026-11-20T10:15:00+03:00"
    assert hints["flight_id"] == "1367254" and hints["category_slug"] == "news"
    # flight data on a page outside any edition is not guessed at
    assert list(spider.parse_front(html(f"{BASE}/", body))) == []


def test_max_articles_stops_scheduling_articles_only():
    spider = NewsSpider(outlet=sample_outlet(), max_articles="2")
    urls = [f"{BASE}/english/categories/x/{1000000 + i}" for i in range(3)]
    assert [spider.make_request(u, "article") is not None for u in urls] == [True, True, False]
    assert spider.make_request(f"{BASE}/english/middleeast?page=2", "listing") is not None


def test_helpers():
    assert header_charset("text/html; charset=\"Windows-1256\"") == "windows-1256"
    assert header_charset("text/html") is None and header_charset(None) is None
    page = ("<html><head><LINK REL='alternate' href='/a'><link href=\"/c?a=1&amp;b=2\" "
            "rel=\"canonical\"></head><body><link rel=canonical href=/late></body>")
    assert canonical_link(page, f"{BASE}/x") == f"{BASE}/c?a=1&b=2"
    assert canonical_link("<html><head></head></html>", BASE) is None


# ---- real crawls of the sample outlet ---------------------------------------------------


def _flight_items(site, edition: str) -> list[dict]:
    from archive.discover.nextjs import article_items

    with urllib.request.urlopen(site.url(f"/{edition}")) as resp:
        return article_items(resp.read())


@pytest.fixture(scope="module")
def default_crawl(tmp_path_factory):
    from tests.sites.server import SampleSite

    tmp = tmp_path_factory.mktemp("discovery")
    with SampleSite(port=0, arabic_port=0) as site:
        outlet_file = site.write_outlet(tmp)
        result = run_crawl(outlet_file, tmp / "result.json")
        log = site.requests
        flight = {e: _flight_items(site, e) for e in EDITIONS}
        feeds = {}
        for path in ("/english/rss", "/sorani/rss", "/kurmanci/rss", "/turkish/rss"):
            with urllib.request.urlopen(site.url(path)) as resp:
                feeds[path] = parse_feed(resp.read(), site.url(path))
        sitemap_urls = []
        for path in ("/sitemaps/news-1.xml.gz", "/sitemaps/news-2.xml"):
            with urllib.request.urlopen(site.url(path)) as resp:
                sitemap_urls += [e.url for e in parse_sitemap(resp.read(), site.url(path)).entries]
        yield {"result": result, "log": log, "site": site, "outlet": load_outlet(outlet_file),
               "flight": flight, "feeds": feeds, "sitemap_urls": sitemap_urls}


def _paths(crawl, origin=None) -> list[str]:
    return [e.path for e in crawl["log"] if origin is None or e.origin == origin]


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.mark.slow
def test_crawl_flight_articles_in_all_five_editions(default_crawl):
    items = default_crawl["result"]["items"]
    for edition in EDITIONS:
        objects = default_crawl["flight"][edition]
        assert len(objects) >= 3, edition
        origin = "arabic" if edition == "arabic" else "main"
        requested = _paths(default_crawl, origin)
        for obj in objects:
            path = f"/{edition}/categories/{obj['categorySlug']}/{obj['ID']}"
            assert requested.count(path) == 1, path
        via_flight = [i for i in items if i["hints"].get("via") == "flight"
                      and urlsplit(i["url"]).path.startswith(f"/{edition}/categories/")]
        assert len(via_flight) >= 3, edition
        assert all(i["hints"].get("title") for i in via_flight)
    arabic = [i for i in items if "/arabic/" in i["url"]]
    assert arabic and all(i["url"].startswith(default_crawl["site"].arabic_url) for i in arabic)


@pytest.mark.slow
def test_crawl_rss_sitemaps_pagination(default_crawl):
    requested = _paths(default_crawl)
    outlet = default_crawl["outlet"]
    for path, entries in default_crawl["feeds"].items():
        assert requested.count(path) == 1
        assert entries, path
        for entry in entries:
            plain = urlsplit(entry.url)._replace(query="").geturl()
            assert requested.count(_path_of(plain)) == 1, entry.url
    for url in default_crawl["sitemap_urls"]:
        if outlet.is_article_url(url):
            assert requested.count(_path_of(url)) == 1, url
    assert requested.count("/sitemap.xml") == 1
    assert requested.count("/sitemaps/news-1.xml.gz") == 1
    # pagination: every page of the legacy section was followed, each once
    pages = [p for o, p in default_crawl["site"].paths() if p.startswith("/english/middleeast?")]
    assert "/english/middleeast?page=2" in pages
    for page in pages:
        assert requested.count(page) == 1, page
    # feed hints reach the item even when a listing link scheduled the request first
    items = {_path_of(i["url"]): i for i in default_crawl["result"]["items"]}
    checked = 0
    for entries in default_crawl["feeds"].values():
        for entry in entries:
            item = items.get(urlsplit(entry.url).path)
            if item is not None and entry.published is not None:
                assert item["hints"]["published"] == entry.published.isoformat(), entry.url
                assert item["hints"]["title"] == entry.title
                checked += 1
    assert checked >= 5


@pytest.mark.slow
def test_crawl_every_expected_article_fetched_once(default_crawl):
    expected = json.loads((REPO_ROOT / "tests/sites/rudaw/expected.json").read_text())
    requested = _paths(default_crawl)
    for path in expected["articles"]:
        assert requested.count(path) == 1, path
    # no URL was requested twice (utm variants, aliases found in feed + listing + sitemap)
    counted = {}
    for entry in default_crawl["log"]:
        counted[(entry.origin, entry.path)] = counted.get((entry.origin, entry.path), 0) + 1
    assert {k: v for k, v in counted.items() if v > 1} == {}


@pytest.mark.slow
def test_crawl_utm_variant_and_duplicate_slug(default_crawl):
    requested = _paths(default_crawl)
    assert not [p for p in requested if "utm_" in p]
    assert requested.count("/english/middleeast/iraq/260820204") == 1
    outlet = default_crawl["outlet"]
    items = default_crawl["result"]["items"]
    # duplicate slug: both URLs fetched (discovery), one article key
    alias, canonical = ("/kurmanci/categories/rojhilata-navn/1301794",
                        "/kurmanci/categories/middleeast/1301794")
    assert requested.count(alias) == 1 and requested.count(canonical) == 1
    by_path = {urlsplit(i["url"]).path: i for i in items}
    alias_id = article_id(outlet, by_path[alias]["url"])
    assert alias_id == article_id(outlet, by_path[canonical]["url"])
    assert alias_id == "rudaw-sample:kurmanci/1301794"
    assert by_path[alias]["canonical_url"].endswith(canonical)


@pytest.mark.slow
def test_crawl_scope_kinds_and_items(default_crawl):
    site = default_crawl["site"]
    requests = default_crawl["result"]["requests"]
    origins = {site.base_url, site.arabic_url}
    for request in requests:
        assert any(request["url"].startswith(o + "/") for o in origins), request["url"]
        assert "/private/" not in request["url"]
    assert not [p for p in _paths(default_crawl) if p.startswith("/private/")]
    kinds = {_path_of(r["url"]): r["kind"] for r in requests}
    assert kinds["/english"] == "front" and kinds["/english/rss"] == "feed"
    assert kinds["/sitemap.xml"] == "sitemap" and kinds["/sitemaps/news-2.xml"] == "sitemap"
    assert kinds["/english/middleeast?page=2"] == "listing"
    assert kinds["/english/categories/syria/1079288"] == "article"
    assert {k for p, k in kinds.items() if p != "/robots.txt"} <= {
        "front", "feed", "sitemap", "listing", "article"}
    stats = default_crawl["result"]["stats"]
    assert stats["newsarchive/discovery/offsite"] > 0  # the 169.254/ :9 links were seen
    # the only "failures" on the clean site are the refused private links (counted once each)
    assert [k for k in stats if k.startswith("newsarchive/failures/")] == [
        "newsarchive/failures/refused_address"]
    assert stats["newsarchive/failures/refused_address"] == 2
    items = default_crawl["result"]["items"]
    assert items and all(i["status"] == 200 and i["body_len"] > 0 and i["body_type"] == "bytes"
                         and i["kind"] == "article" for i in items)
    assert all(default_crawl["outlet"].is_article_url(i["url"]) for i in items)
    redirected = [i for i in items if i["request_url"] != i["url"]]
    for item in redirected:
        assert item["request_url"].endswith("/english/kurdistan/09092016")
        assert item["url"].endswith("/english/categories/kurdistan/1079100")


@pytest.mark.slow
def test_crawl_bad_variant_counts_failures(tmp_path):
    from tests.sites.server import SampleSite

    with SampleSite(port=0, arabic_port=0) as site:
        result = run_crawl(site.write_outlet(tmp_path, "bad"), tmp_path / "bad.json")
        requested = [e.path for e in site.requests]
    assert not [p for p in requested if p.startswith("/private/")]
    stats = result["stats"]
    for kind in ("broken_feed", "broken_sitemap", "http_404", "http_500", "not_html",
                 "empty_body"):
        assert stats.get(f"newsarchive/failures/{kind}") == 1, kind
    # the truncated page arrives flagged "dataloss": no item (capture counts it)
    assert stats.get("newsarchive/discovery/skipped_truncated") == 1
    assert "newsarchive/failures/download_error" not in stats
    item_paths = {urlsplit(i["url"]).path for i in result["items"]}
    for n in (1079902, 1079903, 1079904, 1079905, 1079907):
        assert f"/english/categories/bad/{n}" not in item_paths
        assert f"/english/categories/bad/{n}" in requested
    for path in ("/english/categories/bad/1079901", "/kurmanci/categories/bad/1301901",
                 "/arabic/categories/bad/1367901"):
        assert path in item_paths
    charsets = {urlsplit(i["url"]).path: i["encoding"] for i in result["items"]}
    assert charsets["/arabic/categories/bad/1367901"] == "windows-1256"
    assert "broken_feed" in result["stderr"] and "broken_sitemap" in result["stderr"]


class _LoopingSitemaps(BaseHTTPRequestHandler):
    """/sm/N.xml is an index listing itself and /sm/N+1.xml: an endless chain."""

    seen: list[str] = []

    def do_GET(self):  # noqa: N802
        type(self).seen.append(self.path)
        match = re.fullmatch(r"/sm/(\d+)\.xml", self.path)
        if not match:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        n = int(match.group(1))
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        body = ('<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{base}/sm/{n}.xml</loc></sitemap>"
                f"<sitemap><loc>{base}/sm/{n + 1}.xml</loc></sitemap></sitemapindex>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_crawl_self_referencing_sitemap_index_terminates(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LoopingSitemaps)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        outlet = tmp_path / "loop.yaml"
        outlet.write_text(f"name: loop\nsitemaps: ['{base}/sm/0.xml']\n"
                          "article_urls: ['/article/']\ndownload_delay: 0\n")
        result = run_crawl(outlet, tmp_path / "loop.json")
    finally:
        server.shutdown()
        server.server_close()
    seen = [p for p in _LoopingSitemaps.seen if p != "/robots.txt"]
    assert seen == ["/sm/0.xml", "/sm/1.xml", "/sm/2.xml", "/sm/3.xml"]
    assert result["stats"]["newsarchive/discovery/sitemap_depth_cap"] == 1


def test_outlet_politeness_becomes_settings_unless_operator_set_them():
    from scrapy.crawler import Crawler

    crawler = Crawler(RudawSpider, {"DOWNLOAD_DELAY": 0.25})  # project-level default
    crawler._create_spider()
    assert crawler.settings.getfloat("DOWNLOAD_DELAY") == 1.0  # rudaw.yaml
    assert crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 2
    operator = Crawler(RudawSpider)
    operator.settings.set("DOWNLOAD_DELAY", 3.0, priority="cmdline")
    operator._create_spider()
    assert operator.settings.getfloat("DOWNLOAD_DELAY") == 3.0
