"""Corpus export for other tools: one Parquet or JSON-lines file from the store's corpus.

The export is what NLP/research tools load, so its schema is fixed and documented here
(``CORPUS_SCHEMA``, also in the README): the corpus record fields of DESIGN.md with
column types a query engine can use directly.  ``fetched_at`` becomes a UTC timestamp;
``published``/``modified`` stay ISO 8601 strings because outlets give date-only values
as often as full datetimes (``TRY_CAST(published AS TIMESTAMPTZ)`` in DuckDB when
needed); ``extractor.options`` is a JSON string because its keys vary by extractor.

Rows are written in batches (``BATCH_ROWS``) so exporting a corpus larger than memory
works: Parquet through ``pyarrow.parquet.ParquetWriter`` row groups, JSONL line by line.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from archive.corpus.records import parse_time, read
from archive.store.base import Store

FORMATS = ("parquet", "jsonl")
BATCH_ROWS = 2000

WARC_TYPE = pa.struct([
    ("key", pa.string()),
    ("filename", pa.string()),
    ("offset", pa.int64()),
    ("length", pa.int64()),
    ("record_id", pa.string()),
    ("payload_digest", pa.string()),
])
EXTRACTOR_TYPE = pa.struct([
    ("name", pa.string()),
    ("version", pa.string()),
    ("options", pa.string()),  # JSON object as text
])

CORPUS_SCHEMA = pa.schema([
    pa.field("id", pa.string(), nullable=False),  # stable article id, e.g. "rudaw:123456"
    pa.field("outlet", pa.string(), nullable=False),
    pa.field("url", pa.string()),
    pa.field("canonical_url", pa.string()),
    pa.field("language", pa.string()),  # ISO 639-3
    pa.field("title", pa.string()),
    pa.field("authors", pa.list_(pa.string())),
    pa.field("published", pa.string()),  # ISO 8601 as extracted (date or datetime)
    pa.field("modified", pa.string()),
    pa.field("dateline", pa.string()),
    pa.field("section", pa.string()),
    pa.field("tags", pa.list_(pa.string())),
    pa.field("description", pa.string()),
    pa.field("image", pa.string()),
    pa.field("text", pa.large_string()),  # paragraphs separated by a blank line
    pa.field("word_count", pa.int32()),
    pa.field("fetched_at", pa.timestamp("us", tz="UTC")),
    pa.field("http_status", pa.int16()),
    pa.field("content_sha256", pa.string()),
    pa.field("run_id", pa.string()),  # the generation (crawl or reextract run) it comes from
    pa.field("version", pa.int32()),
    pa.field("previous_sha256", pa.string()),
    pa.field("warc", WARC_TYPE),  # the WARC response record the text came from
    pa.field("extractor", EXTRACTOR_TYPE),
], metadata={"newsarchive.schema": "corpus-1"})


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v is not None]


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def to_row(record: dict[str, Any]) -> dict[str, Any]:
    """A corpus record shaped for ``CORPUS_SCHEMA`` (missing fields become nulls)."""
    warc = record.get("warc") or {}
    extractor = record.get("extractor") or {}
    options = extractor.get("options")
    return {
        "id": str(record.get("id") or ""),
        "outlet": str(record.get("outlet") or ""),
        "url": _text(record.get("url")),
        "canonical_url": _text(record.get("canonical_url")),
        "language": _text(record.get("language")),
        "title": _text(record.get("title")),
        "authors": _strings(record.get("authors")),
        "published": _text(record.get("published")),
        "modified": _text(record.get("modified")),
        "dateline": _text(record.get("dateline")),
        "section": _text(record.get("section")),
        "tags": _strings(record.get("tags")),
        "description": _text(record.get("description")),
        "image": _text(record.get("image")),
        "text": _text(record.get("text")),
        "word_count": _int(record.get("word_count")),
        "fetched_at": parse_time(record.get("fetched_at")),
        "http_status": _int(record.get("http_status")),
        "content_sha256": _text(record.get("content_sha256")),
        "run_id": _text(record.get("run_id")),
        "version": _int(record.get("version")),
        "previous_sha256": _text(record.get("previous_sha256")),
        "warc": {
            "key": _text(warc.get("key")),
            "filename": _text(warc.get("filename")),
            "offset": _int(warc.get("offset")),
            "length": _int(warc.get("length")),
            "record_id": _text(warc.get("record_id")),
            "payload_digest": _text(warc.get("payload_digest")),
        },
        "extractor": {
            "name": _text(extractor.get("name")),
            "version": _text(extractor.get("version")),
            "options": None if options is None else json.dumps(options, sort_keys=True),
        },
    }


def write_parquet(records: Iterable[dict[str, Any]], out: Path) -> int:
    """Stream ``records`` into a Parquet file in row groups of ``BATCH_ROWS``."""
    count = 0
    with pq.ParquetWriter(str(out), CORPUS_SCHEMA, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for record in records:
            batch.append(to_row(record))
            if len(batch) >= BATCH_ROWS:
                writer.write_table(pa.Table.from_pylist(batch, schema=CORPUS_SCHEMA))
                count += len(batch)
                batch = []
        if batch or count == 0:  # an empty export is still a valid file with the schema
            writer.write_table(pa.Table.from_pylist(batch, schema=CORPUS_SCHEMA))
            count += len(batch)
    return count


def write_jsonl(records: Iterable[dict[str, Any]], out: Path, compress: bool = False) -> int:
    """Records exactly as stored, one JSON object per line (gzip-compressed if asked)."""
    count = 0
    handle: BinaryIO
    handle = gzip.open(out, "wb") if compress else open(out, "wb")  # type: ignore[assignment]
    with handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True).encode() + b"\n")
            count += 1
    return count


def export_corpus(store: Store, fmt: str, out: str | os.PathLike, outlet: str | None = None,
                  since: str | date | datetime | None = None, language: str | None = None,
                  all_versions: bool = False) -> int:
    """Export the corpus (``archive.corpus.read`` semantics) to ``out``; return the row count.

    The file appears under its final name only when complete (written as ``*.open`` first).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".open")
    records = read(store, outlet=outlet, since=since, language=language,
                   all_versions=all_versions)
    try:
        if fmt == "parquet":
            count = write_parquet(records, partial)
        else:
            count = write_jsonl(records, partial, compress=out.name.endswith(".gz"))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)
    return count
