"""bench/sitehost.py: the generated site the crawl benchmarks serve, and their crawl driver.

The benchmarks only print figures, so nothing else would notice if the shared server or
driver broke; these tests serve bench/crawl.py's own site and crawl it once.
"""

from __future__ import annotations

import importlib.util
import sys
import urllib.error
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_bench(name: str, as_name: str) -> ModuleType:
    """Import a bench script by file (not by putting bench/ on sys.path, where its
    state.py, store.py and report.py would shadow other top-level names)."""
    spec = importlib.util.spec_from_file_location(as_name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[as_name] = module
    spec.loader.exec_module(module)
    return module


sitehost = load_bench("sitehost", "sitehost")  # the name bench scripts import it by
bench_crawl = load_bench("crawl", "bench_crawl")


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, b""


@pytest.fixture
def bench_site():
    server = sitehost.SiteProcess(bench_crawl.site, sitehost.PER_LISTING + 3)
    try:
        yield server
    finally:
        server.stop()


def test_listings_paginate_and_requests_are_counted(bench_site) -> None:
    status, first = get(bench_site.base + "/latest")
    assert status == 200
    assert first.count(b'href="/news/') == sitehost.PER_LISTING
    assert b'href="/latest?page=1"' in first
    status, last = get(bench_site.base + "/latest?page=1")
    assert last.count(b'href="/news/') == 3 and b'rel="next"' not in last
    assert get(bench_site.base + "/news/52")[0] == 200
    assert get(bench_site.base + "/news/53")[0] == 404
    assert get(bench_site.base + "/news/52")[0] == 200
    counts = bench_site.counts()
    assert counts == {"/latest": 1, "/latest?page=1": 1, "/news/52": 2, "/news/53": 1}
    bench_site.reset()
    assert bench_site.counts() == {}


@pytest.mark.slow
def test_run_crawl_crawls_the_bench_site(bench_site, tmp_path: Path) -> None:
    outlet = sitehost.write_outlet(tmp_path / "bench.yaml", bench_site.base, 4)
    result = sitehost.run_crawl("full", outlet, tmp_path / "store", 1,
                                bench_crawl.MODE_SETTINGS["capture"])
    report = result["reports"][0]
    # robots.txt, two listings and every article, each fetched once
    assert report["responses"] == 1 + 2 + sitehost.PER_LISTING + 3
    assert result["elapsed"] > 0
    assert bench_site.counts()["/robots.txt"] == 1
