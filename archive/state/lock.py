"""One run per outlet and store at a time: the cron-safe run lock.

Scheduled crawls overlap when one run is slow; two runs of the same outlet into the same
store would fetch everything twice and race on the state.  A run therefore holds an
exclusive ``flock`` on ``<state dir>/locks/<outlet>.lock`` (the state dir of the *store*,
see ``archive.state.default_state_dir``).  The kernel drops the lock when the holder
dies, however it dies, so a crash never leaves a lock that blocks the next run; the file
names the holder (pid, host, start time) for the message the second run prints.

One gap remains: processes forked by the run (extraction workers) inherit the lock and
keep it while they live.  If the run itself died and left such orphans, the lock file
says the holder's pid is gone: the new run unlinks the file and locks a fresh one (every
acquirer re-checks that the path still names the file it locked, so this is race-free).

Exit code: a run that finds the lock held exits with ``EXIT_LOCKED`` = 75 (``EX_TEMPFAIL``
in sysexits.h: "temporary failure, try again later"), so cron wrappers and systemd
(``SuccessExitStatus=75`` or ``RestartPreventExitStatus=75``) can tell "another run is
busy" from a failure.  The lock is per host: for an S3 store shared by several machines,
use the shared Redis state/frontier instead of relying on it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from archive.state.base import default_state_dir

EXIT_LOCKED = 75  # EX_TEMPFAIL
_ATTEMPTS = 5


@dataclass(frozen=True)
class LockInfo:
    """Who holds (or held) a run lock; written as JSON into the lock file."""

    pid: int
    host: str
    started: str  # ISO 8601 UTC
    outlet: str = ""
    store: str = ""
    boot_id: str = ""  # Linux: tells a pid of this boot from one of a previous boot
    proc_start: int | None = None  # Linux: process start (clock ticks since boot) vs pid reuse
    argv: list[str] = field(default_factory=list)

    @classmethod
    def current(cls, outlet: str = "", store: str = "") -> LockInfo:
        pid = os.getpid()
        return cls(pid=pid, host=socket.gethostname(),
                   started=datetime.now(UTC).isoformat(timespec="seconds"),
                   outlet=outlet, store=store, boot_id=_boot_id(), proc_start=_proc_start(pid),
                   argv=list(sys.argv))

    @classmethod
    def parse(cls, raw: bytes) -> LockInfo | None:
        try:
            data = json.loads(raw.decode("utf-8"))
            known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
            return cls(**known)
        except (ValueError, TypeError, UnicodeDecodeError):
            return None

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host}, started {self.started}"

    def is_dead(self) -> bool:
        """True only when we can *tell* the holder is gone (same host, pid gone or reused)."""
        if self.host != socket.gethostname():
            return False
        if self.boot_id and _boot_id() and self.boot_id != _boot_id():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # exists, belongs to someone else
        state, current_start = _proc_stat(self.pid)
        if state in ("Z", "X"):  # exited, not yet reaped by its parent
            return True
        return (self.proc_start is not None and current_start is not None
                and current_start != self.proc_start)


class LockHeld(RuntimeError):
    """Another live run holds the lock; ``holder`` says who (None if it wrote nothing)."""

    exit_code = EXIT_LOCKED

    def __init__(self, path: Path, holder: LockInfo | None, outlet: str = "", store: str = ""):
        self.path = path
        self.holder = holder
        who = holder.describe() if holder else "a process that has not written its details"
        what = f"outlet {outlet!r} on store {store}" if outlet or store else str(path)
        super().__init__(f"another newsarchive run is already working on {what}: {who} "
                         f"(lock file {path}); this run did nothing and exits with status "
                         f"{EXIT_LOCKED}")


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _proc_stat(pid: int) -> tuple[str, int | None]:
    """Linux: (state letter, start time in clock ticks since boot) of ``pid``; ("", None)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "", None
    # fields after the parenthesised command name (which may hold spaces): 3 = state,
    # 22 = starttime
    fields = stat[stat.rfind(")") + 2:].split()
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return "", None


def _proc_start(pid: int) -> int | None:
    return _proc_stat(pid)[1]


def lock_path(store_uri: str | os.PathLike, outlet: str) -> Path:
    """Where the run lock of ``outlet`` on the store ``store_uri`` lives."""
    return default_state_dir(store_uri) / "locks" / f"{outlet}.lock"


def _read(fd: int) -> LockInfo | None:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    raw = b"".join(chunks)
    return LockInfo.parse(raw) if raw.strip() else None


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


class RunLock:
    """``with RunLock(path, outlet=..., store=...):`` one holder at a time, no waiting.

    Raises ``LockHeld`` at once when a live run holds the lock.  After acquiring,
    ``took_over`` holds the details a dead previous holder left behind (None when the
    previous run released cleanly), for the run report.
    """

    def __init__(self, path: str | os.PathLike, outlet: str = "", store: str = ""):
        self.path = Path(path)
        self.outlet = outlet
        self.store = store
        self.info: LockInfo | None = None
        self.took_over: LockInfo | None = None
        self._fd: int | None = None

    @classmethod
    def for_store(cls, store_uri: str | os.PathLike, outlet: str) -> RunLock:
        return cls(lock_path(store_uri, outlet), outlet=outlet, store=os.fspath(store_uri))

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunLock:
        if self._fd is not None:
            raise RuntimeError(f"{self.path}: already held by this RunLock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        holder: LockInfo | None = None
        for _ in range(_ATTEMPTS):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                    os.close(fd)
                    raise
                holder = _read(fd)
                if holder is not None and holder.is_dead() and _same_file(fd, self.path):
                    # held only by orphans of a dead run: retire that file, lock a new one
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.path)
                    self.took_over = holder
                    os.close(fd)
                    continue
                os.close(fd)
                raise LockHeld(self.path, holder, self.outlet, self.store) from None
            if not _same_file(fd, self.path):  # released (and unlinked) while we waited
                os.close(fd)
                continue
            previous = _read(fd)
            if previous is not None:
                self.took_over = previous
            self.info = LockInfo.current(self.outlet, self.store)
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(asdict(self.info)).encode("utf-8") + b"\n", 0)
            os.fsync(fd)
            self._fd = fd
            return self
        raise LockHeld(self.path, holder, self.outlet, self.store)

    def release(self) -> None:
        """Remove the lock file (a clean exit leaves nothing behind) and unlock."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if _same_file(fd, self.path):
                os.unlink(self.path)
        finally:
            os.close(fd)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
