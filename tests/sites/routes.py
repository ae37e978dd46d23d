"""The URL map of the Rudaw sample outlet: (origin, path) -> Response, built once per server.

Pages are rendered up front (a few hundred KB) so serving is a dictionary look-up and
every request for a path gets byte-identical content, which the WARC tests rely on.
The mutation API (SampleSite.edit_article, ...) changes the content and rebuilds the
whole map (about 60 ms), so every page that shows the changed article changes with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .assets import asset_routes
from .badpages import BAD_PAGES, bad_responses, load_bad_articles
from .content import ARABIC, MAIN, Article, SiteContent
from .feeds import (
    ARABIC_ROBOTS,
    INDEX_LASTMOD,
    ROBOTS,
    gzip_file,
    parse_time,
    rss,
    sitemap_index,
    urlset,
    xml_noise,
)
from .pages import PageRenderer
from .response import RSS, XML, Response

FEEDS = ["/english/rss", "/sorani/rss", "/kurmanci/rss", "/turkish/rss"]
SITEMAPS = ["/sitemap.xml", "/sitemaps/news-1.xml.gz", "/sitemaps/news-2.xml"]
LEGACY_SECTION = "/english/middleeast"
LEGACY_SECTION_PAGES = [LEGACY_SECTION, f"{LEGACY_SECTION}?page=2", f"{LEGACY_SECTION}?page=3"]
# the one feed link with tracking parameters; the same article is linked plainly elsewhere
TRACKED_LINK = "/english/middleeast/iraq/260820204?utm_source=rss&utm_medium=feed"
OFFSITE_REDIRECT = ("/english/go", "http://127.0.0.1:9/internal")
CHUNKED = {LEGACY_SECTION, *LEGACY_SECTION_PAGES, "/kurmanci"}
FEED_TITLES = {"english": "Rudaw English", "sorani": "ڕووداو", "kurmanci": "Rûdaw Kurmancî",
               "turkish": "Rudaw Türkçe"}

__all__ = ["BAD_PAGES", "FEEDS", "LEGACY_SECTION_PAGES", "SITEMAPS", "TRACKED_LINK",
           "build_routes", "sitemap_index_response"]


def build_routes(content: SiteContent, main_url: str, arabic_url: str,
                 noise: Mapping[str, int] | None = None,
                 index_lastmods: Mapping[str, str] | None = None, cdn_url: str = "") -> dict:
    """Every (origin, path-with-query) the two origins answer.

    ``noise`` maps a page key (article canonical path, front, listing, feed or sitemap
    path) to an ad/cache rotation number that changes the page's bytes but not its text;
    ``index_lastmods`` gives the sitemap index's <lastmod> per child sitemap path;
    ``cdn_url``: the image CDN origin (tests/sites/assets.py), default the real one.
    """
    noise = noise or {}
    renderer = PageRenderer(content, main_url, arabic_url, noise,
                            **({"image_host": cdn_url} if cdn_url else {}))
    routes: dict[tuple[str, str], Response] = asset_routes(content)
    for edition in content.editions.values():
        routes[edition.origin, edition.front_path] = Response.html(
            renderer.front(edition), chunked=edition.front_path in CHUNKED, validators="page")
    for article in content.articles:
        origin = content.editions[article.edition].origin
        if article.generation == "new":
            page = Response.html(renderer.new_article(article), validators="article",
                                 content_time=article_time(article))
            for path in (article.canonical_path, *article.alias_paths):
                routes[origin, path] = page
            for path in article.redirect_paths:
                routes[origin, path] = Response.redirect(renderer.url_of(article))
        else:
            routes[origin, article.canonical_path] = Response.html(
                renderer.legacy_article(article), validators="article",
                content_time=article_time(article))
    _listings(routes, content, renderer)
    _feeds(routes, content, main_url, noise)
    _sitemaps(routes, content, main_url, noise, index_lastmods)
    routes[MAIN, "/robots.txt"] = Response(body=ROBOTS.format(base=main_url).encode(),
                                           content_type="text/plain", cookies=False)
    routes[ARABIC, "/robots.txt"] = Response(body=ARABIC_ROBOTS.encode(),
                                             content_type="text/plain", cookies=False)
    routes[MAIN, "/"] = Response.redirect(main_url + "/english", status=302)
    routes[ARABIC, "/"] = Response.redirect(arabic_url + "/arabic", status=302)
    routes[MAIN, OFFSITE_REDIRECT[0]] = Response.redirect(OFFSITE_REDIRECT[1], status=302)
    routes.update(bad_responses(renderer, load_bad_articles()))
    return routes


def article_time(article: Article) -> datetime:
    """An article page's first Last-Modified: its dateModified, else its publication."""
    return parse_time(article.revised or article.modified or article.published)


