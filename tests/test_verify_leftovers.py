"""`verify` tells the truth about a store a crash touched (issue 10).

A WARC whose bytes changed (same size) fails the quick check of a local store; a file
left ``.open``, a run journal of a dead process and (S3) a spooled file without its
upload sidecar are each reported and make verify exit non-zero.  The exit status of
several outlets is the most severe one, never the largest number.
"""

from __future__ import annotations

import json
import shutil

import pytest

from archive.runs.report import (
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_PENDING,
    EXIT_STORE,
    worst_exit_status,
)
from tests.conftest import crawl, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clean_store(tmp_path_factory, sample_site):
    work = tmp_path_factory.mktemp("verify-leftovers")
    outlet_file = sample_site.write_outlet(work / "outlet.yaml")
    result = crawl(outlet_file, work / "store")
    assert result.returncode == 0, result.stderr[-2000:]
    return work / "store"


def copy_of(store, tmp_path):
    target = tmp_path / "store"
    shutil.copytree(store, target)
    return target


def test_a_clean_store_verifies(clean_store, tmp_path):
    store = copy_of(clean_store, tmp_path)
    done = run_cli("verify", "--store", str(store))
    assert done.returncode == 0, done.stdout


def test_quick_check_catches_changed_warc_bytes(clean_store, tmp_path):
    store = copy_of(clean_store, tmp_path)
    warc = next(store.glob("warc/**/*.warc.gz"))
    data = bytearray(warc.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    warc.write_bytes(bytes(data))
    done = run_cli("verify", "--store", str(store))
    assert done.returncode != 0, done.stdout
    assert "CORRUPT" in done.stdout and warc.name in done.stdout


def test_open_files_and_dead_runs_are_reported(clean_store, tmp_path):
    store = copy_of(clean_store, tmp_path)
    stray = store / "warc" / "rudaw-sample" / "2026" / "01" / "x-00000-h.warc.gz.open"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"half a record")
    journal = store / "state" / "runs" / "rudaw-sample" / "20260101T000000Z-dead00.json"
    journal.parent.mkdir(parents=True, exist_ok=True)
    holder = {"pid": 2 ** 22 + 7, "host": __import__("socket").gethostname(),
              "started": "2026-01-01T00:00:00+00:00", "outlet": "rudaw-sample"}
    journal.write_text(json.dumps({"run_id": "20260101T000000Z-dead00",
                                   "stem": "20260101T000000Z-dead00",
                                   "outlet": "rudaw-sample", "started": "2026-01-01",
                                   "holder": holder}) + "\n")
    done = run_cli("verify", "--store", str(store))
    assert done.returncode != 0, done.stdout
    assert "OPEN" in done.stdout and stray.name in done.stdout
    assert "UNFINISHED" in done.stdout and "20260101T000000Z-dead00" in done.stdout


def test_spooled_file_without_sidecar_is_an_orphan(tmp_path):
    from archive.state.leftovers import find_leftovers
    from archive.store.s3.store import S3Store

    store = S3Store("bucket", "news", spool=tmp_path / "spool", resume=False)
    spool = tmp_path / "spool"
    orphan = spool / "warc" / "o" / "2026" / "01" / "a.warc.gz"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"x")
    queued = orphan.with_name("b.warc.gz")
    queued.write_bytes(b"y")
    store.spool_files.write_sidecar(store.spool_files.read_sidecar(
        _sidecar(queued, "warc/o/2026/01/b.warc.gz")) or _job(queued))
    found = {(item.kind, item.key) for item in find_leftovers(store, "s3://bucket/news")}
    assert ("orphan", "warc/o/2026/01/a.warc.gz") in found
    assert not any(key.endswith("b.warc.gz") for _, key in found)


def _sidecar(path, key):
    sidecar = path.with_name(path.name + ".pending.json")
    sidecar.write_text(json.dumps({"key": key, "size": 1, "sha256": "0" * 64}))
    return sidecar


def _job(path):
    raise AssertionError(f"sidecar of {path} unreadable")


def test_exit_status_is_the_most_severe_not_the_largest():
    assert worst_exit_status([EXIT_LOCKED, EXIT_FAILED]) == EXIT_FAILED
    assert worst_exit_status([EXIT_OK, EXIT_LOCKED]) == EXIT_LOCKED
    assert worst_exit_status([EXIT_PENDING, EXIT_LOCKED, EXIT_OK]) == EXIT_PENDING
    assert worst_exit_status([EXIT_PENDING, EXIT_STORE]) == EXIT_STORE
    assert worst_exit_status([EXIT_FAILED, EXIT_PENDING]) == EXIT_FAILED
    assert worst_exit_status([]) == EXIT_FAILED
