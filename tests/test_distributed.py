"""Scale-out: crawl workers sharing one Redis frontier (``crawl --redis``).

The Redis scripts are checked directly against a real Redis; the end-to-end tests run
real worker processes (``python -m crawler.cli crawl ... --redis``) against the sample
outlet over HTTP, a real Redis and a real S3 server (SeaweedFS): two workers crawl the
outlet together, and a worker killed mid-crawl loses nothing.
"""

from __future__ import annotations

import collections
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from scrapy import Request
from scrapy.utils.request import request_from_dict
from warcio.archiveiterator import ArchiveIterator

from crawler.distributed import codec as distributed_codec
from crawler.distributed.frontier import Frontier, Popped, WorkerIdInUse
from tests.conftest import REPO_ROOT, run_cli
from tests.redis_server import delete_prefix, unique_prefix
from tests.sites import load_expected

EXPECTED_IDS = {f"rudaw-sample:{a['id_key']}" for a in load_expected()["articles"].values()}
DELAY = 0.25  # per-host delay of the politeness test (both sample origins are 127.0.0.1)
TOLERANCE = 0.06  # send-time jitter of a loaded 2-core machine (event loop, server threads)


# ---- the Redis side, script by script ----------------------------------------------------


@pytest.fixture
def crawl_redis(redis_url):
    prefix = unique_prefix("dist")
    url = f"{redis_url}?prefix={prefix}"
    yield url, prefix
    delete_prefix(redis_url, prefix)


@pytest.fixture
def frontier(crawl_redis):
    url, _ = crawl_redis
    frontier = Frontier.from_url(url, "outlet", buckets=16)
    yield frontier
    frontier.client.close()


def test_codec_round_trips_requests_as_json_only():
    sent = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    request = Request("http://127.0.0.1:8700/english/rss", method="POST", body=b"\x00\xffbody",
                      headers={"If-None-Match": '"abc"'}, priority=5, dont_filter=True,
                      meta={"kind": "feed", "hints": {"via": "seed", "n": 3},
                            "handle_httpstatus_list": (404, 500), "warc_date": sent,
                            "statuses": tuple(range(400, 600)),
                            "redirect_urls": ["http://a/"], "object": object()})
    data = distributed_codec.dumps(request.to_dict())
    json.loads(data)  # plain JSON: nothing in the frontier is executable
    back = request_from_dict(distributed_codec.loads(data))
    assert (back.url, back.method, back.body, back.priority, back.dont_filter) == \
        (request.url, "POST", b"\x00\xffbody", 5, True)
    assert back.headers.getlist("If-None-Match") == [b'"abc"']
    assert back.meta["handle_httpstatus_list"] == (404, 500)
    assert back.meta["statuses"] == tuple(range(400, 600)) and len(data) < 600
    assert back.meta["warc_date"] == sent and back.meta["hints"] == {"via": "seed", "n": 3}
    assert "object" not in back.meta
    evil = json.dumps({"url": "http://x/", "_class": "os.system"}).encode()
    with pytest.raises(ValueError):
        distributed_codec.loads(evil)


def test_workers_share_one_run_and_the_last_one_out_ends_it(frontier):
    run, fresh, w1, _ = frontier.join("w1", "run-1", 60_000)
    assert (run, fresh, w1) == ("run-1", True, "w1")
    run, fresh, w2, _ = frontier.join("w2", "run-2", 60_000)
    assert (run, fresh, w2) == ("run-1", False, "w2")  # joins the running crawl
    with pytest.raises(WorkerIdInUse):
        frontier.join("w1", "run-3", 60_000)
    frontier.push("h", 0, b"r1")
    assert frontier.leave("w1") == ("left", 0)
    assert frontier.run_id() == "run-1"
    # a worker id used up in this run comes back with a suffix (its files exist already)
    assert frontier.join("w1", "run-4", 60_000)[2] == "w1.2"
    frontier.leave("w1.2")
    assert frontier.leave("w2")[0] == "left"  # work is queued: the run stays for later
    assert frontier.run_id() == "run-1"
    popper = frontier.join("w3", "run-5", 60_000)
    assert popper[0] == "run-1"
    assert isinstance(frontier.pop("w3", 0, 2, 0), Popped)
    assert frontier.leave("w3") == ("ended", 0)  # nothing left: the run is over
    assert frontier.run_id() is None
    assert frontier.join("w1", "run-6", 60_000)[:2] == ("run-6", True)


