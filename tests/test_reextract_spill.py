"""Re-extraction's spill hands one WARC's items back chunk by chunk, in offset order,
without loading the WARC's items at once (issue 19: a 20,000-article WARC held 48 MB)."""

from __future__ import annotations

from pathlib import Path

from archive.corpus.spill import ReextractSpill, warc_chunks


def _item(number: int, offset: int) -> dict:
    return {"id": f"bench:a/{number}", "version": 1, "outlet": "bench",
            "warc": {"key": "w", "offset": offset}}


def test_chunks_come_in_offset_order_a_chunk_at_a_time(tmp_path: Path):
    spill = ReextractSpill(tmp_path / "spill.sqlite3")
    offsets = [900, 100, 500, 300, 700, 200, 10_000_000_000]  # > 32 bits: a large WARC
    for number, offset in enumerate(offsets):
        spill.add("warc-b", _item(number, offset))
    spill.add("warc-a", _item(99, 50))

    chunks = warc_chunks(spill, "warc-b", 3)
    first = next(chunks)
    assert [i["warc"]["offset"] for i in first] == [100, 200, 300]
    # the bookkeeping written while a WARC's chunks are being read does not disturb them
    spill.wrote("bench", "bench:a/1", 1, None, "a" * 64)
    rest = list(chunks)
    assert [len(c) for c in rest] == [3, 1]
    assert [i["warc"]["offset"] for c in rest for i in c] == [500, 700, 900, 10_000_000_000]
    assert [i["id"] for i in next(warc_chunks(spill, "warc-a", 3))] == ["bench:a/99"]
    assert sorted(spill) == ["warc-a", "warc-b"]
    assert list(spill.written("bench")) == [("bench:a/1", 1, None, None)]
    spill.close()


def test_followed_revisits_are_sorted_by_the_original_offset():
    followed = {"w": [{**_item(1, 10), "_read_from": {"offset": 400}},
                      {**_item(2, 20), "_read_from": {"offset": 30}},
                      {**_item(3, 30), "_read_from": {"offset": 200}}]}
    chunks = list(warc_chunks(followed, "w", 2))
    assert [[i["id"] for i in c] for c in chunks] == [["bench:a/2", "bench:a/3"],
                                                      ["bench:a/1"]]
