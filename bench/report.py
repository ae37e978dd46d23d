"""Benchmark: `newsarchive report` over a store with 10,000 run reports.

Generates ``--runs`` run reports (default 10,000: 20 outlets x 500 runs spread over 60
days, shaped like the crawler's, with a files manifest and failing URLs; see
tests/run_reports.py) in a temporary local store, then times the real command line (a
subprocess, as cron runs it): the HTML page and ``--json``, over the whole history
(``--since 10000d``), the default 30-day window and 7 days.  With ``--s3`` the same
reports are put into a SeaweedFS bucket (tests/s3server.py, started here) and the
command is timed against ``s3://``.

    python bench/report.py [--runs 10000] [--outlets 20] [--days 60] [--s3] [--repeat 3]

Prints wall seconds per variant (best and median of --repeat) and the reports read.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.run_reports import SCENARIOS, put_s3, scenario, utc_now, write_local  # noqa: E402


def generate(outlets: int, runs: int, days: int) -> list[dict]:
    now = utc_now()
    per_outlet = max(1, runs // outlets)
    every = timedelta(days=days) / per_outlet  # spread over ``days``: the window matters
    reports = []
    for number in range(outlets):
        kind = SCENARIOS[number % len(SCENARIOS)] if number < len(SCENARIOS) else "healthy"
        reports += scenario(f"outlet-{number:03d}", kind, now, runs=per_outlet, every=every)
    return reports


def timed(store: str, args: list[str], repeat: int, env: dict | None = None
          ) -> tuple[list[float], dict | None, int]:
    times, health, code = [], None, 0
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "crawler.cli", "report", "--store", store,
                               *args], capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, **(env or {})})
        times.append(time.perf_counter() - start)
        code = proc.returncode
        if code not in (0, 8):
            raise SystemExit(f"report failed ({code}): {proc.stderr[-2000:]}")
        if "--json" in args and "--out" not in args:
            health = json.loads(proc.stdout)
    return times, health, code


def show(name: str, times: list[float], health: dict | None) -> None:
    read = f"  reports read {health['reports_read']}" if health else ""
    print(f"{name:<48} best {min(times):6.2f} s  median {statistics.median(times):6.2f} s"
          f"{read}")


def bench(store: str, label: str, repeat: int, work: Path, env: dict | None = None,
          extra: tuple[str, ...] = ()) -> None:
    for name, args in (("html, whole history", ["--since", "10000d", "--out",
                                                str(work / "all.html")]),
                       ("json, whole history", ["--since", "10000d", "--json"]),
                       ("html, last 30 days (default)", ["--out", str(work / "30d.html")]),
                       ("json, last 7 days", ["--since", "7d", "--json"])):
        times, health, _ = timed(store, args + list(extra), repeat, env)
        if health is None:
            _, health, _ = timed(store, args[:2] + ["--json", *extra], 1, env)
        show(f"{label}: {name}", times, health)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--outlets", type=int, default=20)
    parser.add_argument("--days", type=int, default=60, help="history spread over DAYS")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--s3", action="store_true", help="also time an S3 store (SeaweedFS)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        start = time.perf_counter()
        reports = generate(args.outlets, args.runs, args.days)
        store = work / "store"
        write_local(store, reports)
        size = sum(p.stat().st_size for p in store.rglob("*.json"))
        first, last = reports[0]["started"][:10], max(r["started"] for r in reports)[:10]
        print(f"generated {len(reports)} run reports of {args.outlets} outlets "
              f"({size / 1e6:.1f} MB, {first} .. {last}) in {time.perf_counter() - start:.1f} s")
        print(f"cpu cores: {os.cpu_count()}")
        bench(str(store), "local", args.repeat, work)
        if args.s3:
            from tests.s3server import SeaweedFS

            with SeaweedFS(work / "seaweedfs") as server:
                prefix = f"bench-{uuid.uuid4().hex[:6]}"
                start = time.perf_counter()
                put_s3(server.client(), server.bucket, prefix, reports, threads=32)
                print(f"uploaded to SeaweedFS in {time.perf_counter() - start:.1f} s")
                env = {**server.client_env(), "NEWSARCHIVE_SPOOL": str(work / "spool"),
                       "NEWSARCHIVE_CACHE": str(work / "cache")}
                uri = f"s3://{server.bucket}/{prefix}"
                bench(uri, "s3 no cache", args.repeat, work, env, ("--no-cache",))
                times, _, _ = timed(uri, ["--since", "10000d", "--json"], 1, env)
                print(f"s3: first run filling the cache              {times[0]:6.2f} s")
                bench(uri, "s3 cached", args.repeat, work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
