"""A worker of a shared crawl stays alive while it publishes (issue 10).

Publishing blocks the reactor thread (closing, indexing and uploading WARCs can take
minutes on S3), where the heartbeat normally runs.  The worker here has a 1 s TTL and its
publishing step is held for 4 s: its heartbeat expiry in Redis must stay in the future
the whole time, and it must not be declared dead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import redis

from tests.conftest import REPO_ROOT
from tests.redis_server import delete_prefix, unique_prefix

pytestmark = pytest.mark.slow


def test_heartbeat_goes_on_while_the_worker_publishes(tmp_path, sample_site, redis_url):
    prefix = unique_prefix("keepalive")
    outlet_file = sample_site.write_outlet(tmp_path / "outlet.yaml")
    flag = tmp_path / "publishing"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NEWSARCHIVE_") and k != "REDIS_URL"}
    env.update({"PYTHONUNBUFFERED": "1", "NEWSARCHIVE_WORKER_TTL": "1",
                "NEWSARCHIVE_TEST_PAUSE_AT": "files_published",
                "NEWSARCHIVE_TEST_PAUSE_FILE": str(flag),
                "NEWSARCHIVE_TEST_PAUSE_SECONDS": "4",
                "XDG_STATE_HOME": str(tmp_path / "state-home")})
    client = redis.Redis.from_url(redis_url)
    workers = f"{{{prefix}}}:crawl:rudaw-sample:workers"
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "crawl", str(outlet_file), "--store",
         str(tmp_path / "store"), "--redis", f"{redis_url}?prefix={prefix}", "--worker-id", "w1",
         "--workers", "1", "--report", str(tmp_path / "w1.json")],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert flag.exists(), "the worker never reached its publishing step"
        samples = 0
        end = time.monotonic() + 3
        while time.monotonic() < end and proc.poll() is None:
            seconds, micros = client.time()
            now_ms = int(seconds) * 1000 + int(micros) // 1000
            expiry = client.hget(workers, "w1")
            assert expiry is not None and int(expiry) > now_ms, \
                "the publishing worker's heartbeat expired: it would be declared dead"
            samples += 1
            time.sleep(0.1)
        assert samples >= 20
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        report = json.loads((tmp_path / "w1.json").read_text())
        assert not report.get("distributed", {}).get("declared_dead")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        client.close()
        delete_prefix(redis_url, prefix)
