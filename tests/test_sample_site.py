"""The Rudaw sample outlet behaves like the spec says, checked over real HTTP."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import socket
import xml.etree.ElementTree as ET
from html import unescape
from urllib.parse import urlsplit

import pytest

from archive.config import load_outlet
from tests.sites import SampleSite, load_expected
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
    assert len(private) == 3 and all(bad.is_denied_url(u) for u in private)
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
