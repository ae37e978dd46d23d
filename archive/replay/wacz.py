"""WACZ 1.1.1 packages of an outlet's WARCs, for ReplayWeb.page and other archive readers.

A WACZ is a zip: ``archive/*.warc.gz`` (the WARCs, byte for byte), ``indexes/index.cdx.gz``
+ ``indexes/index.idx`` (a compressed CDXJ index: gzip blocks of sorted lines plus a small
index of the blocks, so a reader loads only the blocks it needs), ``pages/pages.jsonl``
(one entry per article: url, ts, title and the extracted text, so ReplayWeb.page can list
and full-text search the articles), ``datapackage.json`` (every file with its sha256 and
size) and ``datapackage-digest.json`` (the sha256 of ``datapackage.json``).

Why not ``wacz create``: py-wacz builds the index in memory and re-reads every member to
hash it; scrapy-webarchive builds the whole zip in memory.  Here everything streams to
disk: WARCs are copied from the store into ZIP_STORED entries (already gzip, and readers
need to seek into them) while their sha256 is computed, the index is a heap merge of the
per-WARC CDXJ files under ``indexes/`` (already sorted), and zip64 is used whenever an
entry's size is unknown or large.  Memory stays flat whatever the WACZ size.

Which WARCs: those of one crawl run (``run_id``: the WARC keys in its run report), or those
holding any capture at or after ``since``, or all of the outlet's.  WARCs holding the
originals of revisit records are added, so every revisit in the package resolves.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from archive.corpus.records import parse_since
from archive.replay.pagesource import child_env, corpus_pages
from archive.replay.scratch import PageScratch
from archive.replay.waczindex import write_index
from archive.store.base import LocalStore, Store, StoreError
from archive.warc.cdxj import (
    LocalCopy,
    ensure_index,
    index_key_for,
    read_index,
    warc_keys,
)

WACZ_VERSION = "1.1.1"
CHUNK = 1 << 20
# below this much CDXJ the index merge runs in the main process (a process costs ~0.5 s)
PARALLEL_MIN_INDEX_BYTES = 4 << 20
SOFTWARE = "newsarchive"


class WaczError(RuntimeError):
    """Nothing to package, or an input the package cannot be built from."""


@dataclass
class WaczContents:
    """What went into a package (for the CLI summary and tests)."""

    path: Path
    warcs: list[str] = field(default_factory=list)  # store keys
    pages: int = 0
    index_lines: int = 0
    pages_without_capture: int = 0


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    return moment.timetuple()[:6]  # type: ignore[return-value]


def _ts14(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def _iso_from_ts14(ts: str) -> str:
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]}T{ts[8:10]}:{ts[10:12]}:{ts[12:14]}Z"


# ---- choosing the WARCs -------------------------------------------------------------------

def run_warc_keys(store: Store, outlet: str, run_id: str) -> list[str]:
    """The WARCs a crawl run published, from its run report (the run's manifest)."""
    key = f"runs/{outlet}/{run_id}.json"
    if not store.exists(key):
        raise WaczError(f"no run report {key} in {store.uri}: unknown run id for {outlet}")
    with store.open_read(key) as handle:
        report = json.load(handle)
    keys = [f["key"] for f in report.get("files", []) if str(f.get("key", "")).startswith("warc/")]
    return sorted(keys)


def _latest_ts(store: Store, warc_key: str) -> str:
    return max((line.timestamp for line in read_index(store, index_key_for(warc_key))),
               default="")


def _revisit_originals(store: Store, chosen: list[str], candidates: list[str]) -> list[str]:
    """WARCs among ``candidates`` holding the originals of revisits in ``chosen``."""
    wanted: set[tuple[str, str]] = set()  # (payload digest, url) of each revisit
    for key in chosen:
        for line in read_index(store, index_key_for(key)):
            if line.is_revisit and line.fields.get("digest"):
                wanted.add((line.fields["digest"], line.fields.get("url", "")))
    if not wanted:
        return []
    for key in chosen:  # originals inside the package: memory follows the revisits only
        for line in read_index(store, index_key_for(key)):
            if not line.is_revisit:
                wanted.discard((line.fields.get("digest"), line.fields.get("url", "")))
    digests = {digest for digest, _ in wanted}
    extra = []
    for key in candidates:
        if key in chosen or not wanted:
            continue
        found = {(line.fields.get("digest"), line.fields.get("url", ""))
                 for line in read_index(store, index_key_for(key))
                 if not line.is_revisit and line.fields.get("digest") in digests}
        # identical-payload revisits may point at another URL: match on digest alone
        hit = {w for w in wanted if w in found or w[0] in {d for d, _ in found}}
        if hit:
            extra.append(key)
            wanted -= hit
    return extra


def select_warcs(store: Store, outlet: str, run_id: str | None = None,
                 since: datetime | None = None,
                 copies: LocalCopy | None = None) -> tuple[list[str], list[str]]:
    """WARC keys for a package: the chosen ones (see the module docstring) and the extra
    ones holding originals of their revisits.  Every one gets a CDXJ index if it lacks one."""
    every = warc_keys(store, outlet)
    chosen = run_warc_keys(store, outlet, run_id) if run_id else list(every)
    missing = [k for k in chosen if not store.exists(k)]
    if missing:
        raise WaczError(f"run report lists WARCs missing from the store: {', '.join(missing)}")
    for key in sorted(set(chosen) | set(every)):
        ensure_index(store, key, copies)
    if since is not None:
        cutoff = _ts14(since)
        chosen = [k for k in chosen if _latest_ts(store, k) >= cutoff]
    if not chosen:
        what = " ".join(filter(None, [f"run {run_id}" if run_id else "",
                                      f"since {since:%Y-%m-%d %H:%M:%S}" if since else ""]))
        raise WaczError(f"no WARCs of outlet {outlet!r} in {store.uri} match {what or 'at all'}")
    return sorted(chosen), sorted(_revisit_originals(store, chosen, every))


# ---- the zip --------------------------------------------------------------------------------

class _PackageWriter:
    """Adds members to a zip on disk, hashing each one while it streams through."""

    def __init__(self, path: Path, created: datetime):
        self.zip = zipfile.ZipFile(path, "w", allowZip64=True)
        self.date_time = _zip_time(created)
        self.resources: list[dict[str, Any]] = []

    def add_stream(self, name: str, source: IO[bytes], size: int | None = None,
                   compress: bool = False) -> None:
        info = zipfile.ZipInfo(name, self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        if size is not None:
            info.file_size = size  # lets zipfile choose zip64 for entries over 4 GiB
        digest, written = hashlib.sha256(), 0
        with self.zip.open(info, "w", force_zip64=size is None) as sink:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                sink.write(chunk)
                written += len(chunk)
        if size is not None and written != size:
            raise WaczError(f"{name}: expected {size} bytes, copied {written}")
        self.resources.append({"name": Path(name).name.lower(), "path": name,
                               "hash": f"sha256:{digest.hexdigest()}", "bytes": written})

    def add_file(self, name: str, path: Path, compress: bool = False) -> None:
        with open(path, "rb") as source:
            self.add_stream(name, source, path.stat().st_size, compress)

    def add_bytes(self, name: str, data: bytes, compress: bool = True) -> None:
        self.add_stream(name, io.BytesIO(data), len(data), compress)

    def close(self) -> None:
        self.zip.close()


def _parallel(store: Store, keys: list[str], parallel: bool | None) -> bool:
    """Whether the index merge gets its own process: on a local store with more than one
    core, once the indexes are big enough to repay starting a process (~0.5 s)."""
    if parallel is not None:
        return parallel and isinstance(store, LocalStore)
    if not isinstance(store, LocalStore) or (os.cpu_count() or 1) < 2:
        return False
    size = 0
    for key in keys:
        path = store.path_for(index_key_for(key))
        size += path.stat().st_size if path.exists() else 0
    return size >= PARALLEL_MIN_INDEX_BYTES


def _raw_pages(store: Store, outlet: str, chosen: list[str], work: Path,
               wanted: PageScratch, processes: int | None) -> Path:
    """The page entries of the articles captured in the chosen WARCs (not in revisit
    originals'), in corpus order, written to a file in ``work`` as two lines each: the
    head (capture pointer, URL, fetch time) and the entry's body (every version, newest
    generation: ``archive.replay.pagesource``)."""
    keys, names = set(chosen), {Path(k).name for k in chosen}
    raw_pages = work / "pages.raw.jsonl"
    with open(raw_pages, "w", encoding="utf-8") as handle:
        for head, body in corpus_pages(store, outlet, work, processes):
            warc_key, name, offset, url, fetched = head
            if warc_key not in keys and name not in names:
                continue
            wanted.want((name, offset))
            handle.write(f"{json.dumps([name, offset, url, fetched])}\n{body}\n")
    return raw_pages


def _entry(body: str, ts: str, fetched: str | None) -> str:
    """The ``pages.jsonl`` line: the body with the capture time (and fetch time) added,
    the keys in the order readers have always seen (id, url, title, text, ts,
    fetched_at)."""
    tail = f', "ts": {json.dumps(_iso_from_ts14(ts))}'
    if fetched:
        tail += f', "fetched_at": {json.dumps(fetched)}'
    return body[:-1] + tail + "}"


def build_wacz(store: Store, outlet: str, out_path: str | os.PathLike,
               run_id: str | None = None, since: str | date | datetime | None = None,
               *, title: str | None = None) -> Path:
    """Package the outlet's WARCs (all, one run's, or those since a date) as a WACZ.

    The file appears at ``out_path`` only when complete.  Raises WaczError when nothing
    matches.  See ``package`` for the details of what went in.
    """
    return package(store, outlet, out_path, run_id=run_id, since=since, title=title).path


def package(store: Store, outlet: str, out_path: str | os.PathLike,
            run_id: str | None = None, since: str | date | datetime | None = None,
            *, title: str | None = None, parallel: bool | None = None) -> WaczContents:
    """Build the package (see ``build_wacz``).  The CDXJ merge and the corpus read are
    independent: with ``parallel`` (default: on a local store with 2+ cores and indexes
    worth it) the merge runs in a second process while the corpus files are read by
    child processes of their own (by default one per core when there are several files:
    ``archive.replay.pagesource``); ``parallel=False`` does all in this process."""
    out_path = Path(out_path)
    moment = parse_since(since)
    created = datetime.now(UTC).replace(microsecond=0)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".wacz-", dir=out_path.parent) as tmp, \
            LocalCopy(store, Path(tmp) / "warcs") as copies:
        work = Path(tmp)
        chosen, originals = select_warcs(store, outlet, run_id, moment, copies)
        keys = sorted(chosen + originals)
        if len({Path(k).name for k in keys}) != len(keys):
            raise WaczError("two WARCs share a file name; a WACZ keeps them in one folder")
        contents = WaczContents(out_path, warcs=keys)
        idx_path, cdx_path = work / "index.idx", work / "index.cdx.gz"
        captures_path = work / "captures.sqlite3"
        merge = None
        if _parallel(store, keys, parallel):
            merge = subprocess.Popen(
                [sys.executable, "-m", "archive.replay.waczindex", str(store.root),  # type: ignore[attr-defined]
                 str(idx_path), str(cdx_path), str(captures_path), *keys],
                stdout=subprocess.PIPE, text=True, env=child_env())

        # pages: corpus records first (to learn which captures to look up in the index)
        wanted = PageScratch(work / "pages.sqlite3")  # per-page bookkeeping on disk
        try:
            raw_pages = _raw_pages(store, outlet, chosen, work, wanted,
                                   None if parallel is None else 2 * parallel)
            if merge is not None:
                output, _ = merge.communicate()
                if merge.returncode != 0:
                    raise WaczError(f"the index merge failed (exit {merge.returncode})")
                contents.index_lines = int(output.strip())
            else:
                contents.index_lines = write_index(store, keys, idx_path, cdx_path,
                                                   captures_path)
        finally:
            if merge is not None and merge.poll() is None:
                merge.kill()
                merge.wait()
        wanted.load_captures(captures_path)

        pages_path = work / "pages.jsonl"
        with open(raw_pages, encoding="utf-8") as source, \
                open(pages_path, "w", encoding="utf-8") as sink:
            header = {"format": "json-pages-1.0", "id": "pages",
                      "title": title or f"{outlet} articles", "hasText": True}
            sink.write(json.dumps(header) + "\n")
            for head_line in source:
                name, offset, url, fetched = json.loads(head_line)
                body = next(source).rstrip("\n")
                ts = wanted.get((name, offset))
                if ts is None:  # the record points at no capture in this package
                    contents.pages_without_capture += 1
                    continue
                if moment is not None and ts < _ts14(moment):
                    continue  # captured before --since (its WARC also holds later captures)
                if not wanted.first(url, _iso_from_ts14(ts)):
                    continue  # a re-extraction of the same capture: one page
                sink.write(_entry(body, ts, fetched) + "\n")
                contents.pages += 1
        wanted.close()
        if contents.pages == 0:
            raise WaczError(f"no corpus records of {outlet!r} point into the selected WARCs; "
                            "pages/pages.jsonl would be empty")

        partial = work / "package.wacz"
        writer = _PackageWriter(partial, created)
        try:
            for key in keys:
                if isinstance(store, LocalStore):
                    writer.add_file(f"archive/{Path(key).name}", store.path_for(key))
                else:
                    with store.open_read(key) as source:
                        writer.add_stream(f"archive/{Path(key).name}", source)
            writer.add_file("indexes/index.cdx.gz", cdx_path)
            writer.add_file("indexes/index.idx", idx_path, compress=True)
            writer.add_file("pages/pages.jsonl", pages_path, compress=True)
            package_json = json.dumps({
                "profile": "data-package",
                "wacz_version": WACZ_VERSION,
                "title": title or f"{outlet} news archive",
                "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "software": SOFTWARE,
                "resources": writer.resources,
            }, indent=2).encode("utf-8")
            writer.add_bytes("datapackage.json", package_json)
            digest = {"path": "datapackage.json",
                      "hash": "sha256:" + hashlib.sha256(package_json).hexdigest()}
            writer.zip.writestr(zipfile.ZipInfo("datapackage-digest.json", writer.date_time),
                                json.dumps(digest, indent=2), zipfile.ZIP_DEFLATED)
        finally:
            writer.close()
        os.replace(partial, out_path)
    return contents


def wacz_key(outlet: str, label: str, created: datetime | None = None) -> str:
    """Store key for a package published to the store's ``wacz/`` folder."""
    created = created or datetime.now(UTC)
    return f"wacz/{outlet}/{created:%Y}/{created:%m}/{outlet}-{label}-{created:%Y%m%d%H%M%S}.wacz"


def publish_wacz(store: Store, outlet: str, run_id: str | None = None,
                 since: str | None = None, title: str | None = None) -> tuple[str, WaczContents]:
    """Build a package in the store's spool and publish it under ``wacz/``."""
    label = run_id or (f"since-{since}" if since else "all")
    key = wacz_key(outlet, label.replace(":", ""))
    local = Path(store.spool_dir) / key
    contents = package(store, outlet, local, run_id=run_id, since=since, title=title)
    try:
        store.publish(local, key)
    except StoreError:
        local.unlink(missing_ok=True)
        raise
    return key, contents
