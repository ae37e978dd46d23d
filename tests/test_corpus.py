"""The corpus reader: generations, versions and filters, from any store."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archive.corpus.records import CorpusWriter, corpus_files, parse_since, read
from archive.store.base import LocalStore
from tests.reuse_samples import build_sample_archive, make_record


def _ids(records) -> list[tuple[str, int, str]]:
    return sorted((r["id"], r["version"], r["run_id"]) for r in records)


def test_writer_output_reads_back(tmp_path: Path):
    store = LocalStore(tmp_path)
    started = datetime(2026, 5, 1, tzinfo=UTC)
    writer = CorpusWriter(store.spool_dir, "demo", "20260501T000000Z-000001", started)
    writer.write({"id": "demo:1", "outlet": "demo", "text": "Erbil köprüsü ێ", "version": 1,
                  "fetched_at": "2026-05-01T00:00:01Z"})
    path = writer.close()
    assert path == store.path_for("corpus/demo/2026/05/20260501T000000Z-000001.jsonl.gz")
    assert [r["text"] for r in read(store)] == ["Erbil köprüsü ێ"]


def test_a_record_written_again_leaves_one_line_per_version(tmp_path: Path):
    """The template pass writes a record again under its (id, version): the published
    file keeps only the last line of it, so raw readers see one record per version; the
    killed run's ``.open`` file (both lines) still reads as the last."""
    store = LocalStore(tmp_path)
    started = datetime(2026, 5, 1, tzinfo=UTC)
    writer = CorpusWriter(store.spool_dir, "demo", "20260501T000000Z-000002", started)
    base = {"outlet": "demo", "version": 1, "fetched_at": "2026-05-01T00:00:01Z"}
    writer.write({**base, "id": "demo:1", "text": "Story. Sign up for our letter."})
    writer.write({**base, "id": "demo:2", "text": "Another story."})
    writer.write({**base, "id": "demo:1", "text": "Story."}, replaces=True)
    still_open = writer.path.with_name(writer.path.name + ".open").read_bytes()
    unfinished = zlib.decompressobj(31).decompress(still_open).decode().splitlines()
    assert [json.loads(line)["text"] for line in unfinished][::2] == [
        "Story. Sign up for our letter.", "Story."]  # both lines, until the close
    path = writer.close()
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle]
    assert [(r["id"], r["text"]) for r in lines] == [("demo:2", "Another story."),
                                                     ("demo:1", "Story.")]
    assert writer.count == 2
    assert not list(path.parent.glob("*.compact"))
    assert {r["id"]: r["text"] for r in read(store)} == {"demo:1": "Story.",
                                                         "demo:2": "Another story."}


def test_latest_version_per_article_by_default(tmp_path: Path):
    sample = build_sample_archive(tmp_path)
    latest = _ids(read(sample.store))
    assert latest == [("sample:0", 1, sample.run_ids[0]), ("sample:1", 2, sample.run_ids[1]),
                      ("sample:2", 1, sample.run_ids[0]), ("sample:3", 1, sample.run_ids[0])]
    every = _ids(read(sample.store, all_versions=True))
    assert ("sample:1", 1, sample.run_ids[0]) in every and len(every) == 5


def test_newest_generation_wins_for_the_same_id_and_version(tmp_path: Path):
    sample = build_sample_archive(tmp_path)
    started = datetime(2026, 6, 1, tzinfo=UTC)
    run_id = "20260601T000000Z-cccccc"  # a later re-extraction of article 2 only
    writer = CorpusWriter(sample.store.spool_dir, "sample", run_id, started)
    record = make_record("sample", sample.captures[2], run_id=run_id, seed=2,
                         text="Re-extracted text.")
    writer.write(record)
    writer.close()
    records = {r["id"]: r for r in read(sample.store)}
    assert records["sample:2"]["text"] == "Re-extracted text."
    assert records["sample:2"]["run_id"] == run_id
    assert records["sample:0"]["run_id"] == sample.run_ids[0]  # untouched ids stay
    assert len(list(read(sample.store, all_versions=True))) == 5  # superseded, not added
    assert [f.run_id for f in corpus_files(sample.store)] == [*sample.run_ids, run_id]


def test_filters_apply_to_the_winning_record(tmp_path: Path):
    sample = build_sample_archive(tmp_path)
    since = read(sample.store, since="2026-05-05")
    assert _ids(since) == [("sample:1", 2, sample.run_ids[1])]
    # the old version was fetched before the cutoff: it is only found with all_versions
    assert _ids(read(sample.store, since="2026-05-03T10:00:03Z", all_versions=True)) == [
        ("sample:1", 2, sample.run_ids[1]), ("sample:2", 1, sample.run_ids[0]),
        ("sample:3", 1, sample.run_ids[0])]
    assert list(read(sample.store, language="ckb")) == []
    assert len(list(read(sample.store, language="eng"))) == 4
    assert list(read(sample.store, outlet="other")) == []


def test_since_accepts_dates_and_datetimes():
    assert parse_since("2026-05-01") == datetime(2026, 5, 1, tzinfo=UTC)
    assert parse_since("2026-05-01T03:00:00+03:00") == datetime(2026, 5, 1, tzinfo=UTC)
    assert parse_since(None) is None
    with pytest.raises(ValueError):
        parse_since("last tuesday")


