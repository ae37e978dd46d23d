"""Corpus export: Parquet with a fixed schema (round-trips through pyarrow and DuckDB)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

from archive.corpus.export import CORPUS_SCHEMA, export_corpus
from archive.corpus.records import read
from crawler.cli import main
from tests.reuse_samples import build_sample_archive

# The queries the README shows, verbatim, so the README cannot drift from reality.
README_DUCKDB_QUERY = """
SELECT outlet,
       language,
       count(*)                      AS articles,
       sum(word_count)               AS words,
       max(fetched_at)               AS last_fetched
FROM 'corpus.parquet'
WHERE fetched_at >= TIMESTAMPTZ '2026-05-01 00:00:00+00'
GROUP BY outlet, language
ORDER BY articles DESC
"""
README_DUCKDB_PROVENANCE = """
SELECT id, version, title, warc.filename, warc.offset, warc.length, extractor.version
FROM 'corpus.parquet'
WHERE word_count >= 100 AND len(authors) > 0
ORDER BY id, version
"""


def test_parquet_round_trips_through_pyarrow(tmp_path: Path):
    sample = build_sample_archive(tmp_path / "store")
    out = tmp_path / "corpus.parquet"
    assert export_corpus(sample.store, "parquet", out) == 4
    table = pq.read_table(out)
    assert table.schema.equals(CORPUS_SCHEMA, check_metadata=False)
    rows = {row["id"]: row for row in table.to_pylist()}
    expected = {r["id"]: r for r in read(sample.store)}
    assert set(rows) == set(expected)
    for record_id, row in rows.items():
        record = expected[record_id]
        for name in ("url", "title", "text", "language", "authors", "tags", "version",
                     "content_sha256", "run_id", "word_count", "http_status"):
            assert row[name] == record[name], name
        assert row["warc"]["offset"] == record["warc"]["offset"]
        assert row["warc"]["key"] == record["warc"]["key"]
        assert json.loads(row["extractor"]["options"]) == record["extractor"]["options"]
        assert row["fetched_at"] == datetime.fromisoformat(
            record["fetched_at"].replace("Z", "+00:00")).astimezone(UTC)


def test_all_versions_and_filters(tmp_path: Path):
    sample = build_sample_archive(tmp_path / "store")
    out = tmp_path / "all.parquet"
    assert export_corpus(sample.store, "parquet", out, all_versions=True) == 5
    assert export_corpus(sample.store, "parquet", out, since="2026-05-05") == 1
    assert export_corpus(sample.store, "parquet", out, language="kmr") == 0
    assert pq.read_table(out).num_rows == 0  # an empty export still carries the schema
    assert pq.read_table(out).schema.equals(CORPUS_SCHEMA, check_metadata=False)


def test_readme_duckdb_queries_run_on_the_export(tmp_path: Path, monkeypatch):
    import duckdb  # a test dependency (setup.cfg extras "test")

    sample = build_sample_archive(tmp_path / "store")
    export_corpus(sample.store, "parquet", tmp_path / "corpus.parquet")
    monkeypatch.chdir(tmp_path)
    rows = duckdb.sql(README_DUCKDB_QUERY).fetchall()
    assert len(rows) == 1
    outlet, language, articles, words, last = rows[0]
    assert (outlet, language, articles) == ("sample", "eng", 4)
    assert words == sum(r["word_count"] for r in read(sample.store))
    assert last == datetime(2026, 5, 10, 10, 0, 2, tzinfo=UTC)
    provenance = duckdb.sql(README_DUCKDB_PROVENANCE).fetchall()
    assert [r[0] for r in provenance] == ["sample:0", "sample:1", "sample:2", "sample:3"]
    assert provenance[1][1] == 2 and provenance[1][2].endswith("(updated)")
    assert provenance[1][3] == Path(sample.warc_keys[1]).name


def test_jsonl_export_keeps_records_verbatim(tmp_path: Path):
    sample = build_sample_archive(tmp_path / "store")
    out = tmp_path / "corpus.jsonl.gz"
    assert export_corpus(sample.store, "jsonl", out, outlet="sample") == 4
    with gzip.open(out, "rt", encoding="utf-8") as handle:
        exported = [json.loads(line) for line in handle]
    assert exported == list(read(sample.store))
    assert not list(tmp_path.glob("*.open"))


def test_cli_corpus_export(tmp_path: Path, capsys):
    sample = build_sample_archive(tmp_path / "store")
    out = tmp_path / "cli.parquet"
    status = main(["corpus", "export", "--store", str(sample.store.root), "--format",
                   "parquet", "--out", str(out), "--language", "eng"])
    assert status == 0
    assert "exported 4 records" in capsys.readouterr().out
    assert pq.read_table(out).num_rows == 4
    assert main(["corpus", "export", "--store", str(sample.store.root), "--format",
                 "parquet", "--out", str(out), "--since", "yesterday"]) == 2
