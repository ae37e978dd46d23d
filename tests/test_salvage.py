"""Salvaging what a killed run left open (archive.warc.salvage, archive.corpus.gzlines).

A WARC cut at any byte keeps exactly its complete (response, request) pairs; a corpus
file cut anywhere gives back its whole lines; a corpus writer whose write failed ends the
gzip stream after the last whole line, so the file is still valid.
"""

from __future__ import annotations

import gzip
import io
import zlib
from datetime import UTC, datetime

from warcio.archiveiterator import ArchiveIterator

from archive.corpus.gzlines import GzipLines
from archive.warc.salvage import complete_lines, valid_warc_length
from archive.warc.writer import HttpExchange, WarcWriter


def three_pairs(tmp_path):
    writer = WarcWriter(tmp_path, "o", "t", "h")
    ends = []
    for number in range(3):
        writer.write_exchange(HttpExchange(url=f"http://x.test/{number}", status=200,
                                           body=b"<p>%d</p>" % number * 200,
                                           date=datetime(2026, 1, 1, tzinfo=UTC)))
        ends.append(writer._file.size)
    path = writer.current_path
    data = path.read_bytes()
    writer.close()
    return data, ends


def test_a_cut_warc_keeps_its_complete_pairs(tmp_path):
    data, ends = three_pairs(tmp_path)
    iterator = ArchiveIterator(io.BytesIO(data))
    offsets = []
    for _record in iterator:
        offsets.append(iterator.get_record_offset())
    boundaries = [offsets[1], *ends]  # after the warcinfo record, after each pair
    for cut in range(0, len(data) + 1, 97):
        piece = tmp_path / "cut.warc.gz"
        piece.write_bytes(data[:cut])
        expected = max([b for b in boundaries if b <= cut], default=0)
        assert valid_warc_length(piece) == expected, cut
    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(data)
    assert valid_warc_length(whole) == len(data) == ends[-1]


def test_a_cut_corpus_file_gives_its_whole_lines(tmp_path):
    path = tmp_path / "c.jsonl.gz.open"
    writer = GzipLines(path)
    lines = [f'{{"n": {n}, "text": "{"x" * (n * 37 % 300)}"}}\n'.encode() for n in range(50)]
    sizes = []
    for line in lines:
        writer.write(line)
        sizes.append(path.stat().st_size)
    data = path.read_bytes()
    for number, size in enumerate(sizes):
        cut = tmp_path / "cut.gz"
        cut.write_bytes(data[:size + 3])  # a few bytes of the next line's block
        got = list(complete_lines(cut))
        assert [g.encode() + b"\n" for g in got] == lines[:number + 1]
    writer.close()


def test_a_failed_write_leaves_a_valid_file(tmp_path):
    path = tmp_path / "c.jsonl.gz"
    writer = GzipLines(path)
    writer.write(b"one\n")
    writer.write(b"two\n")
    writer.failed = OSError(28, "No space left on device")  # as after a refused write
    writer.close()
    assert gzip.decompress(path.read_bytes()) == b"one\ntwo\n"
    assert zlib.decompress(path.read_bytes(), 31) == b"one\ntwo\n"
