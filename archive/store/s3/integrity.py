"""What proves an upload arrived intact: the checksum each request carries, and the one the
server must report for the whole object.

Two modes (``Uploader.integrity``):

- ``md5`` (default for S3-compatible servers): Content-MD5 on every request; the ETag must
  be the MD5 (PUT) or ``md5(part md5s)-N`` (multipart), as AWS, MinIO, Ceph and SeaweedFS
  compute it.  Works on every S3 implementation.
- ``crc32`` (AWS, or ``NEWSARCHIVE_S3_FULL_CHECKSUMS=1``): S3 additional checksums
  (``x-amz-checksum-crc32`` per request, COMPOSITE for multipart), compared with the
  ``ChecksumCRC32`` a HEAD returns.  ~5x cheaper in CPU than MD5, and unaffected by SSE-KMS
  ETags, but only servers with the 2022 checksum API support it.

The PUT and the multipart upload both build their request checksums and their
predictions here, so the two cannot drift apart.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from dataclasses import dataclass


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def plain_etag(value: str | None) -> str:
    """An ETag as compared: without quotes, lower case."""
    return (value or "").strip('"').lower()


def crc32_bytes(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


def body_checksum(mode: str, data: bytes) -> tuple[dict[str, str], bytes]:
    """The request argument that lets the server check ``data``, and the raw digest."""
    if mode == "crc32":
        crc = crc32_bytes(data)
        return {"ChecksumCRC32": b64(crc)}, crc
    md5 = hashlib.md5(data).digest()
    return {"ContentMD5": b64(md5)}, md5


@dataclass(frozen=True)
class Sent:
    """What one upload sent and what the server answered, for verification."""

    etag: str              # as returned by PUT / CompleteMultipartUpload
    expected_etag: str     # what the MD5s predict ("" in crc32 mode)
    checksum: str | None   # ChecksumCRC32 returned ("" / None in md5 mode)
    expected_checksum: str  # what the CRCs predict ("" in md5 mode)
    version_id: str | None

    @classmethod
    def of_put(cls, mode: str, digest: bytes, response: dict) -> Sent:
        """A PUT of one body whose ``body_checksum`` digest was ``digest``."""
        md5_mode = mode == "md5"
        return cls(etag=plain_etag(response.get("ETag")),
                   expected_etag=digest.hex() if md5_mode else "",
                   checksum=response.get("ChecksumCRC32"),
                   expected_checksum="" if md5_mode else b64(digest),
                   version_id=response.get("VersionId"))

    @classmethod
    def of_multipart(cls, mode: str, digests: list[bytes], response: dict) -> Sent:
        """A completed multipart upload whose parts had these ``body_checksum`` digests."""
        joined, count = b"".join(digests), len(digests)
        md5_mode = mode == "md5"
        return cls(etag=plain_etag(response.get("ETag")),
                   expected_etag=f"{hashlib.md5(joined).hexdigest()}-{count}" if md5_mode
                   else "",
                   checksum=response.get("ChecksumCRC32"),
                   expected_checksum="" if md5_mode else f"{b64(crc32_bytes(joined))}-{count}",
                   version_id=response.get("VersionId"))
