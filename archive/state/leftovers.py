"""What verify finds besides the manifests: the traces of runs that did not finish.

- ``open``: a ``.open`` file in the store (or the S3 spool) that no live run is writing;
- ``orphan``: a closed file in the S3 spool without its ``.pending.json`` sidecar (nothing
  would ever upload it);
- ``unfinished``: a run journal whose process is gone: the run started and never wrote
  its run report (manifest).

The next crawl of the outlet recovers all three (``archive.state.recovery``); until then
``verify`` reports them and exits non-zero, so nothing waits unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from archive.state.journal import journals

OPEN = ".open"
_SPOOL_SKIP = (".open", ".tmp", ".part", ".pending.json", ".recovering")


@dataclass(frozen=True)
class Leftover:
    key: str
    kind: str  # open | orphan | unfinished
    detail: str


def _outlet(key: str) -> str:
    parts = key.split("/")
    return parts[1] if len(parts) > 2 else ""


def find_leftovers(store, store_uri: str) -> Iterator[Leftover]:
    spool = Path(store.spool_dir)
    if not spool.is_dir():
        return
    spool_files = getattr(store, "spool_files", None)
    tops = ("warc", "corpus", "indexes", "runs")
    opened = [p for top in tops if (spool / top).is_dir() for p in (spool / top).rglob("*" + OPEN)
              if p.is_file()]
    unsent = []
    if spool_files is not None:
        unsent = [p for top in tops if (spool / top).is_dir() for p in (spool / top).rglob("*")
                  if p.is_file() and not p.name.endswith(_SPOOL_SKIP)
                  and not spool_files.sidecar(p).exists()]
    live_files: set[str] = set()
    live_outlets: set[str] = set()
    for entry in journals(store_uri):
        if entry.holder is not None and not entry.is_dead():
            live_files.update(entry.files)
            live_outlets.add(entry.outlet)
            continue
        yield Leftover(entry.path.as_posix(), "unfinished",
                       f"run {entry.stem} of {entry.outlet} started {entry.started} and wrote "
                       f"no run report ({len(entry.files)} files journalled); the next "
                       f"`newsarchive crawl {entry.outlet}` recovers it")
    for path in opened:
        key = path.relative_to(spool).as_posix()
        final = key.removesuffix(OPEN)
        if final in live_files or (key.startswith(("indexes/", "runs/"))
                                   and _outlet(key) in live_outlets):
            continue
        yield Leftover(key, "open", f"left open by a run that died ({path.stat().st_size} "
                       "bytes); the next crawl of the outlet recovers it")
    for path in unsent:
        key = path.relative_to(spool).as_posix()
        if key in live_files:
            continue
        yield Leftover(key, "orphan", f"in the spool {spool} without its upload sidecar; the "
                       "next crawl of the outlet publishes it")
