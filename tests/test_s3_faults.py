"""Nothing is lost when S3 fails: store-level fault tests against a real SeaweedFS.

The server is killed in the middle of uploads, stalled, made to answer 503 SlowDown / 500
or to drop connections (through a real HTTP proxy); afterwards `sync` or the next run must
deliver every object exactly once, verified.  Also: corruption is found by `verify`, and
Object Lock retention is set on WARCs and refuses deletes.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive.store import open_store
from archive.store.base import sha256_file
from archive.store.s3.config import ObjectLockUnavailable, parse_s3_uri
from archive.store.s3.store import S3Store, check_reachable
from archive.store.sync import sync_pending
from archive.store.verify import verify_store
from crawler.cli import main as cli_main
from tests.s3server import FaultProxy, SeaweedFS
from tests.test_s3store import isolate_aws_env, manifest_for, write_random, write_warc

MiB = 1 << 20


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory) -> SeaweedFS:
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs-faults")).start()
    yield server
    server.cleanup()


@pytest.fixture
def env(shared_server, monkeypatch, tmp_path) -> SeaweedFS:
    isolate_aws_env(monkeypatch, tmp_path)
    for name, value in shared_server.client_env().items():
        monkeypatch.setenv(name, value)
    return shared_server


@pytest.fixture
def own_server(monkeypatch, tmp_path) -> SeaweedFS:
    """A server of the test's own, which it may kill and restart."""
    isolate_aws_env(monkeypatch, tmp_path)
    server = SeaweedFS(tmp_path / "seaweedfs").start()
    for name, value in server.client_env().items():
        monkeypatch.setenv(name, value)
    yield server
    server.cleanup()


def point_at(monkeypatch, endpoint: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)


def crawl_like_files(directory: Path, count: int, size: int) -> dict[str, Path]:
    """WARC-sized files plus the small files a crawl also writes."""
    files = {f"warc/demo/2026/01/NA-2026010100{n:04d}-{n:05d}-host.warc.gz":
             write_random(directory / f"w{n}.warc.gz", size + n) for n in range(count)}
    files["corpus/demo/2026/01/run1.jsonl.gz"] = write_random(directory / "c.jsonl.gz", 4096)
    files["indexes/demo/run1.cdxj"] = write_warc(directory / "i.cdxj")
    return files


def assert_each_object_once(server: SeaweedFS, uri: str, expected: dict[str, str]) -> None:
    """Exactly the expected keys, one version each, with the expected content sha256."""
    raw, location = server.client(), parse_s3_uri(uri)
    versions = raw.list_object_versions(Bucket=server.bucket, Prefix=location.prefix + "/")
    found = [location.store_key(v["Key"]) for v in versions.get("Versions", [])]
    assert sorted(found) == sorted(expected)  # nothing missing, nothing twice
    for key, sha in expected.items():
        body = raw.get_object(Bucket=server.bucket, Key=location.object_key(key))["Body"]
        assert hashlib.sha256(body.read()).hexdigest() == sha, key
        head = raw.head_object(Bucket=server.bucket, Key=location.object_key(key))
        assert head["Metadata"]["sha256"] == sha


# -- the server dies mid-upload ------------------------------------------------------------------

