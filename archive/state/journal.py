"""The run journal: a small file that says "this run is writing these files".

A crawl creates ``<state dir>/runs/<outlet>/<stem>.json`` before it writes anything, adds
one line for every file it opens (before opening it), and deletes the journal only after
its files are published, the state is written and its run report is in the store.  A
journal that is still there names a run that did not finish; its first line names the
process (pid, host, boot id, process start time), so the next run can tell a dead run
from a live one (a worker of a shared crawl, the same run still going) without a lock.

Readers list the ``.open`` files first and read the journals after: every file is
journalled before it is created, so a file seen in the listing always has its line in a
journal read afterwards, and a live run's files are never taken for orphans.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from archive.state.base import default_state_dir
from archive.state.lock import LockInfo

logger = logging.getLogger(__name__)

JOURNAL_DIR = "runs"
JOURNAL_SUFFIX = ".json"


def journal_dir(store_uri: str | os.PathLike) -> Path:
    """Where the run journals of a store live (beside its state and run locks)."""
    return default_state_dir(store_uri) / JOURNAL_DIR


@dataclass
class JournalEntry:
    """A journal as read back: who wrote it and the store keys of the files it names."""

    path: Path
    run_id: str
    stem: str
    outlet: str
    started: str
    holder: LockInfo | None
    files: list[str] = field(default_factory=list)  # store keys (without ``.open``)

    def is_dead(self) -> bool:
        """True when the process that wrote the journal is gone (same host only)."""
        return self.holder is not None and self.holder.is_dead()


class RunJournal:
    """The journal of the running process; ``begin`` / ``opened`` / ``finish``."""

    def __init__(self, store_uri: str | os.PathLike, outlet: str, run_id: str, stem: str,
                 started: str):
        self.path = journal_dir(store_uri) / outlet / f"{stem}{JOURNAL_SUFFIX}"
        self.outlet, self.run_id, self.stem, self.started = outlet, run_id, stem, started
        self._begun = False

    def begin(self) -> None:
        from dataclasses import asdict

        holder = LockInfo.current(self.outlet)
        head = {"run_id": self.run_id, "stem": self.stem, "outlet": self.outlet,
                "started": self.started, "holder": asdict(holder)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._append(head, mode="w")
        self._begun = True

    def opened(self, key: str) -> None:
        """Note that the file for store key ``key`` is about to be created."""
        if self._begun:
            self._append({"file": key})

    def _append(self, line: dict, mode: str = "a") -> None:
        with open(self.path, mode, encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def finish(self) -> None:
        """The run is complete in the store: nothing is left to recover."""
        if self._begun:
            self.path.unlink(missing_ok=True)
            self._begun = False


def read_journal(path: Path) -> JournalEntry | None:
    """A journal file -> JournalEntry (None when it has no readable first line)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    entry: JournalEntry | None = None
    for number, line in enumerate(lines):
        try:
            data = json.loads(line)
        except ValueError:
            continue  # a line cut by a crash: the file it names was never created
        if number == 0:
            holder = data.get("holder") or {}
            entry = JournalEntry(path=path, run_id=str(data.get("run_id") or path.stem),
                                 stem=str(data.get("stem") or path.stem),
                                 outlet=str(data.get("outlet") or path.parent.name),
                                 started=str(data.get("started") or ""),
                                 holder=LockInfo.parse(json.dumps(holder).encode()))
        elif entry is not None and isinstance(data.get("file"), str):
            entry.files.append(data["file"])
    return entry


def journals(store_uri: str | os.PathLike, outlet: str | None = None) -> Iterator[JournalEntry]:
    """Every readable journal of the store (of one outlet when given)."""
    root = journal_dir(store_uri)
    folders = [root / outlet] if outlet else sorted(p for p in root.glob("*") if p.is_dir())
    for folder in folders:
        for path in sorted(folder.glob(f"*{JOURNAL_SUFFIX}")):
            entry = read_journal(path)
            if entry is not None:
                yield entry
            else:
                logger.warning("unreadable run journal %s", path)
