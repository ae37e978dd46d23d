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

import heapq
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from archive.store.base import StoredObject
from archive.store.s3.bucket import check_bucket
from archive.store.s3.config import (
    AccessDenied,
    BucketMissing,
    CredentialsError,
    ObjectLockUnavailable,
    S3Client,
    S3Options,
    StoreUnreachable,
    build_client,
    error_code,
    http_status,
    parse_s3_uri,
    translate_error,
)
from archive.store.s3.queue import UploadQueue
from archive.store.s3.spool import Spool, SpoolJob, default_spool_root  # noqa: F401
from archive.store.s3.uploader import (
    ObjectInfo,
    Uploader,
)

logger = logging.getLogger(__name__)



class S3Store(UploadQueue):
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
        self._init_queue(resume)
        self._ready_lock = threading.Lock()
        self._ready = False
        self.list_page_size: int | None = None  # None: the server's page size

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
        return self._get(key)

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes of the object from ``offset``: one ranged GET, not the object."""
        if length <= 0:
            return b""
        with self._get(key, f"bytes={offset}-{offset + length - 1}", offset) as body:
            return body.read(length)

    def _get(self, key: str, byte_range: str | None = None, offset: int = 0) -> BinaryIO:
        spooled = self.spool_path(key)
        if spooled.is_file() and self.spool_files.sidecar(spooled).exists():
            handle = open(spooled, "rb")
            handle.seek(offset)
            return handle
        args = {"Bucket": self.location.bucket, "Key": self.location.object_key(key)}
        if byte_range:
            args["Range"] = byte_range
        try:
            return self.s3.client.get_object(**args)["Body"]
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
