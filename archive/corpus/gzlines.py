"""A gzip file of lines that stays readable whatever happens to the disk under it.

Each line is compressed and sync-flushed to the file with unbuffered writes, so a killed
process leaves every line written so far readable (``archive.warc.salvage``).  A failed
write (disk full, store gone read-only) cuts the file back to the end of the last whole
line and raises; the writer then refuses further lines, and ``close`` ends the stream
there (an empty final block and the CRC of the lines kept), so what was written before
the failure is still a valid ``.jsonl.gz``.
"""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path

# an empty, final, fixed-Huffman deflate block: what ends a stream after a sync flush
_FINAL_BLOCK = b"\x03\x00"


class GzipLines:
    """Append lines (bytes) to a new gzip file at ``path``; ``close`` finishes it."""

    def __init__(self, path: Path, level: int = 6):
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                           0o644)
        self._deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._crc = 0
        self._size = 0
        self._good = 0  # file offset after the last whole line
        self.failed: OSError | None = None
        header = b"\x1f\x8b\x08\x00" + struct.pack("<I", int(time.time())) + b"\x00\xff"
        try:
            self._write_all(header)
        except OSError:
            os.close(self._fd)
            self.path.unlink(missing_ok=True)
            raise
        self._good = len(header)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def write(self, line: bytes) -> None:
        if self.failed is not None:
            raise self.failed
        data = self._deflate.compress(line) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        try:
            self._write_all(data)
        except OSError as exc:
            self.failed = exc
            os.ftruncate(self._fd, self._good)
            os.lseek(self._fd, self._good, os.SEEK_SET)
            raise
        self._crc = zlib.crc32(line, self._crc)
        self._size += len(line)
        self._good += len(data)

    def close(self) -> None:
        """End the stream after the last whole line and fsync; raises if that fails."""
        try:
            if self.failed is None:
                tail = self._deflate.flush(zlib.Z_FINISH)
            else:
                tail = _FINAL_BLOCK
            tail += struct.pack("<II", self._crc, self._size & 0xFFFFFFFF)
            try:
                self._write_all(tail)
            except OSError:
                os.ftruncate(self._fd, self._good)
                raise
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