def test_a_host_is_taken_only_when_its_shared_slot_is_free(frontier):
    frontier.join("w1", "run", 60_000)
    for n in range(3):
        frontier.push("a", -n, f"a{n}".encode())  # higher priority first (score -priority)
    frontier.push("b", 0, b"b0")
    first = frontier.pop("w1", 300, 4, 0)
    assert isinstance(first, Popped) and first.host == "a" and first.data == b"a2"
    second = frontier.pop("w1", 300, 4, 0)
    assert isinstance(second, Popped) and second.host == "b"
    wait = frontier.pop("w1", 300, 4, 0)  # a's next slot is 300 ms away, b is empty
    assert isinstance(wait, int) and 200 < wait <= 300
    time.sleep(wait / 1000 + 0.02)
    assert frontier.pop("w1", 300, 4, 0).data == b"a1"
    # concurrency: a host with `concurrency` requests in flight anywhere is not taken
    for n in range(3):
        frontier.push("c", 0, f"c{n}".encode())
    one, two = frontier.pop("w1", 0, 2, 0), frontier.pop("w1", 0, 2, 0)
    assert one.host == two.host == "c" and frontier.in_flight("c") == 2
    assert isinstance(frontier.pop("w1", 0, 2, 0), int)
    frontier.release("w1", one.id, "c")
    frontier.release("w1", one.id, "c")  # twice is harmless
    assert frontier.in_flight("c") == 1
    assert frontier.pop("w1", 0, 2, 0).host == "c"


def test_booking_outside_the_queue_waits_for_the_shared_slot(frontier):
    frontier.join("w1", "run", 60_000)
    frontier.push("h", 0, b"r")
    assert isinstance(frontier.pop("w1", 500, 4, 0), Popped)
    flight_id, wait_ms = frontier.acquire("w2", "h", 500, 0)  # robots.txt of w2
    assert flight_id > 0 and 400 < wait_ms <= 500
    flight_id2, wait_ms2 = frontier.acquire("w2", "h", 500, 0)
    assert 900 < wait_ms2 <= 1000  # booked one after the other, never together
    frontier.release("w2", flight_id, "h")
    frontier.release("w2", flight_id2, "h")


def test_dead_worker_requests_go_back_with_slots_and_claims(frontier):
    frontier.join("dead", "run", 300)  # heartbeat expires in 0.3 s
    frontier.join("alive", "run", 60_000)
    for n in range(3):
        frontier.push(f"h{n}", 0, f"r{n}".encode())
    taken = [frontier.pop("dead", 0, 1, 0) for _ in range(2)]
    assert all(isinstance(p, Popped) for p in taken)
    assert frontier.claim("dead", "outlet:article-1") == 1
    assert frontier.claim("alive", "outlet:article-1") == 0  # the other worker writes it
    assert frontier.queued() == 1 and frontier.taken("dead") == 2
    time.sleep(0.4)
    requeued, lost = frontier.poll("alive", 60_000)
    assert (requeued, lost) == (2, False)
    assert frontier.queued() == 3 and "dead" not in frontier.workers()
    assert all(frontier.in_flight(p.host) == 0 for p in taken)
    assert frontier.claim("alive", "outlet:article-1") == 1
    data = set()
    while isinstance(popped := frontier.pop("alive", 0, 1, 0), Popped):
        data.add(popped.data)
    assert data == {b"r0", b"r1", b"r2"}
    # the dead worker comes back to life: it learns it was declared dead
    assert frontier.poll("dead", 60_000) == (0, True)