def _listings(routes: dict, content: SiteContent, renderer: PageRenderer) -> None:
    """Page 1 holds the two latest initial articles plus any published at run time, so
    later pages keep their bytes (and answer 304) when the section gets a new article."""
    edition = content.editions["english"]
    members = [a for a in content.newest_first("english", "legacy")
               if a.canonical_path.startswith(LEGACY_SECTION + "/")]
    added = sum(1 for a in members if a.added)
    pages = [members[:added + 2], *[[a] for a in members[added + 2:]]]
    for number, path in enumerate(LEGACY_SECTION_PAGES[: len(pages)], start=1):
        routes[MAIN, path] = Response.html(
            renderer.legacy_section(edition, "Middle East", pages, number, noise_key=path),
            chunked=True, validators="page")


def _feeds(routes: dict, content: SiteContent, main_url: str, noise: Mapping[str, int]) -> None:
    for feed_path in FEEDS:
        name = feed_path.split("/")[1]
        edition = content.editions[name]
        items = []
        for article in content.newest_first(name, "legacy"):
            link = main_url + article.canonical_path
            if TRACKED_LINK.startswith(article.canonical_path + "?"):
                link = main_url + TRACKED_LINK
            items.append((link, article))
        for article in content.by_edition(name, "new"):  # legacy links that now redirect
            items.extend((main_url + p, article) for p in article.redirect_paths)
        text = rss(FEED_TITLES[name], main_url + edition.front_path, edition["html_lang"], items)
        routes[MAIN, feed_path] = Response(body=xml_noise(text, noise.get(feed_path, 0)).encode(),
                                           content_type=RSS, cookies=False, validators="page")


def sitemap_index_response(main_url: str, lastmods: Mapping[str, str] | None = None,
                           rotation: int = 0) -> Response:
    """The sitemap index; ``lastmods``: child path -> the time it last changed (the site
    clock, set by SampleSite after a mutation), else the fixed initial date."""
    lastmods = lastmods or {}
    index = sitemap_index([main_url + p for p in SITEMAPS[1:]],
                          [lastmods.get(p, INDEX_LASTMOD) for p in SITEMAPS[1:]])
    return Response(body=xml_noise(index, rotation).encode(), content_type=XML, cookies=False,
                    validators="page")


def _sitemaps(routes: dict, content: SiteContent, main_url: str, noise: Mapping[str, int],
              index_lastmods: Mapping[str, str] | None) -> None:
    on_main = [a for a in content.articles if content.editions[a.edition].origin == MAIN]
    news = [(main_url + a.canonical_path, a) for a in on_main if a.generation == "new"]
    legacy = [(main_url + a.canonical_path, a) for a in on_main if a.generation == "legacy"]
    routes[MAIN, SITEMAPS[0]] = sitemap_index_response(main_url, index_lastmods,
                                                       noise.get(SITEMAPS[0], 0))
    routes[MAIN, SITEMAPS[1]] = Response(
        body=gzip_file(xml_noise(urlset(news), noise.get(SITEMAPS[1], 0))),
        content_type="application/x-gzip", compressible=False, cookies=False,
        validators="page")
    routes[MAIN, SITEMAPS[2]] = Response(
        body=xml_noise(urlset(legacy), noise.get(SITEMAPS[2], 0)).encode(), content_type=XML,
        cookies=False, validators="page")
