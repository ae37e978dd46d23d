"""Archival WARC writing: HTTP exchanges in, rotating per-record-gzip WARC/1.1 files out.

``WarcWriter`` turns one ``HttpExchange`` (a request and the response as received) into a
``response`` and a ``request`` record sharing one WARC-Date and linked both ways by
WARC-Concurrent-To, in one file (a pair is never split by rotation).  Every file starts with
a ``warcinfo`` record, is written as ``<name>.warc.gz.open`` and renamed when closed, and its
sha256 is computed while writing (a 1 GB file is never read again for fixity).  The rules
behind each choice are in WARC.md §a; the per-record serialization is in
``archive.warc.record``, the fields a record takes from its exchange in
``archive.warc.exchange``.

No Scrapy here: the crawler's capture extension builds the ``HttpExchange``; tests and
re-capture tools can build one by hand.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO

from archive.store.faults import pause_point
from archive.warc import httphead
from archive.warc.exchange import (
    HTTP_RESPONSE,
    HttpExchange,
    check_exchange,
    common_fields,
    precompressed,
    protocol_field,
    request_member,
    response_head,
    truncated_field,
)
from archive.warc.record import (
    LEVEL_STORED,
    LEVEL_TEXT,
    new_record_id,
    record_member,
    sha1_digest,
    warc_date,
)

logger = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 1_000_000_000  # WARC spec Annex C; Heritrix, warcprox, browsertrix default
OPEN_SUFFIX = ".open"
PROFILE_IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
PROFILE_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
WARC_FIELDS = "application/warc-fields"
FORMAT = "WARC File Format 1.1"
CONFORMS_TO = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
DESCRIPTION = (
    "HTTP exchanges captured by a Scrapy crawler after transport decoding: Transfer-Encoding "
    "is removed (bodies are de-chunked, Content-Length is the received length when known), "
    "Content-Encoding is kept and bodies are stored exactly as received; Connection and "
    "Keep-Alive headers are not available, header names are title-cased and reason phrases "
    "are synthesized from the status code. Request records hold the headers sent, including "
    "the Host (and Content-Length) added by the HTTP client; Authorization, "
    "Proxy-Authorization and Cookie values are redacted. HTTP/2 exchanges are written as "
    "HTTP/1.1 with WARC-Protocol: h2."
)

OnClosed = Callable[[Path, str, str], None]


@dataclass(frozen=True)
class RecordLocation:
    """Where a response (or revisit) record is: enough to read it back with one seek."""

    key: str  # store key of the WARC, e.g. warc/rudaw/2026/11/<filename>
    filename: str
    offset: int  # of the record's gzip member in the file
    length: int  # compressed length of that member
    record_id: str
    payload_digest: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _OpenWarc:
    """The file being written: raw (unbuffered) so every append is one write we can undo."""

    path: Path  # ends in .open
    key: str
    filename: str
    warcinfo_id: str
    handle: BinaryIO
    size: int = 0
    exchanges: int = 0
    sha256: Any = field(default_factory=hashlib.sha256)

    def append(self, members: list[bytes]) -> int:
        """Write ``members`` at the end; return the offset of the first one.

        On a failed write (disk full) the file is cut back so it stays a valid WARC.
        """
        offset = self.size
        data = b"".join(members)
        view = memoryview(data)
        try:
            while view:
                written = self.handle.write(view)
                view = view[written:]
        except BaseException:
            os.ftruncate(self.handle.fileno(), offset)
            self.handle.seek(offset)
            raise
        self.sha256.update(data)
        self.size += len(data)
        return offset


class WarcWriter:
    """Writes exchanges into ``<spool>/warc/<outlet>/<YYYY>/<MM>/<prefix>-<ts14>-<serial>-<host>``.

    Files rotate before a pair would push them past ``max_size`` (and as soon as they reach
    it), and on ``close()``.  ``on_closed(path, store_key, sha256_hex)`` is called for every
    closed file; a failing callback is logged, the closed file stays in the spool.
    ``on_opening(store_key)`` is called before a file is created (the run journal).
    """

    def __init__(self, spool_dir: Path, outlet: str, prefix: str, host: str,
                 max_size: int = DEFAULT_MAX_SIZE, warcinfo: dict[str, str] | None = None,
                 on_closed: OnClosed | None = None,
                 on_opening: Callable[[str], None] | None = None):
        self.spool_dir = Path(spool_dir)
        self.outlet = outlet
        self.prefix = prefix
        self.host = re.sub(r"[^A-Za-z0-9.-]", "", host).strip(".-") or "localhost"
        self.max_size = int(max_size)
        self.warcinfo = {**default_warcinfo(), **(warcinfo or {})}
        self.on_closed = on_closed
        self.on_opening = on_opening  # called with the store key before a file is created
        self.closed: list[tuple[Path, str, str]] = []  # (path, key, sha256) of closed files
        self._serial = 0
        self._file: _OpenWarc | None = None

    # ---- public API ---------------------------------------------------------------------

    @property
    def current_path(self) -> Path | None:
        """The ``.open`` file being written, if any."""
        return self._file.path if self._file else None

    def write_exchange(self, ex: HttpExchange) -> RecordLocation:
        """Write the response + request records of ``ex``; return the response's location."""
        check_exchange(ex)
        payload_digest = sha1_digest(ex.body)
        head = response_head(ex)
        block_digest = sha1_digest(head, ex.body)
        common = common_fields(ex)
        level = LEVEL_STORED if precompressed(ex) else LEVEL_TEXT

        def build(warcinfo_id: str, response_id: str, request_id: str) -> list[bytes]:
            fields = [
                ("WARC-Type", "response"), ("WARC-Record-ID", response_id), *common,
                ("WARC-Concurrent-To", request_id), ("WARC-Warcinfo-ID", warcinfo_id),
                *protocol_field(ex), *truncated_field(ex.truncated),
                ("WARC-Block-Digest", block_digest), ("WARC-Payload-Digest", payload_digest),
            ]
            response = record_member(fields, (head, ex.body), HTTP_RESPONSE, level)
            return [response, request_member(ex, request_id, response_id, warcinfo_id, common)]

        return self._write(build, payload_digest)

    def write_revisit(self, ex: HttpExchange, *, refers_to_uri: str,
                      refers_to_date: datetime | str, refers_to: str | None = None,
                      payload_digest: str | None = None,
                      profile: str = PROFILE_IDENTICAL) -> RecordLocation:
        """Write a ``revisit`` + ``request`` pair instead of a response that is already archived.

        identical-payload-digest: ``ex.body`` is the payload received again; only the HTTP
        head is stored (WARC-Truncated: length) and the digest must equal the original's
        (``payload_digest``, when given, is checked).  server-not-modified: ``ex`` is the 304
        exchange and is stored whole; ``payload_digest`` is the original's, if known.
        ``refers_to`` is the original's WARC-Record-ID (optional but helps readers).
        """
        check_exchange(ex)
        head = response_head(ex)
        if profile == PROFILE_IDENTICAL:
            digest = sha1_digest(ex.body)
            if payload_digest and payload_digest.lower() != digest.lower():
                raise ValueError(f"payload digest {digest} of {ex.url} differs from the "
                                 f"original's {payload_digest}: write a response instead")
            block: tuple[bytes, ...] = (head,)
            truncated: str | None = "length"
        elif profile == PROFILE_NOT_MODIFIED:
            digest = payload_digest or ""
            block = (head, ex.body)
            truncated = ex.truncated
        else:
            raise ValueError(f"unknown revisit profile {profile!r}")
        if isinstance(refers_to_date, datetime):
            refers_to_date = warc_date(refers_to_date)
        common = common_fields(ex)

        def build(warcinfo_id: str, revisit_id: str, request_id: str) -> list[bytes]:
            fields = [
                ("WARC-Type", "revisit"), ("WARC-Record-ID", revisit_id), *common,
                ("WARC-Concurrent-To", request_id), ("WARC-Warcinfo-ID", warcinfo_id),
                *protocol_field(ex), ("WARC-Profile", profile),
                *([("WARC-Refers-To", refers_to)] if refers_to else []),
                ("WARC-Refers-To-Target-URI", refers_to_uri),
                ("WARC-Refers-To-Date", str(refers_to_date)),
                *truncated_field(truncated),
                ("WARC-Block-Digest", sha1_digest(*block)),
                *([("WARC-Payload-Digest", digest)] if digest else []),
            ]
            revisit = record_member(fields, block, HTTP_RESPONSE)
            return [revisit, request_member(ex, request_id, revisit_id, warcinfo_id, common)]

        return self._write(build, digest)

    def close(self) -> None:
        """Close (rename, report) the current file; the next write opens a new one."""
        if self._file is not None:
            self._close_file()

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ---- files --------------------------------------------------------------------------

    def _write(self, build: Callable[[str, str, str], list[bytes]],
               payload_digest: str) -> RecordLocation:
        record_id, request_id = new_record_id(), new_record_id()
        current = self._file or self._open()
        members = build(current.warcinfo_id, record_id, request_id)
        if current.exchanges and current.size + sum(map(len, members)) > self.max_size:
            self._close_file()
            current = self._open()
            members = build(current.warcinfo_id, record_id, request_id)
        offset = current.append(members)
        current.exchanges += 1
        location = RecordLocation(key=current.key, filename=current.filename, offset=offset,
                                  length=len(members[0]), record_id=record_id,
                                  payload_digest=payload_digest)
        if current.size >= self.max_size:
            self._close_file()
        return location

    def _open(self) -> _OpenWarc:
        now = datetime.now(UTC)
        folder = self.spool_dir / "warc" / self.outlet / f"{now:%Y}" / f"{now:%m}"
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            filename = f"{self.prefix}-{now:%Y%m%d%H%M%S}-{self._serial:05d}-{self.host}.warc.gz"
            self._serial += 1
            path = folder / (filename + OPEN_SUFFIX)
            if (folder / filename).exists():
                continue
            if self.on_opening is not None:  # the run journal: before the file exists
                self.on_opening(f"warc/{self.outlet}/{now:%Y}/{now:%m}/{filename}")
            try:
                handle = open(path, "xb", buffering=0)  # closed in _close_file
            except FileExistsError:
                continue
            break
        key = f"warc/{self.outlet}/{now:%Y}/{now:%m}/{filename}"
        warcinfo_id = new_record_id()
        body = httphead.encode_fields((name, str(value)) for name, value in self.warcinfo.items()
                                      if value not in (None, ""))
        fields = [("WARC-Type", "warcinfo"), ("WARC-Record-ID", warcinfo_id),
                  ("WARC-Date", warc_date(now)), ("WARC-Filename", filename),
                  ("WARC-Block-Digest", sha1_digest(body))]
        current = _OpenWarc(path=path, key=key, filename=filename, warcinfo_id=warcinfo_id,
                            handle=handle)
        try:
            current.append([record_member(fields, (body,), WARC_FIELDS)])
        except BaseException:
            handle.close()
            path.unlink(missing_ok=True)
            raise
        self._file = current
        logger.info("writing %s", path)
        return current

    def _close_file(self) -> None:
        current, self._file = self._file, None
        assert current is not None
        try:
            os.fsync(current.handle.fileno())
        finally:
            current.handle.close()
        pause_point("warc_fsynced")
        final = current.path.with_name(current.filename)
        os.replace(current.path, final)
        pause_point("warc_renamed")
        sha256 = current.sha256.hexdigest()
        self.closed.append((final, current.key, sha256))
        logger.info("closed %s (%d bytes, %d exchanges)", final, current.size, current.exchanges)
        if self.on_closed is not None:
            try:
                self.on_closed(final, current.key, sha256)
            except Exception:
                logger.exception("could not hand over closed WARC %s; it stays in %s",
                                 current.filename, final.parent)


# ---- warcinfo --------------------------------------------------------------------------


def default_warcinfo() -> dict[str, str]:
    """The warcinfo fields every file gets; callers add operator, robots, user agent, ..."""
    try:
        version = metadata.version("newsarchive")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"software": f"newsarchive/{version}", "format": FORMAT, "conformsTo": CONFORMS_TO,
            "hostname": socket.gethostname(), "description": DESCRIPTION}
