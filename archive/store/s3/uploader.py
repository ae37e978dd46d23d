"""Upload one closed file to S3, never overwriting, and prove it arrived intact.

Why not ``boto3.upload_file``: it cannot make the write conditional (``If-None-Match``), does
not send a Content-MD5 per part, and does not tell us whether what the server stored is what
we sent.  This module does one object at a time, synchronously, with the parts of a
multipart upload running on a shared thread pool:

1. HEAD the key.  Present with our sha256 -> done (an interrupted earlier attempt finished);
   present with anything else -> ``ObjectConflict`` (never overwritten).
2. PUT (small files) or a multipart upload (``part_size`` parts: archive.store.s3.multipart).
   Every request carries a checksum of its body that the server checks, so bytes damaged
   on the way are rejected; the write is conditional (``If-None-Match: *``).  The sha256
   goes into the metadata (``x-amz-meta-sha256``).
3. Verify: HEAD must show our size and sha256, and a checksum the server computed over what
   it stored must equal the one we predict (the ``md5`` and ``crc32`` integrity modes:
   archive.store.s3.integrity).  When the server's answer follows neither scheme, the
   object is re-read and hashed instead; ``verify="reread"`` always re-reads.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
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
    UploadAborted,
    VerificationFailed,
    error_code,
    http_status,
    translate_error,
)
from archive.store.s3.integrity import Sent, body_checksum, plain_etag
from archive.store.s3.multipart import MultipartUploads

logger = logging.getLogger(__name__)

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


class Uploader(MultipartUploads):
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
                          etag=plain_etag(response.get("ETag")),
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

    def _put(self, path: Path, key: str, sha256: str, size: int) -> Sent:
        data = Path(path).read_bytes()
        if len(data) != size:
            raise StoreError(f"{path} changed while being uploaded")
        checksum, digest = body_checksum(self.integrity, data)
        response = self.s3.data_client.put_object(Body=data, **checksum,
                                                  **self._object_args(key, sha256),
                                                  **self._conditional())
        return Sent.of_put(self.integrity, digest, response)

    def _verify(self, key: str, size: int, sha256: str, sent: Sent) -> UploadResult:
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
