"""S3Store: the Store protocol over an S3 bucket/prefix, through a local spool.

Spool, upload, verify, delete.  ``publish`` moves the closed file into the spool (which
mirrors the store layout, so a spooled file's key is its spool-relative path), writes a
sidecar ``<file>.pending.json`` (key, size, sha256, last error) and hands the file to
background uploader threads; it returns at once, so the Scrapy reactor never waits for
the network.  A file leaves the spool only after ``archive.store.s3.uploader`` has verified the
object.  When S3 is down or slow, uploads back off and retry while the crawl carries on;
whatever is still pending at ``close`` stays in the spool with its sidecar, and the next
run (``resume_pending``) or ``newsarchive sync`` uploads it.  An object is never
overwritten; finding our own object already there counts as success, so a retried upload
lands exactly once.
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import itertools
import logging
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from archive.runs.faults import pause_point
from archive.store.base import StoredObject, StoreError
from archive.store.s3.bucket import check_bucket
from archive.store.s3.config import (
    AccessDenied,
    BucketMissing,
    CredentialsError,
    ObjectLockUnavailable,
    S3Client,
    S3Options,
    StoreUnreachable,
    TransientError,
    build_client,
    error_code,
    http_status,
    parse_s3_uri,
    translate_error,
)
from archive.store.s3.spool import Spool, SpoolJob, default_spool_root  # noqa: F401
from archive.store.s3.uploader import (
    ObjectInfo,
    UploadAborted,
    Uploader,
    UploadResult,
    VerificationFailed,
)

logger = logging.getLogger(__name__)

# Failures a later attempt in the same run may cure; anything else waits for `sync`.
_RETRYABLE = (StoreUnreachable, VerificationFailed)


class S3Store:
    """A store at ``s3://bucket/prefix`` (see the module docstring for the life of a file)."""

    def __init__(self, bucket: str, prefix: str = "", *, spool: str | Path | None = None,
                 options: S3Options | None = None, create_bucket: bool | None = None,
                 object_lock_days: int | None = None, object_lock_mode: str | None = None,
                 full_checksums: bool | None = None, close_timeout: float | None = None,
                 client: S3Client | None = None, resume: bool = True):
        self.location = parse_s3_uri(f"s3://{bucket}/{prefix.strip('/')}")
        self.uri = self.location.uri
        self.options = options or S3Options.from_env(
            create_bucket=create_bucket, object_lock_days=object_lock_days,
            object_lock_mode=object_lock_mode.lower() if object_lock_mode else None,
            full_checksums=full_checksums, close_timeout=close_timeout)
        root = Path(spool).expanduser() if spool else default_spool_root()
        if spool:
            self.spool_dir = root.resolve()
        else:
            self.spool_dir = (root / self.location.bucket / self.location.prefix).resolve()
        self.spool_files = Spool(self.spool_dir)
        self.s3 = client or build_client(self.options)
        self.uploader = Uploader(self.s3, self.location, self.options)
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, SpoolJob]] = []
        self._seq = itertools.count()
        self._queued: set[str] = set()   # keys scheduled or in flight in this process
        self._in_flight = 0
        self._workers: list[threading.Thread] = []
        self._generation = 0  # bumped by close(): a straggling worker must not touch state
        self._outage = 0      # consecutive "cannot reach the endpoint" failures
        self._paused_until = 0.0  # while the endpoint is down, nobody tries before this
        self._stopping = False
        self._closing = False
        self._abort = threading.Event()
        self._ready_lock = threading.Lock()
        self._ready = False
        self._resume = resume  # the first publish also queues what earlier runs left behind
        self.list_page_size: int | None = None  # None: the server's page size
        self.uploaded: dict[str, UploadResult] = {}
        self.failures: dict[str, str] = {}   # key -> last error message, for run reports

    @classmethod
    def from_uri(cls, uri: str, **kwargs) -> S3Store:
        """``s3://bucket/prefix`` -> S3Store; a StoreError names what is wrong with the URI."""
        location = parse_s3_uri(uri)
        return cls(location.bucket, location.prefix, **kwargs)

    def __repr__(self) -> str:
        return f"S3Store({self.uri!r}, spool={str(self.spool_dir)!r})"

    # -- bucket readiness ------------------------------------------------------------------

    def check_bucket(self, s3: S3Client | None = None) -> None:
        """Head the bucket (creating it when asked) and check Object Lock when it is needed."""
        check_bucket(s3 or self.s3, self.location, self.options)

    def _ensure_ready(self) -> None:
        with self._ready_lock:
            if not self._ready:
                self.check_bucket()
                self._ready = True

    # -- spool (archive.store.s3.spool) ------------------------------------------------------

    def spool_path(self, key: str) -> Path:
        return self.spool_files.path(key)

    def pending(self) -> list[Path]:
        """Spooled files waiting for upload (from the sidecars, so it survives a crash)."""
        return self.spool_files.pending()

    def spooled_keys(self) -> list[str]:
        """Keys of every sidecar in the spool, including those whose file is already gone."""
        return self.spool_files.spooled_keys()

    def pending_objects(self) -> list[StoredObject]:
        """The pending files as StoredObjects (pending=True), for run reports."""
        return self.spool_files.pending_objects()

    def is_pending(self, key: str) -> bool:
        return self.spool_files.is_pending(key)

    # -- Store protocol --------------------------------------------------------------------

    def publish(self, local_path: Path, key: str, sha256: str | None = None) -> StoredObject:
        """Spool ``local_path`` as ``key`` and queue its upload; returns without waiting.

        Hashing a large file here costs ~0.6 s/GB on the caller's thread: writers that
        already know the sha256 should pass it.
        """
        stored, job = self.spool_files.put(local_path, key, sha256)
        self._schedule(job)
        if self._resume:
            self._resume = False
            self.resume_pending()
        return stored

    def spool(self, local_path: Path, key: str, sha256: str | None = None) -> StoredObject:
        """Put a file in the spool as pending without starting an upload (for ``sync``)."""
        return self.spool_files.put(local_path, key, sha256)[0]

    def open_read(self, key: str) -> BinaryIO:
        """The object's bytes; a file still pending in the spool is read from the spool."""
        spooled = self.spool_path(key)
        if spooled.is_file() and self.spool_files.sidecar(spooled).exists():
            return open(spooled, "rb")
        try:
            response = self.s3.client.get_object(Bucket=self.location.bucket,
                                                 Key=self.location.object_key(key))
            return response["Body"]
        except Exception as exc:
            if error_code(exc) in ("NoSuchKey", "404") or http_status(exc) == 404:
                raise FileNotFoundError(f"no object {key!r} in {self.uri}") from None
            raise translate_error(exc, what=f"read {self.uri}/{key}",
                                  bucket=self.location.bucket,
                                  endpoint_url=self.s3.endpoint_url) from None

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix`` (a directory-like prefix, as for LocalStore), sorted,
        including files still pending in the spool."""
        pending = sorted(j.key for j in self.spool_files.jobs() if _under(j.key, prefix))
        seen: set[str] = set()
        remote = (k for k in self._list_remote(prefix) if _under(k, prefix))
        for key in _merge_sorted(remote, iter(pending)):
            if key not in seen:
                seen.add(key)
                yield key

    def _list_remote(self, prefix: str) -> Iterator[str]:
        paginator = self.s3.client.get_paginator("list_objects_v2")
        config = {"PageSize": self.list_page_size} if self.list_page_size else {}
        s3_prefix = self.location.object_key(prefix) if prefix else (
            f"{self.location.prefix}/" if self.location.prefix else "")
        try:
            for page in paginator.paginate(Bucket=self.location.bucket, Prefix=s3_prefix,
                                           PaginationConfig=config):
                for item in page.get("Contents", []):
                    yield self.location.store_key(item["Key"])
        except Exception as exc:
            raise translate_error(exc, what=f"list {self.uri}/{prefix}",
                                  bucket=self.location.bucket,
                                  endpoint_url=self.s3.endpoint_url) from None

    def exists(self, key: str) -> bool:
        """True for an uploaded object or a file still pending in the spool."""
        if self.is_pending(key):
            return True
        return self.uploader.head(key) is not None

    def head(self, key: str) -> ObjectInfo | None:
        """Size, sha256 metadata and ETag of an uploaded object (None when absent)."""
        return self.uploader.head(key)

    def hash_object(self, key: str) -> str:
        """Re-read an uploaded object and return its sha256."""
        return self.uploader.hash_object(key)

    # -- background uploads ----------------------------------------------------------------

    def resume_pending(self) -> int:
        """Queue every file left pending in the spool (by a crash or an earlier run).

        The crawl calls this at start (the first ``publish`` does it too, unless the store
        was made with ``resume=False``); returns how many files were queued.
        """
        self._resume = False
        count = 0
        for sidecar in self.spool_files.sidecars():
            job = self.spool_files.read_sidecar(sidecar)
            if job is not None and self._schedule(job):
                count += 1
        return count

    def _schedule(self, job: SpoolJob, delay: float = 0.0) -> bool:
        with self._cond:
            if job.key in self._queued and delay == 0.0:
                return False
            self._queued.add(job.key)
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), job))
            self._start_workers()
            self._cond.notify()
        return True

    def _start_workers(self) -> None:
        if self._workers and not self._stopping:
            return
        self._stopping = False
        self._closing = False
        self._abort = threading.Event()
        self._workers = [threading.Thread(target=self._work, args=(self._generation,),
                                          name=f"s3-upload-{n}", daemon=True)
                         for n in range(self.options.file_workers)]
        for worker in self._workers:
            worker.start()

    def _next_job(self, generation: int) -> SpoolJob | None:
        with self._cond:
            while True:
                if self._stopping or generation != self._generation:
                    return None
                if not self._heap:
                    self._cond.wait()
                    continue
                ready_at = max(self._heap[0][0], self._paused_until)
                now = time.monotonic()
                if ready_at <= now:
                    _, _, job = heapq.heappop(self._heap)
                    self._in_flight += 1
                    return job
                self._cond.wait(timeout=ready_at - now)

    def _work(self, generation: int) -> None:
        while (job := self._next_job(generation)) is not None:
            try:
                self._process(job)
            except Exception:  # never let a worker die silently
                logger.exception("unexpected error uploading %s", job.key)
                self._fail(job, "unexpected error (see the log)", retry=False)
            finally:
                with self._cond:
                    if generation == self._generation:
                        self._in_flight -= 1
                    self._cond.notify_all()

    def _process(self, job: SpoolJob) -> None:
        try:
            handle = open(job.path, "rb")
        except FileNotFoundError:
            self._orphan_sidecar(job)
            return
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                # Another uploader (a `sync`, or a crawl) has it: look again shortly; by
                # then it is either ours to upload or gone because it arrived.
                self._fail(job, "being uploaded by another process", retry=True, delay=1.0,
                           record=False)
                return
            if not job.path.exists():  # uploaded and removed while we waited for the lock
                self._orphan_sidecar(job)
                return
            job.attempts += 1
            try:
                self._ensure_ready()
                pause_point("s3_upload")
                result = self.uploader.upload(job.path, job.key, job.sha256, abort=self._abort)
            except UploadAborted as exc:
                self._fail(job, str(exc), retry=False)
                return
            except _RETRYABLE as exc:
                self._fail(job, str(exc), retry=True,
                           unreachable=isinstance(exc, StoreUnreachable)
                           and not isinstance(exc, TransientError))
                return
            except StoreError as exc:
                self._fail(job, str(exc), retry=False)
                return
            pause_point("s3_uploaded")
            job.path.unlink()
        with contextlib.suppress(FileNotFoundError):
            self.spool_files.sidecar(job.path).unlink()
        logger.info("uploaded %s/%s (%d bytes, %s)", self.uri, job.key, job.size,
                    "already present" if result.already_present
                    else f"verified by {result.verified_by}")
        self._done(job, result)

    def _orphan_sidecar(self, job: SpoolJob) -> None:
        """A sidecar whose file is gone: fine if the object is there (crash after delete)."""
        try:
            info = self.uploader.head(job.key)
        except StoreError as exc:
            self._fail(job, str(exc), retry=isinstance(exc, _RETRYABLE))
            return
        if info is not None and info.sha256 == job.sha256 and info.size == job.size:
            with contextlib.suppress(FileNotFoundError):
                self.spool_files.sidecar(job.path).unlink()
            self._done(job, UploadResult(key=job.key, size=job.size, sha256=job.sha256,
                                         etag=info.etag, verified_by="existing",
                                         already_present=True))
        else:
            self._fail(job, f"the spool file {job.path} is missing and the object is not "
                            "in the store", retry=False)

    def _done(self, job: SpoolJob, result: UploadResult | None) -> None:
        with self._cond:
            self._queued.discard(job.key)
            if result is not None:
                self.uploaded[job.key] = result
                self.failures.pop(job.key, None)
                self._outage, self._paused_until = 0, 0.0

    def _fail(self, job: SpoolJob, message: str, *, retry: bool, unreachable: bool = False,
              delay: float | None = None, record: bool = True) -> None:
        """Note a failed attempt in the sidecar (we hold the file's lock) and maybe retry."""
        with contextlib.suppress(OSError):
            if record and job.path.exists():
                self.spool_files.write_sidecar(job, error=message)
        with self._cond:
            self.failures[job.key] = message
            if self._stopping:
                return
            if unreachable and self._closing:
                # Shutting down and the endpoint cannot be reached: don't spend the
                # deadline on one doomed attempt per file; all stay pending for `sync`.
                for _, _, other in self._heap:
                    self._queued.discard(other.key)
                self._heap.clear()
                self._queued.discard(job.key)
                self._cond.notify_all()
                retry = False
            if unreachable:
                # One pause for the whole queue, so an outage costs one probe per backoff
                # period instead of one per spooled file.
                self._outage += 1
                pause = min(self.options.max_backoff, 2.0 ** min(self._outage - 1, 10))
                self._paused_until = time.monotonic() + pause * random.uniform(0.5, 1.0)
            if retry:
                if delay is None:
                    delay = min(self.options.max_backoff, 2.0 ** min(job.attempts - 1, 10))
                    delay *= random.uniform(0.5, 1.0)
                logger.log(logging.WARNING if job.attempts <= 1 else logging.INFO,
                           "upload of %s failed (%s); retrying in %.0f s", job.key, message,
                           delay)
                heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), job))
                self._cond.notify()
                return
            self._queued.discard(job.key)
        logger.warning("upload of %s failed; it stays in the spool %s for `newsarchive sync`: "
                       "%s", job.key, self.spool_dir, message)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued upload is done or has failed; True when nothing is left.

        Files waiting out a backoff are tried again at once; server errors (5xx, SlowDown)
        keep being retried with backoff until the deadline, but once the endpoint cannot be
        reached at all the flush stops trying and leaves the rest pending.
        """
        deadline = time.monotonic() + (self.options.close_timeout if timeout is None
                                       else timeout)
        with self._cond:
            if not self._workers:
                return True
            self._closing = True
            self._paused_until = 0.0
            now = time.monotonic()  # files waiting out a backoff get their next try now
            self._heap = [(min(ready, now), seq, job) for ready, seq, job in self._heap]
            heapq.heapify(self._heap)
            self._cond.notify_all()
            try:
                while self._heap or self._in_flight:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(timeout=remaining)
                return True
            finally:
                self._closing = False

    def close(self, timeout: float | None = None) -> None:
        """Wait (up to ``close_timeout``) for uploads; whatever failed stays pending."""
        finished = self.flush(timeout)
        with self._cond:
            self._stopping = True
            self._abort.set()
            self._heap.clear()
            self._cond.notify_all()
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.join(timeout=5.0 if finished else 1.0)
        with self._cond:
            self._queued.clear()
            self._in_flight = 0
            self._generation += 1
        left = len(self.pending())
        if left:
            logger.warning("%d file(s) still pending upload to %s; they stay in %s and are "
                           "uploaded by the next crawl or `newsarchive sync`", left, self.uri,
                           self.spool_dir)


def _under(key: str, prefix: str) -> bool:
    if not prefix:
        return True
    prefix = prefix.rstrip("/")
    return key == prefix or key.startswith(prefix + "/")


def _merge_sorted(a: Iterator[str], b: Iterator[str]) -> Iterator[str]:
    return heapq.merge(a, b)


def check_reachable(store, timeout: float = 5.0) -> bool:
    """Whether the store answers now; the crawl calls this at start to warn early.

    True for local stores.  For S3: False (with a warning logged) when the endpoint is down,
    slow or failing, so the crawl can carry on into the spool; raises the StoreError for
    problems a retry cannot cure (bucket missing, bad credentials, access denied, Object
    Lock unavailable).
    """
    if not isinstance(store, S3Store):
        return True
    quick = build_client(store.options, connect_timeout=timeout, read_timeout=timeout,
                         max_attempts=1)
    try:
        store.check_bucket(quick)
    except StoreUnreachable as exc:
        logger.warning("%s; the crawl continues and spools to %s", exc, store.spool_dir)
        return False
    except (BucketMissing, CredentialsError, AccessDenied, ObjectLockUnavailable):
        raise
    return True
