"""Recovery at the start of a run: what a dead run left behind is published, not lost.

A run killed with ``kill -9`` (OOM, reboot, ``timeout``) leaves ``.open`` WARC and corpus
files in the spool, maybe closed files whose publication never happened (an S3 spool file
without its sidecar) and a run journal (``archive.state.journal``); its state writes never
happened (``archive.state.deferred``).  ``recover`` finds the files of dead runs, and for
each

- WARC: cuts it back to its last complete (response, request) pair, closes it (rename),
  publishes it and its CDXJ index;
- corpus file: keeps the records whose WARC record survived, closes and publishes it;

then writes the facts those files hold into the state (articles and their URL, payload
digests), so the next crawl neither fetches them again nor writes revisits pointing at
anything unpublished.  The files are handed to the current run (``adopt``), which lists
them in its manifest and journal: if it dies too, the next run finishes the job.

The caller must hold the outlet's run lock in a single-process crawl; in a shared crawl
the journals tell a dead worker's files from a live one's (``find_dead`` in
``archive.state.leftovers``, which finds what dead runs left; this module repairs it).
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import json
import logging
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warcio.exceptions import ArchiveLoadFailed

from archive.state.base import ArticleRecord, DigestRecord, StateStore
from archive.state.journal import journal_dir
from archive.state.leftovers import CORPUS_SUFFIX, OPEN, WARC_SUFFIX, find_dead
from archive.state.schedule import parse_datetime
from archive.store.base import Store, StoredObject, StoreError, sha256_file
from archive.store.faults import pause_point
from archive.warc.salvage import complete_lines, valid_warc_length

logger = logging.getLogger(__name__)

# What reading a WARC back may raise that says the file (or the store) is bad, not the
# code: I/O and gzip errors (BadGzipFile is an OSError), a cut gzip stream (EOFError),
# a corrupt deflate stream, a record warcio cannot parse, undecodable header bytes, and
# the store's own errors.  Anything else is a bug and is raised.
WARC_READ_ERRORS = (OSError, EOFError, zlib.error, ArchiveLoadFailed, UnicodeDecodeError,
                    StoreError)


@dataclass
class RecoveryResult:
    runs: list[str] = field(default_factory=list)  # run ids (stems) of the dead runs
    warcs: int = 0  # WARC files closed or published for a dead run
    records_dropped: int = 0  # WARC bytes cut from the end of cut files
    articles: int = 0  # corpus records published for a dead run
    articles_dropped: int = 0  # corpus records whose WARC record did not survive
    articles_elsewhere: int = 0  # corpus records another worker had archived meanwhile
    files: list[StoredObject] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def recovered(self) -> int:
        return self.articles

    def to_dict(self) -> dict[str, Any]:
        return {"runs": self.runs, "warcs": self.warcs, "articles": self.articles,
                "articles_dropped": self.articles_dropped,
                "articles_archived_elsewhere": self.articles_elsewhere,
                "warc_bytes_dropped": self.records_dropped, "problems": self.problems}


class _Recovery:
    def __init__(self, store: Store, outlet: str, state: StateStore | None,
                 is_article_url: Callable[[str], bool] | None,
                 article_key: Callable[[str], str] | None):
        self.store = store
        self.spool = Path(store.spool_dir)
        self.outlet = outlet
        self.state = state
        self.is_article_url = is_article_url
        self.article_key = article_key
        self.result = RecoveryResult()
        self.warc_sizes: dict[str, int] = {}

    # ---- WARCs ---------------------------------------------------------------------------

    def warc(self, key: str) -> None:
        open_path, final = self.spool / (key + OPEN), self.spool / key
        if open_path.is_file():
            size = open_path.stat().st_size
            good = valid_warc_length(open_path)
            if good == 0:
                open_path.unlink()
                self.result.records_dropped += size
                logger.warning("recovery: %s held no complete record; removed", open_path)
                return
            with open(open_path, "r+b") as handle:
                handle.truncate(good)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(open_path, final)
            self.result.records_dropped += size - good
            logger.warning("recovery: closed %s at %d of %d bytes", key, good, size)
        stored = self.publish(key)
        if stored is None:
            return
        self.result.warcs += 1
        self.warc_sizes[key] = stored.size
        self.index(key)
        self.digests(key)

    def publish(self, key: str) -> StoredObject | None:
        """Publish the spool file of ``key`` (if not done yet); its StoredObject or None."""
        final = self.spool / key
        spool_files = getattr(self.store, "spool_files", None)
        if final.is_file():
            if spool_files is None:  # local store: in place, closed is published
                stored = self.store.publish(final, key)
            elif spool_files.sidecar(final).exists():
                job = spool_files.read_sidecar(spool_files.sidecar(final))
                stored = StoredObject(key, final.stat().st_size,
                                      job.sha256 if job else sha256_file(final), pending=True)
            else:
                stored = self.store.publish(final, key)
        else:
            head = getattr(self.store, "head", None)
            info = head(key) if head is not None else None
            if info is not None and info.sha256:
                stored = StoredObject(key, info.size, info.sha256)
            elif self.store.exists(key):
                with self.store.open_read(key) as handle:
                    data = handle.read()
                import hashlib

                stored = StoredObject(key, len(data), hashlib.sha256(data).hexdigest())
            else:
                return None  # journalled but never created
        if all(known.key != key for known in self.result.files):
            self.result.files.append(stored)
        return stored

    def index(self, key: str) -> None:
        from archive.warc.cdxj import index_key_for, index_warc

        index_key = index_key_for(key)
        if (self.spool / index_key).is_file():  # indexed, maybe never handed to the store
            self.publish(index_key)
            return
        if self.store.exists(index_key):
            return
        source = self.spool / key
        if not source.is_file():
            return  # uploaded already; its index is rebuilt by `newsarchive index` if lost
        try:
            index_warc(source, self.spool / index_key, filename=Path(key).name)
        except Exception as exc:  # the WARC matters more than its index
            self.result.problems.append(f"could not index {key}: {exc}")
            return
        stored = self.publish(index_key)
        if stored is None:
            self.result.problems.append(f"could not publish the index of {key}")

    def digests(self, key: str) -> None:
        if self.state is None:
            return
        from archive.state.captures import records as warc_records

        records = []
        try:
            with self._open(key) as raw:
                for capture in warc_records(raw, key, 0):
                    if (capture.revisit or not capture.digest or capture.status != "200"
                            or not capture.record_id):
                        continue
                    records.append(DigestRecord(capture.digest, capture.url, capture.date,
                                                capture.record_id, key, capture.offset,
                                                self.outlet))
        except WARC_READ_ERRORS as exc:  # the digests read so far are still recorded
            self.result.problems.append(f"{key}: could not read records back ({exc})")
        self.state.record_digests(records)

    def _open(self, key: str):
        local = self.spool / key
        return open(local, "rb") if local.is_file() else self.store.open_read(key)

    # ---- corpus --------------------------------------------------------------------------

    def corpus(self, key: str) -> None:
        open_path, final = self.spool / (key + OPEN), self.spool / key
        records: list[dict] = []
        if open_path.is_file():
            lines = []
            for line in complete_lines(open_path):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if not self.survived(record):
                    self.result.articles_dropped += 1
                elif self.archived_elsewhere(record):
                    self.result.articles_elsewhere += 1
                else:
                    lines.append(line)
                    records.append(record)
            if lines:
                partial = final.with_name(final.name + ".recovering")
                with gzip.open(partial, "wb", compresslevel=6) as out:
                    for line in lines:
                        out.write(line.encode("utf-8") + b"\n")
                with open(partial, "rb") as handle:
                    os.fsync(handle.fileno())
                os.replace(partial, final)
            open_path.unlink()
            if not lines:
                return
        elif final.is_file() or self.store.exists(key):
            with self._open(key) as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
                records = [json.loads(line) for line in text if line.strip()]
        stored = self.publish(key)
        if stored is None:
            return
        self.result.articles += len(records)
        self.articles(records)

    def archived_elsewhere(self, record: dict) -> bool:
        """True when the state already has this version of the article: another worker of
        a shared crawl took over the dead worker's requests and archived it."""
        if self.state is None or not isinstance(record.get("id"), str):
            return False
        from archive.outlet.urls import key_of_id

        info = self.state.article_info(self.outlet, key_of_id(record["id"], self.outlet))
        return info is not None and info.content_sha256 == record.get("content_sha256") \
            and info.version >= int(record.get("version") or 1)

    def survived(self, record: dict) -> bool:
        """True when the WARC record a corpus record points at is in a published WARC."""
        pointer = record.get("warc") or {}
        key = pointer.get("key")
        if not isinstance(key, str):
            return False
        try:
            end = int(pointer.get("offset")) + int(pointer.get("length"))
        except (TypeError, ValueError):
            return False
        if key in self.warc_sizes:
            return end <= self.warc_sizes[key]
        return (self.spool / key).is_file() or self.store.exists(key)

    def articles(self, records: Iterable[dict]) -> None:
        if self.state is None:
            return
        from archive.outlet.urls import key_of_id

        rows: list[ArticleRecord] = []
        for record in records:
            fetched = parse_datetime(record.get("fetched_at"))
            rid, url, sha = record.get("id"), record.get("url"), record.get("content_sha256")
            if not (isinstance(rid, str) and isinstance(url, str) and fetched and sha):
                continue
            version = int(record.get("version") or 1)
            published = record.get("published") if isinstance(record.get("published"),
                                                              str) else None
            key = key_of_id(rid, self.outlet)
            rows.append(ArticleRecord(key, url, sha, version, fetched, published))
            if self.article_key is not None and self.is_article_url is not None:
                alias = self.article_key(url)
                if alias != key and self.is_article_url(url):
                    rows.append(ArticleRecord(alias, url, sha, version, fetched, published))
        self.state.record_articles(self.outlet, rows)


