"""Helpers of the kill test: run a crawl, kill its process group dead, check the archive.

A crawl is started in its own session (process group: the crawler and its extraction
workers) with ``NEWSARCHIVE_TEST_PAUSE_AT`` naming a point (``archive.store.faults``); when
the run reaches it, it says so in a file and waits, and the test sends SIGKILL to the
whole group -- or the test kills on a timer.  ``check_archive`` then asserts what an
archive that loses nothing must hold.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from tests.conftest import REPO_ROOT


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "crawler.cli", *args], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def kill_at(args: list[str], env: dict[str, str], point: str, workdir: Path,
            timeout: float = 90, started: str = "") -> str:
    """Run until ``point`` (``name[:N]`` or ``timer:SECONDS``), then kill -9 the group.

    A timer counts from when a file matching the glob ``started`` (the run's journal)
    appears.  Returns how it ended: ``killed at <name>`` or ``killed on timer``.  A run
    that ends before its kill fails the test (the kill would not be where it claims).
    """
    flag = workdir / f"paused-{time.monotonic_ns()}"
    run_env = dict(env)
    if not point.startswith("timer:"):
        run_env.update({"NEWSARCHIVE_TEST_PAUSE_AT": point,
                        "NEWSARCHIVE_TEST_PAUSE_FILE": str(flag)})
    proc = start(args, run_env)
    deadline = time.monotonic() + timeout
    timer = point.startswith("timer:")
    try:
        while timer and time.monotonic() < deadline and proc.poll() is None:
            if started and list(Path("/").glob(started.lstrip("/"))):
                deadline = time.monotonic() + float(point[6:])
                break
            time.sleep(0.01)
        while time.monotonic() < deadline:
            if flag.exists():
                break
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError(f"the run ended before reaching {point} "
                                     f"(exit {proc.returncode}): {out}\n{err[-3000:]}")
            time.sleep(0.02)
        else:
            if not timer:
                raise AssertionError(f"{point} not reached within {timeout} s")
            if proc.poll() is not None:
                raise AssertionError(f"the run ended before its kill on {point}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    return f"killed at {flag.read_text()}" if flag.exists() else "killed on timer"


def corpus_records(files: dict[str, bytes]) -> list[dict]:
    records = []
    for key, data in sorted(files.items()):
        if key.startswith("corpus/") and key.endswith(".jsonl.gz"):
            records += [json.loads(line) for line in gzip.decompress(data).splitlines()
                        if line.strip()]
    return records


def local_files(store: Path) -> dict[str, bytes]:
    return {p.relative_to(store).as_posix(): p.read_bytes() for p in store.rglob("*")
            if p.is_file() and p.relative_to(store).parts[0] != "state"}


def check_archive(files: dict[str, bytes], expected_ids: set[str]) -> None:
    """Every article exactly once, every pointer and revisit resolves, nothing left open."""
    left_open = [k for k in files if k.endswith((".open", ".recovering"))]
    assert not left_open, f"files left open: {left_open}"
    records = corpus_records(files)
    counts = Counter(r["id"] for r in records)
    assert set(counts) == expected_ids, (
        f"missing {sorted(expected_ids - set(counts))}, extra {sorted(set(counts) - expected_ids)}")
    twice = {i: n for i, n in counts.items() if n != 1}
    assert not twice, f"articles in the corpus more than once: {twice}"
    responses: dict[str, tuple[str, str]] = {}
    by_uri_date: set[tuple[str, str]] = set()
    revisits: list[tuple[str, str, str, str]] = []
    for key, data in files.items():
        if not key.endswith(".warc.gz"):
            continue
        for record in ArchiveIterator(io.BytesIO(data), check_digests=True):
            record.content_stream().read()
            assert record.digest_checker.passed is not False, key
            headers = record.rec_headers
            uri, date = headers.get_header("WARC-Target-URI"), headers.get_header("WARC-Date")
            if record.rec_type == "response":
                responses[headers.get_header("WARC-Record-ID")] = (uri, date)
                by_uri_date.add((uri, date))
            elif record.rec_type == "revisit":
                revisits.append((key, headers.get_header("WARC-Refers-To") or "",
                                 headers.get_header("WARC-Refers-To-Target-URI"),
                                 headers.get_header("WARC-Refers-To-Date")))
    for key, refers_to, uri, date in revisits:
        if refers_to:
            assert refers_to in responses, f"revisit in {key} refers to {refers_to}: not archived"
        assert (uri, date) in by_uri_date, f"revisit in {key} refers to {uri} at {date}: absent"
    for record in records:
        pointer = record["warc"]
        data = files.get(pointer["key"])
        assert data is not None, f"{record['id']} points into {pointer['key']}: not in the store"
        chunk = data[pointer["offset"]: pointer["offset"] + pointer["length"]]
        found = next(iter(ArchiveIterator(io.BytesIO(chunk))))
        assert found.rec_headers.get_header("WARC-Record-ID") == pointer["record_id"]
