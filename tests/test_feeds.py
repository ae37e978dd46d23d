"""Feed parsing on bytes: formats, hostile and broken input."""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from archive.discover.feeds import FeedError, parse_date, parse_feed
from archive.discover.safexml import SafeXMLError, gunzip_capped, parse_xml

FEED_URL = "http://news.example/english/rss"

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>Example</title><link>http://news.example/</link>
<item><title>Ceasefire holds in the north</title>
 <link>/english/middleeast/syria/05032020</link>
 <description><![CDATA[<p>Summary text</p>]]></description>
 <pubDate>Thu, 05 Mar 2020 18:30:00 +0300</pubDate>
 <media:thumbnail url="/images/a.jpg"/></item>
<item><title>Second story</title>
 <link>http://news.example/english/kurdistan/060320201?utm_source=rss</link>
 <pubDate>not a date at all</pubDate></item>
<item><title>No link but permalink guid</title>
 <guid isPermaLink="true">http://news.example/english/world/07032020</guid></item>
<item><title>No link at all</title><guid isPermaLink="false">abc-123</guid></item>
<item><title>Script link</title><link>javascript:alert(1)</link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://other.example/base/">
 <title>Atom example</title>
 <entry><title>Atom one</title>
  <link rel="self" href="http://other.example/feed/1"/>
  <link rel="alternate" type="text/html" href="stories/1"/>
  <published>2026-11-20T10:15:00+03:00</published>
  <updated>2026-11-21T08:00:00Z</updated>
  <summary>Short</summary></entry>
 <entry><title>Atom two</title><link href="http://other.example/stories/2"/>
  <updated>garbage</updated></entry>
 <entry><title>Only id</title><id>http://other.example/stories/3</id></entry>
</feed>"""

RDF = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
 <channel rdf:about="http://news.example/"><title>RDF</title></channel>
 <item rdf:about="http://news.example/rdf/1"><title>RDF one</title>
  <link>http://news.example/rdf/1</link><dc:date>2020-03-05T10:00:00Z</dc:date></item>
 <item rdf:about="http://news.example/rdf/2"><title>RDF two</title></item>
</rdf:RDF>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><item><title>&lol9;</title><link>http://x/1</link></item>
</channel></rss>"""


def test_rss2_links_titles_dates_and_relative_links():
    entries = parse_feed(RSS.encode(), FEED_URL)
    urls = [e.url for e in entries]
    assert urls == [
        "http://news.example/english/middleeast/syria/05032020",
        "http://news.example/english/kurdistan/060320201?utm_source=rss",
        "http://news.example/english/world/07032020",
    ]
    first = entries[0]
    assert first.title == "Ceasefire holds in the north"
    assert first.published == datetime(2020, 3, 5, 18, 30, tzinfo=timezone(timedelta(hours=3)))
    assert first.summary == "<p>Summary text</p>"
    assert first.image == "http://news.example/images/a.jpg"
    assert entries[1].published is None  # invalid date -> None, entry kept


def test_atom_alternate_link_xml_base_and_dates():
    entries = parse_feed(ATOM.encode(), "http://other.example/atom.xml")
    assert [e.url for e in entries] == [
        "http://other.example/base/stories/1",
        "http://other.example/stories/2",
        "http://other.example/stories/3",
    ]
    assert entries[0].published == datetime(2026, 11, 20, 7, 15, tzinfo=UTC)
    assert entries[0].updated == datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    assert entries[1].updated is None
    assert entries[0].summary == "Short"


def test_rdf_rss1():
    entries = parse_feed(RDF.encode(), "http://news.example/rdf")
    assert [e.url for e in entries] == ["http://news.example/rdf/1", "http://news.example/rdf/2"]
    assert entries[0].published == datetime(2020, 3, 5, 10, 0, tzinfo=UTC)


def test_bom_leading_whitespace_and_declared_encoding():
    body = "\ufeff\n  " + RSS.replace('encoding="utf-8"', 'encoding="UTF-8"')
    entries = parse_feed(body.encode("utf-8"), FEED_URL)
    assert len(entries) == 3
    latin = ('<?xml version="1.0" encoding="iso-8859-1"?><rss><channel><item>'
             '<title>Caf\xe9 \xe7a</title><link>http://a.example/1</link></item>'
             '</channel></rss>').encode("iso-8859-1")
    assert parse_feed(latin, "http://a.example/rss")[0].title == "Café ça"


