"""`newsarchive state rebuild`: losing the state database loses nothing (archive.state.rebuild).

A small store is built by hand: warcio-written WARCs of two runs (feed with validators,
two articles, an unchanged re-check written as a revisit, an edited article) plus the
corpus files of those runs.  While "crawling" the test records into a live state exactly
what the crawler records; the rebuilt state must answer every question the same way.
"""

import gzip
import io
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cdxj_indexer.main import main as cdxj_main
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.state.base import DigestRecord
from archive.state.rebuild import rebuild_state
from archive.state.schedule import RecheckSchedule
from archive.state.sqlite import SQLiteState
from archive.store.base import LocalStore
from tests.test_state import redis_state, redis_url  # noqa: F401 - fixtures

SITE = "http://site.test"
FEED = f"{SITE}/rss.xml"
A_URL, B_URL, C_URL = f"{SITE}/news/1", f"{SITE}/news/2", f"{SITE}/news/1?utm_source=x"
RUN1, RUN2 = "2026-03-01T10:00:00Z", "2026-03-01T11:30:00Z"
SCHEDULE = RecheckSchedule()


@dataclass
class Capture:
    url: str
    date: str
    digest: str
    record_id: str
    warc_key: str
    offset: int


class WarcFile:
    """A WARC in the store, written record by record with chosen dates."""

    def __init__(self, root: Path, key: str):
        self.key = key
        self.path = root / key
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "wb")
        self.writer = WARCWriter(self.handle, gzip=True, warc_version="1.1")
        info = self.writer.create_warcinfo_record(self.path.name, {"software": "test"})
        self.writer.write_record(info)

    def _request(self, url: str, date: str, concurrent: str) -> None:
        path = url[len(SITE):] or "/"
        head = StatusAndHeaders(f"GET {path} HTTP/1.1", [("Host", "site.test")],
                                is_http_request=True)
        record = self.writer.create_warc_record(
            url, "request", payload=io.BytesIO(b""), http_headers=head,
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": concurrent})
        self.writer.write_record(record)

    def response(self, url: str, date: str, body: bytes, headers=()) -> Capture:
        head = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), *headers],
                                protocol="HTTP/1.1")
        record = self.writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                http_headers=head,
                                                warc_headers_dict={"WARC-Date": date})
        offset = self.handle.tell()
        self.writer.write_record(record)
        rid = record.rec_headers.get_header("WARC-Record-ID")
        self._request(url, date, rid)
        return Capture(url, date, record.rec_headers.get_header("WARC-Payload-Digest"), rid,
                       self.key, offset)

    def revisit(self, url: str, date: str, first: Capture, headers=()) -> None:
        head = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), *headers],
                                protocol="HTTP/1.1")
        record = self.writer.create_revisit_record(
            url, first.digest, first.url, first.date, http_headers=head,
            warc_headers_dict={"WARC-Date": date, "WARC-Refers-To": first.record_id})
        self.writer.write_record(record)
        self._request(url, date, record.rec_headers.get_header("WARC-Record-ID"))

    def close(self) -> None:
        self.handle.close()


def write_corpus(root: Path, key: str, records: list[dict]) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


def corpus_record(key: str, url: str, fetched: str, sha: str, version: int,
                  published: str | None, capture: Capture, previous: str | None = None) -> dict:
    return {"id": f"rudaw:{key}", "outlet": "rudaw", "url": url, "canonical_url": url,
            "language": "eng", "title": "An invented headline", "text": "Invented text.",
            "fetched_at": fetched, "published": published, "content_sha256": sha,
            "version": version, "previous_sha256": previous, "run_id": "r",
            "warc": {"filename": capture.warc_key.rsplit("/", 1)[-1], "offset": capture.offset,
                     "record_id": capture.record_id, "payload_digest": capture.digest}}


def record_capture(state, capture: Capture) -> None:
    """What the WARC writer records for every response it writes."""
    state.record_digest(DigestRecord(capture.digest, capture.url, capture.date,
                                     capture.record_id, capture.warc_key, capture.offset,
                                     "rudaw"))


