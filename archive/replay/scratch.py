"""Per-page bookkeeping of a WACZ build on disk, so memory stays flat at any size.

Building pages.jsonl needs, per article page, the capture it points at (WARC name and
offset), that capture's timestamp found while the indexes are merged, and whether a page
for the same (url, timestamp) was written already.  At a million articles those sets
would take hundreds of MB; a temporary SQLite database in the build's work directory
holds them instead.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

_SCHEMA = """
PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-2000;
CREATE TABLE wanted (name TEXT NOT NULL, "offset" INTEGER NOT NULL, ts TEXT,
                     PRIMARY KEY (name, "offset")) WITHOUT ROWID;
CREATE TABLE seen (url TEXT NOT NULL, ts TEXT NOT NULL, PRIMARY KEY (url, ts)) WITHOUT ROWID;
"""

_CAPTURES = """
PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-2000;
CREATE TABLE captures (name TEXT NOT NULL, "offset" INTEGER NOT NULL, ts TEXT NOT NULL,
                       PRIMARY KEY (name, "offset")) WITHOUT ROWID;
"""


class PageScratch:
    """``want``/``in``/``[pointer] = ts``/``get`` for captures; ``first`` for pages."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path)
        self.db.executescript(_SCHEMA)
        self.count = 0

    def want(self, pointer: tuple[str, int]) -> None:
        self.count += self.db.execute("INSERT OR IGNORE INTO wanted VALUES (?, ?, NULL)",
                                      pointer).rowcount

    def __bool__(self) -> bool:
        return self.count > 0

    def __contains__(self, pointer: object) -> bool:
        return self.db.execute('SELECT 1 FROM wanted WHERE name = ? AND "offset" = ?',
                               pointer).fetchone() is not None  # type: ignore[arg-type]

    def __setitem__(self, pointer: tuple[str, int], ts: str) -> None:
        self.db.execute('UPDATE wanted SET ts = ? WHERE name = ? AND "offset" = ?',
                        (ts, *pointer))

    def get(self, pointer: tuple[str, int]) -> str | None:
        row = self.db.execute('SELECT ts FROM wanted WHERE name = ? AND "offset" = ?',
                              pointer).fetchone()
        return row[0] if row else None

    def first(self, url: str, ts: str) -> bool:
        """True the first time a page for (url, ts) is seen."""
        return self.db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)",
                               (url, ts)).rowcount == 1

    def load_captures(self, path: Path) -> None:
        """Set the timestamp of every wanted capture from a ``captures_db`` (one join)."""
        self.db.execute("ATTACH DATABASE ? AS cap", (str(path),))
        self.db.execute('''UPDATE wanted SET ts = (SELECT c.ts FROM cap.captures c
                           WHERE c.name = wanted.name AND c."offset" = wanted."offset")''')
        self.db.commit()
        self.db.execute("DETACH DATABASE cap")

    @staticmethod
    def captures_db(path: Path) -> sqlite3.Connection:
        """The index merge's table of every capture: (WARC name, offset) -> timestamp."""
        db = sqlite3.connect(path)
        db.executescript(_CAPTURES)
        return db

    @staticmethod
    def add_captures(db: sqlite3.Connection, rows: list[tuple[str, int, str]]) -> None:
        db.executemany("INSERT OR REPLACE INTO captures VALUES (?, ?, ?)", rows)
        db.commit()

    def close(self) -> None:
        self.db.close()
