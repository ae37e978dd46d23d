"""CDXJ indexes: one sorted index per WARC under indexes/, pointing at every capture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive.store.base import LocalStore
from archive.warc.cdxj import (
    CdxjLine,
    LocalCopy,
    ensure_index,
    index_key_for,
    index_warc,
    merged_lines,
    read_index,
    warc_key_for,
    warc_keys,
)
from archive.warc.reader import BACKENDS, iter_captures, read_capture
from tests.reuse_samples import build_sample_archive


def test_index_key_mirrors_the_warc_key():
    key = "warc/rudaw/2026/05/rudaw-20260503100000-00000-host.warc.gz"
    assert index_key_for(key) == ("indexes/rudaw/2026/05/"
                                  "rudaw-20260503100000-00000-host.warc.gz.cdxj")
    assert warc_key_for(index_key_for(key)) == key
    with pytest.raises(ValueError):
        index_key_for("corpus/rudaw/2026/05/run.jsonl.gz")


def test_index_is_sorted_and_points_at_every_capture(tmp_path: Path):
    sample = build_sample_archive(tmp_path / "store")
    warc_key = sample.warc_keys[0]
    out = tmp_path / "index.cdxj"
    count = index_warc(sample.store.path_for(warc_key), out)
    lines = [CdxjLine.parse(line) for line in out.read_text().splitlines()]
    assert count == len(lines) == 5  # 4 articles + the 404; requests and warcinfo not indexed
    keys = [f"{line.urlkey} {line.timestamp}" for line in lines]
    assert keys == sorted(keys)
    captures = {c.offset: c for c in iter_captures(sample.store.path_for(warc_key))}
    for line in lines:
        capture = captures[line.offset]
        assert line.fields["url"] == capture.uri
        assert line.fields["filename"] == Path(warc_key).name
        assert int(line.fields["length"]) == capture.length
        assert line.timestamp == capture.date.replace("-", "").replace("T", "")\
            .replace(":", "").rstrip("Z")[:14]


def test_revisit_is_indexed_as_warc_revisit(tmp_path: Path):
    sample = build_sample_archive(tmp_path / "store")
    lines = list(read_index(sample.store, index_key_for(sample.warc_keys[1])))
    revisits = [line for line in lines if line.is_revisit]
    assert len(revisits) == 1
    assert revisits[0].fields["digest"] == sample.captures[0].payload_digest


def test_ensure_index_backfills_a_missing_index(tmp_path: Path):
    sample = build_sample_archive(tmp_path / "store")
    key = sample.warc_keys[0]
    index = sample.store.path_for(index_key_for(key))
    before = index.read_bytes()
    index.unlink()
    assert ensure_index(sample.store, key) == index_key_for(key)
    assert index.read_bytes() == before
    # an existing index is left alone (indexes are derived; nothing is rebuilt needlessly)
    mtime = index.stat().st_mtime_ns
    ensure_index(sample.store, key)
    assert index.stat().st_mtime_ns == mtime


def test_merged_lines_are_globally_sorted(tmp_path: Path):
    sample = build_sample_archive(tmp_path / "store")
    keys = [index_key_for(k) for k in warc_keys(sample.store, "sample")]
    merged = list(merged_lines(sample.store, keys))
    assert len(merged) == 7
    assert merged == sorted(merged)
    assert {json.loads(line.split(" ", 2)[2])["filename"] for line in merged} == \
        {Path(k).name for k in sample.warc_keys}


@pytest.mark.parametrize("backend", BACKENDS)
def test_readers_agree_on_offsets_lengths_and_decoded_bodies(tmp_path: Path, backend: str):
    sample = build_sample_archive(tmp_path / "store")
    path = sample.store.path_for(sample.warc_keys[0])
    captures = list(iter_captures(path, backend=backend))
    assert [c.offset for c in captures] == [w.offset for w in sample.captures[:5]]
    assert [c.length for c in captures] == [w.length for w in sample.captures[:5]]
    gzipped = captures[1]  # article 1 is stored with Content-Encoding: gzip
    assert gzipped.header("Content-Encoding") == "gzip"
    assert gzipped.body.startswith(b"<!DOCTYPE html>")
    assert gzipped.charset == "utf-8"
    one = read_capture(path, sample.captures[1].offset, backend=backend)
    assert one.body == gzipped.body and one.uri == sample.captures[1].url
    assert captures[4].status == 404


def test_local_copy_uses_local_files_in_place(tmp_path: Path):
    sample = build_sample_archive(tmp_path / "store")
    with LocalCopy(LocalStore(tmp_path / "store")) as copies:
        assert copies.path(sample.warc_keys[0]) == sample.store.path_for(sample.warc_keys[0])


def test_decode_entity_undoes_every_encoding_and_survives_broken_bodies():
    import gzip as gz
    import zlib

    import brotli

    from archive.warc.reader import decode_entity

    html = "<html><p>Invented text ێ ç</p></html>".encode()
    cases = {
        "gzip": gz.compress(html),
        "x-gzip": gz.compress(html[:10]) + gz.compress(html[10:]),  # two members
        "deflate": zlib.compress(html),
        "br": brotli.compress(html),
    }
    for coding, data in cases.items():
        assert decode_entity(data, [("Content-Encoding", coding)]) == (html, None), coding
    raw_deflate = zlib.compressobj(wbits=-15)
    data = raw_deflate.compress(html) + raw_deflate.flush()
    assert decode_entity(data, [("content-encoding", "deflate")]) == (html, None)
    chunked = b"a\r\n" + html[:10] + b"\r\n" + format(len(html) - 10, "x").encode() + \
        b"\r\n" + html[10:] + b"\r\n0\r\n\r\n"
    assert decode_entity(chunked, [("Transfer-Encoding", "chunked")]) == (html, None)
    assert decode_entity(html, [("Transfer-Encoding", "chunked")]) == (html, None)
    body, error = decode_entity(b"\x1f\x8bnot gzip", [("Content-Encoding", "gzip")])
    assert body == b"\x1f\x8bnot gzip" and "gzip" in error
    body, error = decode_entity(gz.compress(html)[:-12], [("Content-Encoding", "gzip")])
    assert error and body != html


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_broken_body_does_not_stop_the_scan(tmp_path: Path, backend: str):
    from datetime import UTC, datetime

    from tests.reuse_samples import Capture, write_warc

    moment = datetime(2026, 5, 3, tzinfo=UTC)
    path = tmp_path / "x.warc.gz"
    captures = [Capture("http://127.0.0.1:9/news/1", b"<html>one</html>", moment),
                Capture("http://127.0.0.1:9/news/2", b"<html>two</html>", moment,
                        gzip_body=True),
                Capture("http://127.0.0.1:9/news/3", b"<html>three</html>", moment)]
    write_warc(path, "warc/x/2026/05/x.warc.gz", captures)
    # corrupt the gzip entity of capture 2 in place: the record stays well-formed
    data = bytearray(path.read_bytes())
    written = list(iter_captures(path, backend=backend))
    assert [c.decode_error for c in written] == [None, None, None]
    import gzip as gz

    member_start = written[1].offset
    member = gz.decompress(bytes(data[member_start:member_start + written[1].length]))
    broken = member.replace(gz.compress(b"<html>two</html>", mtime=0)[10:14], b"\x00" * 4)
    assert broken != member
    rewritten = gz.compress(broken)
    data[member_start:member_start + written[1].length] = rewritten
    path.write_bytes(bytes(data))
    again = list(iter_captures(path, backend=backend))
    assert [c.uri for c in again] == [c.url for c in captures]
    assert again[1].decode_error and again[0].body == b"<html>one</html>"
    assert again[2].body == b"<html>three</html>"
