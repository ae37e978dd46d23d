"""S3Store against a real S3 server (SeaweedFS): layout, verified uploads, errors, verify/sync.

Store-level fault tests (server stopped mid-upload, 5xx, slow endpoint, corruption, Object
Lock) are in test_s3_faults.py.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
import uuid
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.store import open_store
from archive.store.base import LocalStore, StoreError, sha256_file
from archive.store.s3.config import (
    AccessDenied,
    BucketMissing,
    CredentialsError,
    S3Options,
    StoreUnreachable,
    parse_s3_uri,
)
from archive.store.s3.store import check_reachable, default_spool_root
from archive.store.sync import sync_pending
from archive.store.verify import verify_store
from crawler.cli import main as cli_main
from tests.s3server import SeaweedFS

MiB = 1 << 20


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory) -> SeaweedFS:
    """One SeaweedFS for this module, with a read-only second identity."""
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"),
                       identities={"reader": ["Read", "List"]})
    server.start()
    yield server
    server.cleanup()


def isolate_aws_env(monkeypatch, tmp_path: Path) -> None:
    """No AWS/newsarchive settings from the developer's machine leak into a test."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "NEWSARCHIVE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("NEWSARCHIVE_SPOOL", str(tmp_path / "spool"))
    # Small parts so multipart uploads are exercised with files of a few MB.
    monkeypatch.setenv("NEWSARCHIVE_S3_MULTIPART_THRESHOLD_MB", "5")
    monkeypatch.setenv("NEWSARCHIVE_S3_PART_SIZE_MB", "5")
    monkeypatch.setenv("NEWSARCHIVE_S3_CLOSE_TIMEOUT", "60")


@pytest.fixture
def s3_env(s3_server, monkeypatch, tmp_path) -> SeaweedFS:
    isolate_aws_env(monkeypatch, tmp_path)
    for name, value in s3_server.client_env().items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture
def uri(s3_env) -> str:
    """A fresh prefix in the test bucket for each test."""
    return f"s3://{s3_env.bucket}/t-{uuid.uuid4().hex[:10]}"


