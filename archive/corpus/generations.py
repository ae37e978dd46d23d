"""Resolving corpus generations in one read of each file, with memory that stays flat.

Several files may hold the same (id, version) -- a crawl run and later re-extraction
runs; the newest file's record wins, and by default only the highest version of each id
is wanted.  Deciding that needs every file before the first record can be yielded.
Instead of reading every file twice (identities first, records second) and keeping a
dict entry per article version in memory, each file is read once into a temporary
SQLite table keyed by (id, version) -- a newer file's record replaces an older one's --
and the winners are read back from it.  Memory: SQLite's page cache; disk: about the
compressed size of the corpus, removed afterwards.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_SCHEMA = """
PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-2000;
CREATE TABLE recs (id TEXT NOT NULL, version INTEGER NOT NULL, rank INTEGER NOT NULL,
                   pos INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (id, version));
"""
_UPSERT = """
INSERT INTO recs VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id, version) DO UPDATE SET rank = excluded.rank, pos = excluded.pos,
    data = excluded.data WHERE excluded.rank >= recs.rank
"""
_BATCH = 2000


def _winning(all_versions: bool) -> str:
    """The query of the winners' payloads, in file order (every version or the highest)."""
    if all_versions:
        return "SELECT data FROM recs ORDER BY pos"
    return ("SELECT r.data FROM recs r JOIN (SELECT id, MAX(version) AS top FROM recs "
            "GROUP BY id) m ON m.id = r.id AND m.top = r.version ORDER BY r.pos")


def identity(record: dict[str, Any]) -> tuple[str, int]:
    version = record.get("version") or 1
    return str(record.get("id") or record.get("url") or ""), int(version)


def _resolved(fill: Callable[[sqlite3.Connection], None], all_versions: bool
              ) -> Iterator[bytes]:
    """The winning payloads, once ``fill`` has put every generation into a temporary
    ``recs`` table (the file is removed when the caller stops reading)."""
    handle, path = tempfile.mkstemp(prefix="newsarchive-corpus-", suffix=".sqlite3")
    os.close(handle)
    db = sqlite3.connect(path, isolation_level=None)  # ATTACH needs no open transaction
    try:
        db.executescript(_SCHEMA)
        fill(db)
        for (data,) in db.execute(_winning(all_versions)):
            yield zlib.decompress(data)
    finally:
        db.close()
        os.unlink(path)


def winners(files: Iterable[Iterable[tuple[dict[str, Any], str]]], all_versions: bool
            ) -> Iterator[dict[str, Any]]:
    """Records of ``files`` (oldest generation first), each given as (record, its JSON
    line): per (id, version) the newest generation's last record (a crawl writes a record
    again when its template pass cleaned it again before the file was closed), and only
    each id's highest version unless ``all_versions``.  Yielded in the order they appear in
    their files, oldest generation first.  The line is stored as read (serializing the
    record again cost a fifth of a WACZ build)."""
    def fill(db: sqlite3.Connection) -> None:
        db.execute("BEGIN")
        pos = 0
        for rank, records in enumerate(files):
            batch = []
            for record, line in records:
                rid, version = identity(record)
                pos += 1
                batch.append((rid, version, rank, pos, zlib.compress(line.encode("utf-8"), 1)))
                if len(batch) >= _BATCH:
                    db.executemany(_UPSERT, batch)
                    batch = []
            db.executemany(_UPSERT, batch)
        db.execute("COMMIT")

    for data in _resolved(fill, all_versions):
        yield json.loads(data)


# ---- generations prepared elsewhere (by worker processes): merged without Python per row --

_ENTRIES = """
PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-2000;
CREATE TABLE entries (pos INTEGER PRIMARY KEY, id TEXT NOT NULL, version INTEGER NOT NULL,
                      data BLOB NOT NULL);
"""
_MERGE = """
INSERT INTO recs SELECT id, version, ?, pos + ?, data FROM gen.entries WHERE true ORDER BY pos
ON CONFLICT (id, version) DO UPDATE SET rank = excluded.rank, pos = excluded.pos,
    data = excluded.data WHERE excluded.rank >= recs.rank
"""


def write_generation(entries: Iterable[tuple[str, int, bytes]], path: str | os.PathLike
                     ) -> int:
    """One generation's entries -- (id, version, payload) in file order, the payload what
    the consumer needs of the record -- into a new SQLite file at ``path``, compressed,
    for ``merged_generations``.  A worker process can prepare each file (decompressing and
    parsing the corpus, the costly part) while the merge stays in one process."""
    db = sqlite3.connect(path)
    count = 0
    try:
        db.executescript(_ENTRIES)
        batch = []
        for rid, version, payload in entries:
            count += 1
            batch.append((count, rid, version, zlib.compress(payload, 1)))
            if len(batch) >= _BATCH:
                db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?)", batch)
                batch = []
        db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?)", batch)
        db.commit()
    finally:
        db.close()
    return count


def merged_generations(paths: Iterable[str | os.PathLike], all_versions: bool
                       ) -> Iterator[bytes]:
    """The winning payloads of generation files written by ``write_generation`` (oldest
    generation first), with ``winners``' rules and order; the merge is SQL, one statement
    per generation."""
    def fill(db: sqlite3.Connection) -> None:
        offset = 0
        for rank, generation in enumerate(paths):
            db.execute("ATTACH DATABASE ? AS gen", (os.fspath(generation),))
            try:
                db.execute(_MERGE, (rank, offset))
                offset += db.execute("SELECT COALESCE(MAX(pos), 0) FROM gen.entries"
                                     ).fetchone()[0]
            finally:
                db.execute("DETACH DATABASE gen")

    yield from _resolved(fill, all_versions)
