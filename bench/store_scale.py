"""Benchmark: do the store commands stay flat as the archive grows? (issue 19)

Generates synthetic stores directly (no crawl): WARCs written by ``archive.warc.writer``
(small article pages, a legacy URL redirecting to every tenth article -- an alias key
for the state rebuild -- and one feed per run)
and one corpus file per crawl run of 50,000 articles, with run reports as manifests.
Then runs each store command as the CLI in a child process and prints its wall time, the
peak RSS of its largest process (``VmHWM``) and the peak of the summed RSS of the process
tree (both sampled every 20 ms; wacz merges its index in a second process), per
size:

    state rebuild, verify --deep, corpus export (parquet), wacz

and, on separate (smaller) stores, ``reextract`` with its CPU time (the child and its
worker processes, from ``wait4``) and pages per second:

    python bench/store_scale.py [--sizes 10000,100000,300000] [--keep DIR] [--skip wacz]
                                [--reextract-sizes 2000,20000] [--reextract-workers 2]

Target: peak RSS at the largest size within 1.2x of the smallest; time linear.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from archive.corpus.records import CorpusWriter, encode_record  # noqa: E402
from archive.runs.report import build_report, report_key, write_report  # noqa: E402
from archive.store.base import LocalStore  # noqa: E402
from archive.warc.cdxj import index_key_for, index_warc  # noqa: E402
from archive.warc.writer import HttpExchange, WarcWriter  # noqa: E402

HOST = "news.bench.test"
PER_RUN = 50_000
OUTLET_YAML = f"""name: bench
start_urls: ['http://{HOST}/']
feeds: ['http://{HOST}/rss']
article_urls: ['/news/\\d+$', '/old/\\d+$']
article_key:
  - pattern: '/news/(?P<id>\\d+)'
    key: 'a/{{id}}'