def test_done_needs_an_empty_queue_and_every_worker_idle_since_its_last_take(frontier):
    frontier.join("w1", "run", 60_000)
    frontier.join("w2", "run", 60_000)
    frontier.push("h", 0, b"r")
    assert frontier.idle("w2", 60_000) == (False, 0)  # queued work
    assert isinstance(frontier.pop("w1", 0, 1, 0), Popped)
    assert frontier.idle("w2", 60_000) == (False, 0)  # w1 is busy with what it took
    assert frontier.idle("w1", 60_000) == (True, 0)
    assert frontier.idle("w2", 60_000) == (True, 0)


def test_seen_set_is_compact_and_shared(crawl_redis):
    from scrapy_redis.dupefilter import RFPDupeFilter

    from crawler.distributed.seen import BucketDupeFilter, bucket_member

    url, prefix = crawl_redis
    client = redis.Redis.from_url(url.split("?")[0])
    one = BucketDupeFilter(client, f"{{{prefix}}}:seen", buckets=4)
    two = BucketDupeFilter(client, f"{{{prefix}}}:seen", buckets=4)
    assert not one.request_seen(Request("http://x.test/a?b=1&a=2"))
    assert two.request_seen(Request("http://x.test/a?a=2&b=1"))  # same canonical URL
    assert not two.request_seen(Request("http://x.test/b"))
    plain = RFPDupeFilter(client, "unused")
    fingerprint = plain.request_fingerprint(Request("http://x.test/a?a=2&b=1"))
    bucket, member = bucket_member(fingerprint, 4)
    assert client.sismember(f"{{{prefix}}}:seen:{bucket}", member)
    assert client.object("encoding", f"{{{prefix}}}:seen:{bucket}") in (b"intset", "intset")
    one.clear()
    assert not any(client.exists(f"{{{prefix}}}:seen:{n}") for n in range(4))


def test_deferred_state_publishes_facts_only_with_the_files(crawl_redis):
    from archive.state import open_state
    from archive.state.base import DigestRecord
    from crawler.distributed.state import DeferredState

    url, _ = crawl_redis
    shared = open_state(url)
    worker = DeferredState(open_state(url))
    when = datetime(2026, 3, 1, tzinfo=UTC)
    worker.record_article("o", "k1", "http://x/1", "a" * 64, 1, when)
    digest = DigestRecord("sha1:ABC", "http://x/1", "2026-03-01T00:00:00Z", "<urn:uuid:1>",
                          "warc/o/f.warc.gz", 10, "o")
    worker.record_digest(digest)
    worker.set_validators("http://x/rss", '"e"', None, "2026-03-01T00:00:00Z")
    assert worker.is_archived("o", "k1") and worker.article_info("o", "k1").version == 1
    assert worker.lookup_digest("sha1:ABC", "o") == digest
    assert not shared.is_archived("o", "k1") and shared.lookup_digest("sha1:ABC") is None
    worker.close()  # the report extension closes the state after the files are published
    assert shared.is_archived("o", "k1")
    assert shared.lookup_digest("sha1:ABC", "o").record_id == "<urn:uuid:1>"
    assert shared.get_validators("http://x/rss").etag == '"e"'
    abandoned = DeferredState(open_state(url))
    abandoned.record_article("o", "k2", "http://x/2", "b" * 64, 1, when)
    abandoned.discard()
    abandoned.close()
    assert not shared.is_archived("o", "k2")
    shared.close()