def test_server_killed_mid_upload_then_sync_delivers_everything_once(own_server, tmp_path,
                                                                     monkeypatch, caplog):
    uri = f"s3://{own_server.bucket}/crawl"
    store = open_store(uri)
    files = crawl_like_files(tmp_path / "out", count=6, size=24 * MiB)
    expected = {key: sha256_file(path) for key, path in files.items()}
    warcs = sorted(k for k in files if k.startswith("warc/"))
    for key in warcs[:4]:
        store.publish(files[key], key)
    deadline = time.monotonic() + 60
    while not store.uploaded and time.monotonic() < deadline:
        time.sleep(0.005)
    own_server.kill()  # mid-crawl: the other uploads are in flight
    published_while_down = time.monotonic()
    for key in warcs[4:] + [k for k in files if not k.startswith("warc/")]:
        store.publish(files[key], key)  # the crawl carries on into the spool
    assert time.monotonic() - published_while_down < 2.0
    started = time.monotonic()
    store.close(timeout=30)
    assert time.monotonic() - started < 30
    pending = {p.relative_to(store.spool_dir).as_posix() for p in store.pending()}
    assert pending | set(store.uploaded) == set(files)
    assert pending & set(warcs[:4])  # the kill interrupted uploads under way
    assert "cannot reach the S3 endpoint" in next(iter(store.failures.values()))
    assert not check_reachable(open_store(uri), timeout=2)

    own_server.start()  # same ports, same data
    result = sync_pending(open_store(uri))
    assert result.ok, result.failed
    assert set(result.uploaded) | set(result.already_present) == pending
    assert not list(store.spool_dir.rglob("*.pending.json"))
    assert_each_object_once(own_server, uri, expected)
    again = sync_pending(open_store(uri))  # idempotent
    assert again.ok and again.uploaded == [] and again.pending == 0


def test_crawl_starting_with_s3_down_spools_and_the_next_run_uploads(own_server, tmp_path):
    uri = f"s3://{own_server.bucket}/next-run"
    own_server.stop()
    first = open_store(uri)
    assert check_reachable(first, timeout=2) is False  # the crawl warns and carries on
    files = crawl_like_files(tmp_path / "run1", count=2, size=7 * MiB)
    expected = {key: sha256_file(path) for key, path in files.items()}
    objects = [first.publish(path, key) for key, path in files.items()]
    manifest_for(first, objects)
    first.close(timeout=20)
    assert len(first.pending()) == len(expected) + 1
    with pytest.raises(Exception, match="cannot reach"):
        sync_pending(open_store(uri))

    own_server.start()
    second = open_store(uri)  # the next crawl
    assert second.resume_pending() == len(expected) + 1
    extra = write_random(tmp_path / "run2.jsonl.gz", 300)
    expected["corpus/demo/2026/01/run2.jsonl.gz"] = sha256_file(extra)
    second.publish(extra, "corpus/demo/2026/01/run2.jsonl.gz")
    second.close()
    assert second.pending() == [] and second.failures == {}
    expected["runs/demo/run1.json"] = second.uploaded["runs/demo/run1.json"].sha256
    assert_each_object_once(own_server, uri, expected)
    assert verify_store(second, deep=True).ok


# -- 5xx, SlowDown, dropped connections, a slow endpoint (through a real proxy) ---------------

def test_slowdown_and_server_errors_are_retried_with_backoff(env, monkeypatch, tmp_path):
    with FaultProxy(env.ports["s3"]) as proxy:
        point_at(monkeypatch, proxy.endpoint_url)
        uri = f"s3://{env.bucket}/retry-{uuid.uuid4().hex[:8]}"
        store = open_store(uri)
        files = crawl_like_files(tmp_path / "o", count=1, size=11 * MiB)
        expected = {key: sha256_file(path) for key, path in files.items()}
        proxy.fail(3, 503, "SlowDown")
        proxy.fail(2, 500, "InternalError")
        proxy.fail(8, 503, "ServiceUnavailable")  # more than one request's retry budget
        for key, path in files.items():
            store.publish(path, key)
        store.close()
        statuses = [status for _, _, status in proxy.log]
    assert statuses.count(503) == 11 and statuses.count(500) == 2
    assert store.pending() == [] and store.failures == {}
    assert_each_object_once(env, uri, expected)


