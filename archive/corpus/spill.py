"""Re-extraction's per-record bookkeeping on disk (flat memory at a million articles).

``reextract`` groups every source record by the WARC that holds its capture, then, after
extraction, writes the new records in order while chaining ``previous_sha256`` through
the new hashes.  Held in dicts that is ~2.6 KB per article version; here it is a
temporary SQLite database, read back one task's chunk at a time (``warc_chunks``): a
whole WARC's items held at once were ~2.4 KB each, 48 MB for a WARC of 20,000 articles,
and a 1 GB WARC can hold many more.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

Items = Mapping[str, list[dict[str, Any]]]

_SCHEMA = """
PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-4000;
CREATE TABLE items (warc TEXT NOT NULL, seq INTEGER PRIMARY KEY, offset INTEGER NOT NULL,
                    item TEXT NOT NULL);
CREATE TABLE written (outlet TEXT NOT NULL, seq INTEGER PRIMARY KEY, id TEXT NOT NULL,
                      version INTEGER NOT NULL, previous TEXT);
CREATE TABLE hashes (id TEXT NOT NULL, version INTEGER NOT NULL, sha TEXT NOT NULL,
                     PRIMARY KEY (id, version)) WITHOUT ROWID;
"""


class ReextractSpill:
    """Source items by WARC (a read-only mapping: key -> list of items) and the order and
    new hashes of the records written."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path)
        self.db.executescript(_SCHEMA)
        self._indexed = False

    # ---- source items, grouped by WARC

    def add(self, warc_key: str, item: dict[str, Any]) -> None:
        self.db.execute("INSERT INTO items (warc, offset, item) VALUES (?, ?, ?)",
                        (warc_key, int(item["warc"]["offset"]),
                         json.dumps(item, ensure_ascii=False)))

    def _index(self) -> None:
        if not self._indexed:  # (warc, offset, seq): chunks come out in order, unsorted
            self.db.execute("CREATE INDEX items_warc ON items (warc, offset, seq)")
            self._indexed = True

    def __iter__(self) -> Iterator[str]:
        self._index()
        return iter([row[0] for row in self.db.execute(
            "SELECT DISTINCT warc FROM items ORDER BY warc")])

    def __getitem__(self, warc_key: str) -> list[dict[str, Any]]:
        self._index()
        return [json.loads(item) for (item,) in self.db.execute(
            "SELECT item FROM items WHERE warc = ? ORDER BY seq", (warc_key,))]

    def chunks(self, warc_key: str, size: int) -> Iterator[list[dict[str, Any]]]:
        """The items of one WARC in offset order, ``size`` at a time: only the chunks
        in flight are in memory."""
        self._index()
        rows = self.db.execute("SELECT item FROM items WHERE warc = ? ORDER BY offset, seq",
                               (warc_key,))
        while batch := rows.fetchmany(size):
            yield [json.loads(item) for (item,) in batch]

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(DISTINCT warc) FROM items").fetchone()[0]

    # ---- records written

    def wrote(self, outlet: str, record_id: str, version: int, previous: str | None,
              sha: str) -> None:
        self.db.execute("INSERT INTO written (outlet, id, version, previous) VALUES "
                        "(?, ?, ?, ?)", (outlet, record_id, version, previous))
        self.db.execute("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?)",
                        (record_id, version, sha))

    def hashes(self) -> _Hashes:
        """The new content hashes, writable by (id, version): the template post-pass
        changes a record's hash after it was staged."""
        return _Hashes(self.db)

    def written(self, outlet: str) -> Iterator[tuple[str, int, str | None, str | None]]:
        """(id, version, previous in the record, new hash of version - 1) in write order."""
        yield from self.db.execute("""
            SELECT w.id, w.version, w.previous, h.sha FROM written w
            LEFT JOIN hashes h ON h.id = w.id AND h.version = w.version - 1
            WHERE w.outlet = ? ORDER BY w.seq""", (outlet,))

    def close(self) -> None:
        self.db.close()


class _Hashes:
    """``hashes[(id, version)] = sha`` over the spill's hash table."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __setitem__(self, key: tuple[str, int], sha: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?)", (key[0], key[1], sha))


def warc_chunks(by_warc: ReextractSpill | Items, warc_key: str,
                size: int) -> Iterator[list[dict[str, Any]]]:
    """One WARC's items in offset order (the revisits' original offset where followed),
    ``size`` at a time: streamed from the spill, sorted in memory for a plain mapping
    (the few revisits followed)."""
    if isinstance(by_warc, ReextractSpill):
        yield from by_warc.chunks(warc_key, size)
        return
    items = sorted(by_warc[warc_key],
                   key=lambda i: int(i.get("_read_from", i["warc"])["offset"]))
    for start in range(0, len(items), size):
        yield items[start:start + size]
