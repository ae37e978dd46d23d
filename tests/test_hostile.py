"""Hostile and failing sites (issue 13): each case crawled for real against a local server.

Every server is on 127.0.0.1 and every crawl is bounded (few pages, a subprocess timeout);
timings are asserted as lower bounds with generous margins, measured on the server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import REPO_ROOT, crawl
from tests.sites.hostile import TRAP_SECRET, HostileSite

pytestmark = pytest.mark.slow

ARTICLES = r"/(news|limited|busy|corrupt-once|corrupt|cut-once|bomb|trap|private|%70rivate)/"
REBINDING = {"NEWSARCHIVE_DNS_RESOLVER": "tests.sites.hostile.RebindingResolver"}


def write_outlet(path: Path, site: HostileSite, extra: str = "", delay: float = 0.2) -> Path:
    path.write_text(
        f"name: hostile\nstart_urls: ['{site.base}/']\narticle_urls: ['{ARTICLES}']\n"
        f"download_delay: {delay}\nconcurrency: 1\n{extra}", encoding="utf-8")
    return path


def responses(result) -> list:
    """(target URI, WARC headers, HTTP headers, raw payload) of every response record."""
    out = []
    for warc in result.warcs():
        with open(warc, "rb") as handle:
            for rec in ArchiveIterator(handle, no_record_parse=False):
                if rec.rec_type == "response":
                    out.append((rec.rec_headers.get_header("WARC-Target-URI"),
                                rec.rec_headers, rec.http_headers, rec.raw_stream.read()))
    return out


def warc_bytes(result) -> bytes:
    import gzip

    return b"".join(gzip.open(w).read() for w in result.warcs())


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


# ---- DNS rebinding ----------------------------------------------------------------------


def test_rebinding_host_is_refused_at_connect_time(tmp_path):
    """A host in the outlet's domains, not named by it, whose DNS answer is 127.0.0.1."""
    with HostileSite() as site:
        evil = f"http://evil.rebind.test:{site.port}"
        site.links = [f"{site.base}/news/1", f"{evil}/trap/secret", f"{evil}/news/2"]
        # the spider's scope check compares host:port, Scrapy's offsite filter the host
        outlet = write_outlet(tmp_path / "o.yaml", site, "allowed_domains: ['127.0.0.1', "
                              f"'rebind.test', 'rebind.test:{site.port}']\n")
        result = crawl(outlet, tmp_path / "store", env=REBINDING)
        hosts = {h.host for h in site.hits}
    assert result.returncode == 0, result.stderr[-2000:]
    assert site.trap_hits() == []
    assert not any("rebind.test" in h for h in hosts)  # not even its robots.txt
    assert TRAP_SECRET not in warc_bytes(result)
    report = result.reports[0]
    assert report["refusals"]["by_kind"]["address"] >= 1
    assert "address" not in report["failures"]["by_kind"]
    assert report["articles"] == 1


# ---- decompression bombs ----------------------------------------------------------------


