"""The corpus: one JSON object per article version, gzip-compressed JSON lines per run.

Records are derived data (the WARC is the source of truth), so the writer is simple:
append lines to a ``.open`` file in the spool and publish it when the run closes.  The
reader (``read``) is what other tools use: it resolves generations (crawl runs and
re-extraction runs) and versions, from a local directory or an S3 store alike.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from archive.corpus.generations import identity, winners
from archive.corpus.gzlines import GzipLines
from archive.store.base import Store
from archive.store.faults import pause_point

# zlib's default level: level 9 (gzip.open's default) costs 2-3x the CPU for ~1 % smaller
# files, and the writer runs in the crawl's (and re-extraction's) main process
GZIP_LEVEL = 6


def corpus_key(outlet: str, run_id: str, started: datetime) -> str:
    """Store key of a run's corpus file (DESIGN.md store layout)."""
    return f"corpus/{outlet}/{started:%Y}/{started:%m}/{run_id}.jsonl.gz"


def encode_record(record: dict[str, Any]) -> str:
    """One corpus line: sorted keys, UTF-8 text kept readable, newline-terminated."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"


class CorpusWriter:
    """Writes a run's corpus records; the file appears under its final name only on close.

    Every line reaches the ``.open`` file as it is written (a killed run's records are
    recovered from it, ``archive.state.recovery``); a failed write (disk full) keeps the
    lines before it valid and raises.  ``on_opening(key)`` runs before the file is created
    (the run journal notes it).  A record written again (``replaces=True``: the template
    pass cleaned it once more) supersedes its earlier line; ``close`` leaves one line per
    (id, version) in the published file, as downstream readers expect.
    """

    def __init__(self, spool_dir: Path, outlet: str, run_id: str, started: datetime,
                 on_opening: Callable[[str], None] | None = None):
        self.key = corpus_key(outlet, run_id, started)
        self.path = Path(spool_dir) / self.key
        self._open_path = self.path.with_name(self.path.name + ".open")
        self._handle: GzipLines | None = None
        self.on_opening = on_opening
        self.count = 0
        self._replaced: set[tuple[str, int]] = set()  # (id, version) written more than once

    def write(self, record: dict[str, Any], replaces: bool = False) -> None:
        self.write_line(encode_record(record))
        if replaces:
            self._replaced.add((str(record["id"]), int(record.get("version") or 1)))

    def write_line(self, line: str) -> None:
        """Write one record already serialized by ``encode_record`` (worker processes
        serialize, so the writing process does not spend its CPU on it)."""
        if self._handle is None:
            self._open_path.parent.mkdir(parents=True, exist_ok=True)
            if self.on_opening is not None:
                self.on_opening(self.key)
            self._handle = GzipLines(self._open_path, GZIP_LEVEL)
        self._handle.write(line.encode("utf-8"))
        self.count += 1

    def close(self) -> Path | None:
        """Close and rename; returns the final path, or None when nothing was written."""
        if self._handle is None:
            return None
        handle, self._handle = self._handle, None
        handle.close()
        pause_point("corpus_fsynced")
        if not self.count:  # the first line failed: no empty file is left behind
            self._open_path.unlink(missing_ok=True)
            return None
        if self._replaced:
            self._drop_superseded()
        os.replace(self._open_path, self.path)
        pause_point("corpus_renamed")
        return self.path

    def _drop_superseded(self) -> None:
        """Rewrite the closed ``.open`` file keeping only the last line of each replaced
        (id, version).  Until the rewritten copy is complete the original stays: a crash
        or a full disk here leaves the earlier lines in, which the reader resolves (the
        last line of a file wins), so nothing is lost either way."""
        def keyed_lines() -> Iterator[tuple[tuple[str, int] | None, bytes]]:
            with gzip.open(self._open_path, "rb") as lines:
                for line in lines:
                    record = json.loads(line)
                    key = (str(record.get("id")), int(record.get("version") or 1))
                    yield (key if key in self._replaced else None), line

        remaining: dict[tuple[str, int], int] = {}
        for key, _ in keyed_lines():
            if key is not None:
                remaining[key] = remaining.get(key, 0) + 1
        compacted = self._open_path.with_name(self._open_path.name + ".compact")
        compacted.unlink(missing_ok=True)
        try:
            out = GzipLines(compacted, GZIP_LEVEL)
            kept = 0
            try:
                for key, line in keyed_lines():
                    if key is not None:
                        remaining[key] -= 1
                        if remaining[key]:
                            continue  # a later line of this (id, version) follows
                    out.write(line)
                    kept += 1
            finally:
                out.close()
        except OSError:
            compacted.unlink(missing_ok=True)
            return
        os.replace(compacted, self._open_path)
        self.count = kept


# ---- reading ------------------------------------------------------------------------------
#
# Generations.  Every crawl run and every ``reextract`` run writes its own file
# ``corpus/{outlet}/{YYYY}/{MM}/{run_id}.jsonl.gz``; files are never rewritten.  A record is
# identified by (id, version): ``version`` counts edits of one article as the crawler saw
# them, and a re-extraction re-derives the same (id, version) from the same WARC record.
# When several files hold the same (id, version), the one from the newest run wins (within
# a file its last line: a crawl writes a record again when it cleaned it again) (run ids
# sort by time: ``YYYYMMDDTHHMMSSZ-xxxxxx``).  ``read`` then yields, by default, only the
# highest version of each id (the article as last seen); ``all_versions=True`` yields every
# version once.  Filters (since, language) apply to the records that won.

CORPUS_PREFIX = "corpus/"
CORPUS_SUFFIX = ".jsonl.gz"


@dataclass(frozen=True, order=True)
class CorpusFile:
    """One generation file; ordered by run id, i.e. by age."""

    run_id: str
    outlet: str
    key: str


def corpus_files(store: Store, outlet: str | None = None) -> list[CorpusFile]:
    """Every corpus file in the store (optionally of one outlet), oldest run first."""
    prefix = f"{CORPUS_PREFIX}{outlet}/" if outlet else CORPUS_PREFIX
    files = []
    for key in store.list_keys(prefix):
        if not key.endswith(CORPUS_SUFFIX):
            continue
        parts = key.split("/")
        if len(parts) != 5:  # corpus/{outlet}/{YYYY}/{MM}/{run_id}.jsonl.gz
            continue
        files.append(CorpusFile(run_id=parts[-1][: -len(CORPUS_SUFFIX)], outlet=parts[1],
                                key=key))
    return sorted(files)


def read_file(store: Store, key: str) -> Iterator[dict[str, Any]]:
    """The records of one corpus file, in file order (local or S3: both stream)."""
    with store.open_read(key) as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def find_records(store: Store, outlet: str, wanted: set[tuple[str, int]]
                 ) -> Iterator[dict[str, Any]]:
    """The winning records of the given (id, version) pairs of one outlet, as ``read``
    with ``all_versions`` would give them, reading the newest generation first and
    stopping once every pair is found: the records a crawl looks for (its earlier runs'
    template marks) are in its latest files, so it reads those, not the whole corpus."""
    missing = set(wanted)
    for corpus_file in reversed(corpus_files(store, outlet)):
        if not missing:
            return
        found: dict[tuple[str, int], dict[str, Any]] = {}
        for record in read_file(store, corpus_file.key):
            pair = identity(record)
            if pair in missing:
                found[pair] = record  # a later line of the same file wins
        missing -= found.keys()
        yield from found.values()


def _read_lines(store: Store, key: str) -> Iterator[tuple[dict[str, Any], str]]:
    """(record, its line) of one corpus file, in file order: one read of each generation."""
    with store.open_read(key) as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line), line


def parse_since(value: str | date | datetime | None) -> datetime | None:
    """``2026-05-01`` or an ISO 8601 datetime -> an aware UTC datetime (naive = UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"not an ISO 8601 date or datetime: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_time(value: Any) -> datetime | None:
    """A record's ISO 8601 timestamp (fetched_at) as an aware datetime, or None."""
    if not value:
        return None
    try:
        return parse_since(str(value))
    except ValueError:
        return None


def read(store: Store, outlet: str | None = None, since: str | date | datetime | None = None,
         language: str | None = None, all_versions: bool = False) -> Iterator[dict[str, Any]]:
    """Corpus records of ``store``: the latest version of each article, newest generation.

    ``outlet`` limits to one outlet, ``since`` to records fetched at or after that instant
    (``fetched_at``; a date means its midnight UTC), ``language`` to one ISO 639-3 code.
    ``all_versions=True`` yields every version of every article instead of the latest.
    Each file is read once; the bookkeeping of which generation wins lives in a temporary
    SQLite table (``archive.corpus.generations``), so memory does not grow with the number
    of articles.
    """
    files = corpus_files(store, outlet)
    moment = parse_since(since)
    generations = (_read_lines(store, corpus_file.key) for corpus_file in files)
    for record in winners(generations, all_versions):
        if language and record.get("language") != language:
            continue
        if moment is not None:
            fetched = parse_time(record.get("fetched_at"))
            if fetched is None or fetched < moment:
                continue
        yield record
