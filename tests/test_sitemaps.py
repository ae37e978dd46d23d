"""Sitemap parsing on bytes: index, urlset, news, gzip, hostile and broken input."""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime

import pytest

from archive.discover.sitemaps import SitemapError, parse_sitemap, robots_sitemaps

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
NEWS_NS = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'

INDEX = f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex {NS}>
  <sitemap><loc>http://news.example/sitemaps/news-1.xml.gz</loc>
    <lastmod>2026-11-20T10:00:00+00:00</lastmod></sitemap>
  <sitemap><loc>http://news.example/sitemaps/news-2.xml</loc></sitemap>
  <sitemap><loc> </loc></sitemap>
</sitemapindex>""".encode()

URLSET = f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset {NS} {NEWS_NS}>
  <url><loc>http://news.example/english/categories/syria/1079288</loc>
    <lastmod>2026-11-20</lastmod>
    <news:news><news:publication><news:name>Example</news:name>
      <news:language>en</news:language></news:publication>
      <news:publication_date>2026-11-20T10:15:00+03:00</news:publication_date>
      <news:title>Talks resume</news:title></news:news></url>
  <url><loc>http://news.example/english/middleeast/syria/05032020</loc>
    <lastmod>yesterday-ish</lastmod></url>
  <url><loc>/english/relative/1</loc></url>
  <url><loc>ftp://news.example/file</loc></url>
  <url><loc>http://news.example/english/categories/syria/1079288</loc></url>
</urlset>""".encode()


def test_index_children_and_lastmod():
    sitemap = parse_sitemap(INDEX, "http://news.example/sitemap.xml")
    assert sitemap.is_index and sitemap.kind == "index"
    assert [e.url for e in sitemap.entries] == [
        "http://news.example/sitemaps/news-1.xml.gz",
        "http://news.example/sitemaps/news-2.xml",
    ]
    assert sitemap.entries[0].lastmod == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert sitemap.entries[1].lastmod is None


def test_urlset_news_fields_relative_and_invalid():
    sitemap = parse_sitemap(URLSET, "http://news.example/sitemaps/news-2.xml")
    assert sitemap.kind == "urlset" and not sitemap.is_index
    urls = [e.url for e in sitemap.entries]
    assert urls == [
        "http://news.example/english/categories/syria/1079288",
        "http://news.example/english/middleeast/syria/05032020",
        "http://news.example/english/relative/1",
    ]
    first = sitemap.entries[0]
    assert first.title == "Talks resume"
    assert first.language == "en"
    assert first.published == datetime(2026, 11, 20, 7, 15, tzinfo=UTC)
    assert first.lastmod == datetime(2026, 11, 20)
    assert sitemap.entries[1].lastmod is None  # invalid date -> None


def test_gzip_by_magic_bytes_not_name():
    plain = parse_sitemap(URLSET, "http://news.example/s.xml")
    zipped = parse_sitemap(gzip.compress(URLSET), "http://news.example/s.xml")  # misleading name
    assert zipped.entries == plain.entries


def test_no_namespace_and_bom():
    body = b"\xef\xbb\xbf\n<urlset><url><loc>http://a.example/1</loc></url></urlset>"
    assert [e.url for e in parse_sitemap(body).entries] == ["http://a.example/1"]


@pytest.mark.parametrize("body, needle", [
    (b"User-agent: *\nDisallow: /\n", "malformed"),
    (b"<html><body>404 page</body></html>", "root element is <html>"),
    (URLSET[:200], "malformed"),
    (gzip.compress(URLSET)[:60], "gzip"),
    (b"", "empty"),
])
def test_broken_sitemaps_raise_sitemap_error(body, needle):
    with pytest.raises(SitemapError) as info:
        parse_sitemap(body, "http://news.example/sitemaps/broken.xml")
    assert "http://news.example/sitemaps/broken.xml" in str(info.value)
    assert needle in str(info.value)


def test_gzip_bomb_is_capped():
    # 60 MB of whitespace inside a valid urlset: beyond the cap, refused early
    bomb = gzip.compress(b"<urlset>" + b" " * (60 * 1024 * 1024) + b"</urlset>", 9)
    assert len(bomb) < 200_000
    started = time.monotonic()
    with pytest.raises(SitemapError, match="limit"):
        parse_sitemap(bomb, "http://a.example/bomb.xml.gz", max_bytes=5 * 1024 * 1024)
    assert time.monotonic() - started < 2.0


def test_plain_oversize_is_refused():
    body = b"<urlset>" + b" " * 2048 + b"</urlset>"
    with pytest.raises(SitemapError, match="limit"):
        parse_sitemap(body, max_bytes=1024)


def test_billion_laughs_is_refused():
    body = (b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]>'
            b"<urlset><url><loc>http://a/&c;</loc></url></urlset>")
    with pytest.raises(SitemapError, match="entities"):
        parse_sitemap(body)


def test_max_entries_truncates_and_says_so():
    urls = "".join(f"<url><loc>http://a.example/{i}</loc></url>" for i in range(100))
    sitemap = parse_sitemap(f"<urlset>{urls}</urlset>".encode(), max_entries=10)
    assert len(sitemap.entries) == 10 and sitemap.truncated


def test_self_referencing_index_parses_to_itself():
    # The parser just reports the child; the spider's dupefilter and depth cap stop the loop
    # (tests/test_spider_discovery.py checks that end to end).
    body = (f'<sitemapindex {NS}><sitemap><loc>http://a.example/sitemap.xml</loc></sitemap>'
            "</sitemapindex>").encode()
    sitemap = parse_sitemap(body, "http://a.example/sitemap.xml")
    assert sitemap.is_index and sitemap.entries[0].url == "http://a.example/sitemap.xml"


def test_robots_sitemaps():
    robots = (b"User-agent: *\nDisallow: /private/\nSitemap: http://a.example/sitemap.xml\n"
              b"sitemap: /rel.xml # comment\nSITEMAP: http://a.example/sitemap.xml\n")
    assert robots_sitemaps(robots, "http://a.example/robots.txt") == [
        "http://a.example/sitemap.xml", "http://a.example/rel.xml"]
