"""archive.replay: captured WARCs replay in a real pywb (its own virtualenv), byte for byte.

The first run builds pywb's virtualenv (needs PyPI; under NEWSARCHIVE_PYWB_HOME or
~/.cache/newsarchive/pywb), later runs reuse it.
"""

from __future__ import annotations

import gzip
import importlib.util
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.replay.pywb import PywbServer, ensure_pywb_env, timestamp14
from archive.warc.writer import HttpExchange, WarcWriter
from tests import httpfixture


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch(url: str) -> tuple[int, dict, bytes]:
    """GET without following redirects or decoding; Accept-Encoding as warc-qa asks."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip, deflate"})
    try:
        with _OPENER.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def responses(paths: list[Path]) -> list[dict]:
    out = []
    for path in paths:
        with open(path, "rb") as handle:
            for rec in ArchiveIterator(handle):
                if rec.rec_type not in ("response", "revisit"):
                    continue
                raw = rec.raw_stream.read()
                out.append({"uri": rec.rec_headers.get_header("WARC-Target-URI"),
                            "date": rec.rec_headers.get_header("WARC-Date"),
                            "type": rec.rec_type,
                            "status": int(rec.http_headers.get_statuscode()),
                            "truncated": rec.rec_headers.get_header("WARC-Truncated"),
                            "encoding": rec.http_headers.get_header("Content-Encoding"),
                            "raw": raw})
    return out


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> tuple[list[Path], str]:
    store = tmp_path_factory.mktemp("replay") / "store"
    with httpfixture.serve() as server:
        httpfixture.run_crawl(store, server.base, warc_max_size=1_000_000)
    return sorted(store.rglob("*.warc.gz")), server.base


@pytest.fixture(scope="module")
def pywb(crawled):
    with PywbServer(crawled[0]) as server:
        yield server


def test_timestamp14_and_urls():
    assert timestamp14("2026-11-03T10:11:12.345678Z") == "20261103101112"
    assert timestamp14(datetime(2026, 11, 3, 10, 11, 12, tzinfo=UTC)) == "20261103101112"
    server = PywbServer([], port=8123)
    assert server.url_for("20261103101112", "http://a.example/x?y=1") == (
        "http://127.0.0.1:8123/newsarchive/20261103101112id_/http://a.example/x?y=1")


@pytest.mark.slow
def test_pywb_lives_in_its_own_virtualenv():
    python = ensure_pywb_env()
    assert python.exists() and not python.resolve().is_relative_to(Path(sys.prefix).resolve())
    assert importlib.util.find_spec("pywb") is None  # never in the project's environment
    assert ensure_pywb_env() == python  # second call reuses it


@pytest.mark.slow
def test_pywb_replays_captures_byte_identically(crawled, pywb):
    paths, base = crawled
    records = responses(paths)
    seen: dict[tuple[str, str], int] = {}
    for rec in records:
        key = (rec["uri"], timestamp14(rec["date"]))
        seen[key] = seen.get(key, 0) + 1
    checked = 0
    for rec in records:
        if seen[(rec["uri"], timestamp14(rec["date"]))] > 1 or rec["truncated"]:
            continue  # one capture per URL and second is addressable; cut bodies differ
        status, headers, body = fetch(pywb.url_for(rec["date"], rec["uri"]))
        assert status == rec["status"], rec["uri"]
        assert body == rec["raw"], rec["uri"]
        checked += 1
    assert checked >= 14
    gz = next(r for r in records if r["uri"] == f"{base}/gzip")
    status, headers, body = fetch(pywb.url_for(gz["date"], gz["uri"]))
    assert headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(body) == httpfixture.GZIP_HTML


@pytest.mark.slow
def test_pywb_replays_the_redirect_hops(crawled, pywb):
    paths, base = crawled
    records = {r["uri"]: r for r in responses(paths)}
    first = records[f"{base}/redirect/1"]
    status, headers, body = fetch(pywb.url_for(first["date"], first["uri"]))
    assert (status, headers.get("Location"), body) == (301, "/redirect/2", b"moved")
    # the rewritten view points the browser at the next hop inside the archive
    url = pywb.url_for(first["date"], first["uri"], mod="mp_")
    hops = []
    for _ in range(4):
        status, headers, _ = fetch(url)
        hops.append(status)
        if status not in (301, 302):
            break
        location = headers["Location"]
        assert location.startswith(f"/{pywb.collection}/")
        url = pywb.base_url + location
    assert hops == [301, 302, 200]
    assert url.endswith(f"{base}/page?from=redirect")


@pytest.mark.slow
def test_pywb_resolves_an_identical_payload_revisit(tmp_path):
    url = "http://news.example/story"
    body = b"<html><body>An invented story, archived once.</body></html>"
    first = datetime(2026, 11, 3, 10, 0, 0, tzinfo=UTC)
    later = first + timedelta(days=2)

    def exchange(when: datetime) -> HttpExchange:
        return HttpExchange(url=url, status=200, body=body, date=when, ip_address="192.0.2.1",
                            response_headers=[("Content-Type", "text/html"),
                                              ("Content-Length", str(len(body)))])

    with WarcWriter(tmp_path, "news", "pfx", "host") as writer:
        original = writer.write_exchange(exchange(first))
        writer.write_revisit(exchange(later), refers_to_uri=url, refers_to_date=first,
                             refers_to=original.record_id,
                             payload_digest=original.payload_digest)
    with PywbServer([writer.closed[0][0]]) as server:
        status, headers, replayed = fetch(server.url_for(later, url))
        assert status == 200 and replayed == body
        assert headers.get("Memento-Datetime", "").startswith(later.strftime("%a, %d %b %Y"))
    assert server.workdir is None and server._process is None  # stopped and cleaned up
