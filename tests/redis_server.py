"""A real Redis for tests: the one on 127.0.0.1:6379 when it answers, else a private one.

The private server runs `redis-server` on a free port with persistence off, and is stopped
by the PID we started.  Tests that share a Redis keep apart by key prefix
(``unique_prefix``) and delete their keys afterwards (``delete_prefix``): never FLUSHDB.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import redis

SHARED_URL = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def redis_server_binary() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)


@contextlib.contextmanager
def private_redis(timeout: float = 10.0) -> Iterator[str]:
    """Start `redis-server` on a free port for the block; yields its URL."""
    binary = redis_server_binary()
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + timeout
        while not answers(url):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"started {binary} on port {port} but it does not answer")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def redis_for_tests() -> Iterator[str]:
    """``$NEWSARCHIVE_TEST_REDIS`` or 127.0.0.1:6379 when it answers, else a private server."""
    shared = os.environ.get("NEWSARCHIVE_TEST_REDIS", SHARED_URL)
    if answers(shared):
        yield shared
        return
    with private_redis() as url:
        yield url


def unique_prefix(tag: str = "test") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"


def delete_prefix(url: str, prefix: str) -> int:
    """Delete every key of ``prefix`` (``{prefix}...`` and ``{prefix:...}``); returns count."""
    client = redis.Redis.from_url(url)
    deleted = 0
    for pattern in (f"{{{prefix}}}*", f"{{{prefix}:*"):
        batch = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(batch), 1000):
            deleted += client.unlink(*batch[start:start + 1000])
    client.close()
    return deleted
