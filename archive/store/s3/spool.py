"""The S3 store's local spool: closed files waiting for upload, each with a sidecar.

The spool mirrors the store layout (a spooled file's key is its spool-relative path).
Beside every file waiting for upload sits ``<file>.pending.json`` (key, size, sha256,
attempts, last error), written with fsync before the upload is queued: the sidecar, not
any in-memory queue, is what says a file still has to reach S3, so a crash between spooling
and uploading loses nothing; the next run or ``newsarchive sync`` finds it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from archive.store.base import StoredObject, StoreError, sha256_file

logger = logging.getLogger(__name__)

SIDECAR = ".pending.json"
_SKIP_SUFFIXES = (".open", ".tmp", ".part", SIDECAR)


def default_spool_root() -> Path:
    """``$NEWSARCHIVE_SPOOL``, else ``$XDG_STATE_HOME/newsarchive/spool``, else ~/.local/state/…"""
    explicit = os.environ.get("NEWSARCHIVE_SPOOL")
    if explicit:
        return Path(explicit).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or "~/.local/state"
    return Path(state).expanduser() / "newsarchive" / "spool"


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StoreError(f"invalid store key {key!r}")
    if key.endswith(_SKIP_SUFFIXES):
        raise StoreError(f"store key {key!r} ends with a reserved spool suffix")
    return key


@dataclass
class SpoolJob:
    """One spooled file waiting for upload, as its sidecar records it."""

    key: str
    path: Path
    size: int
    sha256: str
    attempts: int = 0


class Spool:
    """The files of one S3 store's spool directory and their sidecars."""

    def __init__(self, root: Path):
        self.root = root

    # ----------------------------------------------------------------------------

    def path(self, key: str) -> Path:
        """The spool file of ``key`` (a key that would leave the spool is refused)."""
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise StoreError(f"refusing key outside the store: {key!r}")
        return path

    @staticmethod
    def sidecar(path: Path) -> Path:
        return path.with_name(path.name + SIDECAR)

    def write_sidecar(self, job: SpoolJob, error: str | None = None) -> None:
        record = {"key": job.key, "size": job.size, "sha256": job.sha256,
                  "attempts": job.attempts, "last_error": error,
                  "updated": datetime.now(UTC).isoformat(timespec="seconds")}
        sidecar = self.sidecar(job.path)
        tmp = sidecar.with_name(sidecar.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, sidecar)

    def read_sidecar(self, sidecar: Path) -> SpoolJob | None:
        try:
            record = json.loads(sidecar.read_text(encoding="utf-8"))
            path = sidecar.with_name(sidecar.name[: -len(SIDECAR)])
            key = path.relative_to(self.root).as_posix()
            if record.get("key") not in (None, key):
                logger.warning("sidecar %s names key %r; using the spool path %r",
                               sidecar, record.get("key"), key)
            return SpoolJob(key=key, path=path, size=int(record["size"]),
                        sha256=str(record["sha256"]), attempts=int(record.get("attempts", 0)))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring unreadable spool sidecar %s: %s", sidecar, exc)
            return None

    def sidecars(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(self.root.rglob("*" + SIDECAR))

    def jobs(self) -> list[SpoolJob]:
        """Every readable sidecar as a job (unreadable ones are logged and skipped)."""
        return [job for job in map(self.read_sidecar, self.sidecars()) if job is not None]

    def pending(self) -> list[Path]:
        """Spooled files waiting for upload (from the sidecars, so it survives a crash)."""
        paths = []
        for sidecar in self.sidecars():
            path = sidecar.with_name(sidecar.name[: -len(SIDECAR)])
            if path.is_file():
                paths.append(path)
        return paths

    def spooled_keys(self) -> list[str]:
        """Keys of every sidecar in the spool, including those whose file is already gone."""
        return [s.relative_to(self.root).as_posix()[: -len(SIDECAR)]
                for s in self.sidecars()]

    def pending_objects(self) -> list[StoredObject]:
        """The pending files as StoredObjects (pending=True), for run reports."""
        jobs = (self.read_sidecar(s) for s in self.sidecars())
        return [StoredObject(key=j.key, size=j.size, sha256=j.sha256, pending=True)
                for j in jobs if j is not None and j.path.is_file()]

    def is_pending(self, key: str) -> bool:
        return self.sidecar(self.path(key)).exists()

    def put(self, local_path: Path, key: str,
               sha256: str | None) -> tuple[StoredObject, SpoolJob]:
        """Move ``local_path`` into the spool as ``key`` and write its sidecar (fsynced)."""
        target = self.path(key)
        source = Path(local_path).resolve()
        if source != target:
            if target.exists():
                raise StoreError(f"{key} is already in the spool ({target}); objects are "
                                 "never overwritten")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(source, target)
            except OSError:  # another filesystem: copy, then remove the original
                shutil.copy2(source, target)
                source.unlink()
        size = target.stat().st_size
        job = SpoolJob(key=key, path=target, size=size, sha256=sha256 or sha256_file(target))
        self.write_sidecar(job)
        return StoredObject(key=key, size=size, sha256=job.sha256, pending=True), job
