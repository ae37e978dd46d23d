"""What verify finds besides the manifests: the traces of runs that did not finish.

- ``open``: a ``.open`` file in the store (or the S3 spool) that no live run is writing;
- ``orphan``: a closed file in the S3 spool without its ``.pending.json`` sidecar (nothing
  would ever upload it);
- ``unfinished``: a run journal whose process is gone: the run started and never wrote
  its run report (manifest).

The next crawl of the outlet recovers all three (``archive.state.recovery``); until then
``verify`` reports them and exits non-zero, so nothing waits unnoticed.  What that
recovery takes on is found here too (``find_dead``), by the same rules: a journal whose
process is gone, files no live run claims.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from archive.corpus.records import CORPUS_SUFFIX
from archive.state.journal import JournalEntry, journals
from archive.store.base import Store
from archive.warc.cdxj import INDEX_SUFFIX, WARC_SUFFIXES

OPEN = ".open"
WARC_SUFFIX = WARC_SUFFIXES[0]  # what the crawl writes
_PUBLISHED = (WARC_SUFFIX, CORPUS_SUFFIX, INDEX_SUFFIX)  # files a run hands to the store
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
        if not run_is_dead(entry):
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


# ---- what a recovery of one outlet takes on ----------------------------------------------


def run_is_dead(entry: JournalEntry) -> bool:
    """The journal's run is over: its process is gone, or it names none (unreadable)."""
    return entry.holder is None or entry.is_dead()


def _key(spool: Path, path: Path) -> str:
    return path.relative_to(spool).as_posix().removesuffix(OPEN)


def outlet_leftovers(store: Store, outlet: str) -> list[str]:
    """Keys of this outlet's files in the spool that are open or (S3) closed but unpublished."""
    spool = Path(store.spool_dir)
    keys: list[str] = []
    for top in ("warc", "corpus"):
        folder = spool / top / outlet
        if folder.is_dir():
            keys += [_key(spool, p) for p in folder.rglob("*" + OPEN) if p.is_file()]
    spool_files = getattr(store, "spool_files", None)
    if spool_files is not None:  # S3: a closed file without its sidecar was never spooled
        for top in ("warc", "corpus", "indexes"):
            folder = spool / top / outlet
            if not folder.is_dir():
                continue
            for path in folder.rglob("*"):
                if (path.is_file() and path.name.endswith(_PUBLISHED)
                        and not spool_files.sidecar(path).exists()):
                    keys.append(_key(spool, path))
    return sorted(set(keys))


def find_dead(store: Store, store_uri: str, outlet: str, own: Path | None = None
              ) -> tuple[list[str], list[JournalEntry], bool]:
    """(keys of files no live run claims, journals of dead runs, whether another live run
    of ``outlet`` has a journal) -- ``own`` is the caller's journal.

    Files are listed before the journals are read: a live run journals a file before it
    creates it, so whatever the listing saw is in a journal read afterwards.
    """
    found = outlet_leftovers(store, outlet)
    live_claims: set[str] = set()
    dead: list[JournalEntry] = []
    others = False
    for entry in journals(store_uri, outlet):
        if run_is_dead(entry):
            dead.append(entry)
        else:
            live_claims.update(entry.files)
            others = others or entry.path != own
    keys = {k for k in found if k not in live_claims}
    for entry in dead:
        keys.update(entry.files)
    return sorted(keys), dead, others
