"""CDXJ indexes: one sorted index per closed WARC, stored beside it under ``indexes/``.

Replay tools (pywb, ReplayWeb.page) find captures by binary search over a sorted CDXJ
index, so every WARC gets one when it closes.  The index is made by cdxj-indexer (the
indexer py-wacz and pywb's ecosystem use), so our lines are exactly what those tools
expect: ``<surt urlkey> <14-digit timestamp> {json: url, mime, status, digest, length,
offset, filename}``.  Indexes are derived data: they can always be rebuilt from the WARC
(``ensure_index``), which is why they may be overwritten and the WARCs never are.

Key layout: ``warc/{outlet}/{YYYY}/{MM}/{name}.warc.gz`` is indexed at
``indexes/{outlet}/{YYYY}/{MM}/{name}.warc.gz.cdxj`` (the WARC's full file name plus
``.cdxj``, so an index names its WARC unambiguously).
"""

from __future__ import annotations

import heapq
import json
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from archive.store.base import LocalStore, Store

WARC_PREFIX = "warc/"
INDEX_PREFIX = "indexes/"
INDEX_SUFFIX = ".cdxj"
WARC_SUFFIXES = (".warc.gz", ".warc")


def index_warc(warc_path: Path, out_path: Path, *, filename: str | None = None) -> int:
    """Write the sorted CDXJ index of ``warc_path`` to ``out_path``; return its line count.

    ``filename`` is the WARC name the index lines carry (default: the file's own name; pass
    it when indexing a spooled copy whose name differs from the published one).
    """
    from cdxj_indexer.main import CDXJIndexer

    warc_path, out_path = Path(warc_path), Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".open")
    # post_append pairs each response with its request, so non-GET captures get the
    # method (and request body) in their key as pywb/ReplayWeb.page expect
    indexer = CDXJIndexer(str(partial), [str(warc_path)], sort=True, post_append=True,
                          filename=filename or warc_path.name.removesuffix(".open"))
    indexer.process_all()
    os.replace(partial, out_path)
    with open(out_path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def index_key_for(warc_key: str) -> str:
    """Store key of the index of the WARC at ``warc_key`` (see the module docstring)."""
    if not warc_key.startswith(WARC_PREFIX) or not warc_key.endswith(WARC_SUFFIXES):
        raise ValueError(f"not a WARC key: {warc_key!r} (expected warc/.../*.warc.gz)")
    return INDEX_PREFIX + warc_key[len(WARC_PREFIX):] + INDEX_SUFFIX


def warc_key_for(index_key: str) -> str:
    """Inverse of ``index_key_for``."""
    if not index_key.startswith(INDEX_PREFIX) or not index_key.endswith(INDEX_SUFFIX):
        raise ValueError(f"not an index key: {index_key!r}")
    return WARC_PREFIX + index_key[len(INDEX_PREFIX):-len(INDEX_SUFFIX)]


def warc_keys(store: Store, outlet: str | None = None) -> list[str]:
    """Every closed WARC in the store (optionally of one outlet), in key order."""
    prefix = f"{WARC_PREFIX}{outlet}/" if outlet else WARC_PREFIX
    return sorted(k for k in store.list_keys(prefix) if k.endswith(WARC_SUFFIXES))


@dataclass(frozen=True)
class CdxjLine:
    """One parsed index line."""

    urlkey: str
    timestamp: str  # 14 digits
    fields: dict

    @classmethod
    def parse(cls, line: str) -> CdxjLine:
        urlkey, timestamp, data = line.rstrip("\n").split(" ", 2)
        return cls(urlkey, timestamp, json.loads(data))

    @property
    def offset(self) -> int:
        return int(self.fields.get("offset", -1))

    @property
    def is_revisit(self) -> bool:
        return self.fields.get("mime") == "warc/revisit"


class LocalCopy:
    """A WARC of the store as a local file: the file itself (local store) or a download.

    Readers that seek (cdxj-indexer, random-access record reads, zip writers that want the
    size up front) need a real file; S3 objects are downloaded once into ``cache_dir``.
    """

    def __init__(self, store: Store, cache_dir: Path | None = None):
        self.store = store
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._owned: tempfile.TemporaryDirectory | None = None

    def path(self, key: str) -> Path:
        if isinstance(self.store, LocalStore):
            return self.store.path_for(key)
        if self.cache_dir is None:
            self._owned = tempfile.TemporaryDirectory(prefix="newsarchive-warcs-")
            self.cache_dir = Path(self._owned.name)
        target = self.cache_dir / key
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            with self.store.open_read(key) as source, open(partial, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
            os.replace(partial, target)
        return target

    def discard(self, key: str) -> None:
        """Remove a downloaded copy (never a local store's own file)."""
        if not isinstance(self.store, LocalStore) and self.cache_dir is not None:
            (self.cache_dir / key).unlink(missing_ok=True)

    def close(self) -> None:
        if self._owned is not None:
            self._owned.cleanup()
            self._owned = None

    def __enter__(self) -> LocalCopy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def ensure_index(store: Store, warc_key: str, copies: LocalCopy | None = None) -> str:
    """Index ``warc_key`` unless its index exists; return the index key.

    Used to backfill WARCs closed before indexing existed, or whose index upload failed.
    """
    key = index_key_for(warc_key)
    if store.exists(key):
        return key
    own = copies is None
    copies = copies or LocalCopy(store)
    try:
        local = copies.path(warc_key)
        spooled = Path(store.spool_dir) / key
        index_warc(local, spooled, filename=Path(warc_key).name)
        store.publish(spooled, key)
    finally:
        if own:
            copies.close()
    return key


def iter_lines(stream: BinaryIO, chunk_size: int = 1 << 20) -> Iterator[str]:
    """Text lines of a binary stream that may offer only ``read`` (an S3 body does)."""
    pending = b""
    while chunk := stream.read(chunk_size):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.decode("utf-8") + "\n"
    if pending:
        yield pending.decode("utf-8") + "\n"


def read_index(store: Store, index_key: str) -> Iterator[CdxjLine]:
    with store.open_read(index_key) as raw:
        for line in iter_lines(raw):
            if line.strip() and not line.startswith("!"):
                yield CdxjLine.parse(line)


# read-ahead per merged index: with 1 MB (a chunk plus its split lines held by each of the
# N streams) a WACZ of 20 WARCs held ~50 MB; memory must not follow the number of WARCs
MERGE_CHUNK = 1 << 16


def merged_lines(store: Store, index_keys: Iterable[str]) -> Iterator[str]:
    """All lines of several sorted indexes as one sorted stream (heap merge, constant memory
    per input), so a WACZ index over any number of WARCs never needs a full sort."""
    handles = [store.open_read(k) for k in index_keys]
    try:
        streams = [(line for line in iter_lines(h, MERGE_CHUNK)
                    if line.strip() and not line.startswith("!")) for h in handles]
        previous = None
        for line in heapq.merge(*streams):
            if line != previous:
                yield line
            previous = line
    finally:
        for handle in handles:
            handle.close()


class RevisitResolver:
    """Finds the original capture of a revisit record through an outlet's CDXJ indexes.

    Match order: same URL and the revisit's WARC-Refers-To-Date, then same URL, then any
    URL with the same payload digest (identical-payload revisits may point across URLs).
    The digest table is built on first use from every index of the outlet.
    """

    def __init__(self, store: Store, outlet: str, copies: LocalCopy | None = None):
        self.store, self.outlet, self.copies = store, outlet, copies
        self._by_digest: dict[str, list[tuple[str, str, str, int]]] | None = None

    def _table(self) -> dict[str, list[tuple[str, str, str, int]]]:
        if self._by_digest is None:
            table: dict[str, list[tuple[str, str, str, int]]] = defaultdict(list)
            for key in warc_keys(self.store, self.outlet):
                ensure_index(self.store, key, self.copies)
                for line in read_index(self.store, index_key_for(key)):
                    if not line.is_revisit and line.fields.get("digest"):
                        table[line.fields["digest"]].append(
                            (line.fields.get("url", ""), line.timestamp, key, line.offset))
            self._by_digest = table
        return self._by_digest

    def original(self, uri: str, date: str | None, digest: str | None) -> dict | None:
        """``{"key", "offset", "url"}`` of the original capture, or None."""
        candidates = self._table().get(digest or "", [])
        ts = "".join(ch for ch in (date or "") if ch.isdigit())[:14]
        for match in (lambda c: c[0] == uri and c[1] == ts, lambda c: c[0] == uri,
                      lambda c: True):
            found = [c for c in candidates if match(c)]
            if found:
                url, _, key, offset = min(found, key=lambda c: c[1])
                return {"key": key, "offset": offset, "url": url}
        return None
