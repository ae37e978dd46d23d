"""Every URL that led to an article, as a crawl would have recorded it (issue 19).

The crawler marks an article archived under its key (from the corpus id) and under the
key of every URL that led to it: the URL it was fetched from (another category slug, a
legacy URL), the URL of a redirect in front of it, a second URL serving the same page.
Without those alias keys the next run fetches every such URL again to find a known
article.  A rebuild recovers them from the store:

- the corpus record's own ``url`` (the fetched URL);
- redirects (3xx records of article URLs with a ``Location``) whose chain ends at an
  article's URL;
- 200 captures of article URLs whose payload digest is the digest of an article's record
  (the same page under another URL).

The joins run in a temporary SQLite database, so memory stays flat however many articles
the store holds.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from urllib.parse import urljoin

from archive.state.base import ArticleRecord, DigestRecord

_SCHEMA = """
CREATE TABLE articles (outlet TEXT, key TEXT, url TEXT, sha TEXT, version INTEGER,
                       fetched TEXT, published TEXT, digest TEXT);
CREATE TABLE redirects (source TEXT, target TEXT);
CREATE TABLE pages (url TEXT, digest TEXT);
CREATE TABLE young (url TEXT, outlet TEXT, key TEXT);
CREATE TABLE fetches (url TEXT, ts REAL);
CREATE TABLE digests (digest TEXT, uri TEXT, date TEXT, record_id TEXT, filename TEXT,
                      "offset" INTEGER, outlet TEXT);
"""
MAX_HOPS = 5  # a redirect chain longer than this is not followed (a crawler stops too)


class AliasIndex:
    """Collects articles, redirects and article-URL captures; yields the alias rows."""

    def __init__(self, directory: str | None = None):
        handle, self.path = tempfile.mkstemp(prefix="newsarchive-aliases-", suffix=".sqlite3",
                                             dir=directory)
        os.close(handle)
        self.db = sqlite3.connect(self.path)
        self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
                              "PRAGMA cache_size=-2000;" + _SCHEMA)

    def article(self, outlet: str, record: ArticleRecord, digest: str | None) -> None:
        self.db.execute("INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (outlet, record.key, record.url, record.content_sha256, record.version,
                         record.fetched_at.isoformat(), record.published, digest or ""))

    def redirect(self, source: str, location: str) -> None:
        self.db.execute("INSERT INTO redirects VALUES (?, ?)",
                        (source, urljoin(source, location.strip())))

    def page(self, url: str, digest: str) -> None:
        self.db.execute("INSERT INTO pages VALUES (?, ?)", (url, digest))

    def young_article(self, url: str, outlet: str, key: str) -> None:
        """An article young enough for re-checks, under one of its URLs."""
        self.db.execute("INSERT INTO young VALUES (?, ?, ?)", (url, outlet, key))

    def fetch(self, url: str, when: float) -> None:
        """A capture of ``url`` at epoch ``when`` (any page: joined with ``young`` later)."""
        self.db.execute("INSERT INTO fetches VALUES (?, ?)", (url, when))

    def digest(self, record: DigestRecord) -> None:
        """A first-capture candidate, held here until ``digests`` hands them over sorted."""
        self.db.execute("INSERT INTO digests VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (record.digest, record.uri, record.date, record.record_id,
                         record.filename, record.offset, record.outlet))

    def digests(self) -> Iterator[DigestRecord]:
        """Every candidate in digest order: the state's digest b-tree then grows at its
        right edge instead of by random inserts (a rebuild of 300k articles spent most of
        its time on those once the table outgrew the page cache)."""
        for row in self.db.execute("SELECT * FROM digests ORDER BY digest"):
            yield DigestRecord(*row)

    def last_fetches(self) -> Iterator[tuple[str, str, float]]:
        """(outlet, key, latest capture time) of every young article fetched again."""
        self.db.executescript("CREATE INDEX IF NOT EXISTS young_url ON young (url);"
                              "CREATE INDEX IF NOT EXISTS fetches_url ON fetches (url);")
        yield from self.db.execute("""
            SELECT y.outlet, y.key, MAX(f.ts) FROM young y JOIN fetches f ON f.url = y.url
            GROUP BY y.outlet, y.key""")

    def aliases(self, key_of: Callable[[str, str], str | None]) -> Iterator[tuple[str,
                                                                                ArticleRecord]]:
        """(outlet, alias row) for every URL leading to an article whose key differs.

        ``key_of(outlet, url)`` is the outlet's article key of an article URL, or None
        for a URL that is not an article URL of that outlet.
        """
        from datetime import datetime

        self.db.executescript("""
            CREATE INDEX articles_url ON articles (url);
            CREATE INDEX articles_digest ON articles (digest);
            CREATE INDEX redirects_target ON redirects (target);
            CREATE TABLE leads AS
                SELECT url AS url, rowid AS article FROM articles
                UNION SELECT p.url, a.rowid FROM pages p JOIN articles a
                    ON a.digest = p.digest AND a.digest != '';
            CREATE INDEX leads_url ON leads (url, article);
        """)
        for _ in range(MAX_HOPS):  # redirects in front of any URL that leads to an article
            added = self.db.execute("""
                INSERT INTO leads SELECT DISTINCT r.source, l.article FROM redirects r
                JOIN leads l ON l.url = r.target
                WHERE NOT EXISTS (SELECT 1 FROM leads x WHERE x.url = r.source
                                  AND x.article = l.article)""").rowcount
            if not added:
                break
        rows = self.db.execute("""
            SELECT l.url, a.outlet, a.key, a.sha, a.version, a.fetched, a.published
            FROM leads l JOIN articles a ON a.rowid = l.article ORDER BY a.outlet""")
        for url, outlet, key, sha, version, fetched, published in rows:
            alias = key_of(outlet, url)
            if alias is None or alias == key:
                continue
            yield outlet, ArticleRecord(alias, url, sha, int(version),
                                        datetime.fromisoformat(fetched), published)

    def close(self) -> None:
        self.db.close()
        for suffix in ("", "-journal", "-wal", "-shm"):
            try:
                os.unlink(self.path + suffix)
            except FileNotFoundError:
                pass
