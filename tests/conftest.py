"""Shared fixtures: the sample outlet over real HTTP, and crawls run as real processes.

Crawls run in a subprocess (the installed ``newsarchive`` CLI) because Twisted's reactor
cannot be restarted inside one test process, and because that is exactly what cron runs.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sample_site() -> Iterator:
    """One sample outlet server for the whole session (its request log is shared)."""
    from tests.sites.server import SampleSite

    site = SampleSite(port=0, arabic_port=0).start()
    try:
        yield site
    finally:
        site.stop()


@pytest.fixture
def fresh_site() -> Iterator:
    """A sample outlet server of the test's own, with an empty request log."""
    from tests.sites.server import SampleSite

    site = SampleSite(port=0, arabic_port=0).start()
    try:
        yield site
    finally:
        site.stop()


@dataclass
class CrawlResult:
    returncode: int
    stdout: str
    stderr: str
    store: Path
    reports: list[dict]

    def corpus(self) -> list[dict]:
        records = []
        for path in sorted(self.store.glob("corpus/**/*.jsonl.gz")):
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                records.extend(json.loads(line) for line in handle if line.strip())
        return records

    def warcs(self) -> list[Path]:
        return sorted(self.store.glob("warc/**/*.warc.gz"))


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], cwd=cwd or REPO_ROOT,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def crawl(outlet_file: Path, store: Path, *extra: str, env: dict | None = None) -> CrawlResult:
    report_file = store.parent / f"{store.name}-report.json"
    report_file.unlink(missing_ok=True)  # a stale report must not pass for this run's
    proc = run_cli("crawl", str(outlet_file), "--store", str(store), "--report",
                   str(report_file), "--workers", "1", *extra, env=env)
    reports: list[dict] = []
    if report_file.exists():
        data = json.loads(report_file.read_text())
        reports = data if isinstance(data, list) else [data]
    return CrawlResult(proc.returncode, proc.stdout, proc.stderr, store, reports)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis: 127.0.0.1:6379 when it answers, else one started on a free port."""
    from tests.redis_server import redis_for_tests

    with redis_for_tests() as url:
        yield url