def test_decompression_bombs_are_archived_raw_and_never_inflated(tmp_path):
    cap = 2 * 1024 * 1024
    with HostileSite() as site:
        site.links = ["/news/1", "/bomb/gzip", "/bomb/deflate"]
        outlet = write_outlet(tmp_path / "o.yaml", site,
                              f"sitemaps: ['{site.base}/sitemap-bomb.xml', "
                              f"'{site.base}/sitemap-bomb.xml.gz']\n", delay=0.05)
        store = tmp_path / "store"
        report_file = tmp_path / "report.json"
        # a fresh parent process, so its children's peak RSS is this crawl's alone
        probe = ("import resource, subprocess, sys\n"
                 "r = subprocess.run(sys.argv[1:])\n"
                 "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
                 "sys.exit(r.returncode)\n")
        env = {"NEWSARCHIVE_MAX_DECODED_BYTES": str(cap), "PYTHONUNBUFFERED": "1"}
        import os

        done = subprocess.run(
            [sys.executable, "-c", probe, sys.executable, "-m", "crawler.cli", "crawl",
             str(outlet), "--store", str(store), "--report", str(report_file),
             "--workers", "1"], cwd=REPO_ROOT, env={**os.environ, **env},
            capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    peak_mib = int(done.stdout.strip().splitlines()[-1]) / 1024
    print(f"peak RSS of the crawl with three 1 GiB bombs and a 256 MiB one: {peak_mib:.0f} MiB")
    assert peak_mib < 400  # inflating one bomb alone would take 1024 MiB
    report = json.loads(report_file.read_text())
    assert report["refusals"]["by_kind"]["decompression_bomb"] == 3
    # a gzip file sitemap is inflated by the sitemap reader, capped before XML parsing
    assert report["failures"]["by_kind"]["broken_sitemap"] == 1
    assert report["articles"] == 1

    class Result:
        def warcs(self):
            return sorted(store.glob("warc/**/*.warc.gz"))

    records = {uri: (warc, http, raw) for uri, warc, http, raw in responses(Result())}
    gz = records[f"{site.base}/bomb/gzip"]
    assert gz[1].get_header("Content-Encoding") == "gzip"  # archived as received
    assert len(gz[2]) == int(gz[1].get_header("Content-Length")) < cap


# ---- Retry-After, back-off, slowing a host -----------------------------------------------


def test_retry_after_is_honoured(tmp_path):
    with HostileSite(retry_after="3") as site:
        site.links = ["/limited/1", "/news/1"]
        result = crawl(write_outlet(tmp_path / "o.yaml", site), tmp_path / "store")
        times = site.times_of("/limited/1")
        after = [h.at for h in site.hits if h.at > times[0]]
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(times) == 2
    assert times[1] - times[0] >= 2.7  # asked for 3 s; the outlet delay is 0.2 s
    assert after and min(after) - times[0] >= 2.7  # the whole host waited, not just the URL
    assert result.reports[0]["articles"] == 2


def test_retry_after_beyond_the_cap_is_not_retried(tmp_path):
    with HostileSite(retry_after="86400") as site:
        site.links = ["/limited/1", "/news/1"]
        result = crawl(write_outlet(tmp_path / "o.yaml", site), tmp_path / "store")
    assert site.count("/limited/1") == 1
    assert result.reports[0]["failures"]["by_kind"]["retry_after_too_long"] == 1


def test_exponential_backoff_and_a_slowed_host(tmp_path):
    """Three 503s in a row: pauses of >= 1, 2, 4 s, then the host stays slowed a while."""
    with HostileSite(busy_first=3) as site:
        # links are taken last first: the three busy pages, then the news
        site.links = ["/news/1", "/news/2", "/news/3", "/busy/3", "/busy/2", "/busy/1"]
        result = crawl(write_outlet(tmp_path / "o.yaml", site), tmp_path / "store")
        pages = [h for h in site.hits if h.path not in ("/robots.txt", "/")]
    assert result.returncode == 0, result.stderr[-2000:]
    assert [h.path for h in pages[:3]] == ["/busy/1", "/busy/2", "/busy/3"]
    times = [h.at for h in pages]
    assert gaps(times)[0] >= 0.9 and gaps(times)[1] >= 1.8  # 1 s, 2 s
    assert gaps(times)[2] >= 3.6  # third 503 in a row: 4 s
    # three 503s within a minute raised the host's floor (2 s, halved by the first
    # success): the next request still waits far longer than the outlet's 0.2 s
    assert gaps(times)[3] >= 0.9
    assert result.reports[0]["articles"] == 6  # every busy page was retried and archived


# ---- robots.txt -------------------------------------------------------------------------


def test_robots_matches_the_normalised_path_and_obeys_crawl_delay(tmp_path):
    robots = "User-agent: *\nDisallow: /private\nCrawl-delay: 1.5\n"
    with HostileSite(robots=robots) as site:
        site.links = [f"{site.base}/./private/x", f"{site.base}//private/y",
                      f"{site.base}/news/../private/z", f"{site.base}/%70rivate/w",
                      "/news/1", "/news/2"]
        result = crawl(write_outlet(tmp_path / "o.yaml", site), tmp_path / "store")
        times = [h.at for h in site.hits]
    assert result.returncode == 0, result.stderr[-2000:]
    assert site.trap_hits() == []
    assert result.reports[0]["refusals"]["by_kind"]["robots"] == 4
    assert len(times) >= 4  # robots, front, two articles
    assert min(gaps(times[1:])) >= 1.35  # Crawl-delay 1.5 s beats the outlet's 0.2 s


# ---- credentials, invalid ports ---------------------------------------------------------


def test_credentials_and_bad_ports_are_refused_and_never_logged(tmp_path):
    with HostileSite() as site:
        creds = f"http://user:hunter2secret@127.0.0.1:{site.port}/news/9"
        site.links = ["/news/1", creds, "/go/badport", "/go/creds"]
        outlet = write_outlet(tmp_path / "o.yaml", site, "follow_urls: ['/go/']\n")
        log = tmp_path / "crawl.log"
        result = crawl(outlet, tmp_path / "store", "--verbose", "--log-file", str(log))
    assert result.returncode == 0, result.stderr[-2000:]
    assert site.count("/news/9") == 0 and site.count("/news/7") == 0
    assert "ValueError" not in log.read_text() + result.stderr
    text = log.read_text() + result.stderr + result.stdout + json.dumps(result.reports)
    assert "hunter2secret" not in text
    # the site's own bytes (its HTML, its Location header) are archived as received, but
    # no capture was made of a URL with credentials and no request ever carried them
    for warc in result.warcs():
        with open(warc, "rb") as handle:
            for rec in ArchiveIterator(handle):
                assert "hunter2secret" not in (rec.rec_headers.get_header("WARC-Target-URI")
                                               or "")
                if rec.rec_type == "request":
                    assert b"hunter2secret" not in rec.content_stream().read()
                    assert "hunter2secret" not in str(rec.http_headers)
    assert result.reports[0]["refusals"]["by_kind"]["address"] >= 2


# ---- broken bodies ----------------------------------------------------------------------


def test_corrupt_gzip_and_cut_bodies_are_marked_and_fetched_once_more(tmp_path):
    with HostileSite() as site:
        site.links = ["/corrupt-once/1", "/corrupt/2", "/cut-once/3", "/news/4"]
        result = crawl(write_outlet(tmp_path / "o.yaml", site), tmp_path / "store")
    assert result.returncode == 0, result.stderr[-2000:]
    assert site.count("/corrupt-once/1") == 2
    assert site.count("/corrupt/2") == 2
    assert site.count("/cut-once/3") == 2
    report = result.reports[0]
    assert report["failures"]["by_kind"]["corrupt_encoding"] == 1  # /corrupt/2 twice bad
    assert report["articles"] == 3  # corrupt-once, cut-once (second copies) and news
    corrupt = [(w, h, raw) for uri, w, h, raw in responses(result) if "/corrupt/2" in uri]
    assert len(corrupt) == 2
    for _, http, raw in corrupt:
        # the bytes as received, but no longer labelled as a gzip body readers must decode
        assert raw[:2] == b"\x1f\x8b"
        assert http.get_header("Content-Encoding") is None
        assert http.get_header("X-Crawler-Content-Encoding") == "gzip"
    cut = [w for uri, w, _, _ in responses(result) if "/cut-once/3" in uri]
    assert [w.get_header("WARC-Truncated") for w in cut] == ["disconnect", None]


# ---- dead outlets and run outcomes ------------------------------------------------------


def test_dead_outlet_is_degraded_with_one_line_and_no_traceback(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outlet = tmp_path / "dead.yaml"
    outlet.write_text(f"name: dead\nstart_urls: ['http://127.0.0.1:{port}/']\n"
                      "article_urls: ['/news/']\ndownload_delay: 0\n", encoding="utf-8")
    result = crawl(outlet, tmp_path / "store")
    assert result.returncode == 5, result.stderr[-2000:]
    assert "status=degraded" in result.stdout
    reasons = [line for line in result.stderr.splitlines() if ": degraded: " in line]
    assert len(reasons) == 1 and "no page was fetched" in reasons[0]
    assert "Traceback" not in result.stderr
    debug = crawl(outlet, tmp_path / "store2", "--debug")
    assert debug.returncode == 5
    assert "Traceback" in debug.stderr
