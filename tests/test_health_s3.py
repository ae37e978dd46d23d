"""`newsarchive report` on an S3 store (real SeaweedFS): same alarms as on a directory."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from tests.conftest import run_cli
from tests.run_reports import make_report, put_s3, scenario, utc_now
from tests.s3server import SeaweedFS
from tests.test_health import OUTLETS
from tests.test_s3store import isolate_aws_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs-health"))
    server.start()
    yield server
    server.cleanup()


def test_report_over_s3_store(s3_server, monkeypatch, tmp_path):
    isolate_aws_env(monkeypatch, tmp_path)
    prefix = f"health-{uuid.uuid4().hex[:8]}"
    now = utc_now()
    reports = [r for outlet, kind in OUTLETS.items()
               for r in scenario(outlet, kind, now, runs=20)]
    put_s3(s3_server.client(), s3_server.bucket, prefix, reports)
    env = {**s3_server.client_env(), "NEWSARCHIVE_SPOOL": str(tmp_path / "spool"),
           "NEWSARCHIVE_CACHE": str(tmp_path / "cache")}
    proc = run_cli("report", "--store", f"s3://{s3_server.bucket}/{prefix}", "--json",
                   env=env)
    assert proc.returncode == 8, proc.stderr
    health = json.loads(proc.stdout)
    # quiet: one line per alarm on stderr, no client warnings
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 4 and all(x.startswith("newsarchive report: alarm ") for x in lines)
    assert health["reports_read"] == health["reports_fetched"] == len(reports) == 100
    assert {o["outlet"]: [a["kind"] for a in o["alarms"]] for o in health["outlets"]} == {
        "calm-times": [], "broken-herald": ["zero_articles"], "walled-post": ["block_rate"],
        "thin-gazette": ["text_collapse"], "sleepy-news": ["stale"]}
    # and the HTML page from the same store
    page = tmp_path / "health.html"
    proc = run_cli("report", "--store", f"s3://{s3_server.bucket}/{prefix}", "--out",
                   str(page), env=env)
    assert proc.returncode == 8 and 'data-alarm="block_rate"' in page.read_text()
    # the next report fetches only the new run report; the cached ones are not read again
    late = make_report("calm-times", now - timedelta(minutes=5), articles=20, pages=50)
    put_s3(s3_server.client(), s3_server.bucket, prefix, [late])
    proc = run_cli("report", "--store", f"s3://{s3_server.bucket}/{prefix}", "--json",
                   env=env)
    health = json.loads(proc.stdout)
    assert (health["reports_read"], health["reports_fetched"]) == (101, 1)
    calm = next(o for o in health["outlets"] if o["outlet"] == "calm-times")
    assert calm["last_run"]["run_id"] == late["run_id"] and calm["runs"] == 21
    # --no-cache reads them all
    proc = run_cli("report", "--store", f"s3://{s3_server.bucket}/{prefix}", "--json",
                   "--no-cache", env=env)
    assert json.loads(proc.stdout)["reports_fetched"] == 101