def test_runs_merges_worker_reports(tmp_path):
    from archive.runs.merge import find_run, list_runs
    from archive.store import open_store

    base = {"outlet": "o", "kind": "crawl", "store": str(tmp_path), "exit_status": 0,
            "finish_reason": "finished", "duplicates": 0, "pending_uploads": 0}
    reports = {
        "runs/o/R1-w1.json": {**base, "run_id": "R1", "worker_id": "w1",
                              "started": "2026-03-01T00:00:00+00:00",
                              "finished": "2026-03-01T00:01:00+00:00",
                              "pages": {"fetched": 3, "by_kind": {"article": 2, "front": 1}},
                              "articles": 2, "bytes": 10,
                              "failures": {"total": 1, "by_kind": {"http_404": 1}},
                              "files": [{"key": "warc/a", "size": 1, "sha256": "0" * 64}]},
        "runs/o/R1-w2.json": {**base, "run_id": "R1", "worker_id": "w2",
                              "started": "2026-03-01T00:00:30+00:00",
                              "finished": "2026-03-01T00:02:00+00:00",
                              "pages": {"fetched": 2, "by_kind": {"article": 2}},
                              "articles": 1, "bytes": 5, "duplicates": 1,
                              "failures": {"total": 0, "by_kind": {}},
                              "files": [{"key": "warc/b", "size": 1, "sha256": "1" * 64}]},
        "runs/o/R0.json": {**base, "run_id": "R0", "started": "2026-02-01T00:00:00+00:00",
                           "finished": "2026-02-01T00:00:10+00:00",
                           "pages": {"fetched": 1, "by_kind": {"front": 1}}, "articles": 0,
                           "bytes": 1, "failures": {"total": 0, "by_kind": {}}, "files": []},
    }
    for key, report in reports.items():
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_text(json.dumps(report))
    store = open_store(str(tmp_path))
    assert [r.run_id for r in list_runs(store)] == ["R0", "R1"]
    merged = find_run(store, "latest").merged()
    assert merged["run_id"] == "R1" and len(merged["workers"]) == 2
    assert merged["pages"] == {"fetched": 5, "by_kind": {"article": 4, "front": 1}}
    assert (merged["articles"], merged["bytes"], merged["duplicates"]) == (3, 15, 1)
    assert merged["failures"] == {"total": 1, "by_kind": {"http_404": 1}}
    assert merged["duration_seconds"] == 120.0
    assert [f["key"] for f in merged["files"]] == ["warc/a", "warc/b"]
    listing = run_cli("runs", "--store", str(tmp_path))
    assert listing.returncode == 0, listing.stderr
    assert [line.split()[1] for line in listing.stdout.splitlines()[1:]] == ["R0", "R1"]
    shown = run_cli("runs", "--store", str(tmp_path), "--run", "R1")
    assert "workers 2" in shown.stdout and "articles 3" in shown.stdout
    assert run_cli("runs", "--store", str(tmp_path), "--run", "R9").returncode == 1


def test_crawl_refuses_an_unreachable_redis(tmp_path):
    from tests.redis_server import free_port

    result = run_cli("crawl", str(tmp_path / "missing.yaml"), "--store", str(tmp_path / "s"),
                     "--redis", f"redis://127.0.0.1:{free_port()}/0")
    assert result.returncode in (2, 3)  # the outlet file is checked first
    outlet = REPO_ROOT / "tests" / "sites" / "rudaw" / "outlet.yaml"
    result = run_cli("crawl", str(outlet), "--store", str(tmp_path / "s"),
                     "--redis", f"redis://127.0.0.1:{free_port()}/0")
    assert result.returncode == 3 and "cannot reach Redis" in result.stderr
    assert not (tmp_path / "s").exists()


def test_redis_urls_are_parsed_as_the_state_parses_them():
    from archive.state.redis import split_redis_url as state_split
    from crawler.distributed.frontier import DistributedError, split_redis_url

    url = "redis://127.0.0.1:6379/2?prefix=news.1&ssl_cert_reqs=none"
    assert split_redis_url(url) == state_split(url) == (
        "redis://127.0.0.1:6379/2?ssl_cert_reqs=none", "news.1")
    assert split_redis_url("redis://h/0")[1] == "newsarchive"
    for bad in ("redis://h/0?prefix=a:b", "http://h/0"):
        with pytest.raises(DistributedError, match="--redis"):
            split_redis_url(bad)


