"""Upload one closed file to S3, never overwriting, and prove it arrived intact.

Why not ``boto3.upload_file``: it cannot make the write conditional (``If-None-Match``), does
not send a Content-MD5 per part, and does not tell us whether what the server stored is what
we sent.  This module does one object at a time, synchronously, with the parts of a
multipart upload running on a shared thread pool:

1. HEAD the key.  Present with our sha256 -> done (an interrupted earlier attempt finished);
   present with anything else -> ``ObjectConflict`` (never overwritten).
2. PUT (small files) or a multipart upload (``part_size`` parts, read with ``os.pread`` so
   only the parts in flight are in memory).  Every request carries a checksum of its body
   that the server checks, so bytes damaged on the way are rejected; the write is
   conditional (``If-None-Match: *``).  The sha256 goes into the metadata
   (``x-amz-meta-sha256``).
3. Verify: HEAD must show our size and sha256, and a checksum the server computed over what
   it stored must equal the one we predict.  Two integrity modes:

   - ``md5`` (default for S3-compatible servers): Content-MD5 on every request; the ETag
     must be the MD5 (PUT) or ``md5(part md5s)-N`` (multipart), as AWS, MinIO, Ceph and
     SeaweedFS compute it.  Works on every S3 implementation.
   - ``crc32`` (AWS, or ``NEWSARCHIVE_S3_FULL_CHECKSUMS=1``): S3 additional checksums
     (``x-amz-checksum-crc32`` per request, COMPOSITE for multipart), compared with the
     ``ChecksumCRC32`` a HEAD returns.  ~5x cheaper in CPU than MD5, and unaffected by
     SSE-KMS ETags, but only servers with the 2022 checksum API support it.

   When the server's answer follows neither scheme, the object is re-read and hashed
   instead; ``verify="reread"`` always re-reads.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
import zlib
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from archive.store.base import StoreError
from archive.store.s3.config import (
    MiB,
    ObjectConflict,
    S3Client,
    S3Location,
    S3Options,
    TransientError,
    error_code,
    http_status,
    translate_error,
)

logger = logging.getLogger(__name__)

MAX_PARTS = 10_000
READ_CHUNK = 4 * MiB
LOCKED_PREFIXES = ("warc/",)  # Object Lock is for the source of truth; indexes get rebuilt

_CONTENT_TYPES = (
    (".warc.gz", "application/warc"),
    (".warc", "application/warc"),
    (".wacz", "application/wacz"),
    (".cdxj", "text/plain"),
    (".json", "application/json"),
    (".jsonl", "application/jsonl"),
    (".gz", "application/gzip"),
    (".parquet", "application/vnd.apache.parquet"),
)


class UploadAborted(StoreError):
    """The store is shutting down; the file stays in the spool."""


class VerificationFailed(StoreError):
    """What the server stored differs from the local file (the bad object was removed)."""


@dataclass(frozen=True)
class ObjectInfo:
    """What a HEAD tells us about one object."""

    key: str            # store-relative key
    size: int
    sha256: str | None  # from x-amz-meta-sha256; None for objects newsarchive did not write
    etag: str
    version_id: str | None = None
    crc32: str | None = None  # ChecksumCRC32 (only when asked for with checksum=True)


@dataclass(frozen=True)
class UploadResult:
    key: str
    size: int
    sha256: str
    etag: str
    verified_by: str          # "etag", "checksum", "reread" or "existing"
    already_present: bool = False
    version_id: str | None = None


def content_type_for(key: str) -> str:
    for suffix, kind in _CONTENT_TYPES:
        if key.endswith(suffix):
            return kind
    return "application/octet-stream"


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _etag(value: str | None) -> str:
    return (value or "").strip('"').lower()


def _crc32(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


@dataclass(frozen=True)
class _Sent:
    """What one upload sent and what the server answered, for verification."""

    etag: str              # as returned by PUT / CompleteMultipartUpload
    expected_etag: str     # what the MD5s predict ("" in crc32 mode)
    checksum: str | None   # ChecksumCRC32 returned ("" / None in md5 mode)
    expected_checksum: str  # what the CRCs predict ("" in md5 mode)
    version_id: str | None


class Uploader:
    """Uploads files into one bucket/prefix; thread-safe, shares one part pool."""

    def __init__(self, s3: S3Client, location: S3Location, options: S3Options,
                 executor: ThreadPoolExecutor | None = None):
        self.s3 = s3
        self.client = s3.client
        self.location = location
        self.options = options
        self._own_executor = executor is None
        self.executor = executor or ThreadPoolExecutor(
            max_workers=options.concurrency, thread_name_prefix="s3-part")
        self.conditional_writes = True  # switched off if the server rejects If-None-Match
        self.integrity = "crc32" if options.checksums_for(s3.is_aws) else "md5"

    # -- helpers ---------------------------------------------------------------------------

    def _what(self, action: str, key: str) -> str:
        return f"{action} {self.location.uri.rstrip('/')}/{key}"

    def _error(self, exc: BaseException, action: str, key: str) -> StoreError:
        return translate_error(exc, what=self._what(action, key), bucket=self.location.bucket,
                               endpoint_url=self.s3.endpoint_url)

    def close(self) -> None:
        if self._own_executor:
            self.executor.shutdown(wait=True, cancel_futures=True)

    def head(self, key: str, checksum: bool = False) -> ObjectInfo | None:
        """The object's size, sha256 metadata and ETag, or None when there is no such key."""
        from botocore.exceptions import ClientError

        extra = {"ChecksumMode": "ENABLED"} if checksum else {}
        try:
            response = self.client.head_object(Bucket=self.location.bucket,
                                               Key=self.location.object_key(key), **extra)
        except ClientError as exc:
            if http_status(exc) == 404 or error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._error(exc, "check", key) from None
        except Exception as exc:
            raise self._error(exc, "check", key) from None
        metadata = {k.lower(): v for k, v in (response.get("Metadata") or {}).items()}
        return ObjectInfo(key=key, size=int(response["ContentLength"]),
                          sha256=(metadata.get("sha256") or "").lower() or None,
                          etag=_etag(response.get("ETag")),
                          version_id=response.get("VersionId"),
                          crc32=response.get("ChecksumCRC32"))

    def hash_object(self, key: str) -> str:
        """Re-read the object and return its sha256 (the deep check)."""
        try:
            body = self.client.get_object(Bucket=self.location.bucket,
                                          Key=self.location.object_key(key))["Body"]
            digest = hashlib.sha256()
            with body:
                for chunk in body.iter_chunks(READ_CHUNK):
                    digest.update(chunk)
            return digest.hexdigest()
        except Exception as exc:
            raise self._error(exc, "read back", key) from None

    def _same_content(self, info: ObjectInfo, size: int, sha256: str) -> bool:
        if info.size != size:
            return False
        if info.sha256 is not None:
            return info.sha256 == sha256
        # An object without our metadata: only its bytes can say whether it is ours.
        return self.hash_object(info.key) == sha256

    def _existing(self, key: str, size: int, sha256: str) -> UploadResult | None:
        info = self.head(key)
        if info is None:
            return None
        if self._same_content(info, size, sha256):
            return UploadResult(key=key, size=size, sha256=sha256, etag=info.etag,
                                verified_by="existing", already_present=True,
                                version_id=info.version_id)
        raise ObjectConflict(
            f"{self._what('upload', key)}: a different object already exists there "
            f"({info.size} bytes, sha256 {info.sha256 or 'unknown'}; ours: {size} bytes, "
            f"sha256 {sha256}); it is never overwritten, the local file stays in the spool")

    def _object_args(self, key: str, sha256: str) -> dict[str, Any]:
        args: dict[str, Any] = {
            "Bucket": self.location.bucket,
            "Key": self.location.object_key(key),
            "Metadata": {"sha256": sha256},
            "ContentType": content_type_for(key),
        }
        days = self.options.object_lock_days
        if days and key.startswith(LOCKED_PREFIXES):
            args["ObjectLockMode"] = self.options.object_lock_mode.upper()
            args["ObjectLockRetainUntilDate"] = datetime.now(UTC) + timedelta(days=days)
        return args

    def _conditional(self) -> dict[str, str]:
        return {"IfNoneMatch": "*"} if self.conditional_writes else {}

    def _rejects_condition(self, exc: BaseException) -> bool:
        """True when the server does not implement If-None-Match (we fall back to HEAD)."""
        return error_code(exc) == "NotImplemented" or http_status(exc) == 501

    # -- the upload ------------------------------------------------------------------------

    def upload(self, path: Path, key: str, sha256: str, *,
               abort: threading.Event | None = None) -> UploadResult:
        """Upload ``path`` as ``key`` unless it is already there; verify; never overwrite.

        Raises ObjectConflict (permanent), StoreUnreachable (retry later), other StoreErrors.
        """
        from botocore.exceptions import ClientError

        size = os.path.getsize(path)
        existing = self._existing(key, size, sha256)
        if existing is not None:
            return existing
        for _attempt in range(2):
            if abort is not None and abort.is_set():
                raise UploadAborted(f"upload of {key} interrupted by shutdown")
            try:
                if size < self.options.multipart_threshold:
                    sent = self._put(path, key, sha256, size)
                else:
                    sent = self._multipart(path, key, sha256, size, abort)
                break
            except ClientError as exc:
                if http_status(exc) == 412 or error_code(exc) == "PreconditionFailed":
                    # Someone (an earlier attempt, a concurrent sync) wrote it meanwhile.
                    existing = self._existing(key, size, sha256)
                    if existing is not None:
                        return existing
                    raise TransientError(
                        f"{self._what('upload', key)}: conditional write refused but no "
                        "object found; will retry") from None
                if self.conditional_writes and self._rejects_condition(exc):
                    logger.info("%s does not support conditional writes; relying on HEAD",
                                self.s3.endpoint_url)
                    self.conditional_writes = False
                    continue
                raise self._error(exc, "upload", key) from None
            except StoreError:
                raise
            except Exception as exc:
                raise self._error(exc, "upload", key) from None
        return self._verify(key, size, sha256, sent)

    def _body_checksum(self, data: bytes) -> tuple[dict[str, str], bytes]:
        """The request argument that lets the server check ``data``, and the raw digest."""
        if self.integrity == "crc32":
            crc = _crc32(data)
            return {"ChecksumCRC32": _b64(crc)}, crc
        md5 = hashlib.md5(data).digest()
        return {"ContentMD5": _b64(md5)}, md5

    def _put(self, path: Path, key: str, sha256: str, size: int) -> _Sent:
        data = Path(path).read_bytes()
        if len(data) != size:
            raise StoreError(f"{path} changed while being uploaded")
        checksum, digest = self._body_checksum(data)
        response = self.s3.data_client.put_object(Body=data, **checksum,
                                                  **self._object_args(key, sha256),
                                                  **self._conditional())
        md5_mode = self.integrity == "md5"
        return _Sent(etag=_etag(response.get("ETag")),
                     expected_etag=digest.hex() if md5_mode else "",
                     checksum=response.get("ChecksumCRC32"),
                     expected_checksum="" if md5_mode else _b64(digest),
                     version_id=response.get("VersionId"))

    def part_size_for(self, size: int) -> int:
        """The configured part size, grown (in whole MiB) when a file needs > 10,000 parts."""
        part = self.options.part_size
        if size > part * MAX_PARTS:
            part = -(-size // MAX_PARTS)
            part = -(-part // MiB) * MiB
        return part

    def _multipart(self, path: Path, key: str, sha256: str, size: int,
                   abort: threading.Event | None) -> _Sent:
        bucket, object_key = self.location.bucket, self.location.object_key(key)
        part_size = self.part_size_for(size)
        extra = {"ChecksumAlgorithm": "CRC32"} if self.integrity == "crc32" else {}
        created = self.client.create_multipart_upload(**self._object_args(key, sha256), **extra)
        upload_id = created["UploadId"]
        fd = os.open(path, os.O_RDONLY)
        futures: list[Future] = []
        completed = False
        try:
            count = -(-size // part_size)
            for number in range(1, count + 1):
                offset = (number - 1) * part_size
                futures.append(self.executor.submit(
                    self._upload_part, fd, offset, min(part_size, size - offset), number,
                    bucket, object_key, upload_id, abort))
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for future in futures:
                if future.done() and future.exception() is not None:
                    raise future.exception()  # type: ignore[misc]
            parts = [future.result() for future in futures]
            digests = b"".join(digest for _, _, digest in parts)
            listed = [{"PartNumber": n, "ETag": etag} for n, etag, _ in parts]
            if self.integrity == "crc32":
                for entry, (_, _, digest) in zip(listed, parts, strict=True):
                    entry["ChecksumCRC32"] = _b64(digest)
            response = self.client.complete_multipart_upload(
                Bucket=bucket, Key=object_key, UploadId=upload_id,
                MultipartUpload={"Parts": listed}, **self._conditional())
            completed = True
            md5_mode = self.integrity == "md5"
            return _Sent(
                etag=_etag(response.get("ETag")),
                expected_etag=f"{hashlib.md5(digests).hexdigest()}-{len(parts)}"
                if md5_mode else "",
                checksum=response.get("ChecksumCRC32"),
                expected_checksum="" if md5_mode
                else f"{_b64(_crc32(digests))}-{len(parts)}",
                version_id=response.get("VersionId"))
        finally:
            if not completed:
                for future in futures:
                    future.cancel()
                wait(futures)
                self._abort_multipart(object_key, upload_id)
            os.close(fd)

    def _upload_part(self, fd: int, offset: int, length: int, number: int, bucket: str,
                     object_key: str, upload_id: str,
                     abort: threading.Event | None) -> tuple[int, str, bytes]:
        if abort is not None and abort.is_set():
            raise UploadAborted(f"upload of {object_key} interrupted by shutdown")
        data = os.pread(fd, length, offset)
        if len(data) != length:
            raise StoreError(f"{object_key}: the spool file shrank while being uploaded")
        checksum, digest = self._body_checksum(data)
        response = self.s3.data_client.upload_part(
            Bucket=bucket, Key=object_key, UploadId=upload_id, PartNumber=number, Body=data,
            **checksum)
        return number, response["ETag"], digest

    def _abort_multipart(self, object_key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.location.bucket, Key=object_key,
                                               UploadId=upload_id)
        except Exception:  # endpoint down: the incomplete upload expires by lifecycle rule
            logger.warning("could not abort the incomplete multipart upload of %s; a bucket "
                           "lifecycle rule (AbortIncompleteMultipartUpload) cleans it up",
                           object_key)

    def _verify(self, key: str, size: int, sha256: str, sent: _Sent) -> UploadResult:
        crc_mode = self.integrity == "crc32"
        info = self.head(key, checksum=crc_mode)
        if info is None:
            raise TransientError(f"{self._what('verify', key)}: the object is not visible "
                                 "after upload; will retry")
        problems = []
        if info.size != size:
            problems.append(f"size {info.size}, expected {size}")
        if info.sha256 != sha256:
            problems.append(f"sha256 metadata {info.sha256}, expected {sha256}")
        if crc_mode:
            verified_by = "checksum"
            matches = info.crc32 == sent.expected_checksum and \
                sent.checksum in (None, sent.expected_checksum)
        else:
            verified_by = "etag"
            matches = info.etag == sent.expected_etag == sent.etag
        if not problems and (self.options.verify == "reread" or not matches):
            verified_by = "reread"
            actual = self.hash_object(key)
            if actual != sha256:
                problems.append(f"content sha256 {actual}, expected {sha256}")
        version = sent.version_id
        if problems:
            self._remove_bad(key, version or info.version_id)
            raise VerificationFailed(
                f"{self._what('verify', key)}: the stored object does not match the local "
                f"file ({'; '.join(problems)}); it was removed and the upload will be retried")
        return UploadResult(key=key, size=size, sha256=sha256, etag=info.etag,
                            verified_by=verified_by, version_id=version or info.version_id)

    def _remove_bad(self, key: str, version: str | None) -> None:
        """Delete an object *we just wrote* that failed verification, so a retry can write it."""
        args: dict[str, Any] = {"Bucket": self.location.bucket,
                                "Key": self.location.object_key(key)}
        if version:
            args["VersionId"] = version
        try:
            self.client.delete_object(**args)
        except Exception as exc:
            logger.error("could not remove the unverified object %s: %s", key,
                         self._error(exc, "remove", key))