language: eng
"""
WORDS = ("river council budget school market road court water energy health "
         "election harvest bridge museum festival").split()


def page(number: int) -> bytes:
    words = " ".join(WORDS[(number + i) % len(WORDS)] for i in range(60))
    return (f"<html><head><title>Story {number}</title><link rel=canonical "
            f"href='http://{HOST}/news/{number}'></head><body><article><h1>Story "
            f"{number}</h1><p>{words}.</p><p>{words[::-1]}.</p></article></body>"
            "</html>").encode()


def exchange(url: str, status: int, body: bytes, when: datetime,
             headers: list[tuple[str, str]] | None = None) -> HttpExchange:
    return HttpExchange(url=url, status=status, body=body, date=when,
                        request_headers=[("Host", HOST), ("User-Agent", "bench")],
                        response_headers=headers or [("Content-Type", "text/html")],
                        ip_address="192.0.2.1")


def generate(root: Path, articles: int) -> None:
    """A store of ``articles`` articles in runs of PER_RUN, each run with its corpus file,
    WARCs and report; written directly, as fast as the writers go."""
    root.mkdir(parents=True, exist_ok=True)
    store = LocalStore(root)
    (root / "bench.yaml").write_text(OUTLET_YAML, encoding="utf-8")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for run, first in enumerate(range(0, articles, PER_RUN)):
        started = start + timedelta(days=run)
        run_id = f"{started:%Y%m%dT%H%M%SZ}-{run:06x}"
        files: list = []

        def closed(path: Path, key: str, sha256: str, files: list = files) -> None:
            files.append(store.publish(path, key, sha256))  # and indexed, as a crawl does
            index_key = index_key_for(key)
            index_warc(path, store.path_for(index_key), filename=path.name)
            files.append(store.publish(store.path_for(index_key), index_key))

        warc = WarcWriter(root, "bench", f"bench-r{run}", "bench", max_size=64_000_000,
                          on_closed=closed)
        corpus = CorpusWriter(root, "bench", run_id, started)
        when = started
        warc.write_exchange(exchange(f"http://{HOST}/rss", 200, b"<rss/>" * 100, when,
                                     [("Content-Type", "application/rss+xml"),
                                      ("ETag", f'"feed-{run}"')]))
        for number in range(first, min(first + PER_RUN, articles)):
            when = started + timedelta(seconds=number - first)
            url = f"http://{HOST}/news/{number}"
            if number % 10 == 0:
                warc.write_exchange(exchange(f"http://{HOST}/old/{number}", 301, b"", when,
                                             [("Location", url)]))
            body = page(number)
            location = warc.write_exchange(exchange(url, 200, body, when))
            corpus.write_line(encode_record({
                "id": f"bench:a/{number}", "outlet": "bench", "url": url,
                "canonical_url": url, "version": 1, "previous_sha256": None,
                "content_sha256": f"{number:064x}", "fetched_at": when.isoformat(),
                "published": None, "title": f"Story {number}", "text": body[200:600].decode(),
                "language": "eng", "authors": [], "run_id": run_id, "http_status": 200,
                "warc": location.to_dict()}))
        warc.close()
        path = corpus.close()
        if path is not None:
            files.append(store.publish(path, corpus.key))
        report = build_report(run_id=run_id, outlet="bench", store_uri=str(root),
                              started=started, stats={}, files=files,
                              finish_reason="finished")
        write_report(report, root / report_key("bench", run_id))


def _sample_kb(pid: int) -> tuple[int, int]:
    """(resident KB of ``pid`` and all its descendants now, the largest peak resident KB
    of any of them so far).  wacz runs its index merge in a second process, so the tree's
    sum is sampled; the peak is each process's ``VmHWM``, which ``exec`` resets -- unlike
    ``wait4``'s ``ru_maxrss``, which also counts the pages the child shared with this
    (large, store-generating) process before its ``exec``."""
    total, largest, todo = 0, 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        largest = max(largest, int(line.split()[1]))
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as kids:
                    todo.extend(int(kid) for kid in kids.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total, largest


def measure(args: list[str], cwd: Path) -> tuple[float, int, int, int, float]:
    """(wall seconds, peak RSS in KB of the largest process, peak RSS in KB of the process
    tree, both sampled every 20 ms, exit status, CPU seconds of the child and the
    descendants it waited for) of the CLI with ``args``."""
    began = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tree = largest = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        now, peak = _sample_kb(proc.pid)
        tree, largest = max(tree, now), max(largest, peak)
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    largest = largest or usage.ru_maxrss  # exited before the first sample
    return time.monotonic() - began, largest, max(tree, largest), \
        proc.returncode, usage.ru_utime + usage.ru_stime


def commands(store: Path, work: Path) -> dict[str, list[str]]:
    return {
        "state rebuild": ["state", "rebuild", "--store", str(store), "--state",
                          str(work / "rebuilt.sqlite3"), "--outlet",
                          str(store / "bench.yaml")],
        "verify --deep": ["verify", "--store", str(store), "--deep"],
        "corpus export": ["corpus", "export", "--store", str(store), "--format", "parquet",
                          "--out", str(work / "export.parquet")],
        "wacz": ["wacz", "--store", str(store), "--outlet", "bench", "--out",
                 str(work / "bench.wacz")],
    }


def reextract_args(store: Path, work: Path, workers: int) -> list[str]:
    return ["reextract", "--store", str(store), "--outlet", str(store / "bench.yaml"),
            "--workers", str(workers), "--state", str(work / "templates.sqlite3")]


def ensure_store(base: Path, size: int) -> tuple[Path, Path]:
    """The generated store of ``size`` articles under ``base`` (made if missing) and an
    empty work directory for the commands' outputs."""
    store, work = base / f"store-{size}", base / f"work-{size}"
    if not store.exists():
        began = time.monotonic()
        generate(store, size)
        megabytes = sum(p.stat().st_size for p in store.rglob("*") if p.is_file()) / 1e6
        print(f"generated {size} articles in {time.monotonic() - began:.1f} s "
              f"({megabytes:.0f} MB)", flush=True)
    work.mkdir(parents=True, exist_ok=True)
    for output in work.iterdir():  # each command starts from nothing
        if output.is_file():
            output.unlink()
    return store, work


