"""Page resources, unit level: what the extractor finds in HTML and CSS, the outlet keys,
the spider's resource requests and callbacks, and the report counts."""

from __future__ import annotations

import pytest
from scrapy.exceptions import StopDownload
from scrapy.http import HtmlResponse, Request, TextResponse

from archive.discover.resources import Resource, css_resources, html_resources, srcset_urls
from archive.outlet.config import Origin, OutletConfigError, outlet_from_mapping
from archive.runs.merge import merge_reports
from archive.runs.report import resource_counts
from spiders.news import NewsSpider
from spiders.resources import RESOURCE_KIND, ResourceSpiderMiddleware

BASE = "http://news.example"
PAGE = """<!doctype html><html><head>
<base href="/section/">
<link rel="stylesheet" href="/css/site.css">
<link rel="preload" as="font" href="/fonts/a.woff2" crossorigin>
<link rel="preload" as="image" imagesrcset="hero-1x.jpg 1x, hero-2x.jpg 2x">
<link rel="modulepreload" href="/js/mod.mjs">
<link rel="shortcut icon" href="/favicon.ico"><link rel="apple-touch-icon" href="/touch.png">
<link rel="alternate" href="/feed.xml"><link rel="canonical" href="/story">
<meta property="og:image" content="https://cdn.example/og.jpg">
<script src="https://cdn.example/lib.js"></script><script>var x = 1;</script>
<style>@import "print.css"; .hero { background: url('img/bg.png') }</style>
</head><body>
<img src="photo.jpg" srcset="photo-640.jpg 640w, photo-1200.jpg 1200w" alt="">
<img src="data:image/gif;base64,R0lGOD" data-src="lazy.jpg">
<picture><source type="image/webp" srcset="p.webp 1x, p@2.webp 2x"><img src="p.jpg"></picture>
<video poster="poster.jpg" src="clip.mp4"><source src="clip.webm"></video>
<audio><source src="/audio/talk.mp3"></audio>
<div style="background-image: url(&quot;/img/inline.png&quot;)"></div>
<a href="/other-page">not a resource</a>
<script>self.__next_f.push([1,"2:I[\\"/_next/static/chunks/app-4f.js\\"]"])</script>
<script src="/_next/static/b1d/_buildManifest.js" defer></script>
<img src="photo.jpg">
</body></html>"""


def kinds(resources: list[Resource]) -> dict[str, str]:
    return {r.url: r.kind for r in resources}


def test_html_resources_finds_what_a_browser_loads():
    found = kinds(html_resources(PAGE, BASE + "/section/story"))
    section = BASE + "/section/"
    assert found == {
        BASE + "/css/site.css": "stylesheet",
        BASE + "/fonts/a.woff2": "font",
        section + "hero-1x.jpg": "image",
        section + "hero-2x.jpg": "image",
        BASE + "/js/mod.mjs": "script",
        BASE + "/favicon.ico": "icon",
        BASE + "/touch.png": "icon",
        "https://cdn.example/og.jpg": "image",
        "https://cdn.example/lib.js": "script",
        section + "print.css": "stylesheet",
        section + "img/bg.png": "image",
        section + "photo.jpg": "image",
        section + "photo-640.jpg": "image",
        section + "photo-1200.jpg": "image",
        section + "lazy.jpg": "image",
        section + "p.webp": "image",
        section + "p@2.webp": "image",
        section + "p.jpg": "image",
        section + "clip.mp4": "media",
        section + "poster.jpg": "image",
        section + "clip.webm": "media",
        BASE + "/audio/talk.mp3": "media",
        BASE + "/img/inline.png": "image",
        BASE + "/_next/static/chunks/app-4f.js": "script",
        BASE + "/_next/static/b1d/_buildManifest.js": "script",
    }


def test_html_resources_survives_empty_and_broken_input():
    assert html_resources("", BASE) == []
    assert html_resources("   ", BASE) == []
    broken = "<img src=a.png></span><p><img src='b.png'></div>"
    assert kinds(html_resources(broken, BASE + "/x")) == {
        BASE + "/a.png": "image", BASE + "/b.png": "image"}


def test_srcset_keeps_commas_inside_urls():
    assert srcset_urls("a.jpg 1x,b.jpg 2x") == ["a.jpg", "b.jpg"]
    assert srcset_urls("/img/w_100,h_50/a.jpg 100w, /img/w_200,h_100/a.jpg 200w") == [
        "/img/w_100,h_50/a.jpg", "/img/w_200,h_100/a.jpg"]
    assert srcset_urls("one.jpg") == ["one.jpg"]
    assert srcset_urls("") == [] and srcset_urls(None) == []


