"""WACZ packages: valid WACZ 1.1.1, pages resolve in the index, streamed to disk."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import pytest
from surt import surt

from archive.corpus.records import CorpusWriter
from archive.replay.wacz import WaczError, build_wacz, package
from archive.store.base import LocalStore, StoredObject
from archive.warc.cdxj import index_key_for, index_warc
from crawler.cli import main
from tests.reuse_samples import (
    Capture,
    build_sample_archive,
    make_record,
    publish_run_report,
    write_warc,
)

WACZ_TOOL = Path(sys.executable).with_name("wacz")


class StreamingStore:
    """A Store that only offers streams (like S3): exercises the download/stream paths."""

    def __init__(self, inner: LocalStore):
        self.inner = inner
        self.uri = "streaming:" + inner.uri
        self.spool_dir = inner.spool_dir

    def publish(self, local_path: Path, key: str, sha256: str | None = None) -> StoredObject:
        return self.inner.publish(local_path, key, sha256)

    def open_read(self, key: str) -> BinaryIO:
        return self.inner.open_read(key)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        return self.inner.list_keys(prefix)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def pending(self) -> list[Path]:
        return []

    def close(self) -> None:
        pass


def wacz_validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(WACZ_TOOL), "validate", "-f", str(path)], capture_output=True,
                          text=True, timeout=300)


def read_index(zf: zipfile.ZipFile) -> list[tuple[str, str, dict]]:
    text = gzip.decompress(zf.read("indexes/index.cdx.gz")).decode()
    entries = []
    for line in text.splitlines():
        urlkey, ts, data = line.split(" ", 2)
        entries.append((urlkey, ts, json.loads(data)))
    return entries


def read_pages(zf: zipfile.ZipFile) -> tuple[dict, list[dict]]:
    lines = zf.read("pages/pages.jsonl").decode().splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def test_wacz_of_a_sample_crawl_is_valid_and_every_page_is_indexed(tmp_path: Path):
    sample = build_sample_archive(tmp_path / "store")
    out = build_wacz(sample.store, "sample", tmp_path / "sample.wacz")
    result = wacz_validate(out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout
    with zipfile.ZipFile(out) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        for name, info in infos.items():
            if name.startswith("archive/") or name.endswith(".gz"):
                assert info.compress_type == zipfile.ZIP_STORED, name
        for key in sample.warc_keys:  # the WARCs go in byte for byte
            assert zf.read(f"archive/{Path(key).name}") == sample.store.path_for(key).read_bytes()
        entries = read_index(zf)
        assert [(u, t) for u, t, _ in entries] == sorted((u, t) for u, t, _ in entries)
        assert len(entries) == 7  # every response and revisit of both WARCs
        idx = zf.read("indexes/index.idx").decode().splitlines()
        assert json.loads(idx[0].split(" ", 2)[2])["format"] == "cdxj-gzip-1.0"
        header, pages = read_pages(zf)
        assert header["format"] == "json-pages-1.0" and header["hasText"] is True
        assert len(pages) == 5  # 4 articles + the edited version of article 1
        captures = {(u, t) for u, t, _ in entries}
        for page in pages:
            ts = datetime.fromisoformat(page["ts"].replace("Z", "+00:00"))
            assert (surt(page["url"]), f"{ts:%Y%m%d%H%M%S}") in captures, page["url"]
            assert page["text"] and page["title"] and page["id"].startswith("sample:")
        package_json = zf.read("datapackage.json")
        datapackage = json.loads(package_json)
        assert datapackage["wacz_version"] == "1.1.1"
        listed = {r["path"]: r for r in datapackage["resources"]}
        assert set(listed) == set(infos) - {"datapackage.json", "datapackage-digest.json"}
        for name, resource in listed.items():
            data = zf.read(name)
            assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
            assert resource["bytes"] == len(data)
        digest = json.loads(zf.read("datapackage-digest.json"))
        assert digest["hash"] == "sha256:" + hashlib.sha256(package_json).hexdigest()


def test_run_package_brings_the_originals_of_its_revisits(tmp_path: Path):
    sample = build_sample_archive(tmp_path / "store")
    contents = package(sample.store, "sample", tmp_path / "run2.wacz", run_id=sample.run_ids[1])
    # run 2 holds a revisit of article 0, captured in run 1: that WARC must come along
    assert contents.warcs == sorted(sample.warc_keys)
    with zipfile.ZipFile(contents.path) as zf:
        _, pages = read_pages(zf)
    assert [(p["id"], p["title"]) for p in pages] == [
        ("sample:1", "Invented headline number 1 (updated)")]
    contents = package(sample.store, "sample", tmp_path / "run1.wacz", run_id=sample.run_ids[0])
    assert contents.warcs == [sample.warc_keys[0]] and contents.pages == 4


def test_since_selects_warcs_and_pages_by_capture_time(tmp_path: Path):
    sample = build_sample_archive(tmp_path / "store")
    contents = package(sample.store, "sample", tmp_path / "since.wacz", since="2026-05-05")
    assert contents.pages == 1
    assert wacz_validate(contents.path).returncode == 0
    with pytest.raises(WaczError):
        package(sample.store, "sample", tmp_path / "none.wacz", since="2027-01-01")
    assert not (tmp_path / "none.wacz").exists()


@pytest.mark.slow
def test_streams_a_large_warc_with_flat_memory(tmp_path: Path):
    """A 64 MB WARC goes through in 1 MB chunks: Python never holds it (tracemalloc)."""
    store = LocalStore(tmp_path / "store")
    started = datetime(2026, 5, 3, 10, tzinfo=UTC)
    key = "warc/big/2026/05/big-20260503100000-00000-testhost.warc.gz"
    blob = os.urandom(64 << 20)
    captures = [Capture("http://127.0.0.1:9/news/1", b"<html><p>Small story.</p></html>",
                        started),
                Capture("http://127.0.0.1:9/media/video.bin", blob,
                        started + timedelta(seconds=1), content_type="video/mp4")]
    written = write_warc(store.path_for(key), key, captures)
    del blob, captures
    index_warc(store.path_for(key), store.path_for(index_key_for(key)))
    writer = CorpusWriter(store.spool_dir, "big", "20260503T100000Z-dddddd", started)
    writer.write(make_record("big", written[0], run_id="20260503T100000Z-dddddd", seed=1))
    writer.close()
    tracemalloc.start()
    try:
        out = build_wacz(StreamingStore(store), "big", tmp_path / "big.wacz")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.stat().st_size > 64 << 20
    assert peak < 16 << 20, f"peak Python memory {peak / 2**20:.1f} MB"
    with zipfile.ZipFile(out) as zf:
        with zf.open(f"archive/{Path(key).name}") as member, \
                open(store.path_for(key), "rb") as original:
            while chunk := original.read(1 << 20):
                assert member.read(len(chunk)) == chunk


def test_cli_builds_into_the_store_or_a_file(tmp_path: Path, capsys):
    sample = build_sample_archive(tmp_path / "store")
    root = str(sample.store.root)
    assert main(["wacz", "--store", root, "--outlet", "sample"]) == 0
    stored = list(sample.store.list_keys("wacz/sample/"))
    assert len(stored) == 1 and stored[0].endswith(".wacz")
    assert "pages=5" in capsys.readouterr().out
    out = tmp_path / "one-run.wacz"
    assert main(["wacz", "--store", root, "--outlet", "sample", "--run", sample.run_ids[0],
                 "--out", str(out)]) == 0
    assert zipfile.is_zipfile(out)
    assert main(["wacz", "--store", root, "--outlet", "sample", "--run", "nope",
                 "--out", str(tmp_path / "x.wacz")]) == 1
    assert "no run report" in capsys.readouterr().err


def test_unindexed_warcs_are_indexed_on_the_way(tmp_path: Path):
    sample = build_sample_archive(tmp_path / "store")
    for key in sample.warc_keys:
        sample.store.path_for(index_key_for(key)).unlink()
    out = build_wacz(sample.store, "sample", tmp_path / "x.wacz")
    assert wacz_validate(out).returncode == 0
    assert all(sample.store.exists(index_key_for(k)) for k in sample.warc_keys)


def test_run_report_is_the_source_of_a_runs_warcs(tmp_path: Path):
    sample = build_sample_archive(tmp_path / "store")
    publish_run_report(sample.store, "sample", "20260601T000000Z-eeeeee",
                       datetime(2026, 6, 1, tzinfo=UTC), [])
    with pytest.raises(WaczError, match="no WARCs"):
        package(sample.store, "sample", tmp_path / "empty.wacz", run_id="20260601T000000Z-eeeeee")


def _fetch(url: str) -> tuple[int, dict, bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip, deflate"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


@pytest.mark.slow
def test_replay_command_serves_identical_bytes_and_resolves_revisits(tmp_path: Path):
    """`newsarchive replay` in pywb: stored payload bytes come back as archived, and the
    run-2 revisit of article 0 replays the run-1 original."""
    import signal

    from warcio.archiveiterator import ArchiveIterator

    sample = build_sample_archive(tmp_path / "store")
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "replay", "--store", str(sample.store.root),
         "--port", "0", "--cache", str(tmp_path / "cache")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[1])
    try:
        line = process.stdout.readline()  # printed once wayback answers
        assert "replaying 2 WARCs at" in line, line + process.stderr.read()
        base = line.split(" at ", 1)[1].split(" ", 1)[0].rstrip("/")
        gz_capture = sample.captures[1]  # stored with Content-Encoding: gzip
        status, headers, body = _fetch(f"{base}/20260503100002id_/{gz_capture.url}")
        assert status == 200
        with open(sample.store.path_for(gz_capture.key), "rb") as handle:
            handle.seek(gz_capture.offset)
            record = next(iter(ArchiveIterator(handle)))
            stored = record.raw_stream.read()  # the entity exactly as received
        assert headers.get("Content-Encoding") == "gzip"
        assert body == stored
        status, _, original = _fetch(f"{base}/20260503100000id_/{sample.captures[0].url}")
        assert status == 200
        status, headers, revisited = _fetch(
            f"{base}/20260510100000id_/{sample.captures[0].url}")
        assert status == 200 and revisited == original
        assert b"Invented headline number 0" in revisited
        # served from the revisit record (its own date), with the original's payload
        assert headers.get("Memento-Datetime") == "Sun, 10 May 2026 10:00:00 GMT"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0


@pytest.mark.parametrize("run", [None, 0, 1])
def test_index_merge_in_its_own_process_builds_the_same_package(tmp_path: Path, run):
    """Issue 19: the CDXJ merge may run in a second process beside the corpus read; the
    members (WARCs, index, pages) must be byte for byte those of the one-process build."""
    sample = build_sample_archive(tmp_path / "store")
    run_id = None if run is None else sample.run_ids[run]
    built = {}
    for parallel in (False, True):
        contents = package(sample.store, "sample", tmp_path / f"p{parallel}.wacz",
                           run_id=run_id, parallel=parallel)
        with zipfile.ZipFile(contents.path) as zf:
            built[parallel] = ({name: zf.read(name) for name in zf.namelist()
                                if not name.startswith("datapackage")},
                               contents.pages, contents.index_lines)
    assert built[True] == built[False]
    members, pages, lines = built[True]
    assert pages > 0 and lines > 0 and "pages/pages.jsonl" in members
