"""robots.txt, legacy RSS feeds and sitemaps of the Rudaw sample outlet."""

from __future__ import annotations

import gzip
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

from .content import Article

ROBOTS = """User-agent: *
Disallow: /private/
Disallow: /api/

Sitemap: {base}/sitemap.xml
"""
ARABIC_ROBOTS = "User-agent: *\nDisallow: /private/\n"
INDEX_LASTMOD = "2026-11-20"  # the sitemap index's <lastmod> until the site changes


def parse_time(value: str) -> datetime:
    """An ISO date or time of the content data as an aware datetime."""
    if len(value) == 10:  # legacy pages only know the day; Rudaw's feeds said noon-ish
        value += "T12:00:00+03:00"
    return datetime.fromisoformat(value)


def _when(article: Article) -> datetime:
    return parse_time(article.published)


def feed_time(article: Article) -> datetime:
    """pubDate / lastmod time: the last run-time edit if any, else the publication."""
    return parse_time(article.revised or article.published)


def lastmod(article: Article) -> str:
    """Sitemap <lastmod>: the day as published, or the full time of a run-time edit (a
    second edit on the same day must still change the sitemap)."""
    return article.revised or _when(article).date().isoformat()


def rss(title: str, home: str, language: str, items: list[tuple[str, Article]]) -> str:
    """RSS 2.0 as the legacy site served it: ``items`` are (absolute link, article)."""
    parts = []
    for link, article in items:
        parts.append(
            "  <item>\n"
            f"   <title>{escape(article.title)}</title>\n"
            f"   <link>{escape(link)}</link>\n"
            f"   <guid isPermaLink=\"false\">{escape(article.key)}</guid>\n"
            f"   <description><![CDATA[{article.summary}]]></description>\n"
            f"   <pubDate>{format_datetime(feed_time(article))}</pubDate>\n"
            f"   <category>{escape(article.section)}</category>\n"
            "  </item>\n")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">\n'
        " <channel>\n"
        f"  <title>{escape(title)}</title>\n"
        f"  <link>{escape(home)}</link>\n"
        f"  <description>{escape(title)}</description>\n"
        f"  <language>{language}</language>\n"
        + "".join(parts) + " </channel>\n</rss>\n")


def sitemap_index(urls: list[str], lastmods: list[str] | None = None) -> str:
    lastmods = lastmods or [INDEX_LASTMOD] * len(urls)
    entries = "".join(f" <sitemap>\n  <loc>{escape(u)}</loc>\n  <lastmod>{m}</lastmod>\n"
                      " </sitemap>\n" for u, m in zip(urls, lastmods, strict=True))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + entries + "</sitemapindex>\n")


def urlset(items: list[tuple[str, Article]]) -> str:
    entries = "".join(
        f" <url>\n  <loc>{escape(link)}</loc>\n  <lastmod>{lastmod(a)}"
        "</lastmod>\n </url>\n" for link, a in items)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + entries + "</urlset>\n")


def xml_noise(text: str, rotation: int) -> str:
    """A generator comment after the XML declaration: new bytes, same entries."""
    if not rotation:
        return text
    head, sep, rest = text.partition("\n")
    return f"{head}{sep}<!-- cache node c{rotation:06d} -->\n{rest}"


def gzip_file(text: str) -> bytes:
    """A .xml.gz sitemap FILE (fixed mtime so captures are reproducible)."""
    return gzip.compress(text.encode("utf-8"), mtime=0)
