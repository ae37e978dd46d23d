"""Fixity check of a store against its run manifests (``newsarchive verify``).

Every object a run report lists must exist with the listed size and sha256.  On S3 the
quick check is a HEAD (size plus the ``x-amz-meta-sha256`` the uploader stored); ``deep``
re-reads and hashes every object, which is what catches bytes that rotted or were replaced
behind our back with the metadata intact.  A local directory has no metadata: its quick
check is the size, plus the sha256 of every file whose mtime differs from the one the
manifest recorded at publication (a WARC edited in place is caught without reading every
file); ``deep`` hashes all files.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from archive.store.base import CHUNK, LocalStore, StoreError
from archive.store.manifest import ManifestEntry, ManifestError, RunManifest, iter_manifests
from archive.store.s3.config import StoreUnreachable, TransientError

logger = logging.getLogger(__name__)

CHECK_THREADS = 8  # HEADs are latency-bound; a few in flight keep big stores quick
# a local store is hashed by CPU: more threads than cores only add a buffer each
LOCAL_THREADS = min(CHECK_THREADS, os.cpu_count() or 1)
HASH_BUFFER = 1 << 18  # one reused buffer per hash: memory does not follow the store size


@dataclass(frozen=True)
class Problem:
    key: str
    kind: str  # missing pending size sha256 no_checksum corrupt unreadable manifest error
    #            open orphan unfinished (archive.state.leftovers)
    detail: str
    manifest: str | None = None

    def __str__(self) -> str:
        where = f" (listed in {self.manifest})" if self.manifest else ""
        return f"{self.kind.upper():11s} {self.key}: {self.detail}{where}"


@dataclass
class VerifyResult:
    store: str
    deep: bool
    manifests: int = 0
    checked: int = 0
    verified: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def _hash_stream(handle) -> str:
    """sha256 of a stream, read into one reused buffer (a fresh 1 MB ``bytes`` per read,
    in several threads, left glibc's per-thread arenas holding tens of MB on big stores)."""
    digest = hashlib.sha256()
    with handle:
        readinto = getattr(handle, "readinto", None)
        if readinto is None:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
            return digest.hexdigest()
        buffer = bytearray(HASH_BUFFER)
        view = memoryview(buffer)
        while count := readinto(buffer):
            digest.update(view[:count])
    return digest.hexdigest()


def _check_s3(store, entry: ManifestEntry, deep: bool) -> Problem | None:
    info = store.head(entry.key)
    if info is None:
        if store.is_pending(entry.key):
            return Problem(entry.key, "pending", "not uploaded yet: still in the spool "
                           f"{store.spool_dir}; run `newsarchive sync`", entry.manifest)
        return Problem(entry.key, "missing", "no such object", entry.manifest)
    if info.size != entry.size:
        return Problem(entry.key, "size", f"{info.size} bytes, manifest says {entry.size}",
                       entry.manifest)
    if info.sha256 is not None and info.sha256 != entry.sha256:
        return Problem(entry.key, "sha256", f"metadata sha256 {info.sha256}, manifest says "
                       f"{entry.sha256}", entry.manifest)
    if deep:
        actual = store.hash_object(entry.key)
        if actual != entry.sha256:
            return Problem(entry.key, "corrupt", f"content sha256 {actual}, manifest says "
                           f"{entry.sha256}", entry.manifest)
    elif info.sha256 is None:
        return Problem(entry.key, "no_checksum", "object has no sha256 metadata; run with "
                       "--deep to hash its content", entry.manifest)
    return None


def _check_local(store: LocalStore, entry: ManifestEntry, deep: bool) -> Problem | None:
    try:
        path = store.path_for(entry.key)
        stat = path.stat()
    except FileNotFoundError:
        return Problem(entry.key, "missing", "no such file", entry.manifest)
    if stat.st_size != entry.size:
        return Problem(entry.key, "size", f"{stat.st_size} bytes, manifest says {entry.size}",
                       entry.manifest)
    # quick: a file written since it was published (its mtime moved) is hashed again
    touched = entry.mtime_ns is not None and stat.st_mtime_ns != entry.mtime_ns
    if deep or touched:
        actual = _hash_stream(open(path, "rb", buffering=0))
        if actual != entry.sha256:
            return Problem(entry.key, "corrupt", f"content sha256 {actual}, manifest says "
                           f"{entry.sha256}", entry.manifest)
    return None


def _check_generic(store, entry: ManifestEntry, deep: bool) -> Problem | None:
    try:
        actual = _hash_stream(store.open_read(entry.key))
    except FileNotFoundError:
        return Problem(entry.key, "missing", "no such object", entry.manifest)
    if actual != entry.sha256:
        return Problem(entry.key, "corrupt", f"content sha256 {actual}, manifest says "
                       f"{entry.sha256}", entry.manifest)
    return None


def _checker(store) -> Callable[[object, ManifestEntry, bool], Problem | None]:
    if isinstance(store, LocalStore):
        return _check_local  # type: ignore[return-value]
    if hasattr(store, "head") and hasattr(store, "hash_object"):
        return _check_s3
    return _check_generic


def verify_store(store, deep: bool = False,
                 progress: Callable[[ManifestEntry, Problem | None], None] | None = None,
                 leftovers: Iterable = ()) -> VerifyResult:
    """Check every object listed in the store's run manifests; never modifies the store.

    Raises StoreUnreachable when the store cannot be reached at all (the CLI exits 3);
    every other finding is a Problem in the result, including ``leftovers``: what dead runs
    left behind (``archive.state.leftovers.find_leftovers``; each has key, kind, detail).
    """
    result = VerifyResult(store=store.uri, deep=deep)
    entries: dict[str, ManifestEntry] = {}
    for manifest in iter_manifests(store):
        if isinstance(manifest, ManifestError):
            result.problems.append(Problem(manifest.key, "manifest", str(manifest)))
            continue
        result.manifests += 1
        _collect(manifest, entries, result)
    for leftover in leftovers:
        result.problems.append(Problem(leftover.key, leftover.kind, leftover.detail))
    check = _checker(store)

    def run(entry: ManifestEntry) -> Problem | None:
        try:
            return check(store, entry, deep)
        except TransientError as exc:
            # The endpoint answers but cannot serve this object (e.g. a failed checksum
            # on the server's disk): a finding about the object, not about the store.
            return Problem(entry.key, "unreadable", str(exc), entry.manifest)
        except StoreUnreachable:
            raise
        except (StoreError, OSError) as exc:
            return Problem(entry.key, "error", str(exc), entry.manifest)

    threads = LOCAL_THREADS if isinstance(store, LocalStore) else CHECK_THREADS
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for entry, problem in zip(entries.values(), pool.map(run, entries.values()),
                                  strict=True):
            result.checked += 1
            if problem is None:
                result.verified += 1
            else:
                result.problems.append(problem)
            if progress is not None:
                progress(entry, problem)
    return result


def _collect(manifest: RunManifest, entries: dict[str, ManifestEntry],
             result: VerifyResult) -> None:
    for entry in manifest.files:
        known = entries.get(entry.key)
        if known is None:
            entries[entry.key] = entry
        elif (known.size, known.sha256) != (entry.size, entry.sha256):
            result.problems.append(Problem(
                entry.key, "manifest", f"{manifest.key} lists size {entry.size} sha256 "
                f"{entry.sha256} but {known.manifest} lists size {known.size} sha256 "
                f"{known.sha256}", manifest.key))
