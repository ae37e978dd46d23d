"""Crawls into s3:// against a real SeaweedFS: same archive as a local store, nothing lost.

The crawl runs as the `newsarchive` CLI in a subprocess with only the standard AWS
environment pointing at the test server.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import REPO_ROOT, run_cli
from tests.s3server import SeaweedFS

pytestmark = pytest.mark.slow

BUCKET = "test-bucket"


def s3_env(server: SeaweedFS, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NEWSARCHIVE_"))}
    env.update(server.client_env())
    env.update({
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "NEWSARCHIVE_SPOOL": str(tmp_path / "spool"),
        "XDG_STATE_HOME": str(tmp_path / "state-home"),
        "NEWSARCHIVE_S3_CLOSE_TIMEOUT": "20",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def cli(env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def crawl_cmd(outlet_file: Path, store: str, report: Path) -> list[str]:
    return ["crawl", str(outlet_file), "--store", store, "--report", str(report),
            "--workers", "1"]


def objects(server: SeaweedFS, prefix: str = "") -> dict[str, bytes]:
    client = server.client()
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
    return found


def versions_per_key(server: SeaweedFS) -> dict[str, int]:
    client = server.client()
    counts: dict[str, int] = {}
    for page in client.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
        for version in page.get("Versions", []):
            counts[version["Key"]] = counts.get(version["Key"], 0) + 1
    return counts


def corpus_of(files: dict[str, bytes]) -> list[dict]:
    records = []
    for key, data in sorted(files.items()):
        if key.startswith("corpus/"):
            records.extend(json.loads(line) for line in gzip.decompress(data).splitlines())
    return records


def warc_records(data: bytes) -> list[tuple[str, str, str | None]]:
    """(type, target URI, payload digest) of every record; digests are checked on read."""
    out = []
    for rec in ArchiveIterator(io.BytesIO(data), check_digests=True):
        rec.content_stream().read()
        assert rec.digest_checker.passed is not False, rec.rec_headers["WARC-Record-ID"]
        out.append((rec.rec_type, rec.rec_headers.get("WARC-Target-URI") or "",
                    rec.rec_headers.get("WARC-Payload-Digest")))
    return out


def comparable(record: dict) -> tuple:
    return (record["id"], record["url"].split("/", 3)[3], record["title"], record["text"],
            record["language"], tuple(record["authors"]), record["published"])


@pytest.fixture
def server(tmp_path):
    with SeaweedFS(tmp_path / "seaweedfs") as running:
        yield running


def test_s3_crawl_equals_local_crawl(tmp_path, server, fresh_site):
    env = s3_env(server, tmp_path)
    outlet_file = fresh_site.write_outlet(tmp_path / "outlet.yaml")
    local = cli(env, *crawl_cmd(outlet_file, str(tmp_path / "local"), tmp_path / "l.json"))
    assert local.returncode == 0, local.stderr[-2000:]
    remote = cli(env, *crawl_cmd(outlet_file, f"s3://{BUCKET}/news", tmp_path / "r.json"))
    assert remote.returncode == 0, remote.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["pending_uploads"] == 0 and "pending=0" in remote.stdout

    stored = {k.removeprefix("news/"): v for k, v in objects(server, "news/").items()}
    local_files = {p.relative_to(tmp_path / "local").as_posix(): p.read_bytes()
                   for p in (tmp_path / "local").rglob("*") if p.is_file()
                   and p.relative_to(tmp_path / "local").parts[0] != "state"}
    # same layout (names carry the run's timestamps, so compare the shape of the keys)
    def shape(key: str) -> str:
        return "/".join(key.split("/")[:2])
    assert sorted(map(shape, stored)) == sorted(map(shape, local_files))
    # same corpus
    assert sorted(map(comparable, corpus_of(stored))) == \
        sorted(map(comparable, corpus_of(local_files)))
    # same WARC content, digests intact after the round trip through S3
    def warc_content(files):
        out = []
        for key, data in files.items():
            if key.startswith("warc/"):
                out += [(t, u.split("/", 3)[3] if u.count("/") >= 3 else u, d)
                        for t, u, d in warc_records(data) if t != "warcinfo"]
        return sorted(out)
    assert warc_content(stored) == warc_content(local_files)
    # every object in the run manifest is there with its size and sha256
    verify = cli(env, "verify", "--store", f"s3://{BUCKET}/news", "--deep")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert all(count == 1 for count in versions_per_key(server).values())


def test_s3_down_mid_crawl_then_sync_uploads_everything_once(tmp_path, server, fresh_site):
    env = s3_env(server, tmp_path)
    outlet_file = fresh_site.write_outlet(tmp_path / "outlet.yaml")
    slow = outlet_file.read_text().replace("download_delay: 0 ", "download_delay: 0.15 ")
    assert slow != outlet_file.read_text()
    outlet_file.write_text(slow)
    store = f"s3://{BUCKET}/news"
    report_file = tmp_path / "report.json"
    process = subprocess.Popen([sys.executable, "-m", "crawler.cli",
                                *crawl_cmd(outlet_file, store, report_file)],
                               cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(fresh_site.requests) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.stop()  # S3 dies while the crawl is running
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 4, stderr[-2000:]  # finished, but uploads are pending
    report = json.loads(report_file.read_text())
    assert report["articles"] == 26
    assert report["pending_uploads"] >= 3  # WARC, its index, the corpus
    sidecars = list((tmp_path / "spool").rglob("*.pending.json"))
    assert len(sidecars) >= report["pending_uploads"]
    # sync refuses clearly while the endpoint is down
    down = cli(env, "sync", "--store", store)
    assert down.returncode == 3 and "reach" in (down.stderr + down.stdout).lower()

    server.start()
    synced = cli(env, "sync", "--store", store)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert not list((tmp_path / "spool").rglob("*.pending.json"))
    assert all(count == 1 for count in versions_per_key(server).values())
    keys = set(objects(server, "news/"))
    for entry in report["files"]:
        assert f"news/{entry['key']}" in keys
    verify = cli(env, "verify", "--store", store, "--deep")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_crawl_starting_while_s3_is_down_spools_and_next_run_uploads(tmp_path, server,
                                                                       fresh_site):
    env = s3_env(server, tmp_path)
    outlet_file = fresh_site.write_outlet(tmp_path / "outlet.yaml")
    store = f"s3://{BUCKET}/news"
    server.stop()
    first = cli(env, *crawl_cmd(outlet_file, store, tmp_path / "1.json"))
    assert first.returncode == 4, first.stderr[-2000:]
    assert "cannot be reached" in first.stderr and "spool" in first.stderr
    pending = json.loads((tmp_path / "1.json").read_text())["pending_uploads"]
    assert pending >= 3
    # commands that only talk to S3 fail clearly instead
    assert cli(env, "verify", "--store", store).returncode == 3

    server.start()
    second = cli(env, *crawl_cmd(outlet_file, store, tmp_path / "2.json"))
    assert second.returncode == 0, second.stderr[-2000:]
    assert json.loads((tmp_path / "2.json").read_text())["pending_uploads"] == 0
    assert not list((tmp_path / "spool").rglob("*.pending.json"))
    first_report = json.loads((tmp_path / "1.json").read_text())
    keys = set(objects(server, "news/"))
    for entry in first_report["files"]:
        assert f"news/{entry['key']}" in keys
    assert all(count == 1 for count in versions_per_key(server).values())
    assert run_cli("verify", "--store", store, env=env).returncode == 0
