"""Recovery's digest pass reads a dead run's WARCs back: a bad file is a problem line in
the report (and the digests read before the damage still reach the state), never a
crash of the run that recovers it.  Which errors count as "bad file" is
``archive.state.recovery.WARC_READ_ERRORS``; any other exception is a bug and raises.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.state import open_state
from archive.state.journal import journal_dir
from archive.state.recovery import recover
from archive.store import open_store

OUTLET = "dead-outlet"
KEY = f"warc/{OUTLET}/2026/12/dead-run.warc.gz"


def response_records(count: int) -> tuple[bytes, list[str]]:
    """``count`` gzipped 200 response records and their payload digests."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    digests = []
    for number in range(count):
        body = f"<html><body>invented page {number}</body></html>".encode()
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                protocol="HTTP/1.1")
        record = writer.create_warc_record(f"http://dead.example/{number}", "response",
                                           payload=io.BytesIO(body), http_headers=http)
        writer.write_record(record)
        digests.append(record.rec_headers.get_header("WARC-Payload-Digest"))
    return buffer.getvalue(), digests


def dead_run_with(store: Path, warc: bytes) -> None:
    """A closed WARC of a run that died before its state was written (its journal says
    so: no live holder)."""
    path = store / KEY
    path.parent.mkdir(parents=True)
    path.write_bytes(warc)
    journal = journal_dir(store) / OUTLET / "dead-run.json"
    journal.parent.mkdir(parents=True)
    journal.write_text(json.dumps({"run_id": "dead-run", "stem": "dead-run",
                                   "outlet": OUTLET, "started": "", "holder": {}}) + "\n"
                       + json.dumps({"file": KEY}) + "\n", encoding="utf-8")


@pytest.mark.parametrize("damage", [
    b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 64,  # a corrupt gzip member
    b"this is not a WARC record at all\r\n" * 4,  # not gzip
], ids=["corrupt_deflate", "garbage"])
def test_a_damaged_warc_is_a_problem_not_a_crash(tmp_path: Path, damage: bytes) -> None:
    store = tmp_path / "store"
    good, digests = response_records(3)
    dead_run_with(store, good + damage)
    with open_state(tmp_path / "state.sqlite3") as state:
        result = recover(open_store(store), str(store), OUTLET, state)
        assert result.runs == ["dead-run"] and result.warcs == 1
        assert [p for p in result.problems if "could not read records back" in p], \
            result.problems
        for digest in digests:  # read before the damage: recorded all the same
            known = state.lookup_digest(digest, OUTLET)
            assert known is not None and known.filename == KEY


def test_an_intact_warc_records_every_digest_and_no_problem(tmp_path: Path) -> None:
    store = tmp_path / "store"
    good, digests = response_records(4)
    dead_run_with(store, good)
    with open_state(tmp_path / "state.sqlite3") as state:
        result = recover(open_store(store), str(store), OUTLET, state)
        assert result.problems == []
        assert state.count_digests() == 4
        assert {state.lookup_digest(d, OUTLET).uri for d in digests} == {
            f"http://dead.example/{n}" for n in range(4)}
