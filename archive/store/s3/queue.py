"""The S3 store's background uploads: a delay-ordered queue and a few worker threads.

Spooled files are uploaded off the caller's thread (the Scrapy reactor never waits for the
network).  A failed attempt is written to the file's sidecar and retried with exponential
backoff; when the endpoint cannot be reached at all, one pause holds the whole queue, so an
outage costs one probe per backoff period instead of one per file.  ``flush``/``close`` give
the queue a deadline; whatever is left stays in the spool for the next run or ``sync``.

A mixin of ``S3Store``: it uses the store's ``spool_files``, ``uploader``, ``options`` and
``_ensure_ready`` and keeps its own fields (set up by ``_init_queue``).
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
from pathlib import Path
from typing import TYPE_CHECKING

from archive.store.base import StoreError
from archive.store.s3.config import StoreUnreachable, TransientError
from archive.store.s3.spool import Spool, SpoolJob
from archive.store.s3.uploader import UploadAborted, UploadResult, VerificationFailed

if TYPE_CHECKING:
    from archive.store.s3.config import S3Options
    from archive.store.s3.uploader import Uploader

logger = logging.getLogger(__name__)

# Failures a later attempt in the same run may cure; anything else waits for `sync`.
_RETRYABLE = (StoreUnreachable, VerificationFailed)


class UploadQueue:
    """Background upload of spooled files (see the module docstring)."""

    if TYPE_CHECKING:
        uri: str
        spool_dir: Path
        spool_files: Spool
        uploader: Uploader
        options: S3Options

        def _ensure_ready(self) -> None: ...

        def pending(self) -> list[Path]: ...

    def _init_queue(self, resume: bool) -> None:
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
        self._resume = resume  # the first publish also queues what earlier runs left behind
        self.uploaded: dict[str, UploadResult] = {}
        self.failures: dict[str, str] = {}   # key -> last error message, for run reports

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
