"""The WACZ index merge, runnable as its own process beside the corpus read (issue 19).

``write_index`` merges the per-WARC CDXJ indexes into the package's ``index.cdx.gz`` +
``index.idx`` and notes every capture's timestamp in a SQLite file for the pages pass.  It
needs nothing from the corpus, so ``package`` runs it as ``python -m
archive.replay.waczindex`` (a plain child process: no multiprocessing re-import of the
caller's ``__main__``) while it reads the corpus itself: the two halves use two cores.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from archive.replay.scratch import PageScratch
from archive.store.base import LocalStore, Store
from archive.warc.cdxj import index_key_for, merged_lines

INDEX_LINES_PER_BLOCK = 1024  # what ReplayWeb.page and py-wacz use


def write_index(store: Store, keys: list[str], idx_path: Path, cdx_path: Path,
                 captures_path: Path) -> int:
    """Merge the per-WARC indexes into ``index.cdx.gz`` + ``index.idx`` (cdxj-indexer's
    compressed CDXJ format); also note in ``captures_path`` (SQLite) the timestamp of every
    capture, by (WARC name, offset), for the pages pass to look up.  Runs in its own
    process beside the corpus read (``package``), so it needs nothing from the pages."""
    from cdxj_indexer.main import CompressedWriter

    lines = 0
    captures = PageScratch.captures_db(captures_path)
    batch: list[tuple[str, int, str]] = []
    with open(idx_path, "w", encoding="utf-8") as idx, open(cdx_path, "wb") as cdx:
        writer = CompressedWriter(idx, data_out=cdx, num_lines=INDEX_LINES_PER_BLOCK,
                                  data_out_name="index.cdx.gz", digest_records=True)
        for line in merged_lines(store, [index_key_for(k) for k in keys]):
            writer.write(line)
            lines += 1
            _, ts, data = line.split(" ", 2)
            fields = json.loads(data)
            batch.append((fields.get("filename", ""), int(fields.get("offset", -1)), ts))
            if len(batch) >= 5000:
                PageScratch.add_captures(captures, batch)
                batch = []
        if writer.block:
            writer.flush()
    PageScratch.add_captures(captures, batch)
    captures.close()
    return lines


def main(argv: list[str]) -> int:
    """``STORE_ROOT IDX CDX CAPTURES WARC_KEY...`` (a local store): prints the line count."""
    root, idx, cdx, captures, *keys = argv
    print(write_index(LocalStore(root), keys, Path(idx), Path(cdx), Path(captures)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