@pytest.fixture
def crawled(tmp_path):
    """(store, live state, digests): two runs written into a store and a live state."""
    root = tmp_path / "store"
    live = SQLiteState(tmp_path / "live.sqlite3")
    digests = []
    # run 1: feed, articles A and B.  Its files sort *after* run 2's, so a rebuild that
    # depended on listing order would get the merges wrong.
    w1 = WarcFile(root, "warc/rudaw/2026/03/T-20260301100000-00001-host.warc.gz")
    feed1 = w1.response(FEED, RUN1, b"<rss>one</rss>",
                        [("ETag", '"e1"'), ("Last-Modified", "Sun, 01 Mar 2026 09:00:00 GMT")])
    record_capture(live, feed1)
    live.set_validators(FEED, '"e1"', "Sun, 01 Mar 2026 09:00:00 GMT")
    a1 = w1.response(A_URL, "2026-03-01T10:00:01.123456Z", b"<p>article one</p>")
    b1 = w1.response(B_URL, "2026-03-01T10:00:02Z", b"<p>article two</p>")
    for capture in (a1, b1):
        record_capture(live, capture)
    live.record_article("rudaw", "english:1", A_URL, "1" * 64, 1, a1.date,
                        "2026-03-01T09:30:00Z")
    live.record_article("rudaw", "english:2", B_URL, "2" * 64, 1, b1.date,
                        "2026-03-01T09:45:00Z")
    w1.close()
    write_corpus(root, "corpus/rudaw/2026/03/zz-run1.jsonl.gz", [
        corpus_record("english:1", A_URL, a1.date, "1" * 64, 1, "2026-03-01T09:30:00Z", a1),
        corpus_record("english:2", B_URL, b1.date, "2" * 64, 1, "2026-03-01T09:45:00Z", b1)])

    # run 2: the feed changed; A unchanged at its 1 h check (revisit); B edited (v2);
    # a tracking-parameter copy of A's page is a different-URL revisit
    w2 = WarcFile(root, "warc/rudaw/2026/03/S-20260301113000-00002-host.warc.gz")
    feed2 = w2.response(FEED, RUN2, b"<rss>two</rss>",
                        [("ETag", '"e2"'), ("Last-Modified", "Sun, 01 Mar 2026 11:00:00 GMT")])
    record_capture(live, feed2)
    live.set_validators(FEED, '"e2"', "Sun, 01 Mar 2026 11:00:00 GMT")
    w2.revisit(A_URL, "2026-03-01T11:30:01Z", a1)
    live.mark_checked("rudaw", "english:1", "2026-03-01T11:30:01Z")
    b2 = w2.response(B_URL, "2026-03-01T11:30:02Z", b"<p>article two, corrected</p>")
    record_capture(live, b2)
    live.record_article("rudaw", "english:2", B_URL, "3" * 64, 2, b2.date, None)
    w2.revisit(C_URL, "2026-03-01T11:30:03Z", a1)
    w2.close()
    write_corpus(root, "corpus/rudaw/2026/03/aa-run2.jsonl.gz", [
        corpus_record("english:2", B_URL, b2.date, "3" * 64, 2, None, b2, "2" * 64)])
    digests = [feed1.digest, feed2.digest, a1.digest, b1.digest, b2.digest]
    yield LocalStore(root), live, digests, a1
    live.close()


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def assert_same_answers(live, rebuilt, digests) -> None:
    """Every question the next run asks gets the same answer from both states."""
    for key in ("english:1", "english:2", "english:3"):
        assert rebuilt.is_archived("rudaw", key) == live.is_archived("rudaw", key)
        assert rebuilt.article_info("rudaw", key) == live.article_info("rudaw", key)
    keys = ["english:1", "english:2", "english:3"]
    assert rebuilt.archived_among("rudaw", keys) == live.archived_among("rudaw", keys)
    assert rebuilt.count_articles("rudaw") == live.count_articles("rudaw") == 2
    for digest in digests:
        assert rebuilt.lookup_digest(digest) == live.lookup_digest(digest)
        assert rebuilt.lookup_digest(digest, outlet="rudaw") == live.lookup_digest(digest)
    assert rebuilt.count_digests() == live.count_digests() == len(set(digests))
    assert rebuilt.get_validators(FEED)[:2] == live.get_validators(FEED)[:2]
    for hours in (0, 1, 2, 6, 25, 24 * 8):
        now = NOW + timedelta(hours=hours)
        assert rebuilt.due_rechecks("rudaw", now, SCHEDULE) == \
            live.due_rechecks("rudaw", now, SCHEDULE), f"at +{hours} h"


