"""Benchmark the state store's seen-check with 1,000,000 archived article keys.

Targets (issue 4): peak RSS under 200 MB and over 50,000 seen-check lookups/s with the
SQLite state.  The lookups run in a fresh child process that opens the filled database,
so its peak RSS is what a crawl run sees (the filling process's peak is printed too).
Redis figures (INFO memory ``used_memory`` growth and lookups/s over a local socket) are
added when a Redis is reachable: ``--redis URL``, or a private ``redis-server`` started
from PATH on a free port.

    python bench/state.py [--keys 1000000] [--lookups 200000] [--redis redis://...]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archive.state import open_state  # noqa: E402
from archive.state.base import ArticleRecord

OUTLET = "rudaw"
EDITIONS = ("english", "sorani", "kurmanci", "arabic", "turkish", "farsi")


def key_of(i: int) -> str:
    return f"{EDITIONS[i % len(EDITIONS)]}:{1_000_000 + i}"


def records(n: int):
    """n articles, one every 3 minutes, the newest published now (1M: about 5.7 years)."""
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3 * n)
    for i in range(n):
        when = base + timedelta(minutes=3 * i)
        edition = EDITIONS[i % len(EDITIONS)]
        yield ArticleRecord(
            key=key_of(i),
            url=f"https://www.rudaw.net/{edition}/middleeast/iraq/{when:%d%m%Y}{i}",
            content_sha256=f"{i:064x}",
            version=1,
            fetched_at=when + timedelta(minutes=5),
            published=when.isoformat(),
        )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def probe_keys(n_keys: int, n: int, seed: int = 7) -> list[str]:
    """Half archived keys, half unknown ones (a crawl sees both)."""
    rng = random.Random(seed)
    keys = []
    for j in range(n):
        if j % 2:
            keys.append(key_of(rng.randrange(n_keys)))
        else:
            keys.append(f"english:{9_000_000_000 + rng.randrange(10**9)}")
    return keys


def measure_lookups(location: str, n_keys: int, n: int) -> dict:
    """Open the state, time single and batched seen-checks; returns figures."""
    t0 = time.perf_counter()
    state = open_state(location)
    opened = time.perf_counter() - t0
    keys = probe_keys(n_keys, n)
    t0 = time.perf_counter()
    hits = sum(state.is_archived(OUTLET, k) for k in keys)
    single = time.perf_counter() - t0
    t0 = time.perf_counter()
    batched_hits = 0
    for i in range(0, len(keys), 1000):
        batch = keys[i:i + 1000]
        found = state.archived_among(OUTLET, batch)
        batched_hits += sum(k in found for k in batch)
    batched = time.perf_counter() - t0
    assert hits == batched_hits == n // 2, (hits, batched_hits)
    state.close()
    return {"open_s": round(opened, 3), "single_per_s": round(n / single),
            "batched_per_s": round(n / batched), "hits": hits,
            "peak_rss_mb": round(peak_rss_mb(), 1)}


def fill(location: str, n_keys: int) -> dict:
    state = open_state(location)
    t0 = time.perf_counter()
    state.record_articles(OUTLET, records(n_keys))
    elapsed = time.perf_counter() - t0
    count = state.count_articles(OUTLET)
    state.close()
    assert count == n_keys, count
    return {"fill_s": round(elapsed, 1), "fill_per_s": round(n_keys / elapsed),
            "fill_peak_rss_mb": round(peak_rss_mb(), 1)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis() -> tuple[str, subprocess.Popen] | None:
    server = shutil.which("redis-server")
    if not server:
        return None
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return f"redis://127.0.0.1:{port}/0", proc
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.terminate()
    return None


def bench_redis(url: str, n_keys: int, n_lookups: int) -> dict:
    import redis

    prefix = f"bench{os.getpid()}"
    location = f"{url}{'&' if '?' in url else '?'}prefix={prefix}"
    client = redis.Redis.from_url(url)
    before = client.info("memory")["used_memory"]
    figures = fill(location, n_keys)
    after = client.info("memory")["used_memory"]
    figures["redis_used_memory_mb"] = round((after - before) / 2**20, 1)
    figures["redis_bytes_per_key"] = round((after - before) / n_keys)
    figures.update(measure_lookups(location, n_keys, n_lookups))
    state = open_state(location)
    state.clear()
    state.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=200_000)
    parser.add_argument("--redis", help="Redis URL (default: start a private redis-server)")
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:  # the lookup phase, in a fresh process
        print(json.dumps(measure_lookups(args.child, args.keys, args.lookups)))
        return 0

    with tempfile.TemporaryDirectory(prefix="state-bench-") as tmp:
        path = str(Path(tmp) / "state.sqlite3")
        filled = fill(path, args.keys)
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 2**20
        out = subprocess.run([sys.executable, __file__, "--keys", str(args.keys),
                              "--lookups", str(args.lookups), "--child", path],
                             capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"lookup process failed:\n{out.stderr}")
        looked = json.loads(out.stdout)
    print(f"SQLite state, {args.keys:,} article keys ({size_mb:.0f} MB on disk)")
    print(f"  fill: {filled['fill_s']} s ({filled['fill_per_s']:,} records/s), "
          f"peak RSS while filling {filled['fill_peak_rss_mb']} MB")
    print(f"  seen-check in a fresh process: peak RSS {looked['peak_rss_mb']} MB "
          f"(target < 200), open {looked['open_s']} s")
    print(f"  single lookups: {looked['single_per_s']:,}/s (target > 50,000)")
    print(f"  batched lookups (archived_among, 1000 keys): {looked['batched_per_s']:,}/s")
    ok = looked["peak_rss_mb"] < 200 and looked["single_per_s"] > 50_000

    if not args.no_redis:
        started = None
        url = args.redis
        if url is None:
            started = start_redis()
            url = started[0] if started else None
        if url is None:
            print("Redis: not measured (no --redis URL and no redis-server on PATH)")
        else:
            try:
                figures = bench_redis(url, args.keys, args.lookups)
            finally:
                if started:
                    started[1].terminate()
                    started[1].wait()
            print(f"Redis state ({'private server' if started else url}), "
                  f"{args.keys:,} article keys")
            print(f"  fill: {figures['fill_s']} s ({figures['fill_per_s']:,} records/s)")
            print(f"  Redis used_memory growth: {figures['redis_used_memory_mb']} MB "
                  f"({figures['redis_bytes_per_key']} bytes per article)")
            print(f"  client peak RSS {figures['peak_rss_mb']} MB; single lookups "
                  f"{figures['single_per_s']:,}/s; batched {figures['batched_per_s']:,}/s")
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
