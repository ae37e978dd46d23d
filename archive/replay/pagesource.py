"""The WACZ's page entries from the corpus, read by as many processes as there are cores.

Reading the corpus (decompressing every generation file and parsing every record) was
most of a WACZ build's time, in one process.  Here each corpus file is read by a child
process (``python -m archive.replay.pagesource``, like the index merge beside it: a plain
process, no multiprocessing re-import of the caller's ``__main__``), which keeps only
what a page entry needs (id, version, URL, title, text, capture pointer, fetch time) in a
SQLite file of its own (``archive.corpus.generations.write_generation``).  The parent then
resolves the generations -- the newest one's record of an (id, version) wins -- in SQL
(``merged_generations``): every generation is still read once, and memory stays flat.

On an S3 store, or with a single corpus file, the same work runs in this process.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from archive.corpus.generations import identity, merged_generations, write_generation
from archive.corpus.records import corpus_files
from archive.store.base import LocalStore, Store


def page_entry(record: dict[str, Any]) -> tuple[list[Any], str]:
    """What the package needs of a corpus record: a head -- [WARC key, WARC file name,
    offset, URL, fetched_at], to choose the page and find its capture -- and the body of
    its ``pages.jsonl`` entry, serialized once here (id, URL, title, text: the bulk of
    it), so that the parent completes the entry without parsing the text again."""
    warc = record.get("warc") if isinstance(record.get("warc"), dict) else {}
    name = warc.get("filename") or Path(str(warc.get("key"))).name
    head = [warc.get("key"), name, int(warc.get("offset", -1)), record.get("url"),
            record.get("fetched_at")]
    body = json.dumps({"id": record.get("id"), "url": record.get("url"),
                       "title": record.get("title") or record.get("url"),
                       "text": record.get("text") or ""}, ensure_ascii=False)
    return head, body


def _entries(store: Store, key: str) -> Iterator[tuple[str, int, bytes]]:
    with store.open_read(key) as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                record = json.loads(line)
                rid, version = identity(record)
                head, body = page_entry(record)
                # JSON escapes newlines inside strings: the first one separates the two
                yield rid, version, f"{json.dumps(head)}\n{body}".encode()


def prepare(store: Store, key: str, path: Path) -> int:
    """The page entries of one corpus file into a generation file at ``path``."""
    return write_generation(_entries(store, key), path)


def child_env() -> dict[str, str]:
    """The environment of a ``python -m archive.replay...`` child: this package importable
    however the caller found it (an installed copy, a checkout on ``sys.path``)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def corpus_pages(store: Store, outlet: str, work: Path, processes: int | None = None
                 ) -> Iterator[tuple[list[Any], str]]:
    """Page entries (``page_entry``: head and body) of every version of the outlet's
    articles, newest generation winning, in corpus order.  ``processes``: child processes
    reading the corpus files (default: one per core on a local store with several files;
    0 reads in this process)."""
    keys = [f.key for f in corpus_files(store, outlet)]
    paths = [work / f"generation-{rank}.sqlite3" for rank in range(len(keys))]
    if processes is None:
        several = isinstance(store, LocalStore) and len(keys) > 1
        processes = min(os.cpu_count() or 1, len(keys)) if several else 0
    if processes and isinstance(store, LocalStore):
        _prepare_in_children(store, list(zip(keys, paths, strict=True)), processes)
    else:
        for key, path in zip(keys, paths, strict=True):
            prepare(store, key, path)
    try:
        for payload in merged_generations(paths, all_versions=True):
            head, body = payload.decode().split("\n", 1)
            yield json.loads(head), body
    finally:
        for path in paths:
            path.unlink(missing_ok=True)


def _prepare_in_children(store: LocalStore, jobs: list[tuple[str, Path]],
                         processes: int) -> None:
    """Each child prepares every ``processes``-th file; an error in one is the build's.
    Their stderr goes to unnamed temporary files, which never fill up as a pipe would."""
    children: list[tuple[subprocess.Popen, Any]] = []
    try:
        for start in range(processes):
            share = jobs[start::processes]
            if not share:
                continue
            argv = [str(store.root)] + [item for key, path in share
                                        for item in (key, str(path))]
            errors = tempfile.TemporaryFile("w+", encoding="utf-8")
            children.append((subprocess.Popen(
                [sys.executable, "-m", "archive.replay.pagesource", *argv],
                stderr=errors, env=child_env()), errors))
        failures = []
        for child, errors in children:
            if child.wait() != 0:
                errors.seek(0)
                last = errors.read().strip().splitlines()[-1:]
                failures.append(last[0] if last else f"exit {child.returncode}")
    finally:
        for child, errors in children:
            if child.poll() is None:
                child.kill()
                child.wait()
            errors.close()
    if failures:
        raise RuntimeError("reading the corpus for the package failed: "
                           + "; ".join(failures))


def main(argv: list[str]) -> int:
    """``STORE_ROOT (CORPUS_KEY OUT_PATH)...``: prepare each corpus file's page entries."""
    root, *pairs = argv
    store = LocalStore(root)
    for key, path in zip(pairs[::2], pairs[1::2], strict=True):
        prepare(store, key, Path(path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