def test_css_resources_imports_fonts_and_images():
    css = """/* url(commented-out.png) */
    @import url("base.css"); @import 'theme.css' screen;
    @font-face { font-family: X; src: url(../fonts/x.woff2) format("woff2"),
                 url('../fonts/x.ttf') format("truetype"); }
    .a { background: url( "img/a.png" ) } .b { filter: url(#shadow) }
    .c { background: url(data:image/png;base64,AAAA) } .d { cursor: url(/c.cur), auto }"""
    found = kinds(css_resources(css, BASE + "/static/css/site.css"))
    assert found == {
        BASE + "/static/css/base.css": "stylesheet",
        BASE + "/static/css/theme.css": "stylesheet",
        BASE + "/static/fonts/x.woff2": "font",
        BASE + "/static/fonts/x.ttf": "font",
        BASE + "/static/css/img/a.png": "image",
        BASE + "/c.cur": "image",
    }


# ---- outlet keys ---------------------------------------------------------------------


def outlet(**overrides):
    data = {"name": "unit", "start_urls": [f"{BASE}/front"], "article_urls": [r"/story/\d+"]}
    data.update(overrides)
    return outlet_from_mapping(data)


def test_resource_keys_default_and_validation():
    policy = outlet().resources
    assert (policy.mode, policy.max_bytes, policy.media, policy.hosts) == (
        "all", 20_000_000, False, ())
    assert outlet(resources="none").resources.enabled is False
    cdn = outlet(resource_hosts=["http://127.0.0.1:8702"])
    assert Origin.of("http://127.0.0.1:8702/x.png") in cdn.named_origins()
    assert "resource_hosts" not in cdn.extra
    for bad in ({"resources": "some"}, {"resource_hosts": ["cdn.example"]},
                {"resource_max_bytes": 0}, {"resource_budget": "ten"},
                {"resource_media": "yes"}):
        with pytest.raises(OutletConfigError, match=next(iter(bad))):
            outlet(**bad)


# ---- spider ---------------------------------------------------------------------------


def spider_with_counts(**overrides) -> tuple[NewsSpider, dict[str, int]]:
    spider = NewsSpider(outlet=outlet(**overrides))
    counts: dict[str, int] = {}

    def stat(key: str, count: int = 1) -> None:
        counts[key] = counts.get(key, 0) + count

    spider._stat = stat  # type: ignore[method-assign]
    return spider, counts


def page(url: str = f"{BASE}/story/1", body: str = PAGE, kind: str = "article") -> HtmlResponse:
    return HtmlResponse(url, body=body.encode(), encoding="utf-8",
                        request=Request(url, meta={"kind": kind}))


def test_page_resource_requests_skip_media_and_carry_resource_meta():
    spider, counts = spider_with_counts()
    requests = spider.page_resource_requests(page())
    assert len(requests) == 22 and counts == {"newsarchive/resources/skipped/media": 3}
    first = requests[0]
    assert first.meta["kind"] == RESOURCE_KIND and first.meta["allow_offsite"] is True
    assert first.meta["download_maxsize"] == 20_000_000 and 304 in first.meta[
        "handle_httpstatus_list"]
    assert first.callback == spider.parse_resource and first.errback == spider.on_resource_error
    assert first.headers[b"Accept"].startswith(b"text/css")


def test_same_site_budget_and_none():
    spider, counts = spider_with_counts(resources="same-site", resource_budget=5)
    requests = spider.page_resource_requests(page())
    assert [r.url for r in requests][:2] == [BASE + "/css/site.css", BASE + "/fonts/a.woff2"]
    assert len(requests) == 5
    assert counts["newsarchive/resources/skipped/offsite"] == 2  # cdn.example
    assert counts["newsarchive/resources/skipped/page_budget"] == 15
    spider, counts = spider_with_counts(resources="none")
    assert spider.page_resource_requests(page()) == [] and counts == {}


def test_only_pages_get_resources_through_the_middleware():
    spider, _ = spider_with_counts()
    middleware = ResourceSpiderMiddleware()
    out = list(middleware.process_spider_output(page(kind="front"), iter(["item"]), spider))
    assert out[0] == "item" and len(out) == 23
    feed = page(kind="feed")
    assert list(middleware.process_spider_output(feed, iter([]), spider)) == []
    not_found = HtmlResponse(f"{BASE}/story/2", status=404, body=PAGE.encode(),
                             encoding="utf-8", request=Request(f"{BASE}/story/2",
                                                               meta={"kind": "article"}))
    assert list(middleware.process_spider_output(not_found, iter([]), spider)) == []


def css_response(url: str, depth: int, status: int = 200, css: str = "") -> TextResponse:
    request = Request(url, meta={"kind": RESOURCE_KIND, "resource_kind": "stylesheet",
                                 "resource_depth": depth})
    return TextResponse(url, status=status, body=css.encode(), encoding="utf-8",
                        headers={"Content-Type": "text/css"}, request=request)