def measure_reextract(base: Path, size: int, workers: int) -> tuple[float, int, int, int,
                                                                       float]:
    """``reextract`` on the store of ``size`` articles; the generation it writes (corpus
    file and run report) is removed afterwards, so a kept store stays as generated."""
    store, work = ensure_store(base, size)
    before = {p for p in store.rglob("*") if p.is_file()}
    try:
        return measure(reextract_args(store, work, workers), ROOT)
    finally:
        for path in store.rglob("*"):
            if path.is_file() and path not in before:
                path.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,300000",
                        help="store sizes for the other commands ('' for none)")
    parser.add_argument("--keep", metavar="DIR", help="keep the generated stores here")
    parser.add_argument("--skip", action="append", default=[],
                        help="a command to skip ('reextract' included)")
    parser.add_argument(
        "--reextract-sizes", default="2000,20000",
        help="store sizes for reextract, smaller than --sizes because reextract runs the "
             "extractor on every page (about 3.3 ms of CPU each on the generated pages): "
             "300k pages is ~1000 s of CPU, 8+ minutes on 2 idle cores, while the question "
             "-- does memory stay flat -- is answered at 10x the smallest size "
             "('' for none)")
    parser.add_argument("--reextract-workers", type=int, default=2,
                        help="reextract's worker processes (fixed so that runs compare)")
    args = parser.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="store-scale-"))
    results: dict[str, dict[int, tuple[float, int, int, int, float]]] = {}
    sizes = [int(size) for size in args.sizes.split(",") if size]
    reextract_sizes = [int(size) for size in args.reextract_sizes.split(",") if size]
    if "reextract" in args.skip:
        reextract_sizes = []
    try:
        for size in sizes:
            store, work = ensure_store(base, size)
            for name, argv in commands(store, work).items():
                if name in args.skip:
                    continue
                for output in work.iterdir():  # each command starts from nothing
                    if output.is_file():
                        output.unlink()
                wall, rss, tree, code, cpu = measure(argv, ROOT)
                results.setdefault(name, {})[size] = (wall, rss, tree, code, cpu)
                print(f"{size:>8} {name:<14} {wall:8.1f} s {rss / 1024:8.1f} MB peak RSS "
                      f"{tree / 1024:8.1f} MB process tree exit {code}", flush=True)
        for size in reextract_sizes:
            wall, rss, tree, code, cpu = measure_reextract(base, size,
                                                           args.reextract_workers)
            results.setdefault("reextract", {})[size] = (wall, rss, tree, code, cpu)
            print(f"{size:>8} {'reextract':<14} {wall:8.1f} s {cpu:8.1f} s CPU "
                  f"{rss / 1024:8.1f} MB peak RSS {tree / 1024:8.1f} MB process tree "
                  f"exit {code}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    report(results, sizes, reextract_sizes)
    return 0


def report(results: dict[str, dict[int, tuple[float, int, int, int, float]]],
           sizes: list[int], reextract_sizes: list[int]) -> None:
    if set(results) - {"reextract"}:
        print("\nwall time and peak RSS (largest process / process tree), ratio "
              "largest/smallest")
        print("command        " + "".join(f"{s:>26}" for s in sizes)
              + "  RSS ratio  tree ratio  ms/article")
    for name, by_size in results.items():
        if name == "reextract":
            continue
        cells = "".join(f"{by_size[s][0]:7.1f} s {by_size[s][1] / 1024:5.0f}/"
                        f"{by_size[s][2] / 1024:5.0f} MB" if s in by_size else " " * 26
                        for s in sizes)
        small, large = by_size[min(by_size)], by_size[max(by_size)]
        per = " / ".join(f"{by_size[s][0] / s * 1e3:.3f}" for s in sizes if s in by_size)
        print(f"{name:<14} {cells}  {large[1] / small[1]:8.2f}x  {large[2] / small[2]:9.2f}x"
              f"  {per}")
    by_size = results.get("reextract")
    if not by_size:
        return
    print("\nreextract: wall, CPU (all processes), peak RSS largest process / tree, "
          "pages/s (wall), CPU ms/page")
    for size in reextract_sizes:
        wall, rss, tree, code, cpu = by_size[size]
        print(f"{size:>8} {wall:8.1f} s {cpu:8.1f} s CPU {rss / 1024:6.0f} / "
              f"{tree / 1024:6.0f} MB {size / wall:8.1f} pages/s {cpu / size * 1e3:7.2f} "
              f"ms CPU/page exit {code}")
    small, large = by_size[min(by_size)], by_size[max(by_size)]
    print(f"RSS ratio largest/smallest: {large[1] / small[1]:.2f}x largest process, "
          f"{large[2] / small[2]:.2f}x tree")


if __name__ == "__main__":
    raise SystemExit(main())
