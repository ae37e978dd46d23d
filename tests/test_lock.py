"""The run lock: one run per outlet and store, dead holders taken over (archive.state.lock)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.state.base import default_state_dir
from archive.state.lock import EXIT_LOCKED, LockHeld, LockInfo, RunLock, lock_path

ROOT = Path(__file__).resolve().parents[1]

HOLDER = """
import os, sys, time
sys.path.insert(0, {root!r})
from archive.state.lock import RunLock
lock = RunLock({path!r}, outlet="rudaw", store="/srv/archive").acquire()
if {fork!r}:
    child = os.fork()
    if child == 0:          # an extraction worker: inherits the locked file
        time.sleep(60)
        os._exit(0)
    print("child", child, flush=True)
print("locked", os.getpid(), flush=True)
time.sleep(60)
"""


def _start_holder(path: Path, fork: bool = False) -> tuple[subprocess.Popen, int | None]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER.format(root=str(ROOT), path=str(path),
                                                                 fork=fork)],
                            stdout=subprocess.PIPE, text=True)
    child = None
    for line in proc.stdout:
        if line.startswith("child"):
            child = int(line.split()[1])
        if line.startswith("locked"):
            return proc, child
    raise AssertionError(f"holder did not lock (exit {proc.wait()})")


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_exit_code_is_ex_tempfail():
    assert EXIT_LOCKED == 75 == LockHeld.exit_code


def test_acquire_writes_holder_and_release_removes_file(tmp_path):
    path = tmp_path / "locks" / "rudaw.lock"
    with RunLock(path, outlet="rudaw", store="/srv/archive") as lock:
        assert lock.held and lock.took_over is None
        data = json.loads(path.read_text())
        assert data["pid"] == os.getpid() and data["host"] == socket.gethostname()
        assert data["outlet"] == "rudaw" and data["store"] == "/srv/archive"
    assert not path.exists() and not lock.held
    with RunLock(path):  # and it can be taken again
        pass


def test_second_run_fails_at_once_with_holder_details(tmp_path):
    path = tmp_path / "rudaw.lock"
    proc, _ = _start_holder(path)
    try:
        started = time.monotonic()
        with pytest.raises(LockHeld) as caught:
            RunLock(path, outlet="rudaw", store="/srv/archive").acquire()
        assert time.monotonic() - started < 1  # no waiting
        assert caught.value.holder.pid == proc.pid
        message = str(caught.value)
        assert f"pid {proc.pid}" in message and "rudaw" in message and "75" in message
        assert path.exists()  # the holder's file is untouched
    finally:
        _kill(proc.pid)
        proc.wait()


def test_same_process_cannot_take_it_twice(tmp_path):
    path = tmp_path / "x.lock"
    with RunLock(path):
        with pytest.raises(LockHeld):
            RunLock(path).acquire()


def test_lock_of_killed_run_is_taken_over(tmp_path):
    path = tmp_path / "rudaw.lock"
    proc, _ = _start_holder(path)
    _kill(proc.pid)
    proc.wait()
    assert path.exists()  # SIGKILL left the file behind ...
    with RunLock(path) as lock:  # ... but not the lock
        assert lock.took_over is not None and lock.took_over.pid == proc.pid
        assert json.loads(path.read_text())["pid"] == os.getpid()


def test_lock_kept_by_orphaned_workers_of_a_dead_run_is_taken_over(tmp_path):
    path = tmp_path / "rudaw.lock"
    proc, child = _start_holder(path, fork=True)
    try:
        _kill(proc.pid)  # the run dies; its forked worker still holds the flock
        proc.wait()
        with RunLock(path) as lock:
            assert lock.took_over.pid == proc.pid
            with pytest.raises(LockHeld):  # and the new holder is protected as usual
                RunLock(path).acquire()
    finally:
        _kill(child)


def test_stale_file_without_flock_is_reused(tmp_path):
    path = tmp_path / "rudaw.lock"
    path.write_text(json.dumps({"pid": 999_999_999, "host": socket.gethostname(),
                                "started": "2026-01-01T00:00:00+00:00"}))
    with RunLock(path) as lock:
        assert lock.took_over.pid == 999_999_999
    path.write_text("garbage that is not json")
    with RunLock(path) as lock:
        assert lock.took_over is None


def test_holder_on_another_host_is_never_presumed_dead(tmp_path):
    path = tmp_path / "rudaw.lock"
    path.write_text(json.dumps({"pid": 999_999_999, "host": "some-other-host",
                                "started": "2026-01-01T00:00:00+00:00"}))
    import fcntl

    fd = os.open(path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # "the other host" holds it (e.g. over NFS)
    try:
        with pytest.raises(LockHeld, match="some-other-host"):
            RunLock(path).acquire()
    finally:
        os.close(fd)


def test_unreaped_dead_holder_counts_as_dead(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{proc.pid}/stat").exists() and time.monotonic() < deadline:
        state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            break
        time.sleep(0.02)
    try:
        info = LockInfo(pid=proc.pid, host=socket.gethostname(), started="")
        assert info.is_dead()  # a zombie: exited, its parent has not reaped it yet
    finally:
        proc.wait()


def test_pid_reuse_is_detected(tmp_path):
    me = LockInfo.current()
    assert not me.is_dead()
    reused = LockInfo(pid=me.pid, host=me.host, started=me.started, boot_id=me.boot_id,
                      proc_start=(me.proc_start or 0) + 12345)
    if me.proc_start is not None:  # Linux: our pid, but not the process that locked
        assert reused.is_dead()
    assert LockInfo(pid=me.pid, host=me.host, started="", boot_id="another-boot").is_dead() \
        == bool(me.boot_id)


def test_lock_path_per_outlet_and_store(tmp_path, monkeypatch):
    store = tmp_path / "archive"
    assert lock_path(store, "rudaw") == default_state_dir(store) / "locks" / "rudaw.lock"
    assert lock_path(store, "rudaw") != lock_path(store, "other")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert lock_path("s3://bucket/pre", "rudaw") == \
        tmp_path / "xdg" / "newsarchive" / "bucket" / "pre" / "locks" / "rudaw.lock"
    lock = RunLock.for_store(store, "rudaw")
    with lock:
        assert lock.path.exists() and lock.store == str(store)