# A real Scrapy engine whose scheduler always has requests pending but none ready (as the
# shared queue when every host waits for its politeness slot).  The engine asks such a
# scheduler again only every 5 s on its own; wake_engine must make it ask at once.  This
# pins the one private Scrapy member the distributed crawl uses (engine._slot.nextcall):
# if a Scrapy upgrade changes it, this fails.
WAKE_RUNNER = r"""
import json, sys
from scrapy import Spider, signals
from scrapy.core.scheduler import BaseScheduler
from scrapy.crawler import CrawlerProcess
from scrapy.utils.asyncio import call_later
from crawler.distributed.wakeup import wake_engine

calls = []

class NothingReady(BaseScheduler):
    def has_pending_requests(self): return True
    def enqueue_request(self, request): return True
    def next_request(self):
        calls.append(1)
        return None

class Idle(Spider):
    name = "idle"
    async def start(self):
        return
        yield

process = CrawlerProcess({"SCHEDULER": NothingReady, "TELNETCONSOLE_ENABLED": False,
                          "LOG_LEVEL": "ERROR"})
crawler = process.create_crawler(Idle)
marks = {}

def opened(spider):
    call_later(1.0, lambda: marks.setdefault("quiet_from", len(calls)))
    call_later(2.0, lambda: marks.setdefault("quiet_to", len(calls)))
    for i in range(5):
        call_later(2.0 + 0.2 * i, lambda: wake_engine(crawler.engine))
    call_later(3.4, lambda: marks.setdefault("woken_to", len(calls)))
    call_later(3.6, lambda: process.stop())

crawler.signals.connect(opened, signal=signals.spider_opened)
process.crawl(crawler)
process.start()
print(json.dumps(marks))
"""


