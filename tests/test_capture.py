"""crawler.capture: a real Scrapy crawl of the fixture server, its WARCs read back with warcio.

One crawl (in a subprocess, see tests/httpfixture.py) serves the slow tests in this module; the
WARC size limit is small so that the crawl rotates files several times.  The fast tests at the
end drive the extension's signal handlers directly with real Scrapy objects.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import ipaddress
import re
import subprocess
import sys
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests import httpfixture
from tests.httpfixture import (
    AUTH_VALUE,
    BIG_SIZE,
    BINARY,
    CHUNKS,
    GZIP_BODY,
    GZIP_HTML,
    PAGE_LIMIT,
    TRUNCATED_DECLARED,
    TRUNCATED_SENT,
    UTF8_VALUE,
)

NAME_RE = re.compile(r"^newsarchive-fixture-(\d{14})-(\d{5})-[A-Za-z0-9.-]+\.warc\.gz$")


@dataclass
class Rec:
    path: Path
    offset: int
    type: str
    headers: object  # warcio StatusAndHeaders (WARC head)
    http: object  # warcio StatusAndHeaders (HTTP head) or None
    payload: bytes

    def __getitem__(self, name: str) -> str | None:
        return self.headers.get_header(name)

    @property
    def uri(self) -> str:
        return self["WARC-Target-URI"]


@dataclass
class Crawl:
    store: Path
    base: str
    server: httpfixture.FixtureServer
    items: list[dict]
    stats: dict
    files: list[Path]
    records: list[Rec]
    started: datetime
    finished: datetime

    def responses(self, path: str) -> list[Rec]:
        return [r for r in self.records if r.type == "response" and r.uri == self.base + path]

    def response(self, path: str) -> Rec:
        (found,) = self.responses(path)
        return found

    def request_for(self, rec: Rec) -> Rec:
        (found,) = [r for r in self.records if r.type == "request"
                    and r["WARC-Concurrent-To"] == rec["WARC-Record-ID"]]
        return found


def read_records(path: Path) -> list[Rec]:
    out = []
    with open(path, "rb") as handle:
        iterator = ArchiveIterator(handle)
        for rec in iterator:
            payload = rec.raw_stream.read()
            out.append(Rec(path, iterator.get_record_offset(), rec.rec_type, rec.rec_headers,
                           rec.http_headers, payload))
    return out


@pytest.fixture(scope="module")
def crawl(tmp_path_factory) -> Crawl:
    root = tmp_path_factory.mktemp("capture")
    store = root / "store"
    with httpfixture.serve() as server:
        started = datetime.now(UTC)
        items, stats = httpfixture.run_crawl(store, server.base, warc_max_size=4000)
        finished = datetime.now(UTC)
    files = sorted(store.rglob("*.warc.gz"))
    records = [rec for path in files for rec in read_records(path)]
    return Crawl(store, server.base, server, items, stats, files, records, started, finished)


@pytest.mark.slow
def test_files_are_closed_named_and_start_with_warcinfo(crawl):
    assert crawl.stats["finish_reason"] == "finished"
    assert not list(crawl.store.rglob("*.open"))
    assert len(crawl.files) >= 3  # rotated at the small size limit
    serials = []
    for path in crawl.files:
        match = NAME_RE.match(path.name)
        assert match, path.name
        stamp = match.group(1)
        assert path.relative_to(crawl.store).parts[:4] == ("warc", "fixture", stamp[:4],
                                                            stamp[4:6])
        serials.append(match.group(2))
        first = read_records(path)[0]
        assert first.type == "warcinfo" and first["WARC-Filename"] == path.name
        info = first.payload.decode()
        assert "isPartOf: fixture" in info and "robots: obey" in info
        assert "http-header-user-agent: newsarchive-test/1.0" in info
        assert "Transfer-Encoding is removed" in info and "synthesized" in info
    assert sorted(serials) == [f"{n:05d}" for n in range(len(crawl.files))]


@pytest.mark.slow
def test_pairs_are_never_split_and_share_date_uri_ip(crawl):
    by_id = {r["WARC-Record-ID"]: r for r in crawl.records}
    responses = [r for r in crawl.records if r.type == "response"]
    assert len(responses) == 18  # robots + 13 planned + after-cookies + 2 hops + 1 retry
    for resp in responses:
        req = by_id[resp["WARC-Concurrent-To"]]
        assert req.type == "request" and req["WARC-Concurrent-To"] == resp["WARC-Record-ID"]
        assert req.path == resp.path  # rotation never splits a pair
        assert req["WARC-Date"] == resp["WARC-Date"]
        assert req.uri == resp.uri
        assert req["WARC-IP-Address"] == resp["WARC-IP-Address"] == "127.0.0.1"
        date = datetime.strptime(resp["WARC-Date"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        assert crawl.started <= date <= crawl.finished


@pytest.mark.slow
def test_digests_verify_with_warcio_check(crawl):
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v",
                            *map(str, crawl.files)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    assert check.stdout.count("digest pass") == len(crawl.records)
    for rec in crawl.records:
        if rec.type == "response":
            assert rec["WARC-Payload-Digest"].startswith("sha1:")


@pytest.mark.slow
def test_gzip_body_is_stored_raw_with_its_content_encoding(crawl):
    rec = crawl.response("/gzip")
    assert rec.payload == GZIP_BODY  # the bytes the server sent, not decoded
    assert rec.http.get_header("Content-Encoding") == "gzip"
    assert rec.http.get_header("Content-Length") == str(len(GZIP_BODY))
    assert gzip.decompress(rec.payload) == GZIP_HTML
    req = crawl.request_for(rec)
    assert req.http.get_header("Accept-Encoding") == "gzip, deflate"


@pytest.mark.slow
def test_both_set_cookie_values(crawl):
    rec = crawl.response("/cookies")
    assert [v for k, v in rec.http.headers if k.lower() == "set-cookie"] == [
        "first=one; Path=/", "second=two; Path=/"]


@pytest.mark.slow
def test_request_records_hold_what_was_sent(crawl):
    rec = crawl.response("/page?a=1&b=two")
    req = crawl.request_for(rec)
    host = urlsplit(crawl.base).netloc
    assert f"{req.http.protocol} {req.http.statusline}" == "GET /page?a=1&b=two HTTP/1.1"
    assert req.http.get_header("Host") == host
    (received,) = crawl.server.requests_for("/page?a=1&b=two")
    assert sorted((k.lower(), v) for k, v in req.http.headers) == sorted(
        (k.lower(), v) for k, v in received.headers)


@pytest.mark.slow
def test_post_request_record_has_body_and_length(crawl):
    req = crawl.request_for(crawl.response("/form"))
    (received,) = crawl.server.requests_for("/form")
    assert req.http.protocol == "POST" and req.payload == received.body == b"q=river&page=2"
    assert req.http.get_header("Content-Length") == "14"


@pytest.mark.slow
def test_reason_phrases_and_status_lines(crawl):
    lines = {r.uri[len(crawl.base):]: f"{r.http.protocol} {r.http.statusline}"
             for r in crawl.records if r.type == "response"}
    assert lines["/gzip"] == "HTTP/1.1 200 OK"
    assert lines["/redirect/1"] == "HTTP/1.1 301 Moved Permanently"
    assert lines["/redirect/2"] == "HTTP/1.1 302 Found"
    assert lines["/missing"] == "HTTP/1.1 404 Not Found"
    flaky = [f"{r.http.statusline}" for r in crawl.responses("/flaky?token=t1")]
    assert flaky == ["503 Service Unavailable", "200 OK"]  # the retry and its first attempt


@pytest.mark.slow
def test_every_redirect_hop_is_captured(crawl):
    first, second = crawl.response("/redirect/1"), crawl.response("/redirect/2")
    final = crawl.response("/page?from=redirect")
    assert first.http.get_header("Location") == "/redirect/2"
    assert second.http.get_header("Location") == "/page?from=redirect"
    assert first.payload == b"moved" and final.http.statusline == "200 OK"
    item = next(i for i in crawl.items if i["url"].endswith("/page?from=redirect"))
    assert item["warc_record"]["record_id"] == final["WARC-Record-ID"]
    assert crawl.stats["newsarchive/fetched/redirect"] == 2


@pytest.mark.slow
def test_chunked_body_is_dechunked_without_transfer_encoding(crawl):
    rec = crawl.response("/chunked")
    assert rec.payload == b"".join(CHUNKS)
    assert rec.http.get_header("Transfer-Encoding") is None


@pytest.mark.slow
def test_truncated_and_oversize_bodies_are_marked(crawl):
    cut = crawl.response("/truncated")
    assert cut["WARC-Truncated"] == "disconnect"
    assert len(cut.payload) == TRUNCATED_SENT
    assert cut.http.get_header("Content-Length") == str(TRUNCATED_DECLARED)
    big = crawl.response("/big")
    assert big["WARC-Truncated"] == "length"
    assert PAGE_LIMIT < len(big.payload) < BIG_SIZE  # outlet.max_page_bytes applied
    assert crawl.stats["newsarchive/failures/truncated"] == 1
    assert crawl.stats["newsarchive/failures/oversize"] == 1
    whole = [r for r in crawl.records if r.type == "response" and r.uri.endswith(
        ("/gzip", "/chunked", "/binary"))]
    assert all(r["WARC-Truncated"] is None for r in whole)


@pytest.mark.slow
def test_raw_header_bytes_and_binary_bodies_survive(crawl):
    rec = crawl.response("/utf8-header")
    with open(rec.path, "rb") as handle:
        handle.seek(rec.offset)
        raw = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(handle.read())
    assert b"\r\nX-Title: " + UTF8_VALUE + b"\r\n" in raw
    binary = crawl.response("/binary")
    assert binary.payload == BINARY
    digest = base64.b32encode(hashlib.sha1(BINARY).digest()).decode()
    assert binary["WARC-Payload-Digest"] == f"sha1:{digest}"


@pytest.mark.slow
def test_record_locations_point_at_the_response_records(crawl):
    assert len(crawl.items) == 14  # 13 planned + the follow-up after /cookies
    for item in crawl.items:
        location = item["warc_record"]
        assert location is not None, item
        path = crawl.store / location["key"]
        assert path.name == location["filename"] and path.exists()
        with open(path, "rb") as handle:
            handle.seek(location["offset"])
            member = handle.read(location["length"])
            handle.seek(location["offset"])
            rec = next(iter(ArchiveIterator(handle)))
            assert rec.rec_type == "response"
            assert rec.rec_headers.get_header("WARC-Record-ID") == location["record_id"]
            assert rec.rec_headers.get_header("WARC-Target-URI") == item["url"]
            assert rec.rec_headers.get_header("WARC-Payload-Digest") == location[
                "payload_digest"]
        decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        decompressor.decompress(member)
        assert decompressor.eof and not decompressor.unused_data  # exactly one member


@pytest.mark.slow
def test_no_credentials_in_request_records(crawl):
    requests = [r for r in crawl.records if r.type == "request"]
    auth = crawl.request_for(crawl.response("/page?auth=1"))
    assert auth.http.get_header("Authorization") == "REDACTED"
    after = crawl.request_for(crawl.response("/after-cookies"))
    assert after.http.get_header("Cookie") == "REDACTED"  # the cookie was sent, not archived
    (received,) = crawl.server.requests_for("/after-cookies")
    assert dict(received.headers)["Cookie"] == "first=one; second=two"
    raw = b"".join(gzip.decompress(path.read_bytes()) for path in crawl.files)
    assert AUTH_VALUE.encode() not in raw and b"first=one; second=two" not in raw
    for req in requests:
        for name, value in req.http.headers:
            if name.lower() in ("authorization", "proxy-authorization", "cookie"):
                assert value == "REDACTED"


@pytest.mark.slow
def test_stats_count_fetches_and_bytes(crawl):
    stats = crawl.stats
    assert stats["newsarchive/fetched/robots"] == 1
    assert stats["newsarchive/fetched/front"] == 1
    assert stats["newsarchive/fetched/listing"] == 1
    assert stats["newsarchive/fetched/article"] == 7  # 503 + 200 of flaky count as 2
    assert stats["newsarchive/fetched/other"] == 6
    stored = sum(len(r.payload) for r in crawl.records if r.type == "response")
    assert stats["newsarchive/bytes"] == stored
    assert "newsarchive/failures/warc_write" not in stats


# ---- the extension's handlers, driven directly ----------------------------------------


def _extension(tmp_path: Path, outlet: bool = True):
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from archive.outlet.config import OutletConfig
    from crawler.capture import WarcCaptureExtension

    crawler = get_crawler(settings_dict={"NEWSARCHIVE_STORE": str(tmp_path / "store")})
    spider = Spider("direct")
    if outlet:
        spider.outlet = OutletConfig(name="direct", start_urls=["http://news.example/"],
                                     article_urls=["/a/"])
    crawler.spider = spider
    extension = WarcCaptureExtension.from_crawler(crawler)
    extension.spider_opened(spider)
    return crawler, spider, extension


def _response(url: str = "http://news.example/a/1"):
    from scrapy import Request
    from scrapy.http import HtmlResponse

    request = Request(url, headers={"Accept-Encoding": "gzip, deflate"})
    response = HtmlResponse(url, status=200, body=GZIP_BODY, request=request,
                            headers={"Content-Encoding": "gzip", "Content-Type": "text/html"},
                            ip_address=ipaddress.ip_address("192.0.2.9"))
    return request, response


def test_write_failure_is_counted_and_the_crawl_goes_on(tmp_path):
    crawler, spider, extension = _extension(tmp_path)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    extension.writer.spool_dir = blocker  # the next file cannot be created
    request, response = _response()
    extension.request_reached_downloader(request, spider)
    extension.response_downloaded(response, request, spider)  # must not raise
    assert request.meta["warc_record"] is None
    assert crawler.stats.get_value("newsarchive/failures/warc_write") == 1
    assert crawler.stats.get_value("newsarchive/fetched/other") == 1  # fetched, not archived


def test_handlers_write_and_publish(tmp_path):
    crawler, spider, extension = _extension(tmp_path)
    request, response = _response()
    extension.request_reached_downloader(request, spider)
    request.meta["download_latency"] = 2.0
    extension.headers_received(response.headers, len(response.body), request, spider)
    sent = request.meta["warc_date"]
    assert abs((datetime.now(UTC) - sent).total_seconds() - 2.0) < 0.5
    extension.response_downloaded(response, request, spider)
    location = request.meta["warc_record"]
    extension.spider_closed(spider, "finished")
    path = tmp_path / "store" / location.key
    rec = read_records(path)[1]
    assert rec.type == "response" and rec.payload == GZIP_BODY
    assert rec["WARC-IP-Address"] == "192.0.2.9"
    assert rec["WARC-Date"] == sent.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert location.key.startswith("warc/direct/") and "newsarchive-direct-" in location.key
    assert crawler.stats.get_value("newsarchive/bytes") == len(GZIP_BODY)


def test_spider_without_outlet_turns_capture_off(tmp_path):
    _, spider, extension = _extension(tmp_path, outlet=False)
    request, response = _response()
    extension.request_reached_downloader(request, spider)
    extension.bytes_received(b"x" * 30_000_000, request, spider)  # no limit without a writer
    extension.response_downloaded(response, request, spider)
    assert extension.writer is None and "warc_record" not in request.meta
    assert not (tmp_path / "store").exists()
