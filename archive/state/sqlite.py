"""The embedded default state: one SQLite file (WAL mode), safe for one crawl process.

See ``archive.state.base`` for what the state holds and why it is only a cache.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from archive.state.base import (
    SCHEMA_VERSION,
    ArticleState,
    BackendBase,
    DigestRecord,
    StateError,
    Validators,
    chunks,
    digest_row,
    from_epoch,
    to_datetime,
)
from archive.state.schedule import RecheckSchedule

# ---- SQLite ----------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outlets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS articles (
    outlet_id INTEGER NOT NULL, key TEXT NOT NULL, url TEXT NOT NULL,
    version INTEGER NOT NULL, content_sha256 TEXT NOT NULL,
    first_fetched REAL NOT NULL, last_fetched REAL NOT NULL, last_checked REAL NOT NULL,
    published TEXT, anchor REAL NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS articles_key ON articles (outlet_id, key);
CREATE INDEX IF NOT EXISTS articles_anchor ON articles (outlet_id, anchor);
CREATE TABLE IF NOT EXISTS digests (
    digest TEXT NOT NULL, outlet TEXT NOT NULL, uri TEXT NOT NULL, date TEXT NOT NULL,
    ts REAL NOT NULL, record_id TEXT NOT NULL, filename TEXT NOT NULL, "offset" INTEGER,
    PRIMARY KEY (digest, outlet)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS validators (
    url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, updated REAL NOT NULL,
    captured TEXT) WITHOUT ROWID;
"""

# The capture with the highest version (then the latest fetch) gives url, hash, published.
_UPSERT_ARTICLE = """
INSERT INTO articles (outlet_id, key, url, version, content_sha256, first_fetched,
                      last_fetched, last_checked, published, anchor)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (outlet_id, key) DO UPDATE SET
    url = CASE WHEN {newer} THEN excluded.url ELSE articles.url END,
    content_sha256 = CASE WHEN {newer} THEN excluded.content_sha256
                     ELSE articles.content_sha256 END,
    published = CASE WHEN {newer} THEN coalesce(excluded.published, articles.published)
                ELSE coalesce(articles.published, excluded.published) END,
    version = max(articles.version, excluded.version),
    first_fetched = min(articles.first_fetched, excluded.first_fetched),
    last_fetched = max(articles.last_fetched, excluded.last_fetched),
    last_checked = max(articles.last_checked, excluded.last_checked),
    anchor = min(articles.anchor, excluded.anchor)
""".format(newer="(excluded.version > articles.version OR (excluded.version = articles.version "
                 "AND excluded.last_fetched >= articles.last_fetched))")

_UPSERT_DIGEST = """
INSERT INTO digests (digest, outlet, uri, date, ts, record_id, filename, "offset")
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (digest, outlet) DO UPDATE SET
    uri = excluded.uri, date = excluded.date, ts = excluded.ts, record_id = excluded.record_id,
    filename = excluded.filename, "offset" = excluded."offset"
WHERE excluded.ts < digests.ts
"""

# Tables created on first use by other state modules, each with an ``outlet`` column.
_SIDE_TABLES = ("extract_templates", "extract_template_unsettled", "source_hashes")

_ARTICLE_COLUMNS = ("key, url, version, content_sha256, first_fetched, last_fetched, "
                    "last_checked, published, anchor")