def test_wake_engine_makes_the_engine_ask_the_scheduler_again():
    proc = subprocess.run([sys.executable, "-c", WAKE_RUNNER], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    marks = json.loads(proc.stdout.strip().splitlines()[-1])
    quiet = marks["quiet_to"] - marks["quiet_from"]  # 1 s left alone: the 5 s heartbeat at most
    woken = marks["woken_to"] - marks["quiet_to"]  # 5 wakes: one request asked for each
    assert quiet <= 1
    assert woken >= 5


# ---- end to end: worker processes, sample outlet, Redis, SeaweedFS -------------------------


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    from tests.s3server import SeaweedFS

    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    yield server
    server.cleanup()


def worker_env(s3, work: Path, **extra: str) -> dict[str, str]:
    """Only the test's S3 and spool settings reach the workers (none of the developer's)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "NEWSARCHIVE_")) and k != "REDIS_URL"}
    env.update(s3.client_env())
    env.update({"AWS_CONFIG_FILE": str(work / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(work / "no-aws-credentials"),
                "NEWSARCHIVE_SPOOL": str(work / "spool"), "PYTHONUNBUFFERED": "1", **extra})
    return env


def start_worker(outlet_file: Path, store: str, redis_url: str, worker: str, work: Path,
                 env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "crawler.cli", "crawl", str(outlet_file), "--store", store,
               "--redis", redis_url, "--worker-id", worker, "--workers", "1",
               "--report", str(work / f"{worker}.json"), "--log-file", str(work / f"{worker}.log"),
               "-v"]
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 180) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    return proc.returncode, out, err


def download(s3, prefix: str, dest: Path) -> Path:
    """Every object under the store prefix, as files under ``dest`` (keys as paths)."""
    client = s3.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket,
                                                                 Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            target = dest / obj["Key"][len(prefix) + 1:]
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(s3.bucket, obj["Key"], str(target))
    return dest


def corpus_records(store: Path) -> list[dict]:
    records = []
    for path in sorted(store.glob("corpus/**/*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            records.extend(json.loads(line) for line in handle if line.strip())
    return records


def responses(store: Path) -> dict[str, list[str]]:
    """WARC-Target-URI -> the WARC files holding a response record for it."""
    found: dict[str, list[str]] = collections.defaultdict(list)
    for warc in sorted(store.glob("warc/**/*.warc.gz")):
        with open(warc, "rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type == "response":
                    found[record.rec_headers["WARC-Target-URI"]].append(warc.name)
    return found


def crawl_keys(redis_url: str, prefix: str) -> list[bytes]:
    client = redis.Redis.from_url(redis_url)
    return list(client.scan_iter(match=f"{{{prefix}}}:crawl:*"))


def outlet_with(site, work: Path, delay: float, concurrency: int) -> Path:
    outlet = site.write_outlet(work / "outlet.yaml")
    text = outlet.read_text(encoding="utf-8")
    text = text.replace("download_delay: 0 ", f"download_delay: {delay} ")
    text = text.replace("concurrency: 4", f"concurrency: {concurrency}")
    outlet.write_text(text, encoding="utf-8")
    return outlet


@pytest.fixture(scope="module")
def two_workers(s3, redis_url, tmp_path_factory):
    """Worker a starts the crawl, worker b joins it a moment later; both run to the end."""
    from tests.sites.server import SampleSite

    work = tmp_path_factory.mktemp("two-workers")
    prefix = unique_prefix("dist-e2e")
    shared = f"{redis_url}?prefix={prefix}"
    store = f"s3://{s3.bucket}/{prefix}"
    env = worker_env(s3, work)
    with SampleSite(port=0, arabic_port=0) as site:
        outlet = outlet_with(site, work, DELAY, 2)
        first = start_worker(outlet, store, shared, "a", work, env)
        deadline = time.monotonic() + 60
        while not site.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        second = start_worker(outlet, store, shared, "b", work, env)
        results = {"a": finish(first), "b": finish(second)}
        requests = site.requests
    reports = {name: json.loads((work / f"{name}.json").read_text())
               for name in results if (work / f"{name}.json").exists()}
    local = download(s3, prefix, work / "store")
    yield {"results": results, "reports": reports, "requests": requests, "store": local,
           "uri": store, "env": env, "redis": shared, "prefix": prefix,
           "leftover": crawl_keys(redis_url, prefix)}
    delete_prefix(redis_url, prefix)


@pytest.mark.slow
def test_two_workers_crawl_one_run_together(two_workers):
    for name, (code, out, err) in two_workers["results"].items():
        assert code == 0, (name, err[-3000:])
        assert out.startswith("newsarchive: outlet=rudaw-sample ") and "status=ok" in out
    a, b = two_workers["reports"]["a"], two_workers["reports"]["b"]
    assert a["run_id"] == b["run_id"]
    assert (a["worker_id"], b["worker_id"]) == ("a", "b")
    assert b["distributed"].get("joined_seeded") == 1  # b joined the running crawl
    assert a["pages"]["by_kind"].get("article", 0) > 0
    assert b["pages"]["by_kind"].get("article", 0) > 0  # both did real work
    assert two_workers["leftover"] == []  # the last worker out ended the run in Redis


@pytest.mark.slow
def test_every_article_captured_and_extracted_exactly_once(two_workers):
    records = corpus_records(two_workers["store"])
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), collections.Counter(ids).most_common(3)
    assert set(ids) == EXPECTED_IDS
    article_fetches = collections.Counter(
        e.path for e in two_workers["requests"]
        if e.status == 200 and e.path.rstrip("/").split("/")[-1][:1].isdigit())
    assert article_fetches and max(article_fetches.values()) == 1, article_fetches
    per_path = collections.Counter((e.origin, e.path) for e in two_workers["requests"])
    assert {p for (_, p), n in per_path.items() if n > 1} <= {"/robots.txt"}
    found = responses(two_workers["store"])
    for record in records:
        assert len(found[record["url"]]) == 1, record["url"]
        assert record["warc"]["key"].endswith(found[record["url"]][0])


@pytest.mark.slow
def test_union_of_warcs_is_valid_and_named_per_worker(two_workers):
    warcs = sorted(two_workers["store"].glob("warc/**/*.warc.gz"))
    hosts = {w.name.rsplit("-", 1)[-1].removesuffix(".warc.gz") for w in warcs}
    assert hosts == {"a", "b"}
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", *map(str, warcs)],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    verify = run_cli("verify", "--store", two_workers["uri"], env=two_workers["env"])
    assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]


@pytest.mark.slow
def test_no_host_hit_faster_than_its_delay_by_both_workers(two_workers):
    times = sorted(e.monotonic for e in two_workers["requests"])  # one host: 127.0.0.1
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert min(gaps) >= DELAY - TOLERANCE, sorted(gaps)[:5]
    assert (times[-1] - times[0]) / len(gaps) >= DELAY  # on average at least the delay


@pytest.mark.slow
def test_runs_shows_the_merged_report_and_state_is_shared(two_workers):
    from archive.state import open_state

    run_id = two_workers["reports"]["a"]["run_id"]
    shown = run_cli("runs", "--store", two_workers["uri"], "--run", run_id, "--json",
                    env=two_workers["env"])
    assert shown.returncode == 0, shown.stderr
    merged = json.loads(shown.stdout)
    a, b = two_workers["reports"]["a"], two_workers["reports"]["b"]
    assert [w["worker_id"] for w in merged["workers"]] == ["a", "b"]
    assert merged["articles"] == len(EXPECTED_IDS) == a["articles"] + b["articles"]
    assert merged["pages"]["fetched"] == a["pages"]["fetched"] + b["pages"]["fetched"]
    assert len(merged["files"]) == len(a["files"]) + len(b["files"])
    state = open_state(two_workers["redis"])
    try:
        assert state.count_articles("rudaw-sample") >= len(EXPECTED_IDS)
    finally:
        state.close()


@pytest.mark.slow
def test_killed_worker_loses_no_url(s3, redis_url, tmp_path):
    from tests.sites.server import SampleSite

    prefix = unique_prefix("dist-kill")
    shared = f"{redis_url}?prefix={prefix}"
    store = f"s3://{s3.bucket}/{prefix}"
    env = worker_env(s3, tmp_path, NEWSARCHIVE_WORKER_TTL="3")
    client = redis.Redis.from_url(redis_url)
    journal = f"{{{prefix}}}:crawl:rudaw-sample:w:doomed:taken"
    try:
        with SampleSite(port=0, arabic_port=0) as site:
            outlet = outlet_with(site, tmp_path, 0.1, 1)  # 1: robots.txt must not deadlock
            doomed = start_worker(outlet, store, shared, "doomed", tmp_path, env)
            survivor = start_worker(outlet, store, shared, "survivor", tmp_path, env)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if client.hlen(journal) >= 3 and len(site.requests) >= 12:
                    break
                time.sleep(0.02)
            held = client.hlen(journal)
            assert held >= 3, "the doomed worker never got going"
            os.killpg(doomed.pid, signal.SIGKILL)  # no goodbye: its heartbeat just stops
            doomed.wait(timeout=30)
            code, out, err = finish(survivor)
        assert code == 0, err[-3000:]
        report = json.loads((tmp_path / "survivor.json").read_text())
        assert report["distributed"]["requeued"] >= 1
        local = download(s3, prefix, tmp_path / "store")
        assert not [p for p in local.rglob("*") if "doomed" in p.name]  # nothing published
        records = corpus_records(local)
        ids = [r["id"] for r in records]
        assert sorted(ids) == sorted(EXPECTED_IDS)  # every article, once
        found = responses(local)
        assert all(found[r["url"]] for r in records)
        assert crawl_keys(redis_url, prefix) == []
    finally:
        if doomed.poll() is None:
            os.killpg(doomed.pid, signal.SIGKILL)
        client.close()
        delete_prefix(redis_url, prefix)