def recover(store: Store, store_uri: str, outlet: str, state: StateStore | None = None, *,
            is_article_url: Callable[[str], bool] | None = None,
            article_key: Callable[[str], str] | None = None,
            adopt: Callable[[str], None] | None = None,
            own: Path | None = None) -> RecoveryResult:
    """Recover the files of dead runs of ``outlet``; see the module docstring.

    ``adopt(key)`` is called for every file before the dead run's journal is removed, so
    the current run's journal names it from then on.
    """
    with _recovery_lock(store_uri, outlet):  # workers of a shared crawl start together
        return _recover(store, store_uri, outlet, state, is_article_url, article_key, adopt,
                        own)


@contextmanager
def _recovery_lock(store_uri: str, outlet: str) -> Iterator[None]:
    """One recovery of an outlet at a time on this machine (the run lock covers single
    runs; workers of a shared crawl take no run lock)."""
    folder = journal_dir(store_uri) / outlet
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".recovery.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_size == 0:  # say what it is (and leave no empty file around)
            with contextlib.suppress(OSError):
                os.write(fd, b"newsarchive: held while a run recovers a dead run's files\n")
        yield
    finally:
        os.close(fd)


def _recover(store: Store, store_uri: str, outlet: str, state: StateStore | None,
             is_article_url: Callable[[str], bool] | None,
             article_key: Callable[[str], str] | None,
             adopt: Callable[[str], None] | None, own: Path | None) -> RecoveryResult:
    keys, dead, others_live = find_dead(store, store_uri, outlet, own)
    job = _Recovery(store, outlet, state, is_article_url, article_key)
    if not keys and not dead:
        return job.result
    job.result.runs = sorted({entry.stem for entry in dead}) or ["unknown"]
    for key in keys:
        if adopt is not None:
            adopt(key)
    for key in keys:
        if key.endswith(WARC_SUFFIX):
            try:
                job.warc(key)
            except OSError as exc:
                job.result.problems.append(f"{key}: {exc}")
    for key in keys:
        if key.endswith(".cdxj") and (job.spool / key).is_file():
            job.publish(key)  # an index spooled without its sidecar
    pause_point("recovering")
    for key in keys:
        if key.endswith(CORPUS_SUFFIX):
            try:
                job.corpus(key)
            except (OSError, ValueError) as exc:
                job.result.problems.append(f"{key}: {exc}")
    if not others_live:  # a live worker's half-written index or report is not ours
        _remove_partials(Path(store.spool_dir), outlet)
    for entry in dead:
        entry.path.unlink(missing_ok=True)
    logger.warning("recovered %d articles and %d WARC files of dead run(s) %s",
                   job.result.articles, job.result.warcs, ", ".join(job.result.runs))
    return job.result


def _remove_partials(spool: Path, outlet: str) -> None:
    """Half-written indexes and reports of dead runs: derived data, written again."""
    for top in ("indexes", "runs"):
        folder = spool / top / outlet
        if folder.is_dir():
            for path in folder.rglob("*" + OPEN):
                path.unlink(missing_ok=True)