def write_warc(path: Path, pages: int = 3, seed: str = "x") -> Path:
    """A small real WARC (per-record gzip) with invented pages."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for number in range(pages):
            body = (f"<html><body><p>Invented story {seed}-{number} about a river town."
                    "</p></body></html>").encode()
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                       protocol="HTTP/1.1")
            record = writer.create_warc_record(f"http://127.0.0.1:9/news/{seed}/{number}",
                                               "response", payload=io.BytesIO(body),
                                               http_headers=headers)
            writer.write_record(record)
    return path


def write_random(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def sample_files(directory: Path) -> dict[str, Path]:
    """Files as a crawl produces them, keyed by their store key (one needs multipart)."""
    return {
        "warc/demo/2026/01/NA-20260101000000-00000-host.warc.gz":
            write_warc(directory / "a.warc.gz", seed="a"),
        "warc/demo/2026/01/NA-20260101000100-00001-host.warc.gz":
            write_random(directory / "b.warc.gz", 12 * MiB + 123),
        "corpus/demo/2026/01/run1.jsonl.gz": write_random(directory / "c.jsonl.gz", 2048),
        "indexes/demo/run1.cdxj": write_random(directory / "d.cdxj", 10),
    }


def manifest_for(store, objects, run_id: str = "run1") -> str:
    """Publish a run report listing ``objects`` (like the crawl does) and return its key."""
    key = f"runs/demo/{run_id}.json"
    path = store.spool_dir / "staging" / f"{run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run_id": run_id, "outlet": "demo",
                                "files": [o.to_dict() for o in objects]}))
    store.publish(path, key)
    return key


# -- URIs, settings, client -------------------------------------------------------------------

@pytest.mark.parametrize("bad, words", [
    ("s3://", "names no bucket"),
    ("s3:///prefix", "names no bucket"),
    ("s3://Upper_Case/x", "not a valid bucket name"),
    ("s3://ab/x", "not a valid bucket name"),
    ("s3://key:secret@bucket/x", "AWS_ENDPOINT_URL"),
    ("s3://bucket/a/../b", "'..'"),
    ("gs://bucket/x", "unsupported store URI"),
])
def test_bad_store_uri_is_a_clear_error(bad, words):
    with pytest.raises(StoreError, match=words.replace("(", r"\(").replace(".", r"\.")):
        open_store(bad)


def test_uri_prefix_is_normalised():
    location = parse_s3_uri("s3://my-bucket/news/archive/")
    assert (location.bucket, location.prefix) == ("my-bucket", "news/archive")
    assert location.object_key("warc/x.warc.gz") == "news/archive/warc/x.warc.gz"
    assert parse_s3_uri("s3://my-bucket").object_key("runs/a.json") == "runs/a.json"


def test_non_aws_endpoint_gets_compatible_checksum_defaults(uri):
    store = open_store(uri)
    config = store.s3.client.meta.config
    assert not store.s3.is_aws
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"


def test_full_checksums_setting_turns_them_on_and_uploads_stay_byte_exact(
        uri, monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSARCHIVE_S3_FULL_CHECKSUMS", "1")
    store = open_store(uri)
    assert store.s3.client.meta.config.request_checksum_calculation == "when_supported"
    small = write_random(tmp_path / "small.bin", 1000)
    big = write_random(tmp_path / "big.bin", 11 * MiB)
    expected = {"corpus/a.jsonl.gz": small.read_bytes(), "warc/b.warc.gz": big.read_bytes()}
    for key, path in (("corpus/a.jsonl.gz", small), ("warc/b.warc.gz", big)):
        store.publish(path, key)
    store.close()
    assert not store.pending()
    assert {r.verified_by for r in store.uploaded.values()} == {"checksum"}
    assert store.uploaded["warc/b.warc.gz"].etag.endswith("-3")  # multipart, CRC32 COMPOSITE
    for key, data in expected.items():  # no checksum trailer bytes inside the objects
        with store.open_read(key) as handle:
            assert handle.read() == data
    assert store.head("warc/b.warc.gz").size == len(expected["warc/b.warc.gz"])


def test_reread_verification_mode(uri, monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSARCHIVE_S3_VERIFY", "reread")
    store = open_store(uri)
    store.publish(write_random(tmp_path / "big", 6 * MiB), "warc/r.warc.gz")
    store.close()
    assert store.uploaded["warc/r.warc.gz"].verified_by == "reread"


def test_default_spool_location(monkeypatch, tmp_path):
    monkeypatch.delenv("NEWSARCHIVE_SPOOL", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_spool_root() == tmp_path / "state" / "newsarchive" / "spool"
    monkeypatch.setenv("NEWSARCHIVE_SPOOL", str(tmp_path / "sp"))
    assert default_spool_root() == tmp_path / "sp"


def test_spool_dir_mirrors_bucket_and_prefix(uri, tmp_path):
    store = open_store(uri)
    location = parse_s3_uri(uri)
    assert store.spool_dir == (tmp_path / "spool" / location.bucket / location.prefix).resolve()


# -- publish, upload, verify, delete ------------------------------------------------------------

def test_publish_uploads_verifies_and_empties_the_spool(uri, s3_env, tmp_path):
    store = open_store(uri)
    files = sample_files(tmp_path / "out")
    sums = {key: sha256_file(path) for key, path in files.items()}
    data = {key: path.read_bytes() for key, path in files.items()}
    started = time.monotonic()
    published = [store.publish(path, key) for key, path in files.items()]
    assert time.monotonic() - started < 2.0  # publish hands off; it does not upload
    assert all(obj.pending for obj in published)
    assert {obj.key: obj.sha256 for obj in published} == sums
    store.close()

    assert store.pending() == [] and store.failures == {}
    assert not any(p.is_file() for p in store.spool_dir.rglob("*"))
    assert set(store.uploaded) == set(files)
    big = "warc/demo/2026/01/NA-20260101000100-00001-host.warc.gz"
    assert store.uploaded[big].etag.endswith("-3")       # multipart: 5 MB parts
    assert {r.verified_by for r in store.uploaded.values()} == {"etag"}
    raw = s3_env.client()
    prefix = parse_s3_uri(uri).prefix
    for key in files:
        head = raw.head_object(Bucket=s3_env.bucket, Key=f"{prefix}/{key}")
        assert head["Metadata"]["sha256"] == sums[key]
        assert head["ContentLength"] == len(data[key])
        with store.open_read(key) as handle:
            assert handle.read() == data[key]
    assert raw.head_object(Bucket=s3_env.bucket, Key=f"{prefix}/{big}")["ContentType"] \
        == "application/warc"
    assert list(store.list_keys()) == sorted(files)
    assert list(store.list_keys("warc")) == sorted(k for k in files if k.startswith("warc/"))
    assert list(store.list_keys("warc/dem")) == []  # directory semantics, like LocalStore
    assert store.exists(big) and not store.exists("warc/nope.warc.gz")


def test_same_layout_and_bytes_as_a_local_store(uri, tmp_path):
    s3 = open_store(uri)
    local = LocalStore(tmp_path / "local")
    originals = {key: path.read_bytes() for key, path in sample_files(tmp_path / "o").items()}
    for store in (s3, local):
        for key, data in originals.items():
            target = store.spool_dir / key  # writers write into spool_dir for both stores
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            store.publish(target, key)
        store.close()
    keys = list(local.list_keys())
    assert keys == sorted(originals)
    assert list(s3.list_keys()) == keys
    for key in keys:
        with s3.open_read(key) as a, local.open_read(key) as b:
            assert a.read() == b.read() == originals[key]


def test_list_keys_follows_continuation_pages(uri, tmp_path):
    store = open_store(uri)
    keys = [f"corpus/demo/2026/01/r{n:02d}.jsonl.gz" for n in range(7)]
    for n, key in enumerate(keys):
        store.publish(write_random(tmp_path / f"f{n}", 10 + n), key)
    store.close()
    store.list_page_size = 2
    assert list(store.list_keys("corpus")) == keys


def test_publish_refuses_bad_keys(uri, tmp_path):
    store = open_store(uri)
    path = write_random(tmp_path / "x", 5)
    for key in ("", "/abs", "a/../b", "warc/x.warc.gz.open", "a//b"):
        with pytest.raises(StoreError):
            store.publish(path, key)


def test_the_next_runs_first_publish_also_uploads_what_earlier_runs_left(uri, tmp_path):
    earlier = open_store(uri)
    left = earlier.spool(write_warc(tmp_path / "old.warc.gz"), "warc/demo/old.warc.gz")
    assert earlier.is_pending(left.key) and earlier.pending_objects() == [left]
    nxt = open_store(uri)
    nxt.publish(write_random(tmp_path / "new", 20), "corpus/demo/new.jsonl.gz")
    nxt.close()
    assert set(nxt.uploaded) == {"warc/demo/old.warc.gz", "corpus/demo/new.jsonl.gz"}
    assert nxt.pending() == [] and nxt.head("warc/demo/old.warc.gz").sha256 == left.sha256


# -- never overwrite ------------------------------------------------------------------------------

def test_an_existing_different_object_is_never_overwritten(uri, s3_env, tmp_path):
    store = open_store(uri)
    prefix = parse_s3_uri(uri).prefix
    key = "corpus/demo/2026/01/run1.jsonl.gz"
    raw = s3_env.client()
    raw.put_object(Bucket=s3_env.bucket, Key=f"{prefix}/{key}", Body=b"someone else's")
    path = write_random(tmp_path / "ours", 100)
    store.publish(path, key)
    store.close()
    assert "never overwritten" in store.failures[key]
    assert store.pending() == [store.spool_dir / key]           # kept, and reported
    sidecar = json.loads((store.spool_dir / (key + ".pending.json")).read_text())
    assert "already exists" in sidecar["last_error"]
    body = raw.get_object(Bucket=s3_env.bucket, Key=f"{prefix}/{key}")["Body"].read()
    assert body == b"someone else's"


def test_our_object_already_there_counts_as_uploaded(uri, tmp_path):
    store = open_store(uri)
    key = "warc/demo/2026/01/a.warc.gz"
    first = write_warc(tmp_path / "a.warc.gz")
    copy = tmp_path / "copy.warc.gz"
    copy.write_bytes(first.read_bytes())
    store.publish(first, key)
    store.close()
    assert not store.uploaded[key].already_present
    store.publish(copy, key)   # a retry of the same file (e.g. after a crash)
    store.close()
    assert store.uploaded[key].already_present and store.pending() == []


@pytest.mark.parametrize("size", [100, 6 * MiB])  # PutObject and multipart completion
@pytest.mark.parametrize("same", [True, False])
def test_conditional_write_closes_the_race_after_the_head_check(uri, s3_env, tmp_path,
                                                                monkeypatch, size, same):
    """Another writer creates the key between our HEAD and our write: If-None-Match wins."""
    from archive.store.s3.config import ObjectConflict

    store = open_store(uri)
    path = write_random(tmp_path / "ours", size)
    sha = sha256_file(path)
    key = "warc/demo/race.warc.gz"
    raw, location = s3_env.client(), parse_s3_uri(uri)
    real_existing = store.uploader._existing

    def racing_head(k, n, digest):
        """The HEAD saw nothing; then the other writer finished (a real PUT)."""
        monkeypatch.setattr(store.uploader, "_existing", real_existing)
        body = path.read_bytes() if same else b"the other writer's bytes"
        raw.put_object(Bucket=s3_env.bucket, Key=location.object_key(k), Body=body,
                       Metadata={"sha256": sha if same else "e" * 64})
        return None

    monkeypatch.setattr(store.uploader, "_existing", racing_head)
    if same:
        result = store.uploader.upload(path, key, sha)
        assert result.already_present
    else:
        with pytest.raises(ObjectConflict):
            store.uploader.upload(path, key, sha)
        body = raw.get_object(Bucket=s3_env.bucket, Key=location.object_key(key))["Body"]
        assert body.read() == b"the other writer's bytes"


# -- errors ---------------------------------------------------------------------------------------

def test_missing_bucket_offers_create_bucket(s3_env, tmp_path, monkeypatch):
    name = f"absent-{uuid.uuid4().hex[:8]}"
    store = open_store(f"s3://{name}/x")
    with pytest.raises(BucketMissing, match="--create-bucket"):
        check_reachable(store)
    assert cli_main(["verify", "--store", f"s3://{name}/x"]) == 1
    monkeypatch.setenv("NEWSARCHIVE_S3_CREATE_BUCKET", "1")
    created = open_store(f"s3://{name}/x")
    assert check_reachable(created) is True
    created.publish(write_random(tmp_path / "f", 10), "runs/demo/r.json")
    created.close()
    assert created.pending() == [] and created.exists("runs/demo/r.json")


def test_wrong_credentials_are_named_without_revealing_them(uri, s3_env, monkeypatch, tmp_path,
                                                            capsys):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value-1234")
    store = open_store(uri)
    with pytest.raises(CredentialsError) as caught:
        check_reachable(store)
    message = str(caught.value)
    assert "AWS_SECRET_ACCESS_KEY" in message and "SignatureDoesNotMatch" in message
    assert "wrong-secret-value-1234" not in message and s3_env.access_key not in message
    store.publish(write_random(tmp_path / "f", 10), "corpus/x.jsonl.gz")
    store.close()
    assert "rejected the credentials" in store.failures["corpus/x.jsonl.gz"]
    assert len(store.pending()) == 1
    assert cli_main(["sync", "--store", uri]) == 1
    err = capsys.readouterr().err
    assert "rejected the credentials" in err and "wrong-secret-value-1234" not in err


def test_no_credentials_at_all(uri, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(CredentialsError, match="AWS_PROFILE"):
        check_reachable(open_store(uri))


def test_access_denied_is_reported_and_the_file_stays_pending(uri, s3_env, monkeypatch,
                                                              tmp_path):
    key_id, secret = s3_env.credentials["reader"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    store = open_store(uri)
    assert check_reachable(store) is True  # may list and read, not write
    store.publish(write_random(tmp_path / "f", 10), "corpus/x.jsonl.gz")
    store.close()
    assert "access denied" in store.failures["corpus/x.jsonl.gz"]
    assert len(store.pending()) == 1
    spooled = store.pending()[0]
    with pytest.raises(AccessDenied, match="s3:PutObject"):
        store.uploader.upload(spooled, "corpus/x.jsonl.gz", sha256_file(spooled))


def test_unreachable_endpoint(uri, monkeypatch, tmp_path, capsys):
    from tests.s3server import free_port_pairs

    dead = f"http://127.0.0.1:{free_port_pairs(1)[0]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", dead)
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    store = open_store(uri)
    started = time.monotonic()
    assert check_reachable(store, timeout=2) is False   # a crawl warns and spools
    assert time.monotonic() - started < 10
    with pytest.raises(StoreUnreachable, match="AWS_ENDPOINT_URL"):
        sync_pending(store)
    assert cli_main(["sync", "--store", uri]) == 3
    assert cli_main(["verify", "--store", uri]) == 3
    assert "cannot reach the S3 endpoint" in capsys.readouterr().err


def test_credentials_never_reach_logs_sidecars_or_reports(uri, s3_env, tmp_path, caplog,
                                                          monkeypatch, capsys):
    caplog.set_level(logging.DEBUG)  # as Scrapy does with LOG_LEVEL=DEBUG
    store = open_store(uri)
    objects = [store.publish(path, key) for key, path in sample_files(tmp_path / "o").items()]
    manifest_for(store, objects)
    store.close()
    assert cli_main(["verify", "--store", uri, "--json"]) == 0
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")  # an error path too
    bad = open_store(uri)
    bad.publish(write_random(tmp_path / "e", 5), "corpus/e.jsonl.gz")
    bad.close()
    texts = [caplog.text, capsys.readouterr().out]
    texts += [p.read_text() for p in (tmp_path / "spool").rglob("*.pending.json")]
    assert any("uploaded" in t for t in texts)
    for text in texts:
        assert s3_env.access_key not in text and s3_env.secret_key not in text


# -- verify and sync ------------------------------------------------------------------------------

def test_verify_passes_then_reports_missing_size_and_metadata_problems(uri, s3_env, tmp_path,
                                                                       capsys):
    store = open_store(uri)
    objects = [store.publish(path, key) for key, path in sample_files(tmp_path / "o").items()]
    manifest_for(store, objects)
    store.close()
    result = verify_store(store)
    assert result.ok and result.manifests == 1 and result.verified == 4
    assert cli_main(["verify", "--store", uri]) == 0
    assert "4 ok, 0 problems" in capsys.readouterr().out

    raw, prefix = s3_env.client(), parse_s3_uri(uri).prefix
    keys = sorted(o.key for o in objects)
    assert keys[1] == "indexes/demo/run1.cdxj"  # 10 bytes
    raw.delete_object(Bucket=s3_env.bucket, Key=f"{prefix}/{keys[0]}")
    raw.put_object(Bucket=s3_env.bucket, Key=f"{prefix}/{keys[1]}", Body=b"0123456789",
                   Metadata={"sha256": "f" * 64})
    raw.put_object(Bucket=s3_env.bucket, Key=f"{prefix}/{keys[2]}", Body=b"x" * 10)
    result = verify_store(store)
    kinds = {p.key: p.kind for p in result.problems}
    assert kinds == {keys[0]: "missing", keys[1]: "sha256", keys[2]: "size"}
    assert not result.ok and result.verified == 1
    assert cli_main(["verify", "--store", uri]) == 1
    out = capsys.readouterr().out
    assert "MISSING" in out and keys[0] in out and "runs/demo/run1.json" in out


def test_verify_lists_objects_still_pending_in_the_spool(uri, s3_env, tmp_path, monkeypatch):
    store = open_store(uri)
    good = store.publish(write_random(tmp_path / "g", 50), "corpus/g.jsonl.gz")
    store.close()
    raw, prefix = s3_env.client(), parse_s3_uri(uri).prefix
    raw.put_object(Bucket=s3_env.bucket, Key=f"{prefix}/corpus/p.jsonl.gz", Body=b"squatter")
    stuck = store.publish(write_random(tmp_path / "p", 60), "corpus/p.jsonl.gz")
    manifest_for(store, [good, stuck])
    store.close()
    raw.delete_object(Bucket=s3_env.bucket, Key=f"{prefix}/corpus/p.jsonl.gz")
    result = verify_store(store)
    assert [(p.key, p.kind) for p in result.problems] == [("corpus/p.jsonl.gz", "pending")]
    assert "newsarchive sync" in result.problems[0].detail
    # Now the squatter is gone, sync can finish the job and verify passes.
    synced = sync_pending(open_store(uri))
    assert synced.uploaded == ["corpus/p.jsonl.gz"] and synced.ok
    assert verify_store(store).ok


def test_verify_reports_unreadable_and_conflicting_manifests(uri, tmp_path):
    store = open_store(uri)
    obj = store.publish(write_random(tmp_path / "a", 30), "corpus/a.jsonl.gz")
    manifest_for(store, [obj], run_id="run1")
    liar = S3StoredLike(obj.key, obj.size, "0" * 64)
    manifest_for(store, [liar], run_id="run2")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    store.publish(broken, "runs/demo/run3.json")
    store.close()
    result = verify_store(store)
    kinds = sorted(p.kind for p in result.problems)
    assert kinds == ["manifest", "manifest"]
    assert any("not valid JSON" in p.detail for p in result.problems)
    assert any("run1.json" in p.detail and "run2.json" in p.detail for p in result.problems)


class S3StoredLike:
    """A manifest entry with a chosen (wrong) sha256."""

    def __init__(self, key: str, size: int, sha256: str):
        self.key, self.size, self.sha256 = key, size, sha256

    def to_dict(self) -> dict:
        return {"key": self.key, "size": self.size, "sha256": self.sha256}


def test_verify_works_on_a_local_store_too(tmp_path):
    store = LocalStore(tmp_path / "archive")
    objects = []
    for key, path in sample_files(tmp_path / "o").items():
        objects.append(store.publish(path, key))
    manifest_for(store, objects)
    assert verify_store(store, deep=True).ok
    target = store.path_for(objects[0].key)
    data = bytearray(target.read_bytes())
    data[-1] ^= 1
    target.write_bytes(bytes(data))
    # quick check: the file's mtime moved since it was published, so it is hashed again
    quick = verify_store(store)
    assert [(p.key, p.kind) for p in quick.problems] == [(objects[0].key, "corrupt")]
    deep = verify_store(store, deep=True)
    assert [(p.key, p.kind) for p in deep.problems] == [(objects[0].key, "corrupt")]
    assert cli_main(["verify", "--store", str(tmp_path / "archive"), "--deep"]) == 1


def test_sync_with_nothing_pending(uri):
    result = sync_pending(open_store(uri))
    assert result.ok and result.uploaded == [] and result.pending == 0


def test_s3_options_validate():
    with pytest.raises(StoreError, match="governance or compliance"):
        S3Options(object_lock_mode="forever")
    with pytest.raises(StoreError, match="5 MB"):
        S3Options(part_size=1024)