class SQLiteState(BackendBase):
    """The embedded state: one SQLite file in WAL mode.

    One connection guarded by a lock (the crawler calls from the reactor thread and
    from pipeline threads; SQLite serialises writers anyway).  Each write commits at
    once, so a killed run keeps everything it recorded; batches use one transaction.
    The page cache is bounded (``cache_mb``), which bounds memory whatever the size
    of the database: the seen-check walks a narrow (outlet, key) index.
    """

    def __init__(self, path: str | os.PathLike, cache_mb: int = 32):
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None,
                                       check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")
            self._db.execute("PRAGMA temp_store=MEMORY")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StateError(f"{self.path}: state schema {version} is newer than this "
                                 f"newsarchive ({SCHEMA_VERSION}); upgrade newsarchive")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{self.path}: cannot open the state database ({exc}); it is a "
                             "cache: move it aside and run `newsarchive state rebuild`") from exc
        except OSError as exc:
            raise StateError(f"{self.path}: cannot create the state database ({exc}); "
                             "pass --state with a writable path") from exc
        self._lock = threading.RLock()
        self._outlets: dict[str, int] = dict(
            (name, oid) for oid, name in self._db.execute("SELECT id, name FROM outlets"))

    # ---- outlets

    def _outlet_id(self, outlet: str, create: bool = False) -> int | None:
        """The outlet's row id; another process may have added the outlet since we opened."""
        oid = self._outlets.get(outlet)
        if oid is None:
            row = self._db.execute("SELECT id FROM outlets WHERE name = ?", (outlet,)).fetchone()
            if row is not None:
                oid = self._outlets[outlet] = row[0]
        if oid is None and create:
            self._db.execute("INSERT OR IGNORE INTO outlets (name) VALUES (?)", (outlet,))
            oid = self._db.execute("SELECT id FROM outlets WHERE name = ?",
                                   (outlet,)).fetchone()[0]
            self._outlets[outlet] = oid
        return oid

    # ---- articles

    def is_archived(self, outlet: str, key: str) -> bool:
        with self._lock:
            oid = self._outlet_id(outlet)
            if oid is None:
                return False
            return self._db.execute("SELECT 1 FROM articles WHERE outlet_id = ? AND key = ?",
                                    (oid, key)).fetchone() is not None

    def archived_among(self, outlet: str, keys: Iterable[str]) -> set[str]:
        found: set[str] = set()
        with self._lock:
            oid = self._outlet_id(outlet)
            if oid is None:
                return found
            for batch in chunks(keys, 500):  # stays under SQLite's host-parameter limit
                marks = ",".join("?" * len(batch))
                found.update(k for (k,) in self._db.execute(
                    f"SELECT key FROM articles WHERE outlet_id = ? AND key IN ({marks})",
                    (oid, *batch)))
        return found

    def _write_articles(self, outlet: str, rows: list[tuple]) -> None:
        with self._lock:
            oid = self._outlet_id(outlet, create=True)
            self._write_many(_UPSERT_ARTICLE, [(oid, *row) for row in rows])

    def article_info(self, outlet: str, key: str) -> ArticleState | None:
        with self._lock:
            oid = self._outlet_id(outlet)
            if oid is None:
                return None
            row = self._db.execute(
                f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE outlet_id = ? AND key = ?",
                (oid, key)).fetchone()
        if row is None:
            return None
        key, url, version, sha, first, last, checked, published, anchor = row
        return ArticleState(outlet, key, url, version, sha, from_epoch(first), from_epoch(last),
                            from_epoch(checked), published, from_epoch(anchor))

    def mark_checked(self, outlet: str, key: str, checked_at: datetime) -> None:
        ts = to_datetime(checked_at).timestamp()
        with self._lock:
            oid = self._outlet_id(outlet)
            if oid is not None:
                self._db.execute("UPDATE articles SET last_checked = max(last_checked, ?) "
                                 "WHERE outlet_id = ? AND key = ?", (ts, oid, key))

    def _young_rows(self, outlet: str, now: datetime,
                    schedule: RecheckSchedule) -> list[tuple[str, str, float, float]]:
        with self._lock:
            oid = self._outlet_id(outlet)
            if oid is None:
                return []
            return self._db.execute(
                "SELECT key, url, anchor, last_checked FROM articles "
                "WHERE outlet_id = ? AND anchor >= ?",
                (oid, schedule.young_since(now).timestamp())).fetchall()

    def count_articles(self, outlet: str) -> int:
        with self._lock:
            oid = self._outlet_id(outlet)
            if oid is None:
                return 0
            return self._db.execute("SELECT count(*) FROM articles WHERE outlet_id = ?",
                                    (oid,)).fetchone()[0]

    # ---- digests

    def lookup_digest(self, digest: str, outlet: str | None = None) -> DigestRecord | None:
        sql = ('SELECT digest, uri, date, record_id, filename, "offset", outlet FROM digests '
               "WHERE digest = ?")
        args: tuple = (digest,)
        if outlet is not None:
            sql += " AND outlet = ?"
            args = (digest, outlet)
        with self._lock:
            row = self._db.execute(sql + " ORDER BY ts, outlet LIMIT 1", args).fetchone()
        return DigestRecord(*row) if row else None

    def _write_digests(self, records: list[DigestRecord]) -> int:
        with self._lock:
            return self._write_many(_UPSERT_DIGEST, [digest_row(r) for r in records])

    def count_digests(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(DISTINCT digest) FROM digests").fetchone()[0]

    # ---- validators

    def get_validators(self, url: str) -> Validators | None:
        with self._lock:
            row = self._db.execute(
                "SELECT etag, last_modified, captured FROM validators WHERE url = ?", (url,)
            ).fetchone()
        return Validators(*row) if row else None

    def set_validators(self, url: str, etag: str | None, last_modified: str | None,
                       captured: str | None = None) -> None:
        with self._lock:
            if etag is None and last_modified is None:
                self._db.execute("DELETE FROM validators WHERE url = ?", (url,))
                return
            self._db.execute(
                "INSERT INTO validators (url, etag, last_modified, updated, captured) "
                "VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, "
                "last_modified = excluded.last_modified, updated = excluded.updated, "
                "captured = excluded.captured",
                (url, etag, last_modified, datetime.now(UTC).timestamp(), captured))

    # ---- housekeeping

    def _write_many(self, sql: str, rows: list[tuple]) -> int:
        """All ``rows`` in one transaction; returns how many rows they changed."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            changed = self._db.executemany(sql, rows).rowcount
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return changed

    def _side_tables(self) -> list[str]:
        """The tables other state modules create on first use (template stores, unsettled
        marks, source hashes: ``archive.state.templates``, ``archive.state.source_hashes``)
        that exist in this file; each keys its rows by an ``outlet`` column."""
        return [name for (name,) in self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?, ?)",
            _SIDE_TABLES)]

    def clear(self) -> None:
        with self._lock:
            side = "".join(f"DELETE FROM {table}; " for table in self._side_tables())
            self._db.executescript("BEGIN IMMEDIATE; DELETE FROM articles; DELETE FROM digests; "
                                   f"DELETE FROM validators; {side}DELETE FROM outlets; COMMIT;")
            self._outlets.clear()

    def clear_outlet(self, outlet: str) -> None:
        """Forget what one outlet owns: its articles, template stores (one per edition
        language, named ``outlet/lang``), unsettled marks and source hashes.  Other
        outlets, digests and validators stay (the latter are merged by a rebuild, whatever
        is already there)."""
        editions = outlet + "/"
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                outlet_id = self._outlet_id(outlet)
                if outlet_id is not None:
                    self._db.execute("DELETE FROM articles WHERE outlet_id = ?", (outlet_id,))
                for table in self._side_tables():
                    self._db.execute(f"DELETE FROM {table} WHERE outlet = ? OR "
                                     "substr(outlet, 1, ?) = ?",
                                     (outlet, len(editions), editions))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            try:
                self._db.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass
            self._db.close()