def test_rebuild_from_warcs_and_corpus(crawled, tmp_path):
    store, live, digests, a1 = crawled
    rebuilt = SQLiteState(tmp_path / "rebuilt.sqlite3")
    result = rebuild_state(store, rebuilt, validator_urls=[FEED], now=NOW)
    assert result.problems == []
    assert (result.corpus_files, result.corpus_records) == (2, 3)
    assert result.articles == {"rudaw": 2}
    assert result.warc_files_scanned == 2 and result.index_files == 0
    assert result.captures == 5 and result.digests == 5
    assert result.rechecks == 1 and result.validators == 1
    assert_same_answers(live, rebuilt, digests)
    # the facts behind the answers, spelled out
    info = rebuilt.article_info("rudaw", "english:2")
    assert (info.version, info.content_sha256) == (2, "3" * 64)
    assert info.first_fetched == datetime(2026, 3, 1, 10, 0, 2, tzinfo=UTC)
    first = rebuilt.lookup_digest(a1.digest)
    assert (first.uri, first.date, first.record_id) == (A_URL, a1.date, a1.record_id)
    assert rebuilt.get_validators(FEED)[:2] == ('"e2"', "Sun, 01 Mar 2026 11:00:00 GMT")
    # A was re-checked at 11:30 (the revisit), B edited then: both wait for the 1 d check
    assert rebuilt.due_rechecks("rudaw", NOW + timedelta(hours=2), SCHEDULE) == []
    assert rebuilt.due_rechecks("rudaw", datetime(2026, 3, 2, 9, 40, tzinfo=UTC),
                                SCHEDULE) == [("english:1", A_URL)]
    assert rebuilt.due_rechecks("rudaw", datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
                                SCHEDULE) == [("english:1", A_URL), ("english:2", B_URL)]
    # the recorded offset really is the first capture's response record
    with store.open_read(first.filename) as handle:
        handle.seek(first.offset)
        record = next(iter(ArchiveIterator(handle)))
        assert record.rec_headers.get_header("WARC-Record-ID") == a1.record_id
    assert "articles" in result.summary()
    rebuilt.close()


def _index(store: LocalStore, key: str, warcs: list[str], *extra: str) -> None:
    out = store.root / key
    out.parent.mkdir(parents=True, exist_ok=True)
    cdxj_main(["-o", str(out), *extra, *(str(store.root / w) for w in warcs)])


class StreamingStore(LocalStore):
    """A store whose objects arrive as forward-only streams, like S3 GET bodies."""

    def open_read(self, key):
        return _ForwardOnly(super().open_read(key))


class _ForwardOnly(io.RawIOBase):
    def __init__(self, handle):
        self.handle = handle

    def readable(self):
        return True

    def seekable(self):
        return False

    def readinto(self, buffer):
        data = self.handle.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self):
        self.handle.close()
        super().close()


