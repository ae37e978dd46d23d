"""The URL map of the Rudaw sample outlet: (origin, path) -> Response, built once per server.

Pages are rendered up front (a few hundred KB) so serving is a dictionary look-up and
every request for a path gets byte-identical content, which the WARC tests rely on.
"""

from __future__ import annotations

from .badpages import BAD_PAGES, bad_responses, load_bad_articles
from .content import ARABIC, MAIN, SiteContent
from .feeds import ARABIC_ROBOTS, ROBOTS, gzip_file, rss, sitemap_index, urlset
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
           "build_routes"]


def build_routes(content: SiteContent, main_url: str, arabic_url: str) -> dict:
    """Every (origin, path-with-query) the two origins answer."""
    renderer = PageRenderer(content, main_url, arabic_url)
    routes: dict[tuple[str, str], Response] = {}
    for edition in content.editions.values():
        routes[edition.origin, edition.front_path] = Response.html(
            renderer.front(edition), chunked=edition.front_path in CHUNKED)
    for article in content.articles:
        origin = content.editions[article.edition].origin
        if article.generation == "new":
            page = Response.html(renderer.new_article(article))
            for path in (article.canonical_path, *article.alias_paths):
                routes[origin, path] = page
            for path in article.redirect_paths:
                routes[origin, path] = Response.redirect(renderer.url_of(article))
        else:
            routes[origin, article.canonical_path] = Response.html(
                renderer.legacy_article(article))
    _listings(routes, content, renderer)
    _feeds(routes, content, main_url)
    _sitemaps(routes, content, main_url)
    routes[MAIN, "/robots.txt"] = Response(body=ROBOTS.format(base=main_url).encode(),
                                           content_type="text/plain", cookies=False)
    routes[ARABIC, "/robots.txt"] = Response(body=ARABIC_ROBOTS.encode(),
                                             content_type="text/plain", cookies=False)
    routes[MAIN, "/"] = Response.redirect(main_url + "/english", status=302)
    routes[ARABIC, "/"] = Response.redirect(arabic_url + "/arabic", status=302)
    routes[MAIN, OFFSITE_REDIRECT[0]] = Response.redirect(OFFSITE_REDIRECT[1], status=302)
    routes.update(bad_responses(renderer, load_bad_articles()))
    return routes


def _listings(routes: dict, content: SiteContent, renderer: PageRenderer) -> None:
    edition = content.editions["english"]
    members = [a for a in content.by_edition("english", "legacy")
               if a.canonical_path.startswith(LEGACY_SECTION + "/")]
    pages = [members[:2], *[[a] for a in members[2:]]]
    for number, path in enumerate(LEGACY_SECTION_PAGES[: len(pages)], start=1):
        routes[MAIN, path] = Response.html(
            renderer.legacy_section(edition, "Middle East", pages, number), chunked=True)


def _feeds(routes: dict, content: SiteContent, main_url: str) -> None:
    for feed_path in FEEDS:
        name = feed_path.split("/")[1]
        edition = content.editions[name]
        items = []
        for article in content.by_edition(name, "legacy"):
            link = main_url + article.canonical_path
            if TRACKED_LINK.startswith(article.canonical_path + "?"):
                link = main_url + TRACKED_LINK
            items.append((link, article))
        for article in content.by_edition(name, "new"):  # legacy links that now redirect
            items.extend((main_url + p, article) for p in article.redirect_paths)
        text = rss(FEED_TITLES[name], main_url + edition.front_path, edition["html_lang"], items)
        routes[MAIN, feed_path] = Response(body=text.encode(), content_type=RSS, cookies=False)


def _sitemaps(routes: dict, content: SiteContent, main_url: str) -> None:
    on_main = [a for a in content.articles if content.editions[a.edition].origin == MAIN]
    news = [(main_url + a.canonical_path, a) for a in on_main if a.generation == "new"]
    legacy = [(main_url + a.canonical_path, a) for a in on_main if a.generation == "legacy"]
    routes[MAIN, SITEMAPS[0]] = Response(
        body=sitemap_index([main_url + p for p in SITEMAPS[1:]]).encode(), content_type=XML,
        cookies=False)
    routes[MAIN, SITEMAPS[1]] = Response(body=gzip_file(urlset(news)),
                                         content_type="application/x-gzip",
                                         compressible=False, cookies=False)
    routes[MAIN, SITEMAPS[2]] = Response(body=urlset(legacy).encode(), content_type=XML,
                                         cookies=False)
