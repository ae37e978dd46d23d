"""`newsarchive state rebuild` touches only what it rebuilds (issue 10).

- ``--outlet X --only`` leaves every other outlet's state as it was;
- with a Redis state it deletes only state keys: the shared crawl's frontier, seen-set and
  worker keys under the same prefix survive;
- it takes the run lock (a crawl cannot run under it, and it does not run under a crawl)
  and refuses while a shared crawl has live workers in the Redis.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
import redis

from archive.state import open_state
from archive.state.lock import RunLock
from tests.conftest import crawl, run_cli
from tests.test_state import redis_url  # noqa: F401 - fixture

pytestmark = pytest.mark.slow

OUTLET = "rudaw-sample"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory, sample_site):
    work = tmp_path_factory.mktemp("rebuild-safety")
    outlet_file = sample_site.write_outlet(work / "outlet.yaml")
    result = crawl(outlet_file, work / "store", "--state", "off")
    assert result.returncode == 0, result.stderr[-2000:]
    return outlet_file, work / "store"


def other_outlet(state) -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    for number in range(3):
        state.record_article("other", f"k{number}", f"http://other.test/{number}",
                             "0" * 64, 1, when)
    state.set_validators("http://other.test/feed", '"etag"', None, "2026-01-01T00:00:00Z")


def test_only_leaves_other_outlets_alone_sqlite(crawled, tmp_path):
    outlet_file, store = crawled
    location = tmp_path / "state.sqlite3"
    state = open_state(location)
    other_outlet(state)
    state.close()
    done = run_cli("state", "rebuild", "--store", str(store), "--state", str(location),
                   "--outlet", str(outlet_file), "--only")
    assert done.returncode == 0, done.stdout + done.stderr
    state = open_state(location)
    try:
        assert state.count_articles("other") == 3
        assert state.get_validators("http://other.test/feed") is not None
        assert state.count_articles(OUTLET) >= 26
    finally:
        state.close()


def test_redis_rebuild_keeps_the_shared_crawl_keys(crawled, redis_url):  # noqa: F811
    outlet_file, store = crawled
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    location = f"{redis_url}?prefix={prefix}"
    client = redis.Redis.from_url(redis_url)
    crawl_keys = {f"{{{prefix}}}:crawl:{OUTLET}:q:127.0.0.1": "zset",
                  f"{{{prefix}}}:crawl:{OUTLET}:seen": "set",
                  f"{{{prefix}}}:crawl:{OUTLET}:w:w1:taken": "hash",
                  f"{{{prefix}}}:polite:next": "hash"}
    try:
        client.zadd(f"{{{prefix}}}:crawl:{OUTLET}:q:127.0.0.1", {"request": 1})
        client.sadd(f"{{{prefix}}}:crawl:{OUTLET}:seen", "fingerprint")
        client.hset(f"{{{prefix}}}:crawl:{OUTLET}:w:w1:taken", "1", "x")
        client.hset(f"{{{prefix}}}:polite:next", "127.0.0.1", "0")
        state = open_state(location)
        other_outlet(state)
        state.close()
        only = run_cli("state", "rebuild", "--store", str(store), "--state", location,
                       "--outlet", str(outlet_file), "--only")
        assert only.returncode == 0, only.stdout + only.stderr
        state = open_state(location)
        assert state.count_articles("other") == 3 and state.count_articles(OUTLET) >= 26
        state.close()
        full = run_cli("state", "rebuild", "--store", str(store), "--state", location,
                       "--outlet", str(outlet_file))
        assert full.returncode == 0, full.stdout + full.stderr
        for key, kind in crawl_keys.items():
            assert client.type(key).decode() == kind, key
        state = open_state(location)
        assert state.count_articles("other") == 0  # a full rebuild is exact: the store
        assert state.count_articles(OUTLET) >= 26  # has no "other" outlet
        state.close()
    finally:
        for key in client.scan_iter(match=f"{{{prefix}*"):
            client.unlink(key)
        client.close()


def test_rebuild_waits_for_no_one_and_refuses_under_a_crawl(crawled, tmp_path,
                                                            redis_url):  # noqa: F811
    outlet_file, store = crawled
    location = tmp_path / "locked.sqlite3"
    with RunLock.for_store(str(store), OUTLET):
        done = run_cli("state", "rebuild", "--store", str(store), "--state", str(location),
                       "--outlet", str(outlet_file))
    assert done.returncode == 75, done.stdout + done.stderr
    assert "another newsarchive run" in done.stderr
    # a shared crawl with a live worker in the Redis of the state
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(redis_url)
    try:
        seconds, _ = client.time()
        client.hset(f"{{{prefix}}}:crawl:{OUTLET}:workers", "w1",
                    str((int(seconds) + 60) * 1000))
        busy = run_cli("state", "rebuild", "--store", str(store), "--state",
                       f"{redis_url}?prefix={prefix}", "--outlet", str(outlet_file))
        assert busy.returncode == 75, busy.stdout + busy.stderr
        assert "shared crawl" in busy.stderr
        client.hset(f"{{{prefix}}}:crawl:{OUTLET}:workers", "w1", str(int(seconds) * 1000 - 1))
        time.sleep(0.01)
        idle = run_cli("state", "rebuild", "--store", str(store), "--state",
                       f"{redis_url}?prefix={prefix}", "--outlet", str(outlet_file))
        assert idle.returncode == 0, idle.stdout + idle.stderr
    finally:
        for key in client.scan_iter(match=f"{{{prefix}*"):
            client.unlink(key)
        client.close()