@pytest.mark.parametrize("streaming, limit", [(False, None), (True, None), (True, 2)])
def test_rebuild_from_cdxj_indexes(crawled, tmp_path, monkeypatch, streaming, limit):
    store, live, digests, _ = crawled
    warcs = sorted(store.list_keys("warc/"))
    # as archive.warc.cdxj indexes: POST-append mode, file names relative to the store
    _index(store, "indexes/rudaw/all.cdxj", warcs, "-p", "--dir-root", str(store.root))
    if streaming:
        store = StreamingStore(store.root)
    if limit:  # read record heads in several passes, as for a huge index
        monkeypatch.setattr("archive.state.rebuild.PENDING_LIMIT", limit)
    rebuilt = SQLiteState(tmp_path / "rebuilt.sqlite3")
    result = rebuild_state(store, rebuilt, validator_urls=[FEED], now=NOW)
    assert result.problems == []
    assert result.index_files == 1 and result.warc_files_scanned == 0
    assert result.index_lines == 7  # 5 responses + 2 revisits
    assert result.record_heads_read >= 5  # record ids and exact dates come from the WARCs
    assert_same_answers(live, rebuilt, digests)
    rebuilt.close()


def test_rebuild_from_cdxj_with_record_ids_and_bare_file_names(crawled, tmp_path):
    store, live, digests, _ = crawled
    warcs = sorted(store.list_keys("warc/"))
    _index(store, "indexes/rudaw/all.cdxj", warcs, "-f", "warc-record-id,warc-date")
    plain = store.root / "indexes/rudaw/all.cdxj"
    (store.root / "indexes/rudaw/all.cdxj.gz").write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    text = gzip.decompress((store.root / "indexes/rudaw/all.cdxj.gz").read_bytes())
    assert b'"filename": "T-2026' in text and b'"warc-record-id": "<urn:uuid:' in text
    rebuilt = SQLiteState(tmp_path / "rebuilt.sqlite3")
    result = rebuild_state(store, rebuilt, validator_urls=[FEED], now=NOW)
    assert result.problems == []
    assert result.warc_files_scanned == 0
    assert result.record_heads_read <= 2  # only the feed's headers (validators) were read
    assert_same_answers(live, rebuilt, digests)
    rebuilt.close()


def test_partial_index_falls_back_to_scanning(crawled, tmp_path):
    store, live, digests, _ = crawled
    first_run = [k for k in store.list_keys("warc/") if "00001" in k]
    _index(store, "indexes/rudaw/run1.cdxj", first_run, "--dir-root", str(store.root))
    rebuilt = SQLiteState(tmp_path / "rebuilt.sqlite3")
    result = rebuild_state(store, rebuilt, validator_urls=[FEED], now=NOW)
    assert result.problems == [] and (result.index_files, result.warc_files_scanned) == (1, 1)
    assert_same_answers(live, rebuilt, digests)
    rebuilt.close()


def test_earliest_capture_wins_whatever_the_file_order(crawled, tmp_path):
    """Run 3 lost its state and captured A's page again as a response: A's digest must
    still point at run 1's record, whichever WARC is read first."""
    store, live, _, a1 = crawled
    w3 = WarcFile(store.root, "warc/rudaw/2026/03/A-20260305000000-00003-host.warc.gz")
    w3.response(A_URL, "2026-03-05T00:00:00Z", b"<p>article one</p>")
    w3.close()
    rebuilt = SQLiteState(tmp_path / "rebuilt.sqlite3")
    rebuild_state(store, rebuilt, now=NOW)
    found = rebuilt.lookup_digest(a1.digest)
    assert (found.record_id, found.date, found.filename) == (a1.record_id, a1.date, a1.warc_key)
    rebuilt.close()


def test_rebuild_into_redis(crawled, redis_state):  # noqa: F811 - fixture
    store, live, digests, _ = crawled
    result = rebuild_state(store, redis_state, validator_urls=[FEED], now=NOW)
    assert result.problems == []
    assert_same_answers(live, redis_state, digests)