def test_stylesheets_are_followed_two_levels_deep():
    spider, counts = spider_with_counts()
    css = '@import "fonts.css"; body { background: url(bg.png) }'
    level1 = list(spider.parse_resource(css_response(f"{BASE}/css/site.css", 1, css=css)))
    assert [(r.url, r.meta["resource_depth"]) for r in level1] == [
        (f"{BASE}/css/fonts.css", 2), (f"{BASE}/css/bg.png", 2)]
    level2 = list(spider.parse_resource(css_response(
        f"{BASE}/css/fonts.css", 2, css="@font-face { src: url(x.woff2) }")))
    assert [r.url for r in level2] == [f"{BASE}/css/x.woff2"]
    assert list(spider.parse_resource(css_response(
        f"{BASE}/css/deep.css", 3, css="a { background: url(z.png) }"))) == []
    assert list(spider.parse_resource(css_response(f"{BASE}/css/site.css", 1, 304))) == []
    assert list(spider.parse_resource(css_response(f"{BASE}/css/gone.css", 1, 404))) == []
    assert counts == {"newsarchive/resources/fetched": 3, "newsarchive/resources/revalidated": 1,
                      "newsarchive/resources/failed/http_404": 1}


# ---- report ---------------------------------------------------------------------------


def test_resource_counts_and_merge():
    stats = {"newsarchive/resources/fetched": 7, "newsarchive/resources/revalidated": 2,
             "newsarchive/resources/skipped/media": 1,
             "newsarchive/resources/skipped/refused_address": 2,
             "newsarchive/resources/failed/http_404": 1}
    block = resource_counts(stats, responses=10)
    assert block == {"fetched": 7, "revalidated": 2,
                     "skipped": {"total": 3, "by_reason": {"media": 1, "refused_address": 2}},
                     "failed": {"total": 1, "by_reason": {"http_404": 1}}, "responses": 10}
    merged = merge_reports([{"run_id": "r", "resources": block},
                            {"run_id": "r", "resources": block}])
    assert merged["resources"]["fetched"] == 14
    assert merged["resources"]["skipped"]["by_reason"] == {"media": 2, "refused_address": 4}


def test_resource_requests_survive_the_distributed_queue():
    """The shared frontier stores requests as JSON: callbacks must be spider methods."""
    from scrapy.utils.request import request_from_dict

    from crawler.distributed import codec

    spider, _ = spider_with_counts()
    request = spider.page_resource_requests(page())[0]
    data = request.to_dict(spider=spider)
    assert (data["callback"], data["errback"]) == ("parse_resource", "on_resource_error")
    again = request_from_dict(codec.loads(codec.dumps(data)), spider=spider)
    assert again.meta["kind"] == RESOURCE_KIND and again.meta["unconditional"] is True
    assert again.callback == spider.parse_resource


def test_identical_payload_counts_as_revalidated_only_for_its_own_url():
    spider, counts = spider_with_counts()
    url = f"{BASE}/css/site.css"
    same = css_response(url, 1)
    same.meta["warc_revisit"] = {"uri": url, "date": "2026-12-01T00:00:00Z"}
    other = css_response(f"{BASE}/copy/site.css", 1)
    other.meta["warc_revisit"] = {"uri": url, "date": "2026-12-01T00:00:00Z"}
    list(spider.parse_resource(same))
    list(spider.parse_resource(other))
    assert counts == {"newsarchive/resources/revalidated": 1, "newsarchive/resources/fetched": 1}


def test_media_is_stopped_at_its_headers_and_counted():
    from scrapy.http import Headers
    from twisted.python.failure import Failure

    spider, counts = spider_with_counts()
    middleware = ResourceSpiderMiddleware()
    request = spider.resource_request(Resource(f"{BASE}/stream/42", "image"), 1)
    middleware.headers_received(Headers({"Content-Type": "image/jpeg"}), 10, request, spider)
    with pytest.raises(StopDownload) as stopped:
        middleware.headers_received(Headers({"Content-Type": "video/mp4"}), 10, request,
                                    spider)
    failure = Failure(stopped.value)
    failure.request = request
    spider.on_resource_error(failure)
    assert counts == {"newsarchive/resources/skipped/media": 1}
    page_request = Request(f"{BASE}/story/1", meta={"kind": "article"})
    middleware.headers_received(Headers({"Content-Type": "video/mp4"}), 10, page_request,
                                spider)  # pages are never stopped here
    media_outlet, _ = spider_with_counts(resource_media=True)
    middleware.headers_received(Headers({"Content-Type": "video/mp4"}), 10, request,
                                media_outlet)
