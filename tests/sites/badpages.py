"""Bad inputs of the sample outlet ("bad" variant seeds): each breaks one thing on purpose.

The table ``BAD_PAGES`` is also ground truth (expected.json "bad"): ``expect`` names the
failure kind the crawler should count (stats key ``newsarchive/failures/<kind>``) or
"article" when the page must still yield a correct article despite its defect.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

import yaml

from .content import ARABIC, MAIN, SITE_ROOT, Article
from .feeds import rss
from .pages import PageRenderer
from .response import RSS, XML, Response

TRUNCATED_CLAIMED = 50_000
TRUNCATED_SENT = 20_000
OVERSIZE_BYTES = 3 * 1024 * 1024

BAD_PAGES: dict[str, dict] = {
    "/english/bad": {"origin": MAIN, "status": 200, "expect": "listing",
                     "what": "start page linking every bad input"},
    "/english/categories/bad/1079901": {"origin": MAIN, "status": 200, "expect": "article",
                                        "what": "malformed HTML (unclosed tags, stray </div>,"
                                                " broken attributes)"},
    "/arabic/categories/bad/1367901": {"origin": ARABIC, "status": 200, "expect": "article",
                                       "what": "windows-1256 bytes, charset=windows-1256 header"},
    "/kurmanci/categories/bad/1301901": {"origin": MAIN, "status": 200, "expect": "article",
                                         "what": "header says ISO-8859-1, body is UTF-8"},
    "/english/categories/bad/1079902": {"origin": MAIN, "status": 200, "expect": "empty_body",
                                        "what": "200 with Content-Length: 0"},
    "/english/categories/bad/1079903": {"origin": MAIN, "status": 404, "expect": "http_404",
                                        "what": "not found"},
    "/english/categories/bad/1079904": {"origin": MAIN, "status": 500, "expect": "http_500",
                                        "what": "server error"},
    "/english/categories/bad/1079905": {"origin": MAIN, "status": 200, "expect": "truncated",
                                        "what": f"Content-Length {TRUNCATED_CLAIMED}, "
                                                f"{TRUNCATED_SENT} bytes sent, then close"},
    "/english/categories/bad/1079906": {"origin": MAIN, "status": 200, "expect": "oversize",
                                        "what": f"{OVERSIZE_BYTES} byte page, never gzipped"},
    "/english/categories/bad/1079907": {"origin": MAIN, "status": 200, "expect": "not_html",
                                        "what": "application/pdf"},
    "/english/bad/rss": {"origin": MAIN, "status": 200, "expect": "broken_feed",
                         "what": "RSS cut off mid-item"},
    "/sitemaps/broken.xml": {"origin": MAIN, "status": 200, "expect": "broken_sitemap",
                             "what": "not XML"},
    "/private/front": {"origin": MAIN, "status": 200, "expect": "robots_forbidden",
                       "what": "start URL under Disallow: /private/ (must never be requested)"},
    "/private/rss": {"origin": MAIN, "status": 200, "expect": "robots_forbidden",
                     "what": "feed under Disallow: /private/ (must never be requested)"},
    "/private/sitemap.xml": {"origin": MAIN, "status": 200, "expect": "robots_forbidden",
                             "what": "sitemap under Disallow: /private/ (must never be requested)"},
}
BAD_ARTICLE_PATHS = [p for p, v in BAD_PAGES.items() if v["expect"] == "article"]

PDF_BYTES = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
             b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
             b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
             b"trailer<</Root 1 0 R>>\n%%EOF\n")


def load_bad_articles(root: Path = SITE_ROOT) -> dict[str, Article]:
    """The articles behind the bad article URLs, keyed by canonical path."""
    entries = yaml.safe_load((root / "articles" / "bad.yaml").read_text(encoding="utf-8"))
    articles = [Article(**entry) for entry in entries]
    return {a.canonical_path: a for a in articles}


def malformed(html: str) -> str:
    """Unclosed <p>s, a stray </div>, an unterminated attribute, missing </article>."""
    html = html.replace("</p>", "")
    html = html.replace("</h1>", "</h1></div></div>", 1)
    html = html.replace('class="article__tools">', 'class="article__tools data-x=>', 1)
    html = html.replace("</article>", "", 1).replace("</main>", "", 1)
    return re.sub(r'<img src="([^"]*)"', r"<img src=\1 width=100%", html, count=1)


def bad_responses(renderer: PageRenderer, bad: dict[str, Article]) -> dict:
    """(origin, path) -> Response for every bad input."""
    main, arabic = renderer.main_url, renderer.arabic_url
    out: dict[tuple[str, str], Response] = {}
    english = bad["/english/categories/bad/1079901"]
    out[MAIN, "/english/categories/bad/1079901"] = Response.html(
        malformed(renderer.new_article(english)))

    page = renderer.new_article(bad["/arabic/categories/bad/1367901"])
    page = page.replace('<meta charset="utf-8">', '<meta charset="windows-1256">', 1)
    out[ARABIC, "/arabic/categories/bad/1367901"] = Response(
        body=page.encode("cp1256", errors="xmlcharrefreplace"),
        content_type="text/html; charset=windows-1256")

    page = renderer.new_article(bad["/kurmanci/categories/bad/1301901"])
    page = page.replace('<meta charset="utf-8">\n', "", 1)
    out[MAIN, "/kurmanci/categories/bad/1301901"] = Response(
        body=page.encode("utf-8"), content_type="text/html; charset=ISO-8859-1")

    out[MAIN, "/english/categories/bad/1079902"] = Response(body=b"", compressible=False)
    out[MAIN, "/english/categories/bad/1079903"] = Response.html(
        "<html><body><h1>404</h1><p>Page not found</p></body></html>", status=404)
    out[MAIN, "/english/categories/bad/1079904"] = Response.html(
        "<html><body><h1>500</h1><p>Internal Server Error</p></body></html>", status=500)

    full = renderer.new_article(english).encode("utf-8")
    full = full.ljust(TRUNCATED_CLAIMED, b" ")[:TRUNCATED_CLAIMED]
    out[MAIN, "/english/categories/bad/1079905"] = Response(
        body=full[:TRUNCATED_SENT], claimed_length=TRUNCATED_CLAIMED, compressible=False)

    padding = "<!-- " + "archive padding " * (OVERSIZE_BYTES // 16) + " -->"
    big = renderer.new_article(english).replace("</body>", padding + "\n</body>", 1)
    out[MAIN, "/english/categories/bad/1079906"] = Response.html(big, compressible=False)

    out[MAIN, "/english/categories/bad/1079907"] = Response(
        body=PDF_BYTES, content_type="application/pdf", compressible=False, cookies=False)

    items = [(main + a.canonical_path, a) for a in bad.values() if a.edition == "english"]
    feed = rss("Rudaw English (broken)", main + "/english", "en", items * 3)
    out[MAIN, "/english/bad/rss"] = Response(body=feed.encode()[: len(feed) // 2],
                                             content_type=RSS, cookies=False)
    out[MAIN, "/sitemaps/broken.xml"] = Response(
        body=b"Sitemap generation failed: <<timeout>> {\"error\": 1", content_type=XML,
        cookies=False)
    out[MAIN, "/private/front"] = Response.html(
        "<html><body><h1>Private</h1><a href=\"/english/categories/bad/1079901\">x</a>"
        "</body></html>")
    out[MAIN, "/private/rss"] = Response(body=feed.encode(), content_type=RSS, cookies=False)
    out[MAIN, "/private/sitemap.xml"] = Response(
        body=b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             b"</urlset>", content_type=XML, cookies=False)
    out[MAIN, "/english/bad"] = Response.html(_bad_front(main, arabic))
    return out


def _bad_front(main: str, arabic: str) -> str:
    links = []
    for path, info in BAD_PAGES.items():
        if path.startswith(("/private/", "/english/bad")) or "/categories/" not in path:
            continue
        base = arabic if info["origin"] == ARABIC else main
        links.append(f'<li><a href="{base}{path}">{escape(info["what"])}</a></li>')
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            "<title>Bad inputs - Rudaw.net</title></head><body><h1>Bad inputs</h1><ul>\n"
            + "\n".join(links) + "\n</ul></body></html>\n")