def test_rebuild_is_idempotent(crawled, tmp_path):
    store, live, digests, _ = crawled
    rebuilt = SQLiteState(tmp_path / "rebuilt.sqlite3")
    rebuild_state(store, rebuilt, validator_urls=[FEED], now=NOW)
    again = rebuild_state(store, rebuilt, validator_urls=[FEED], now=NOW)
    assert again.rechecks == 0  # nothing new to learn
    assert_same_answers(live, rebuilt, digests)
    rebuilt.close()


def test_damage_is_reported_and_the_rest_restored(crawled, tmp_path):
    store, live, _, _ = crawled
    root = store.root
    with gzip.open(root / "corpus/rudaw/2026/03/bb-broken.jsonl.gz", "wt") as handle:
        handle.write('{"id": "rudaw:english:9"\n')  # cut off
        handle.write(json.dumps({"id": "rudaw:english:8", "url": f"{SITE}/news/8"}) + "\n")
    (root / "corpus/rudaw/2026/03/cc-notgzip.jsonl.gz").write_bytes(b"plain bytes")
    (root / "warc/rudaw/2026/03/Z-broken.warc.gz").write_bytes(b"WARC/1.1\r\nnonsense")
    (root / "indexes").mkdir()
    (root / "indexes/stray.cdxj").write_text(
        'site,test)/x 20260301000000 {"url": "http://site.test/x", "status": "200", '
        '"digest": "sha1:X", "offset": "0", "length": "10", "filename": "gone.warc.gz"}\n'
        "not a cdxj line\n")
    run1 = "T-20260301100000-00001-host.warc.gz"
    (root / "indexes/wrong.cdxj").write_text(
        'site,test)/y 20260301000000 {"url": "http://site.test/y", "status": "200", '
        f'"digest": "sha1:Y", "offset": "3", "length": "100", "filename": "{run1}"}}\n')
    rebuilt = SQLiteState(tmp_path / "rebuilt.sqlite3")
    result = rebuild_state(store, rebuilt, now=NOW)
    text = "\n".join(result.problems)
    assert "bb-broken.jsonl.gz:1: not JSON" in text
    assert "lacks id/url/fetched_at/content_sha256" in text
    assert "cc-notgzip.jsonl.gz: unreadable corpus file" in text
    assert "Z-broken.warc.gz" in text
    assert "gone.warc.gz" in text and "stray.cdxj:2: not a CDXJ line" in text
    assert f"{run1}: no record for http://site.test/y at offset 3" in text
    assert rebuilt.lookup_digest("sha1:Y") is None
    assert rebuilt.is_archived("rudaw", "english:1") and rebuilt.is_archived("rudaw",
                                                                              "english:2")
    assert not rebuilt.is_archived("rudaw", "english:8")
    rebuilt.close()


def test_outlet_filter(crawled, tmp_path):
    store, _, _, a1 = crawled
    root = store.root
    shutil.copytree(root / "warc/rudaw", root / "warc/other")
    other = root / "corpus/other/2026/03/run.jsonl.gz"
    other.parent.mkdir(parents=True)
    with gzip.open(other, "wt") as handle:
        handle.write(json.dumps({"id": "other:7", "outlet": "other", "url": f"{SITE}/o/7",
                                 "fetched_at": RUN1, "content_sha256": "7" * 64}) + "\n")
    only = SQLiteState(tmp_path / "only.sqlite3")
    result = rebuild_state(store, only, outlets=["rudaw"], now=NOW)
    assert result.articles == {"rudaw": 2}
    assert not only.is_archived("other", "7")
    both = SQLiteState(tmp_path / "both.sqlite3")
    result = rebuild_state(store, both, now=NOW)
    assert result.articles == {"other": 1, "rudaw": 2} and both.is_archived("other", "7")
    # the copy's captures are scoped to their own outlet
    assert both.lookup_digest(a1.digest, outlet="other").filename.startswith("warc/other/")
    assert both.lookup_digest(a1.digest, outlet="rudaw").filename == a1.warc_key
    assert only.lookup_digest(a1.digest, outlet="other") is None
    only.close()
    both.close()
