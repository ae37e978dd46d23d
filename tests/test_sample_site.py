"""The Rudaw sample outlet behaves like the spec says, checked over real HTTP."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import re
import socket
import threading
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from html import unescape
from urllib.parse import urlsplit

import pytest

from archive.discover.nextjs import article_items
from archive.outlet.config import load_outlet
from tests.sites import SampleSite, load_expected
from tests.sites.conditional import SITE_EPOCH
from tests.sites.conditional import http_date as http_date_of
from tests.sites.content import load_updates
from tests.sites.expected import build_expected

FLIGHT = re.compile(r'self\.__next_f\.push\(\[1,(".*?")\]\)</script>', re.S)
HREF = re.compile(r'<a\s[^>]*href="([^"]+)"')
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture(scope="module")
def site():
    with SampleSite() as running:
        yield running


@pytest.fixture(scope="module")
def expected():
    return load_expected()


@pytest.fixture(scope="module")
def outlet(site, tmp_path_factory):
    return load_outlet(site.write_outlet(tmp_path_factory.mktemp("outlet")))


def fetch(site: SampleSite, path: str, headers: dict | None = None, method: str = "GET"):
    """One request on a fresh connection: (status, headers message, raw body bytes)."""
    url = urlsplit(site.url(path))
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def raw_exchange(site: SampleSite, path: str) -> tuple[bytes, bytes]:
    """Send a request on a bare socket and read until the server closes: (head, body)."""
    url = urlsplit(site.url(path))
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def flight_text(html: str) -> tuple[list[str], str]:
    chunks = [json.loads(literal) for literal in FLIGHT.findall(html)]
    return chunks, "".join(chunks)


# ---- fronts and discovery ---------------------------------------------------------------


def test_fronts_list_articles_only_in_flight_data(site, expected, outlet):
    for front in expected["non_articles"]["fronts"]:
        status, _, body = fetch(site, front)
        html = body.decode("utf-8")
        assert status == 200
        links = [site.url(h) if h.startswith("/") else h for h in HREF.findall(html)]
        assert links and not [u for u in links if outlet.is_article_url(u)], front
        chunks, text = flight_text(html)
        assert len(chunks) >= 3
        ids = {int(i) for i in re.findall(r'\{"ID":(\d+),"Title"', text)}
        edition = front.strip("/")
        want = {int(v["id_key"].split("/")[1]) for v in expected["articles"].values()
                if v["id_key"].startswith(edition + "/") and v["generation"] == "new"}
        assert ids == want and len(ids) >= 3
        # an object straddles two push() calls: its text is in no single chunk
        objects = re.findall(r'\{"ID":\d+,.*?"PublishedDate":"[^"]+"\}', text)
        assert any(not any(obj in chunk for chunk in chunks) for obj in objects)


def test_english_front_lists_redirect_target_and_alias_slug(site):
    _, text = flight_text(fetch(site, "/english")[2].decode())
    assert '"ID":1079100' in text
    assert '"ID":1079288' in text and '"categorySlug":"middleeast"' in text


def test_gzip_is_honoured_for_html_and_xml(site):
    for path in ("/english/middleeast/syria/05032020", "/sitemap.xml", "/english/rss"):
        _, plain_headers, plain = fetch(site, path)
        status, headers, body = fetch(site, path, {"Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert int(headers["Content-Length"]) == len(body) < len(plain)
        assert gzip.decompress(body) == plain
        assert plain_headers["Content-Encoding"] is None


def test_html_pages_send_two_cookies_and_keep_alive(site):
    url = urlsplit(site.base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    for path in ("/english/categories/syria/1079288", "/english/middleeast"):
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        cookies = response.headers.get_all("Set-Cookie")
        assert len(cookies) == 2 and cookies[0].startswith("sid=")
        assert cookies[1].startswith("consent=")
    assert response.headers["Transfer-Encoding"] == "chunked"  # /english/middleeast
    conn.close()


def test_legacy_url_redirects_permanently_to_new_url(site, expected):
    status, headers, _ = fetch(site, "/english/kurdistan/09092016")
    assert status == 301
    assert headers["Location"] == site.url("/english/categories/kurdistan/1079100")
    assert expected["url_variants"]["/english/kurdistan/09092016"]["status"] == 301


def test_go_redirects_to_an_unnamed_local_origin(site, expected):
    status, headers, _ = fetch(site, "/english/go")
    assert status == 302 and headers["Location"] == "http://127.0.0.1:9/internal"
    assert headers["Location"] in expected["never_fetch"]
    page = fetch(site, "/english/categories/iraq/1079301")[2].decode()
    assert "http://169.254.169.254/latest/meta-data/" in page
    assert "http://127.0.0.1:9/admin" in page


def test_robots_txt(site):
    status, headers, body = fetch(site, "/robots.txt")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert "User-agent: *" in text and "Disallow: /private/" in text
    assert f"Sitemap: {site.base_url}/sitemap.xml" in text


def test_sitemap_index_points_to_gzip_file_and_plain_urlset(site, expected):
    index = ET.fromstring(fetch(site, "/sitemap.xml")[2])
    assert index.tag == f"{SM}sitemapindex"
    children = [loc.text for loc in index.iter(f"{SM}loc")]
    assert children == [site.url("/sitemaps/news-1.xml.gz"), site.url("/sitemaps/news-2.xml")]
    status, headers, body = fetch(site, "/sitemaps/news-1.xml.gz", {"Accept-Encoding": "gzip"})
    assert headers["Content-Type"] == "application/x-gzip"
    assert headers["Content-Encoding"] is None and body[:2] == b"\x1f\x8b"
    urls = {loc.text for loc in ET.fromstring(gzip.decompress(body)).iter(f"{SM}loc")}
    urls |= {loc.text for loc in ET.fromstring(fetch(site, "/sitemaps/news-2.xml")[2])
             .iter(f"{SM}loc")}
    on_main = {site.url(p) for p, v in expected["articles"].items() if v["origin"] == "main"}
    assert urls == on_main


def test_feeds_are_rss_linking_legacy_urls(site, expected, outlet):
    links = []
    for path in expected["non_articles"]["feeds"]:
        status, headers, body = fetch(site, path)
        root = ET.fromstring(body)
        assert status == 200 and root.tag == "rss" and "rss" in headers["Content-Type"]
        items = root.findall("./channel/item")
        assert items and all(i.findtext("pubDate") for i in items)
        links += [i.findtext("link") for i in items]
    tracked = site.url("/english/middleeast/iraq/260820204?utm_source=rss&utm_medium=feed")
    assert tracked in links
    assert site.url("/english/kurdistan/09092016") in links
    assert all(outlet.is_article_url(u) for u in links if "?" not in u)


def test_legacy_section_paginates_to_a_last_page(site, expected, outlet):
    seen, pages = set(), expected["non_articles"]["listings"]
    for number, path in enumerate(pages, start=1):
        assert outlet.is_listing_url(site.url(path))
        html = fetch(site, path)[2].decode()
        hrefs = HREF.findall(html)
        seen |= {h for h in hrefs if outlet.is_article_url(site.url(h))}
        has_next = f"?page={number + 1}" in html
        assert has_next == (number < len(pages))
    assert seen == {p for p in expected["articles"] if p.startswith("/english/middleeast/")}


# ---- article pages ----------------------------------------------------------------------


def test_every_article_page_matches_expected(site, expected):
    langs = {"eng": "en", "ckb": "ckb", "kmr": "ku", "tur": "tr", "arb": "ar"}
    for path, want in expected["articles"].items():
        status, headers, body = fetch(site, path)
        html = unescape(body.decode("utf-8"))
        assert status == 200, path
        assert f'<html lang="{langs[want["language"]]}"' in html
        assert f">{want['title']}</h1>" in html
        assert want["text_first"] in html and want["text_last"] in html
        if want["dateline"]:
            assert f"<p>{want['dateline']} " in html
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
        missing = [s for s in want["must_not_contain"] if s not in text]
        assert not missing, (path, missing)  # the page really carries all that furniture
        if want["generation"] == "new":
            ld = json.loads(re.search(r'ld\+json">(.*?)</script>', html).group(1))
            assert ld["datePublished"] == want["published"]
            assert [a["name"] for a in ld["author"]] == want["authors"]
            assert f'<link rel="canonical" href="{site.url(path)}">' in html
        for variant in want["urls"][1:]:
            kind = expected["url_variants"][variant]
            if kind["kind"] != "redirect":
                assert fetch(site, variant)[2] == body, variant


def test_seed_like_page_has_only_a_visible_date(site, expected):
    want = expected["articles"]["/english/middleeast/syria/05032020"]
    html = fetch(site, "/english/middleeast/syria/05032020")[2].decode()
    assert want["paragraphs"] == 15 and want["published"] == "2020-03-05"
    assert ">05-03-2020<" in html
    for marker in ("datetime", "ld+json", "published_time", "datePublished", "2020-03-05"):
        assert marker not in html
    inline = re.sub(r"</?(a|span)\b[^>]*>", "", unescape(html))  # as a browser lays it out
    text = re.sub(r"<[^>]+>", "\n", inline)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    order = ["Also in Middle East", "A+ A-", "ERBIL, Kurdistan Region – Tribal fighters",
             "Last updated 9.30 PM", "Comments", "Post a comment", "Required"]
    positions = [next(i for i, line in enumerate(lines) if line.startswith(m)) for m in order]
    assert positions == sorted(positions)
    assert lines.count("Required") == 2 and "A+ A-" in lines
    start = lines.index(want["title"])  # the seed's order: title, date, author, author @handle
    assert lines[start + 1:start + 4] == ["05-03-2020", "Dilan Sherwani",
                                          "Dilan Sherwani @DilanSherwani"]


def test_one_article_has_two_authors(expected):
    assert any(len(a["authors"]) == 2 for a in expected["articles"].values())


def test_expected_json_is_generated_from_the_served_data(expected, outlet):
    assert build_expected() == expected
    for path, want in expected["articles"].items():
        for variant in want["urls"]:
            assert outlet.is_article_url("http://127.0.0.1:8700" + variant) or "?" in variant
        # the outlet's article_key rules derive the expected id from every URL variant
        for rule in outlet.extra["article_key"]:
            match = re.search(rule["pattern"], path)
            if match:
                assert rule["key"].format(**match.groupdict()) == want["id_key"]
                break
        else:
            pytest.fail(f"no article_key rule for {path}")


# ---- bad inputs ------------------------------------------------------------------------


def test_malformed_html_still_carries_the_article(site, expected):
    want = expected["bad"]["/english/categories/bad/1079901"]["article"]
    html = fetch(site, "/english/categories/bad/1079901")[2].decode()
    assert "</h1></div></div>" in html and "</p>" not in html and "</article>" not in html
    assert unescape(want["text_last"]) in unescape(html)


def test_windows_1256_page_is_really_cp1256(site, expected):
    want = expected["bad"]["/arabic/categories/bad/1367901"]["article"]
    status, headers, body = fetch(site, "/arabic/categories/bad/1367901")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=windows-1256"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    html = body.decode("cp1256")
    assert want["title"] in html and want["text_first"] in html
    assert want["text_first"].encode("cp1256") in body


def test_misdeclared_charset_is_utf8_under_a_latin1_header(site, expected):
    want = expected["bad"]["/kurmanci/categories/bad/1301901"]["article"]
    status, headers, body = fetch(site, "/kurmanci/categories/bad/1301901")
    assert headers["Content-Type"] == "text/html; charset=ISO-8859-1"
    assert b"charset" not in body.split(b"</head>")[0].lower()
    assert want["text_first"] in body.decode("utf-8")
    assert "Ãª" in body.decode("iso-8859-1")  # what trusting the header gives


def test_error_statuses_empty_body_and_pdf(site):
    status, headers, body = fetch(site, "/english/categories/bad/1079902")
    assert (status, headers["Content-Length"], body) == (200, "0", b"")
    assert fetch(site, "/english/categories/bad/1079903")[0] == 404
    assert fetch(site, "/english/categories/bad/1079904")[0] == 500
    status, headers, body = fetch(site, "/english/categories/bad/1079907")
    assert headers["Content-Type"] == "application/pdf" and body.startswith(b"%PDF-")


def test_truncated_body_is_shorter_than_content_length_then_closed(site):
    head, body = raw_exchange(site, "/english/categories/bad/1079905")
    assert b"Content-Length: 50000" in head
    assert len(body) == 20000  # recv returned b"": the server closed the connection
    with pytest.raises(http.client.IncompleteRead):
        fetch(site, "/english/categories/bad/1079905")


def test_oversize_page_is_never_compressed(site):
    status, headers, body = fetch(site, "/english/categories/bad/1079906",
                                  {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] is None
    assert len(body) >= 3 * 1024 * 1024


def test_broken_feed_and_sitemap_are_not_parseable(site):
    for path in ("/english/bad/rss", "/sitemaps/broken.xml"):
        status, _, body = fetch(site, path)
        assert status == 200
        with pytest.raises(ET.ParseError):
            ET.fromstring(body)


def test_bad_front_links_every_bad_article(site, expected, tmp_path):
    bad = load_outlet(site.write_outlet(tmp_path, "bad"))
    html = fetch(site, "/english/bad")[2].decode()
    links = set(HREF.findall(html))
    wanted = {site.url(p) for p, v in expected["bad"].items() if "/categories/" in p}
    assert links == wanted and all(bad.is_article_url(u) for u in links)
    assert bad.max_page_bytes == 1_000_000
    private = [u for u in bad.seed_urls() if "/private/" in u]
    # no deny_urls in the bad variant: only robots.txt may keep these seeds unfetched
    assert len(private) == 3 and not any(bad.is_denied_url(u) for u in private)
    assert site.url("/english/bad/rss") in bad.feeds
    assert site.url("/sitemaps/broken.xml") in bad.sitemaps


# ---- bookkeeping -----------------------------------------------------------------------


def test_request_log_records_paths_headers_and_times():
    with SampleSite() as fresh:
        fetch(fresh, "/english", {"User-Agent": "probe/1"})
        fetch(fresh, "/arabic")
        fetch(fresh, "/arabic/nothing-here")
        log = fresh.requests
        assert [(e.origin, e.path, e.status) for e in log] == [
            ("main", "/english", 200), ("arabic", "/arabic", 200),
            ("arabic", "/arabic/nothing-here", 404)]
        assert log[0].headers["User-Agent"] == "probe/1"
        assert log[0].monotonic <= log[1].monotonic <= log[2].monotonic
        assert abs(log[0].wall - log[2].wall) < 60
        assert fresh.count("/arabic", origin="arabic") == 1
        assert fresh.count("/arabic", origin="main") == 0


def test_write_outlet_renders_real_ports(site, tmp_path):
    for variant in ("default", "bad"):
        path = site.write_outlet(tmp_path / f"{variant}.yaml", variant)
        text = path.read_text()
        assert "http://127.0.0.1:8700" not in text and "http://127.0.0.1:8701" not in text
        config = load_outlet(path)
        assert config.name == "rudaw-sample" and config.spider == "rudaw"
        assert config.start_urls[:5] == [site.url(f"/{e}") for e in
                                         ("english", "sorani", "kurmanci", "turkish", "arabic")]
        assert config.edition_for(site.url("/arabic/categories/news/1367254")).language == "arb"
        assert config.download_delay == 0 and config.concurrency == 4


# ---- conditional requests (incremental crawls) -------------------------------------------

VALIDATED = ["/english", "/sorani", "/kurmanci", "/turkish", "/arabic", "/english/middleeast",
             "/english/middleeast?page=2", "/english/middleeast?page=3", "/english/rss",
             "/sorani/rss", "/kurmanci/rss", "/turkish/rss", "/sitemap.xml",
             "/sitemaps/news-1.xml.gz", "/sitemaps/news-2.xml"]
SYRIA = "/english/categories/syria/1079288"  # new style, alias /english/categories/middleeast/..
SEED = "/english/middleeast/syria/05032020"  # legacy, seed-like


@pytest.fixture
def fresh():
    with SampleSite() as running:
        yield running


@pytest.fixture(scope="module")
def updates():
    return load_updates()


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest() + '"'


def page_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", unescape(html)))


def sitemap_lastmods(body: bytes) -> dict[str, str]:
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    root = ET.fromstring(body)
    return {node.findtext(f"{SM}loc"): node.findtext(f"{SM}lastmod") for node in root}


def feed_items(body: bytes) -> list[dict[str, str]]:
    return [{child.tag: child.text for child in item}
            for item in ET.fromstring(body).findall("./channel/item")]


def front_items(site: SampleSite, front: str) -> list[dict]:
    return article_items(fetch(site, front)[2])


def test_fronts_feeds_sitemaps_answer_304_to_matching_validators(site):
    assert set(VALIDATED) >= set(load_expected()["non_articles"]["listings"])
    for path in VALIDATED:
        status, headers, body = fetch(site, path)
        etag, last_modified = headers["ETag"], headers["Last-Modified"]
        assert status == 200 and etag == strong_etag(body), path
        assert (etag, last_modified) == site.validators(path)
        assert parsedate_to_datetime(last_modified) == SITE_EPOCH
        status, headers304, body304 = fetch(site, path, {"If-None-Match": etag})
        assert (status, body304) == (304, b""), path
        assert headers304["ETag"] == etag and headers304["Last-Modified"] == last_modified
        assert headers304["Content-Length"] is None and headers304["Set-Cookie"] is None
        assert fetch(site, path, {"If-Modified-Since": last_modified})[0] == 304
        assert fetch(site, path, {"If-None-Match": '"other"'})[2] == body
        assert fetch(site, path, {"If-None-Match": '"other", W/' + etag})[0] == 304
        assert fetch(site, path, {"If-None-Match": "*"}, method="HEAD")[0] == 304
    before = http_date_of(SITE_EPOCH - timedelta(seconds=1))
    assert fetch(site, "/english", {"If-Modified-Since": before})[0] == 200
    # If-None-Match wins over a matching If-Modified-Since
    etag, last_modified = site.validators("/english/rss")
    assert fetch(site, "/english/rss", {"If-None-Match": '"stale"',
                                        "If-Modified-Since": last_modified})[0] == 200
    assert fetch(site, "/english/rss", {"If-Modified-Since": "not a date"})[0] == 200
    assert "ETag" not in dict(fetch(site, "/robots.txt")[1])  # robots and redirects: none


def test_gzip_keeps_the_identity_etag_and_a_correct_length(site):
    for path in ("/english/rss", "/english/middleeast", "/kurmanci", SEED):
        _, _, plain = fetch(site, path)
        status, headers, body = fetch(site, path, {"Accept-Encoding": "gzip"})
        assert headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == plain
        assert headers["ETag"] == strong_etag(plain)
        if headers["Transfer-Encoding"] is None:
            assert int(headers["Content-Length"]) == len(body)
        status, headers, body = fetch(site, path, {"Accept-Encoding": "gzip",
                                                   "If-None-Match": strong_etag(plain)})
        if path != SEED:  # articles answer 200 unless conditional_articles is on
            assert (status, body, headers["Content-Encoding"]) == (304, b"", None)


def test_304_keeps_the_connection_alive(site):
    url = urlsplit(site.base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    etag = site.validators("/kurmanci")[0]  # a chunked page
    for headers in ({"If-None-Match": etag}, {}, {"If-None-Match": etag}):
        conn.request("GET", "/kurmanci", headers=headers)
        response = conn.getresponse()
        body = response.read()
        assert response.status == (304 if headers else 200) and bool(body) == (not headers)
    conn.close()


def test_articles_send_validators_but_answer_200_by_default(site, expected):
    for path, want in expected["articles"].items():
        status, headers, body = fetch(site, path)
        assert headers["ETag"] == strong_etag(body)
        modified = want["modified"] or want["published"]
        if len(modified) > 10:
            assert parsedate_to_datetime(headers["Last-Modified"]) == datetime.fromisoformat(
                modified)
        status, _, again = fetch(site, path, {"If-None-Match": headers["ETag"],
                                              "If-Modified-Since": headers["Last-Modified"]})
        assert (status, again) == (200, body), path


def test_conditional_articles_switch_turns_on_304_for_article_pages():
    with SampleSite(conditional_articles=True) as conditional:
        for path in (SYRIA, "/english/categories/middleeast/1079288", SEED,
                     "/arabic/categories/news/1367254"):
            etag = fetch(conditional, path)[1]["ETag"]
            assert fetch(conditional, path, {"If-None-Match": etag})[:3:2] == (304, b"")
        # bad inputs and redirects never answer 304
        assert fetch(conditional, "/english/kurdistan/09092016",
                     {"If-None-Match": "*"})[0] == 301


def test_request_log_records_validators_and_304(fresh):
    etag, last_modified = fresh.validators("/english/rss")
    fetch(fresh, "/english/rss", {"If-None-Match": etag})
    fetch(fresh, "/english/rss", {"If-Modified-Since": last_modified})
    fetch(fresh, "/english/rss")
    fetch(fresh, SYRIA, {"If-None-Match": fresh.validators(SYRIA)[0]})
    log = fresh.requests
    assert [(e.path, e.status) for e in log] == [
        ("/english/rss", 304), ("/english/rss", 304), ("/english/rss", 200), (SYRIA, 200)]
    assert log[0].header("if-none-match") == etag == log[0].headers["If-None-Match"]
    assert log[1].header("If-Modified-Since") == last_modified
    assert log[2].header("If-None-Match") is None
    assert fresh.count("/english/rss") == 3 and fresh.count(SYRIA) == 1
    fresh.clear_requests()
    assert fresh.requests == [] and fresh.count("/english/rss") == 0


# ---- the site changes while it runs -----------------------------------------------------


def test_snapshot_expected_starts_as_expected_json(fresh, expected):
    assert fresh.snapshot_expected() == expected["articles"]
    assert fresh.last_changes() == []


def test_edit_article_new_style(fresh, updates):
    paragraph = updates["english"]["edit_paragraphs"][0]
    watched = [SYRIA, *VALIDATED]
    old = {p: fresh.validators(p) for p in watched}
    old_index = sitemap_lastmods(fetch(fresh, "/sitemap.xml")[2])
    fresh.edit_article(SYRIA, new_paragraph=paragraph)

    status, headers, body = fetch(fresh, SYRIA, {"If-None-Match": old[SYRIA][0]})
    html = unescape(body.decode())
    assert status == 200 and headers["ETag"] == strong_etag(body) != old[SYRIA][0]
    assert parsedate_to_datetime(headers["Last-Modified"]) > parsedate_to_datetime(
        old[SYRIA][1])
    assert f"<p>{paragraph}</p>" in html
    ld = json.loads(re.search(r'ld\+json">(.*?)</script>', html).group(1))
    assert ld["dateModified"] == "2026-11-20T17:00:00+03:00"  # the site clock, one hour on
    assert "Last updated 5.00 PM" in page_text(html)
    assert fetch(fresh, "/english/categories/middleeast/1079288")[2] == body  # alias too

    want = fresh.snapshot_expected()[SYRIA]
    assert want["text_last"] == paragraph and want["paragraphs"] == 12
    assert want["modified"] == ld["dateModified"]
    assert "Last updated 5.00 PM" in want["must_not_contain"]
    flight = {i["ID"]: i for i in front_items(fresh, "/english")}
    assert flight[1079288]["ModifiedDate"] == ld["dateModified"]
    assert "ModifiedDate" not in flight[1079301]
    news = sitemap_lastmods(fetch(fresh, "/sitemaps/news-1.xml.gz")[2])
    assert news[fresh.url(SYRIA)] == ld["dateModified"]
    index = sitemap_lastmods(fetch(fresh, "/sitemap.xml")[2])
    child = fresh.url("/sitemaps/news-1.xml.gz")
    assert old_index[child] == "2026-11-20" and index[child] == ld["dateModified"]

    changed = {p for p in watched if fresh.validators(p) != old[p]}
    assert changed == {SYRIA, "/english", "/sitemap.xml", "/sitemaps/news-1.xml.gz"}
    assert {p for _, p in fresh.last_changes()} == changed | {
        "/english/categories/middleeast/1079288"}
    for path in set(VALIDATED) - changed:  # everything else still answers 304
        assert fetch(fresh, path, {"If-None-Match": old[path][0]})[0] == 304, path
    assert fetch(fresh, "/english", {"If-Modified-Since": old["/english"][1]})[0] == 200


def test_edit_legacy_article_title_and_paragraph(fresh, updates):
    title = updates["english"]["edit_titles"][0]
    paragraph = updates["english"]["edit_paragraphs"][1]
    before = fresh.snapshot_expected()[SEED]
    rss_etag = fresh.validators("/english/rss")[0]
    fresh.edit_article(SEED, new_title=title, new_paragraph=paragraph, replace_index=3,
                       modified="2026-11-21T08:15:00+03:00")
    html = unescape(fetch(fresh, SEED)[2].decode())
    assert f">{title}</h1>" in html and f"<p>{paragraph}</p>" in html
    assert before["text_last"] in html and "Last updated 8.15 AM" in page_text(html)
    for marker in ("datetime", "ld+json", "dateModified", "2026-11-21"):
        assert marker not in html  # the seed-like page stays without a machine date
    want = fresh.snapshot_expected()[SEED]
    assert want["title"] == title and want["paragraphs"] == before["paragraphs"] == 15
    assert want["modified"] is None and want["text_first"] == before["text_first"]
    status, _, feed = fetch(fresh, "/english/rss", {"If-None-Match": rss_etag})
    item = next(i for i in feed_items(feed) if i["link"] == fresh.url(SEED))
    assert status == 200 and item["title"] == title
    assert parsedate_to_datetime(item["pubDate"]) == datetime.fromisoformat(
        "2026-11-21T08:15:00+03:00")
    legacy = sitemap_lastmods(fetch(fresh, "/sitemaps/news-2.xml")[2])
    assert legacy[fresh.url(SEED)] == "2026-11-21T08:15:00+03:00"
    assert title in fetch(fresh, "/english/middleeast")[2].decode()
    # the new headline shows in sibling pages' "Also in" lists: bytes change, text does not
    sibling = "/english/middleeast/iraq/260820204"
    assert ("main", sibling) in fresh.last_changes() and title in fetch(fresh, sibling)[2].decode()
    assert fresh.snapshot_expected()[sibling]["text_last"] == before_text_last(sibling)


def before_text_last(path: str) -> str:
    return load_expected()["articles"][path]["text_last"]


def test_last_modified_only_moves_forward(fresh, updates):
    stamps = [fresh.validators("/sitemaps/news-2.xml")[1]]
    for paragraph in updates["english"]["edit_paragraphs"]:
        fresh.edit_article("/english/middleeast/iraq/260820204", new_paragraph=paragraph)
        stamps.append(fresh.validators("/sitemaps/news-2.xml")[1])
    times = [parsedate_to_datetime(s) for s in stamps]
    assert times == sorted(times) and len(set(times)) == 3
    assert fetch(fresh, "/sitemaps/news-2.xml", {"If-Modified-Since": stamps[1]})[0] == 200
    assert fetch(fresh, "/sitemaps/news-2.xml", {"If-Modified-Since": stamps[2]})[0] == 304


def test_add_new_style_articles_reach_fronts_and_sitemap(fresh, updates, outlet):
    before = fresh.snapshot_expected()
    sitemap_etag = fresh.validators("/sitemaps/news-1.xml.gz")[0]
    for edition, data in updates.items():
        spec = next(a for a in data["new_articles"] if a["generation"] == "new")
        kwargs = {k: v for k, v in spec.items() if k != "generation"}
        path = fresh.add_article(edition, "new", **kwargs)
        article_id = int(path.rsplit("/", 1)[1])
        assert path == f"/{edition}/categories/{spec['slug']}/{article_id}"
        latest = front_items(fresh, f"/{edition}")
        assert latest[0]["ID"] == article_id and latest[0]["Title"] == spec["title"]
        assert latest[0]["PublishedDate"] == spec["published"]
        changed = {p for _, p in fresh.last_changes()}
        assert path in changed and not (changed & set(before))  # no existing article page
        status, headers, body = fetch(fresh, path)
        html = unescape(body.decode())
        assert status == 200 and f">{spec['title']}</h1>" in html
        assert all(p in html for p in spec["paragraphs"])
        assert f'<link rel="canonical" href="{fresh.url(path)}">' in html
        want = fresh.snapshot_expected()[path]
        assert want["text_first"] == spec["paragraphs"][0]
        assert want["text_last"] == spec["paragraphs"][-1]
        assert want["paragraphs"] == len(spec["paragraphs"]) and want["generation"] == "new"
        assert want["id_key"] == f"{edition}/{article_id}" and want["authors"] == spec["authors"]
        assert outlet.is_article_url(fresh.url(path))
        missing = [s for s in want["must_not_contain"] if s not in page_text(html)]
        assert not missing  # the same furniture as every other article
    status, _, body = fetch(fresh, "/sitemaps/news-1.xml.gz", {"If-None-Match": sitemap_etag})
    urls = sitemap_lastmods(body)
    assert status == 200 and fresh.url("/english/categories/kurdistan/1079302") in urls
    assert not [u for u in urls if "/arabic/" in u]  # the arabic origin has no sitemap
    assert {k: v for k, v in fresh.snapshot_expected().items() if k in before} == before


def test_add_legacy_articles_reach_feeds_listing_and_sitemap(fresh, updates, outlet):
    pages = {p: fresh.validators(p) for p in LEGACY_PAGES}
    for edition, data in updates.items():
        for spec in (a for a in data["new_articles"] if a["generation"] == "legacy"):
            kwargs = {k: v for k, v in spec.items() if k != "generation"}
            path = fresh.add_article(edition, "legacy", **kwargs)
            assert path == f"/{edition}/{spec['slug']}/20112026" + "1"
            assert outlet.is_article_url(fresh.url(path))
            items = feed_items(fetch(fresh, f"/{edition}/rss")[2])
            assert items[0]["link"] == fresh.url(path) and items[0]["title"] == spec["title"]
            assert fresh.url(path) in sitemap_lastmods(fetch(fresh, "/sitemaps/news-2.xml")[2])
            html = unescape(fetch(fresh, path)[2].decode())
            assert ">20-11-2026<" in html  # the visible DD-MM-YYYY date
            assert f"<p>{spec['dateline']} " in html and "ld+json" not in html
            want = fresh.snapshot_expected()[path]
            assert want["id_key"] == f"{edition}/legacy/201120261"
            assert (want["text_first"], want["dateline"]) == (spec["paragraphs"][0],
                                                              spec["dateline"])
    listing = fetch(fresh, "/english/middleeast")[2].decode()
    added = "/english/middleeast/iraq/201120261"
    assert HREF.findall(listing).index(added) < HREF.findall(listing).index(SEED)
    # later listing pages keep their bytes: an incremental crawl gets 304 there
    for path in LEGACY_PAGES[1:]:
        assert fetch(fresh, path, {"If-None-Match": pages[path][0]})[0] == 304
    with pytest.raises(ValueError, match="no legacy generation"):
        fresh.add_article("arabic", "legacy", title="x", paragraphs=["y"],
                          published="2026-11-20")


LEGACY_PAGES = ["/english/middleeast", "/english/middleeast?page=2", "/english/middleeast?page=3"]


def test_touch_noise_changes_bytes_but_not_the_article_text(fresh):
    before = fresh.snapshot_expected()
    for path in (SYRIA, SEED, "/english", "/english/rss", "/sitemaps/news-1.xml.gz",
                 "/english/middleeast?page=2"):
        etag, _ = fresh.validators(path)
        old_body = fetch(fresh, path)[2]
        fresh.touch_noise(path)
        status, headers, body = fetch(fresh, path, {"If-None-Match": etag})
        assert status == 200 and body != old_body and headers["ETag"] == strong_etag(body)
        if path.endswith((".gz", "rss")):
            if path.endswith(".gz"):
                body, old_body = gzip.decompress(body), gzip.decompress(old_body)
            assert ET.tostring(ET.fromstring(body)) == ET.tostring(ET.fromstring(old_body))
        else:
            assert page_text(body.decode()) == page_text(old_body.decode())
            assert re.sub(rb'<div class="ad-slot"[^>]*></div>\n', b"", body) == old_body
        assert fresh.snapshot_expected() == before
    fresh.touch_noise("/english/categories/middleeast/1079288")  # an alias: same page
    assert {p for _, p in fresh.last_changes()} == {SYRIA, "/english/categories/middleeast/1079288"}
    with pytest.raises(ValueError):
        fresh.touch_noise("/robots.txt")


def test_reset_restores_the_initial_site(fresh, updates, expected):
    initial = {p: (fetch(fresh, p)[2], fresh.validators(p)) for p in [SYRIA, SEED, *VALIDATED]}
    spec = {k: v for k, v in updates["turkish"]["new_articles"][0].items() if k != "generation"}
    added = fresh.add_article("turkish", "new", **spec)
    assert fetch(fresh, added)[0] == 200
    fresh.edit_article(SEED, new_paragraph=updates["english"]["edit_paragraphs"][0])
    fresh.touch_noise("/english")
    assert fresh.snapshot_expected() != expected["articles"]
    fresh.reset()
    assert fresh.snapshot_expected() == expected["articles"]
    assert fetch(fresh, added)[0] == 404
    for path, (body, validators) in initial.items():
        assert fetch(fresh, path)[2] == body and fresh.validators(path) == validators
        if path not in (SYRIA, SEED):
            assert fetch(fresh, path, {"If-None-Match": validators[0]})[0] == 304
    assert fresh.count(added) == 2  # the request log survives a reset


def test_mutations_refuse_bad_input_and_leave_the_site_alone(fresh, expected):
    etag = fresh.validators(SYRIA)[0]
    with pytest.raises(KeyError):
        fresh.edit_article("/english/categories/syria/999", new_paragraph="x")
    with pytest.raises(ValueError, match="furniture"):
        fresh.edit_article(SYRIA, new_paragraph="Required reading: Post a comment below.")
    with pytest.raises(ValueError):
        fresh.edit_article(SYRIA)
    with pytest.raises(ValueError, match="already exists"):
        fresh.add_article("english", "new", title="t", paragraphs=["p."], id=1079288,
                          published="2026-11-21T09:00:00+03:00")
    with pytest.raises(ValueError):
        fresh.add_article("english", "video", title="t", paragraphs=["p."],
                          published="2026-11-21T09:00:00+03:00")
    assert fresh.snapshot_expected() == expected["articles"]
    assert fresh.validators(SYRIA)[0] == etag


def test_every_update_text_is_accepted(fresh, updates):
    for edition, data in updates.items():
        target = next(p for p, v in fresh.snapshot_expected().items()
                      if p.startswith(f"/{edition}/") and v["generation"] == "new")
        for paragraph in data["edit_paragraphs"]:
            fresh.edit_article(target, new_paragraph=paragraph)
        fresh.edit_article(target, new_title=data["edit_titles"][0])
        for spec in data["new_articles"]:
            kwargs = {k: v for k, v in spec.items() if k != "generation"}
            fresh.add_article(edition, spec["generation"], **kwargs)
        want = fresh.snapshot_expected()[target]
        assert want["text_last"] == data["edit_paragraphs"][-1]
        assert want["title"] == data["edit_titles"][0]
    assert len(fresh.snapshot_expected()) == len(load_expected()["articles"]) + 9


def test_pages_stay_consistent_while_the_site_changes(fresh, updates):
    """Readers on several threads during edits: every answer is whole and self-consistent."""
    errors: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            for path in ("/english/rss", SEED, "/sitemaps/news-2.xml"):
                try:
                    status, headers, body = fetch(fresh, path)
                except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                    errors.append(f"{path}: {exc!r}")
                    continue
                if status != 200 or headers["ETag"] != strong_etag(body):
                    errors.append(path)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for paragraph in updates["english"]["edit_paragraphs"] * 3:
        fresh.edit_article(SEED, new_paragraph=paragraph)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors
    assert fresh.snapshot_expected()[SEED]["paragraphs"] == 21
    assert fresh.count(SEED) >= 3
