"""Multipart upload of one large file: parts read with ``os.pread`` (only the parts in
flight are in memory), sent on the uploader's shared thread pool, each with a checksum the
server checks; an upload that does not complete is aborted so no half object lingers.

A mixin of ``archive.store.s3.uploader.Uploader``, which decides when a file is large
enough (``multipart_threshold``) and verifies what the server stored afterwards.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive.store.base import StoreError
from archive.store.s3.config import MiB, UploadAborted
from archive.store.s3.integrity import Sent, b64, body_checksum

if TYPE_CHECKING:
    from archive.store.s3.config import S3Client, S3Location, S3Options

logger = logging.getLogger(__name__)

MAX_PARTS = 10_000


class MultipartUploads:
    """The multipart half of ``Uploader`` (see the module docstring)."""

    if TYPE_CHECKING:  # provided by Uploader
        s3: S3Client
        client: Any
        location: S3Location
        options: S3Options
        executor: ThreadPoolExecutor
        integrity: str

        def _object_args(self, key: str, sha256: str) -> dict[str, Any]: ...
        def _conditional(self) -> dict[str, str]: ...

    def part_size_for(self, size: int) -> int:
        """The configured part size, grown (in whole MiB) when a file needs > 10,000 parts."""
        part = self.options.part_size
        if size > part * MAX_PARTS:
            part = -(-size // MAX_PARTS)
            part = -(-part // MiB) * MiB
        return part

    def _multipart(self, path: Path, key: str, sha256: str, size: int,
                   abort: threading.Event | None) -> Sent:
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
            listed = [{"PartNumber": n, "ETag": etag} for n, etag, _ in parts]
            if self.integrity == "crc32":
                for entry, (_, _, digest) in zip(listed, parts, strict=True):
                    entry["ChecksumCRC32"] = b64(digest)
            response = self.client.complete_multipart_upload(
                Bucket=bucket, Key=object_key, UploadId=upload_id,
                MultipartUpload={"Parts": listed}, **self._conditional())
            completed = True
            return Sent.of_multipart(self.integrity, [digest for _, _, digest in parts],
                                     response)
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
        checksum, digest = body_checksum(self.integrity, data)
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
