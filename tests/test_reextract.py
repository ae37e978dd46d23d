"""Re-extraction: a new corpus generation from the WARCs, identical for an unchanged
extractor, different when an extractor option changes; WARCs untouched."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive.corpus.records import CorpusWriter, corpus_files, read
from archive.corpus.reextract import check_options, reextract
from archive.corpus.templating import stamp
from archive.extract.article import build_record_and_fingerprints
from archive.outlet.config import OutletConfig, outlet_from_mapping
from archive.store.base import LocalStore
from archive.warc.cdxj import index_key_for, index_warc
from archive.warc.reader import read_capture
from crawler.cli import main
from tests.reuse_samples import Capture, article_html, publish_run_report, write_warc

HOST = "127.0.0.1:9"
CRAWL_RUN = "20260503T100000Z-aaaaaa"
SECOND_RUN = "20260510T100000Z-bbbbbb"


def sample_outlet() -> OutletConfig:
    return outlet_from_mapping({"name": "sample", "start_urls": [f"http://{HOST}/"],
                                "article_urls": [r"/news/\d+"], "language": "eng",
                                "article_key": [{"pattern": r"/news/(?P<n>\d+)",
                                                 "key": "{n}"}]})


def crawl_like(store: LocalStore, outlet: OutletConfig, run_id: str, started: datetime,
               captures: list[Capture], earlier=None, versions=None) -> list:
    """Write a WARC and the corpus records the crawl's pipeline would build from it."""
    name = f"sample-{started:%Y%m%d%H%M%S}-00000-testhost.warc.gz"
    key = f"warc/sample/{started:%Y}/{started:%m}/{name}"
    written = write_warc(store.path_for(key), key, captures, earlier=earlier)
    index_warc(store.path_for(key), store.path_for(index_key_for(key)))
    writer = CorpusWriter(store.spool_dir, "sample", run_id, started)
    for number, (capture, location) in enumerate(zip(captures, written, strict=True)):
        if capture.revisit_of is not None or capture.status != 200:
            continue
        body = read_capture(store.path_for(key), location.offset).body  # decoded, as Scrapy
        page = {"url": capture.url, "status": 200, "body": body, "encoding": "utf-8",
                "fetched_at": (capture.date + timedelta(seconds=1)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"),
                "warc_record": location.pointer(), "hints": {}}
        record, fingerprints = build_record_and_fingerprints(page, outlet, run_id)
        assert record is not None, capture.url
        stamp(record, fingerprints)  # as the crawl's template pass does
        if versions and number in versions:
            record["version"], record["previous_sha256"] = versions[number]
        writer.write(record)
    writer.close()
    publish_run_report(store, "sample", run_id, started, [key, writer.key])
    return written


@pytest.fixture
def crawled(tmp_path: Path):
    """Run 1: three articles (one gzip-encoded) + a 404; run 2: an unchanged re-capture
    (revisit) of article 0 and an edited article 2 (version 2)."""
    store = LocalStore(tmp_path / "store")
    outlet = sample_outlet()
    t1 = datetime(2026, 5, 3, 10, tzinfo=UTC)
    first = crawl_like(store, outlet, CRAWL_RUN, t1, [
        Capture(f"http://{HOST}/news/0", article_html(0).encode(), t1),
        Capture(f"http://{HOST}/news/1", article_html(1).encode(), t1 + timedelta(seconds=2),
                gzip_body=True),
        Capture(f"http://{HOST}/news/2", article_html(2).encode(), t1 + timedelta(seconds=4)),
        Capture(f"http://{HOST}/news/9", b"<html>gone</html>", t1 + timedelta(seconds=6),
                status=404),
    ])
    v1 = {r["id"]: r for r in read(store)}["sample:2"]["content_sha256"]
    t2 = datetime(2026, 5, 10, 10, tzinfo=UTC)
    crawl_like(store, outlet, SECOND_RUN, t2, [
        Capture(f"http://{HOST}/news/0", article_html(0).encode(), t2, revisit_of=0),
        Capture(f"http://{HOST}/news/2", article_html(2, "Edited headline two").encode(),
                t2 + timedelta(seconds=2)),
    ], earlier=first, versions={1: (2, v1)})
    return store, outlet


def warc_digests(store: LocalStore) -> dict[str, str]:
    return {key: hashlib.sha256(store.path_for(key).read_bytes()).hexdigest()
            for key in store.list_keys("warc/")}


def comparable(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "run_id"}


def test_unchanged_extractor_reproduces_the_crawl_corpus(crawled):
    store, outlet = crawled
    before = sorted(read(store, all_versions=True), key=lambda r: (r["id"], r["version"]))
    warcs = warc_digests(store)
    result = reextract(store, outlet, workers=2)
    assert result.records == 4 and result.failed == 0 and result.non_articles == 0
    after = sorted(read(store, all_versions=True), key=lambda r: (r["id"], r["version"]))
    assert {r["run_id"] for r in after} == {result.run_id}  # the new generation won
    assert [comparable(r) for r in after] == [comparable(r) for r in before]
    assert warc_digests(store) == warcs  # WARCs are never modified
    report = json.loads(store.path_for(f"runs/sample/{result.run_id}.json").read_text())
    assert report["kind"] == "reextract" and report["run_id"] == result.run_id
    per_page = ("fingerprints",)  # the template pass's, not the extractor's configuration
    options = {k: v for k, v in before[0]["extractor"]["options"].items() if k not in per_page}
    assert report["extractor"] == {**before[0]["extractor"], "options": options}
    assert report["articles"] == 4 and report["warc_reader"] == result.reader
    corpus_key = f"corpus/sample/{result.run_id[:4]}/{result.run_id[4:6]}/{result.run_id}.jsonl.gz"
    assert [f["key"] for f in report["files"]] == [corpus_key]
    assert report["files"][0]["sha256"] == hashlib.sha256(
        store.path_for(corpus_key).read_bytes()).hexdigest()
    assert [f.run_id for f in corpus_files(store)] == [CRAWL_RUN, SECOND_RUN, result.run_id]


def test_changed_option_changes_the_records_and_is_recorded(crawled):
    store, outlet = crawled
    before = {(r["id"], r["version"]): r for r in read(store, all_versions=True)}
    result = reextract(store, outlet, workers=1, options={"include_tables": False})
    after = {(r["id"], r["version"]): r for r in read(store, all_versions=True)}
    assert set(after) == set(before)
    for ident, record in after.items():
        assert record["run_id"] == result.run_id
        assert "Invented district" in before[ident]["text"]
        assert "Invented district" not in record["text"]
        assert record["content_sha256"] != before[ident]["content_sha256"]
        assert record["extractor"]["options"]["include_tables"] is False
        assert record["extractor"]["version"] == before[ident]["extractor"]["version"]
        assert record["warc"] == before[ident]["warc"] and record["url"] == before[ident]["url"]
    # the version chain follows the new hashes
    assert after[("sample:2", 2)]["previous_sha256"] == after[("sample:2", 1)]["content_sha256"]
    latest = {r["id"]: r for r in read(store)}
    assert latest["sample:2"]["version"] == 2 and latest["sample:2"]["title"] == \
        "Edited headline two"


@pytest.mark.parametrize("reader", ["warcio", "fastwarc"])
def test_both_readers_give_the_same_records(crawled, reader):
    store, outlet = crawled
    result = reextract(store, outlet, workers=1, reader=reader)
    assert result.reader == reader and result.records == 4
    gen = next(f for f in corpus_files(store) if f.run_id == result.run_id)
    with gzip.open(store.path_for(gen.key), "rt") as handle:
        texts = sorted(json.loads(line)["text"] for line in handle)
    assert texts == sorted(r["text"] for r in read(store, all_versions=True))


def test_revisit_pointer_is_followed_to_the_original(crawled):
    store, outlet = crawled
    # a corpus record that points at the run-2 revisit of article 0 (e.g. a re-fetch that
    # the crawl recorded as a new capture): re-extraction must read the original's bytes
    revisit = next(line for key in store.list_keys("indexes/")
                   for line in map(str.strip, store.path_for(key).read_text().splitlines())
                   if '"warc/revisit"' in line)
    fields = json.loads(revisit.split(" ", 2)[2])
    original = {r["id"]: r for r in read(store)}["sample:0"]
    record = dict(original, version=2, previous_sha256=original["content_sha256"],
                  warc={"key": next(k for k in store.list_keys("warc/") if fields["filename"]
                                    in k), "filename": fields["filename"],
                        "offset": int(fields["offset"]), "length": int(fields["length"])})
    writer = CorpusWriter(store.spool_dir, "sample", "20260511T000000Z-cccccc",
                          datetime(2026, 5, 11, tzinfo=UTC))
    writer.write(record)
    writer.close()
    result = reextract(store, outlet, workers=1)
    assert result.failed == 0
    latest = {r["id"]: r for r in read(store)}["sample:0"]
    assert latest["run_id"] == result.run_id and latest["version"] == 2
    assert latest["text"] == original["text"]


def test_unreadable_pointer_is_counted_not_fatal(crawled):
    store, outlet = crawled
    record = dict(next(iter(read(store))), id="sample:77", warc={
        "key": "warc/sample/2026/05/missing-20260503100000-00000-x.warc.gz", "offset": 0})
    writer = CorpusWriter(store.spool_dir, "sample", "20260511T000000Z-dddddd",
                          datetime(2026, 5, 11, tzinfo=UTC))
    writer.write(record)
    writer.close()
    result = reextract(store, outlet, workers=1)
    assert result.records == 4
    assert result.outlets["sample"].failures == {"missing_warc": 1}
    report = json.loads(store.path_for(f"runs/sample/{result.run_id}.json").read_text())
    assert report["failures"]["by_kind"] == {"missing_warc": 1}


def test_unknown_option_is_refused():
    with pytest.raises(ValueError, match="unknown extractor option"):
        check_options({"include_everything": True})


def test_cli_reextract(crawled, tmp_path: Path, capsys):
    store, _ = crawled
    outlet_file = tmp_path / "sample.yaml"
    outlet_file.write_text(f"name: sample\nstart_urls: ['http://{HOST}/']\n"
                           "article_urls: ['/news/\\d+']\nlanguage: eng\n"
                           "article_key: [{pattern: '/news/(?P<n>\\d+)', key: '{n}'}]\n")
    status = main(["reextract", "--store", str(store.root), "--outlet", str(outlet_file),
                   "--workers", "1", "--option", "include_tables=false"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "records=4" in out and "kind=reextract" in out
    assert all("Invented district" not in r["text"] for r in read(store))
    assert main(["reextract", "--store", str(store.root), "--outlet", str(outlet_file),
                 "--option", "nonsense"]) == 2


@pytest.mark.slow
def test_reuse_on_an_s3_store(crawled, tmp_path: Path, monkeypatch):
    """The same archive in SeaweedFS: read, export, WACZ and reextract through S3Store."""
    import zipfile

    import pyarrow.parquet as pq

    from archive.corpus.export import export_corpus
    from archive.replay.wacz import package
    from archive.store.s3.store import S3Store
    from tests.s3server import seaweedfs
    from tests.test_wacz import wacz_validate

    local, outlet = crawled
    with seaweedfs(tmp_path / "weed") as server:
        for name, value in server.client_env().items():
            monkeypatch.setenv(name, value)
        client = server.client()
        for key in local.list_keys():
            client.upload_file(str(local.path_for(key)), server.bucket, f"archive/{key}")
        store = S3Store.from_uri(f"s3://{server.bucket}/archive", spool=tmp_path / "spool")
        try:
            assert list(read(store, all_versions=True)) == list(read(local, all_versions=True))
            assert export_corpus(store, "parquet", tmp_path / "s3.parquet") == 3
            assert pq.read_table(tmp_path / "s3.parquet").num_rows == 3
            contents = package(store, "sample", tmp_path / "s3.wacz")
            assert contents.pages == 4
            with zipfile.ZipFile(contents.path) as zf:
                for key in contents.warcs:  # streamed from S3 into the zip, byte for byte
                    assert zf.read(f"archive/{Path(key).name}") == \
                        local.path_for(key).read_bytes()
            assert wacz_validate(contents.path).returncode == 0
            result = reextract(store, outlet, workers=2)
            assert result.records == 4 and result.failed == 0
        finally:
            store.close()
        remote = S3Store.from_uri(f"s3://{server.bucket}/archive", spool=tmp_path / "spool2")
        try:
            records = list(read(remote, all_versions=True))
            assert {r["run_id"] for r in records} == {result.run_id}
            assert remote.exists(f"runs/sample/{result.run_id}.json")
        finally:
            remote.close()