def test_reader_ignores_open_files_and_other_keys(tmp_path: Path):
    sample = build_sample_archive(tmp_path)
    stray = sample.store.path_for("corpus/sample/2026/05/20990101T000000Z-ffffff.jsonl.gz.open")
    with gzip.open(stray, "wt") as handle:
        handle.write(json.dumps({"id": "sample:9", "version": 1}) + "\n")
    assert "sample:9" not in {r["id"] for r in read(sample.store)}


def test_merged_index_lines_across_read_ahead_boundaries(tmp_path: Path):
    """Issue 19: the WACZ index merge reads each index 64 KB at a time; lines cut by a
    chunk boundary must come out whole, sorted and de-duplicated across indexes."""
    from archive.warc.cdxj import MERGE_CHUNK, merged_lines

    store = LocalStore(tmp_path / "store")
    lines = [f"com,example)/news/{n:06d} 20260101{n % 86400:06d} "
             f'{{"url": "http://example.com/news/{n:06d}", "offset": {n * 977}}}\n'
             for n in range(6000)]
    halves = {"indexes/a.cdxj": sorted(lines[::2] + lines[:100]),
              "indexes/b.cdxj": sorted(lines[1::2] + lines[:100])}
    for key, content in halves.items():
        path = store.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("!meta 0\n" + "".join(content), encoding="utf-8")
    assert sum(len("".join(c)) for c in halves.values()) > 4 * MERGE_CHUNK
    assert list(merged_lines(store, list(halves))) == sorted(lines)


@pytest.mark.parametrize("processes", [0, 2])
def test_generations_prepared_by_children_resolve_as_the_reader_does(tmp_path: Path,
                                                                     processes):
    """Issue 19: the WACZ reads each corpus file in a child process and merges the
    generations in SQL; the winners -- newest generation per (id, version), a record
    written twice in one file counting once, corpus order -- must be the reader's."""
    from archive.replay.pagesource import corpus_pages, page_entry

    sample = build_sample_archive(tmp_path / "store")
    run_id = "20260601T000000Z-dddddd"  # a re-extraction that rewrites article 2 twice
    writer = CorpusWriter(sample.store.spool_dir, "sample", run_id,
                          datetime(2026, 6, 1, tzinfo=UTC))
    for text in ("First re-extraction.", "Second re-extraction."):
        writer.write(make_record("sample", sample.captures[2], run_id=run_id, seed=2,
                                 text=text))
    writer.close()
    work = tmp_path / "work"
    work.mkdir()
    pages = list(corpus_pages(sample.store, "sample", work, processes))
    expected = [page_entry(r) for r in read(sample.store, outlet="sample",
                                            all_versions=True)]
    assert pages == expected and len(pages) == 5
    texts = {json.loads(body)["id"]: json.loads(body)["text"] for _, body in pages}
    assert texts["sample:2"] == "Second re-extraction."
    assert list(work.iterdir()) == []  # the generation files are gone


def test_a_broken_corpus_file_fails_the_children_with_its_error(tmp_path: Path):
    from archive.replay.pagesource import corpus_pages

    sample = build_sample_archive(tmp_path / "store")
    broken = sample.store.path_for(corpus_files(sample.store)[0].key)
    broken.write_bytes(b"not gzip at all")
    with pytest.raises(RuntimeError, match="reading the corpus for the package failed"):
        list(corpus_pages(sample.store, "sample", tmp_path, processes=2))


def test_find_records_reads_the_newest_generations_only_as_far_as_needed(tmp_path: Path):
    """A crawl's template pass looks up its earlier runs' marked records: the answer is
    ``read``'s winners for those pairs, and older files are not opened once all are found."""
    from archive.corpus.records import find_records

    sample = build_sample_archive(tmp_path / "store")
    run_id = "20260601T000000Z-eeeeee"  # the newest generation rewrites article 2
    writer = CorpusWriter(sample.store.spool_dir, "sample", run_id,
                          datetime(2026, 6, 1, tzinfo=UTC))
    writer.write(make_record("sample", sample.captures[2], run_id=run_id, seed=2,
                             text="Cleaned again."))
    writer.close()

    opened: list[str] = []

    class CountingStore(LocalStore):
        def open_read(self, key: str):
            opened.append(key)
            return super().open_read(key)

    store = CountingStore(sample.store.root)
    every = {(r["id"], r["version"]): r for r in read(store, all_versions=True)}
    files = [f.key for f in corpus_files(store)]
    opened.clear()
    found = list(find_records(store, "sample", {("sample:2", 1)}))
    assert found == [every[("sample:2", 1)]] and found[0]["text"] == "Cleaned again."
    assert opened == [files[-1]]  # the newest file held it: nothing older was read
    opened.clear()
    wanted = {("sample:0", 1), ("sample:1", 2), ("sample:9", 1)}  # one was never written
    assert sorted(r["id"] for r in find_records(store, "sample", wanted)) == [
        "sample:0", "sample:1"]
    assert opened == files[::-1]  # one pair is nowhere: every file was read
    assert all(r == every[(r["id"], r["version"])]
               for r in find_records(store, "sample", wanted))
