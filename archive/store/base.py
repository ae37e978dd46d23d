"""Stores: where finished files end up (a local directory or an S3 prefix).

Every writer in the project (WARC writer, corpus writer, run report) writes a *closed,
complete* local file under the store's spool directory and then calls ``publish``.  For
the local store the spool *is* the store, so publishing is a rename plus a checksum; for
S3 (``archive.store.s3.store``) it is upload, verify, then delete.  One code path for both
means a crawl into S3 produces byte-identical objects to a crawl into a directory.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 1 << 20


class StoreError(RuntimeError):
    """A store problem with an actionable message (what failed and what to do next)."""


@dataclass(frozen=True)
class StoredObject:
    """One published object: its key relative to the store root, its size and sha256."""

    key: str
    size: int
    sha256: str
    pending: bool = False  # True while the object waits in the spool for a (re)try upload

    def to_dict(self) -> dict:
        return asdict(self)


class Store(Protocol):
    """What the crawler needs from a store; LocalStore and S3Store implement it."""

    uri: str
    spool_dir: Path  # where files are written before ``publish`` (same filesystem as spool)

    def publish(self, local_path: Path, key: str, sha256: str | None = None) -> StoredObject:
        """Make the finished file at ``local_path`` the object ``key``; never overwrite.

        May return before an upload finishes (S3 uploads run off the reactor thread);
        ``close`` waits for them.  ``sha256`` may be passed when the writer already knows it.
        A transient failure never raises: the file stays spooled and is reported pending.
        """

    def open_read(self, key: str) -> BinaryIO:
        """A binary stream of the object ``key``."""

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes of object ``key`` from ``offset`` (one WARC record, say)."""
        ...

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix`` (paginated for S3)."""

    def exists(self, key: str) -> bool: ...

    def pending(self) -> list[Path]:
        """Spooled files not yet published (always empty for the local store)."""

    def close(self) -> None:
        """Wait for background uploads to finish (or give up and leave them pending)."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# The default store ./archive shares its folder with the archive/ package when run from a
# source checkout, so the package's own files sit beside the objects: never list them.
_SOURCE_SUFFIXES = (".py", ".pyc", ".open")


def _not_an_object(path: Path) -> bool:
    return path.name.endswith(_SOURCE_SUFFIXES) or "__pycache__" in path.parts


class LocalStore:
    """A directory laid out as DESIGN.md says; the spool is the directory itself."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)
        self.spool_dir = self.root

    def path_for(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise StoreError(f"refusing key outside the store: {key!r}")
        return path

    def publish(self, local_path: Path, key: str, sha256: str | None = None) -> StoredObject:
        target = self.path_for(key)
        local_path = Path(local_path).resolve()
        if local_path != target:
            if target.exists():
                raise StoreError(f"{target} already exists; objects are never overwritten")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(local_path, target)
        return StoredObject(key=key, size=target.stat().st_size,
                            sha256=sha256 or sha256_file(target))

    def open_read(self, key: str) -> BinaryIO:
        return open(self.path_for(key), "rb")

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        with open(self.path_for(key), "rb") as handle:
            handle.seek(offset)
            return handle.read(length)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        base = self.root / prefix if prefix else self.root
        if base.is_file():
            yield prefix
            return
        if not base.exists():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not _not_an_object(path):
                yield path.relative_to(self.root).as_posix()

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def pending(self) -> list[Path]:
        return []

    def close(self) -> None:
        """Nothing runs in the background for a directory."""