def test_connections_dropped_mid_request_are_retried(env, monkeypatch, tmp_path):
    with FaultProxy(env.ports["s3"]) as proxy:
        point_at(monkeypatch, proxy.endpoint_url)
        uri = f"s3://{env.bucket}/drop-{uuid.uuid4().hex[:8]}"
        store = open_store(uri)
        files = crawl_like_files(tmp_path / "o", count=1, size=16 * MiB)
        expected = {key: sha256_file(path) for key, path in files.items()}
        for key, path in files.items():
            store.publish(path, key)
            proxy.drop(2)
        store.close()
        dropped = sum(1 for *_, status in proxy.log if status == 0)
    assert dropped >= 4
    assert store.pending() == [] and store.failures == {}
    assert_each_object_once(env, uri, expected)


def test_a_stalled_endpoint_never_blocks_publish_and_close_keeps_its_deadline(
        env, monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSARCHIVE_S3_READ_TIMEOUT", "1")
    with FaultProxy(env.ports["s3"]) as proxy:
        point_at(monkeypatch, proxy.endpoint_url)
        uri = f"s3://{env.bucket}/slow-{uuid.uuid4().hex[:8]}"
        proxy.stall(6)
        store = open_store(uri)
        path = write_warc(tmp_path / "a.warc.gz")
        sha = sha256_file(path)
        started = time.monotonic()
        store.publish(path, "warc/demo/a.warc.gz")
        assert time.monotonic() - started < 0.5
        store.close(timeout=2)
        assert time.monotonic() - started < 6
        assert [p.name for p in store.pending()] == ["a.warc.gz"]
        proxy.stall(0)
        result = sync_pending(open_store(uri))
    # A request that was already under way when close() gave up may still finish the job;
    # either way the object arrives once and the spool ends empty.
    assert result.ok and result.pending == 0
    assert set(result.uploaded + result.already_present) <= {"warc/demo/a.warc.gz"}
    assert store.pending() == []
    assert_each_object_once(env, uri, {"warc/demo/a.warc.gz": sha})


# -- crash windows and concurrent uploaders --------------------------------------------------

def test_crash_between_upload_and_spool_removal_is_not_uploaded_twice(env, tmp_path):
    uri = f"s3://{env.bucket}/crash-{uuid.uuid4().hex[:8]}"
    store = open_store(uri)
    key = "warc/demo/2026/01/a.warc.gz"
    path = write_warc(tmp_path / "a.warc.gz")
    data, sha = path.read_bytes(), sha256_file(path)
    store.publish(path, key)
    store.close()
    raw, location = env.client(), parse_s3_uri(uri)
    first = raw.head_object(Bucket=env.bucket, Key=location.object_key(key))["LastModified"]
    # Put the spool back as a crash right after the upload would have left it.
    spooled = store.spool_dir / key
    spooled.write_bytes(data)
    sidecar = spooled.with_name(spooled.name + ".pending.json")
    sidecar.write_text(json.dumps({"key": key, "size": len(data), "sha256": sha}))
    orphan = store.spool_dir / "corpus/demo/gone.jsonl.gz.pending.json"
    orphan.parent.mkdir(parents=True)
    gone = write_random(tmp_path / "gone", 70)
    store.publish(gone, "corpus/demo/gone.jsonl.gz")
    store.close()
    orphan.write_text(json.dumps({"key": "corpus/demo/gone.jsonl.gz", "size": 70,
                                  "sha256": store.uploaded["corpus/demo/gone.jsonl.gz"].sha256}))
    time.sleep(1.1)  # so a rewrite would show in LastModified
    result = sync_pending(open_store(uri))
    assert sorted(result.already_present) == ["corpus/demo/gone.jsonl.gz", key]
    assert result.uploaded == [] and result.ok
    assert [p for p in store.spool_dir.rglob("*") if p.is_file()] == []
    assert raw.head_object(Bucket=env.bucket,
                           Key=location.object_key(key))["LastModified"] == first


def test_sync_racing_a_running_upload_lands_each_object_once(env, tmp_path):
    uri = f"s3://{env.bucket}/race-{uuid.uuid4().hex[:8]}"
    files = crawl_like_files(tmp_path / "o", count=3, size=6 * MiB)
    expected = {key: sha256_file(path) for key, path in files.items()}
    crawl = S3Store.from_uri(uri, close_timeout=60)
    for key, path in files.items():  # spooled, not uploaded yet
        crawl.spool(path, key)
    results = {}

    def run_sync(name: str) -> None:
        results[name] = sync_pending(open_store(uri))

    threads = [threading.Thread(target=run_sync, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    crawl.resume_pending()
    crawl.close()
    for thread in threads:
        thread.join(timeout=120)
    assert all(r.failed == {} for r in results.values()), results
    assert not list(crawl.spool_dir.rglob("*.pending.json"))
    assert_each_object_once(env, uri, expected)


# -- corruption and Object Lock --------------------------------------------------------------

def test_a_corrupted_object_is_reported_by_verify(env, tmp_path, capsys):
    uri = f"s3://{env.bucket}/rot-{uuid.uuid4().hex[:8]}"
    store = open_store(uri)
    files = crawl_like_files(tmp_path / "o", count=2, size=6 * MiB)
    objects = [store.publish(path, key) for key, path in files.items()]
    manifest_for(store, objects)
    store.close()
    assert cli_main(["verify", "--store", uri, "--deep"]) == 0
    capsys.readouterr()

    raw, location = env.client(), parse_s3_uri(uri)
    victim = min((o for o in objects if o.key.startswith("warc/")), key=lambda o: o.key)
    body = bytearray(raw.get_object(Bucket=env.bucket,
                                    Key=location.object_key(victim.key))["Body"].read())
    body[len(body) // 2] ^= 0x01  # one flipped bit, same size, same metadata
    raw.delete_object(Bucket=env.bucket, Key=location.object_key(victim.key))
    raw.put_object(Bucket=env.bucket, Key=location.object_key(victim.key), Body=bytes(body),
                   Metadata={"sha256": victim.sha256})
    assert verify_store(store).ok  # the quick check trusts the metadata...
    deep = verify_store(store, deep=True)  # ...the deep one reads the bytes
    assert [(p.key, p.kind) for p in deep.problems] == [(victim.key, "corrupt")]
    assert cli_main(["verify", "--store", uri, "--deep"]) == 1
    out = capsys.readouterr().out
    assert "CORRUPT" in out and victim.key in out and "1 problems" in out


@pytest.mark.slow
def test_bit_rot_on_the_servers_disk_is_reported_by_deep_verify(env, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # SeaweedFS takes ~13 s per failed read
    uri = f"s3://{env.bucket}/disk-{uuid.uuid4().hex[:8]}"
    store = open_store(uri)
    marker = f"NEWSARCHIVE-ROT-{uuid.uuid4().hex}".encode()
    path = tmp_path / "rot.warc.gz"
    path.write_bytes(marker + bytes(range(256)) * 1000)
    objects = [store.publish(path, "warc/demo/2026/01/rot.warc.gz")]
    objects.append(store.publish(write_warc(tmp_path / "ok.warc.gz"), "warc/demo/ok.warc.gz"))
    manifest_for(store, objects)
    store.close()
    assert verify_store(store, deep=True).ok
    hits = 0
    for volume in env.data_dir.rglob("*.dat"):  # flip one bit inside the stored needle
        with open(volume, "r+b") as handle:
            data = handle.read()
            at = data.find(marker)
            if at >= 0:
                handle.seek(at + 5000)
                byte = handle.read(1)[0]
                handle.seek(at + 5000)
                handle.write(bytes([byte ^ 0x10]))
                hits += 1
    assert hits == 1
    assert verify_store(store).ok  # HEAD still answers from the metadata
    deep = verify_store(open_store(uri), deep=True)
    assert [(p.key, p.kind) for p in deep.problems] in (
        [("warc/demo/2026/01/rot.warc.gz", "unreadable")],
        [("warc/demo/2026/01/rot.warc.gz", "corrupt")])
    assert deep.verified == 1 and not deep.ok


def test_object_lock_retains_warcs_and_refuses_deletes(env, tmp_path, monkeypatch):
    bucket = f"locked-{uuid.uuid4().hex[:8]}"
    uri = f"s3://{bucket}/arch"
    store = S3Store.from_uri(uri, create_bucket=True, object_lock_days=2,
                             object_lock_mode="governance")
    assert check_reachable(store) is True  # creates the bucket with Object Lock
    warc = write_warc(tmp_path / "a.warc.gz")
    corpus = write_random(tmp_path / "c.jsonl.gz", 100)
    big = write_random(tmp_path / "big.warc.gz", 6 * MiB)  # multipart
    store.publish(warc, "warc/demo/2026/01/a.warc.gz")
    store.publish(corpus, "corpus/demo/2026/01/r.jsonl.gz")
    store.publish(big, "warc/demo/2026/01/big.warc.gz")
    store.close()
    assert store.pending() == [] and store.failures == {}
    assert store.uploaded["warc/demo/2026/01/big.warc.gz"].etag.endswith("-2")

    raw = env.client()
    big_head = raw.head_object(Bucket=bucket, Key="arch/warc/demo/2026/01/big.warc.gz")
    assert big_head["ObjectLockMode"] == "GOVERNANCE"
    retention = raw.get_object_retention(Bucket=bucket, Key="arch/warc/demo/2026/01/a.warc.gz")
    assert retention["Retention"]["Mode"] == "GOVERNANCE"
    until = retention["Retention"]["RetainUntilDate"].astimezone(UTC)
    assert abs(until - (datetime.now(UTC) + timedelta(days=2))) < timedelta(hours=1)
    with pytest.raises(Exception, match="ObjectLockConfiguration|NoSuchObjectLock|not found"):
        raw.get_object_retention(Bucket=bucket, Key="arch/corpus/demo/2026/01/r.jsonl.gz")
    version = raw.head_object(Bucket=bucket, Key="arch/warc/demo/2026/01/a.warc.gz")["VersionId"]
    with pytest.raises(Exception, match="AccessDenied"):
        raw.delete_object(Bucket=bucket, Key="arch/warc/demo/2026/01/a.warc.gz",
                          VersionId=version)
    body = raw.get_object(Bucket=bucket, Key="arch/warc/demo/2026/01/a.warc.gz",
                          VersionId=version)["Body"].read()
    assert body == store.open_read("warc/demo/2026/01/a.warc.gz").read()
    raw.delete_object(Bucket=bucket, Key="arch/corpus/demo/2026/01/r.jsonl.gz")  # not locked


def test_compliance_mode_via_the_sync_command(env, tmp_path, monkeypatch, capsys):
    bucket = f"comply-{uuid.uuid4().hex[:8]}"
    uri = f"s3://{bucket}/a"
    S3Store.from_uri(uri).spool(write_warc(tmp_path / "1.warc.gz"), "warc/x/1.warc.gz")
    assert cli_main(["sync", "--store", uri, "--create-bucket", "--object-lock-days", "1",
                     "--object-lock-mode", "compliance"]) == 0
    assert "1 uploaded" in capsys.readouterr().out
    raw = env.client()
    head = raw.head_object(Bucket=bucket, Key="a/warc/x/1.warc.gz")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    with pytest.raises(Exception, match="AccessDenied"):
        raw.delete_object(Bucket=bucket, Key="a/warc/x/1.warc.gz", VersionId=head["VersionId"],
                          BypassGovernanceRetention=True)


def test_object_lock_on_a_bucket_without_it_is_a_clear_error(env, capsys):
    uri = f"s3://{env.bucket}/nolock"
    with pytest.raises(ObjectLockUnavailable, match="only be enabled when a bucket is created"):
        check_reachable(S3Store.from_uri(uri, object_lock_days=1))
    assert cli_main(["sync", "--store", uri, "--object-lock-days", "1"]) == 1
    assert "Object Lock" in capsys.readouterr().err