def test_html_entities_in_feed_are_tolerated():
    body = (b"<rss><channel><item><title>A&nbsp;B &amp; C</title>"
            b"<link>http://a.example/1</link></item></channel></rss>")
    assert parse_feed(body, "http://a.example/rss")[0].title == "A\xa0B & C"


def test_gzip_feed_detected_by_magic():
    entries = parse_feed(gzip.compress(RSS.encode()), FEED_URL)
    assert len(entries) == 3


@pytest.mark.parametrize("body, needle", [
    (RSS.encode()[:300], "malformed XML"),          # truncated
    (b"", "empty document"),
    (b"<!DOCTYPE html><html><body>Not a feed</body></html>", "root element is <html>"),
    (b"<html><head><title>x</title></head><body/></html>", "root element is <html>"),
    (b"\x00\x01binary junk", "malformed"),
])
def test_broken_feeds_raise_feed_error_with_clear_message(body, needle):
    with pytest.raises(FeedError) as info:
        parse_feed(body, FEED_URL)
    assert FEED_URL in str(info.value)
    assert needle in str(info.value)


def test_billion_laughs_is_refused_fast():
    started = time.monotonic()
    with pytest.raises(FeedError, match="entities"):
        parse_feed(BILLION_LAUGHS, FEED_URL)
    assert time.monotonic() - started < 1.0


def test_external_entity_is_refused():
    xxe = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b"<rss><channel><item><title>&x;</title><link>http://a/1</link></item>"
           b"</channel></rss>")
    with pytest.raises(FeedError, match="entities"):
        parse_feed(xxe, FEED_URL)


def test_utf16_entity_declaration_is_refused_after_parse():
    doc = ('<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY a "b">]>'
           "<rss><channel/></rss>").encode("utf-16")
    with pytest.raises(SafeXMLError, match="entities"):
        parse_xml(doc)


def test_entity_text_inside_content_is_not_an_entity_declaration():
    body = (b"<rss><channel><item><title>About &lt;!ENTITY&gt;</title>"
            b"<description><![CDATA[<!ENTITY x 'y'>]]></description>"
            b"<link>http://a.example/1</link></item></channel></rss>")
    assert parse_feed(body, "http://a.example/rss")[0].title == "About <!ENTITY>"


def test_max_entries_and_duplicate_links():
    items = "".join(f"<item><link>http://a.example/{i % 50}</link></item>" for i in range(200))
    body = f"<rss><channel>{items}</channel></rss>".encode()
    assert len(parse_feed(body, "http://a.example/rss")) == 50
    assert len(parse_feed(body, "http://a.example/rss", max_entries=7)) == 7


def test_gunzip_cap_stops_a_gzip_bomb_early():
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))  # 20 MB of zeros, ~20 KB compressed
    assert len(bomb) < 100_000
    started = time.monotonic()
    with pytest.raises(SafeXMLError, match="limit"):
        gunzip_capped(bomb, max_bytes=1024 * 1024)
    assert time.monotonic() - started < 1.0
    assert gunzip_capped(gzip.compress(b"abc") + gzip.compress(b"def")) == b"abcdef"
    with pytest.raises(SafeXMLError, match="truncated|corrupt"):
        gunzip_capped(gzip.compress(b"x" * 10_000)[:-20])


@pytest.mark.parametrize("text, expected", [
    ("Thu, 05 Mar 2020 18:30:00 GMT", datetime(2020, 3, 5, 18, 30, tzinfo=UTC)),
    ("2026-11-20T10:15:00Z", datetime(2026, 11, 20, 10, 15, tzinfo=UTC)),
    ("2026-11-20", datetime(2026, 11, 20)),
    ("32 Foo 2020", None),
    ("2026-13-45T99:00:00", None),
    ("", None),
    (None, None),
])
def test_parse_date(text, expected):
    assert parse_date(text) == expected
