"""archive.warc: what the WARC writer promises, read back with warcio (no Scrapy, no network)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import random
import re
import subprocess
import sys
import zlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.warc.writer import (
    PROFILE_IDENTICAL,
    PROFILE_NOT_MODIFIED,
    HttpExchange,
    WarcWriter,
)

HTML = b"<html><body><p>An invented story about a lighthouse keeper.</p></body></html>"
WHEN = datetime(2026, 11, 3, 10, 11, 12, 345678, tzinfo=UTC)
NAME_RE = re.compile(r"^pfx-\d{14}-\d{5}-crawlhost\.warc\.gz$")


def exchange(url: str = "http://news.example/story?id=7", body: bytes = HTML, **kw
             ) -> HttpExchange:
    fields = dict(
        url=url, status=200, body=body, ip_address="192.0.2.7", date=WHEN,
        request_headers=[("User-Agent", "ua/1"), ("Accept-Encoding", "gzip, deflate"),
                         ("Host", "news.example")],
        response_headers=[("Content-Type", "text/html"), ("Content-Length", str(len(body))),
                          ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
    )
    fields.update(kw)
    return HttpExchange(**fields)


def records(path: Path) -> list:
    """(rec_headers, http_headers, raw payload, offset) of every record in ``path``."""
    out = []
    with open(path, "rb") as handle:
        iterator = ArchiveIterator(handle)
        for rec in iterator:
            payload = rec.raw_stream.read()
            out.append((rec.rec_headers, rec.http_headers, payload, iterator.get_record_offset()))
    return out


def warcio_check(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v", *map(str, paths)],
                          capture_output=True, text=True)


@pytest.fixture
def closed() -> list[tuple[Path, str, str]]:
    """Collects the on_closed(path, key, sha256) calls of a writer."""
    return []


def test_pair_records_fields_and_digests(tmp_path, closed):
    gz = gzip.compress(HTML, mtime=0)
    ex = exchange(body=gz, response_headers=[("Content-Type", "text/html"),
                                             ("Content-Encoding", "gzip"),
                                             ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    with WarcWriter(tmp_path, "news", "pfx", "crawlhost",
                    on_closed=lambda *a: closed.append(a)) as writer:
        location = writer.write_exchange(ex)
    path, key, sha256 = closed[0]
    assert NAME_RE.match(path.name) and path.exists()
    assert key == f"warc/news/{path.parent.parent.name}/{path.parent.name}/{path.name}"
    assert path == tmp_path / key
    assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not list(tmp_path.rglob("*.open"))

    (info, _, info_body, _), (resp, resp_http, payload, offset), (req, req_http, _, _) = \
        records(path)
    assert info["WARC-Type"] == "warcinfo" and info["WARC-Filename"] == path.name
    assert b"Transfer-Encoding is removed" in info_body and b"synthesized" in info_body
    assert info.protocol == resp.protocol == req.protocol == "WARC/1.1"
    assert resp["WARC-Type"] == "response" and req["WARC-Type"] == "request"
    assert offset == location.offset and location.record_id == resp["WARC-Record-ID"]
    assert resp["WARC-Concurrent-To"] == req["WARC-Record-ID"]
    assert req["WARC-Concurrent-To"] == resp["WARC-Record-ID"]
    assert resp["WARC-Warcinfo-ID"] == req["WARC-Warcinfo-ID"] == info["WARC-Record-ID"]
    assert resp["WARC-Date"] == req["WARC-Date"] == "2026-11-03T10:11:12.345678Z"
    assert resp["WARC-Target-URI"] == req["WARC-Target-URI"] == ex.url
    assert resp["WARC-IP-Address"] == req["WARC-IP-Address"] == "192.0.2.7"
    assert resp["Content-Type"] == "application/http;msgtype=response"
    assert req["Content-Type"] == "application/http;msgtype=request"
    # raw gzip bytes under Content-Encoding: gzip; digest over those bytes (sha1, base32)
    assert payload == gz
    assert resp_http["Content-Encoding"] == "gzip"
    assert location.payload_digest == resp["WARC-Payload-Digest"] == (
        "sha1:" + base64.b32encode(hashlib.sha1(gz).digest()).decode())
    assert [v for k, v in resp_http.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert resp_http.protocol == "HTTP/1.1" and resp_http.statusline == "200 OK"
    assert req_http.protocol == "GET" and req_http.statusline == "/story?id=7 HTTP/1.1"
    assert "WARC-Truncated" not in resp
    check = warcio_check(path)
    assert check.returncode == 0, check.stdout
    assert check.stdout.count("digest pass") == 3


def test_location_member_is_the_response_record(tmp_path):
    with WarcWriter(tmp_path, "news", "pfx", "crawlhost") as writer:
        locations = [writer.write_exchange(exchange(url=f"http://news.example/{n}"))
                     for n in range(3)]
    data = (tmp_path / locations[0].key).read_bytes()
    for n, location in enumerate(locations):
        member = data[location.offset:location.offset + location.length]
        decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        text = decompressor.decompress(member)
        assert decompressor.eof and not decompressor.unused_data  # exactly one gzip member
        assert b"WARC-Type: response" in text
        assert f"WARC-Record-ID: {location.record_id}".encode() in text
        assert f"WARC-Target-URI: http://news.example/{n}\r\n".encode() in text


def test_credentials_redacted_and_host_added(tmp_path):
    ex = exchange(request_headers=[("Authorization", "Basic c2VjcmV0"),
                                   ("Proxy-Authorization", "Basic cHJveHk="),
                                   ("Cookie", "session=abc123")],
                  url="http://news.example:8080/a")
    with WarcWriter(tmp_path, "news", "pfx", "crawlhost") as writer:
        writer.write_exchange(ex)
    path = next(tmp_path.rglob("*.warc.gz"))
    raw = gzip.decompress(path.read_bytes())
    for secret in (b"c2VjcmV0", b"cHJveHk=", b"abc123"):
        assert secret not in raw
    req_http = records(path)[2][1]
    assert req_http["Authorization"] == req_http["Cookie"] == "REDACTED"
    assert req_http["Proxy-Authorization"] == "REDACTED"
    assert req_http["Host"] == "news.example:8080"  # added when the caller had none


def test_header_values_cannot_inject_lines_and_raw_bytes_survive(tmp_path):
    utf8 = "café".encode().decode("latin-1")  # how the capture hands over raw header octets
    ex = exchange(url="http://news.example/x\r\nWARC-Type: evil",
                  response_headers=[("X-Evil", "a\r\nWARC-Type: revisit"), ("X-Title", utf8)])
    with WarcWriter(tmp_path, "news", "pfx", "crawlhost") as writer:
        writer.write_exchange(ex)
    path = next(tmp_path.rglob("*.warc.gz"))
    raw = gzip.decompress(path.read_bytes())
    assert b"\r\nWARC-Type: evil" not in raw and b"\r\nWARC-Type: revisit" not in raw
    assert b"X-Title: caf\xc3\xa9\r\n" in raw  # not %-encoded, not re-encoded
    assert warcio_check(path).returncode == 0


def test_h2_ipv6_reason_truncation_and_naive_dates(tmp_path):
    naive = datetime(2026, 1, 2, 3, 4, 5)
    local = datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    with WarcWriter(tmp_path, "news", "pfx", "crawlhost") as writer:
        writer.write_exchange(exchange(protocol="h2", ip_address="2001:0db8:0000::0001",
                                       date=naive, status=599, truncated="length"))
        writer.write_exchange(exchange(date=local, status=404, reason="",
                                       truncated="disconnect"))
    recs = records(next(tmp_path.rglob("*.warc.gz")))
    resp, resp_http = recs[1][0], recs[1][1]
    assert resp["WARC-Protocol"] == recs[2][0]["WARC-Protocol"] == "h2"
    assert resp_http.protocol == "HTTP/1.1" and resp_http.statusline == "599 Server Error"
    assert resp["WARC-IP-Address"] == "2001:db8::1"
    assert resp["WARC-Truncated"] == "length"
    assert resp["WARC-Date"] == "2026-01-02T03:04:05.000000Z"
    assert recs[3][0]["WARC-Date"] == "2026-01-02T03:04:05.000000Z"
    assert recs[3][1].statusline == "404 Not Found"
    assert recs[3][0]["WARC-Truncated"] == "disconnect"
    with pytest.raises(ValueError):
        WarcWriter(tmp_path, "news", "pfx", "h").write_exchange(exchange(truncated="maybe"))


def test_post_body_in_request_record(tmp_path):
    ex = exchange(method="POST", request_body=b"q=river",
                  request_headers=[("Content-Length", "7"), ("Host", "news.example")])
    with WarcWriter(tmp_path, "news", "pfx", "crawlhost") as writer:
        writer.write_exchange(ex)
    path = next(tmp_path.rglob("*.warc.gz"))
    req, req_http, body, _ = records(path)[2]
    assert req_http.protocol == "POST" and body == b"q=river"
    assert warcio_check(path).returncode == 0


def test_rotation_never_splits_pairs(tmp_path, closed):
    body = random.Random(7).randbytes(2000)  # incompressible: a bit over 2 KB per pair
    with WarcWriter(tmp_path, "news", "pfx", "crawlhost", max_size=7000,
                    on_closed=lambda *a: closed.append(a)) as writer:
        locations = [writer.write_exchange(exchange(url=f"http://news.example/{n}", body=body))
                     for n in range(10)]
        assert writer.current_path is not None and writer.current_path.name.endswith(".open")
    assert len(closed) >= 3
    serials = [p.name.split("-")[2] for p, _, _ in closed]
    assert serials == [f"{n:05d}" for n in range(len(closed))]
    assert {loc.key for loc in locations} == {key for _, key, _ in closed}
    for path, _, sha256 in closed:
        assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        recs = records(path)
        assert recs[0][0]["WARC-Type"] == "warcinfo"
        assert len(recs) % 2 == 1 and len(recs) >= 5  # warcinfo + at least two pairs
        ids = {r[0]["WARC-Record-ID"]: r[0] for r in recs}
        for rec in recs[1:]:
            assert rec[0]["WARC-Concurrent-To"] in ids  # partner in the same file
        if path != closed[-1][0]:
            assert path.stat().st_size <= 7000 or len(recs) == 3
    assert not list(tmp_path.rglob("*.open"))


def test_failing_publisher_keeps_the_file(tmp_path, caplog):
    def broken(path, key, sha256):
        raise OSError("store unreachable")

    with WarcWriter(tmp_path, "news", "pfx", "crawlhost", on_closed=broken) as writer:
        writer.write_exchange(exchange())
    assert writer.closed[0][0].exists()
    assert "could not hand over" in caplog.text


def test_file_names_never_collide(tmp_path):
    first = WarcWriter(tmp_path, "news", "pfx", "crawlhost")
    second = WarcWriter(tmp_path, "news", "pfx", "crawlhost")
    a = first.write_exchange(exchange())
    b = second.write_exchange(exchange())
    first.close()
    second.close()
    assert a.filename != b.filename
    assert (tmp_path / a.key).exists() and (tmp_path / b.key).exists()


def test_identical_payload_revisit(tmp_path):
    with WarcWriter(tmp_path, "news", "pfx", "crawlhost") as writer:
        original = writer.write_exchange(exchange())
        later = WHEN + timedelta(days=1)
        revisit = writer.write_revisit(
            exchange(date=later), refers_to_uri="http://news.example/story?id=7",
            refers_to_date=WHEN, refers_to=original.record_id,
            payload_digest=original.payload_digest)
        with pytest.raises(ValueError, match="differs"):
            writer.write_revisit(exchange(body=b"changed"), refers_to_uri="u",
                                 refers_to_date=WHEN, payload_digest=original.payload_digest)
    path = next(tmp_path.rglob("*.warc.gz"))
    recs = records(path)
    rev, rev_http, rev_block, offset = recs[3]
    assert offset == revisit.offset and rev["WARC-Type"] == "revisit"
    assert rev["WARC-Profile"] == PROFILE_IDENTICAL
    assert rev["WARC-Refers-To"] == original.record_id
    assert rev["WARC-Refers-To-Target-URI"] == "http://news.example/story?id=7"
    assert rev["WARC-Refers-To-Date"] == "2026-11-03T10:11:12.345678Z"
    assert rev["WARC-Payload-Digest"] == original.payload_digest == revisit.payload_digest
    assert rev["WARC-Truncated"] == "length"
    assert rev_http.statusline == "200 OK" and rev_block == b""  # headers only
    assert recs[4][0]["WARC-Type"] == "request"
    assert recs[4][0]["WARC-Concurrent-To"] == rev["WARC-Record-ID"]
    assert warcio_check(path).returncode == 0


def test_server_not_modified_revisit(tmp_path):
    with WarcWriter(tmp_path, "news", "pfx", "crawlhost") as writer:
        original = writer.write_exchange(exchange())
        writer.write_revisit(
            exchange(status=304, body=b"", response_headers=[("ETag", '"v1"')],
                     request_headers=[("If-None-Match", '"v1"')]),
            refers_to_uri="http://news.example/story?id=7", refers_to_date=WHEN,
            refers_to=original.record_id, profile=PROFILE_NOT_MODIFIED)
        with pytest.raises(ValueError, match="profile"):
            writer.write_revisit(exchange(), refers_to_uri="u", refers_to_date=WHEN,
                                 profile="http://example.invalid/other")
    path = next(tmp_path.rglob("*.warc.gz"))
    rev, rev_http, _, _ = records(path)[3]
    assert rev["WARC-Profile"] == PROFILE_NOT_MODIFIED
    assert rev_http.statusline == "304 Not Modified"
    assert "WARC-Payload-Digest" not in rev and "WARC-Truncated" not in rev
    assert rev["WARC-Refers-To-Date"] == "2026-11-03T10:11:12.345678Z"
    assert records(path)[4][1]["If-None-Match"] == '"v1"'
    assert warcio_check(path).returncode == 0
