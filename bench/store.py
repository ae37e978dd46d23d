"""Benchmark: newsarchive's S3 uploader against plain ``boto3 upload_file``.

All methods upload the same set of WARC-sized files (default 4 x 256 MB, ~1 GB) to the same
SeaweedFS server in one run, in alternating order each round.

- ``newsarchive``: the whole S3Store path a crawl uses: ``publish`` (sha256 of the file,
  spool sidecar), background upload with a Content-MD5 on every request and a conditional
  write, verification (HEAD: size, sha256 metadata, ETag = predicted MD5s), spool removal;
  timed from the first ``publish`` to the return of ``close``.
- ``newsarchive (full checksums)``: the same with ``NEWSARCHIVE_S3_FULL_CHECKSUMS=1`` (CRC32
  additional checksums instead of MD5; the default on AWS).
- ``upload_file``: ``client.upload_file`` file after file, boto3's default TransferConfig, on
  a client with the same endpoint and S3-compatibility settings as ours (no checksums).
- ``upload_file (boto3 defaults)``: plain ``boto3.client("s3")`` as boto3 ships it (CRC32 on
  every request since 1.36).

Besides MB/s it prints CPU seconds per GB of this process and of the server: on a small
machine where client and server share the cores, the integrity work (sha256 + MD5 of every
byte) is what separates the methods.

    python bench/store.py [--files 4] [--size-mb 256] [--rounds 3] [--endpoint URL --bucket B]

Without --endpoint it starts SeaweedFS (tests/s3server.py) in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from archive.store.s3.config import build_client  # noqa: E402
from archive.store.s3.store import S3Store  # noqa: E402

MB = 1_000_000
BLOCK = 8 << 20


def client_cpu() -> float:
    """CPU seconds of this process (all threads): what the uploader itself costs."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int | None) -> float:
    """CPU seconds of another process (the S3 server) from /proc; 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_files(directory: Path, count: int, size: int) -> list[Path]:
    """WARC-sized files of incompressible bytes (like gzip members), written once."""
    files = []
    for number in range(count):
        path = directory / f"BENCH-20260101000000-{number:05d}-bench.warc.gz"
        with open(path, "wb") as handle:
            left = size
            while left:
                chunk = os.urandom(min(BLOCK, left))
                handle.write(chunk)
                left -= len(chunk)
        files.append(path)
    return files


def run_ours(files: list[Path], bucket: str, prefix: str, staging: Path,
             full_checksums: bool | None = None) -> float:
    """Seconds for S3Store to publish, upload, verify and unspool every file."""
    spool = staging / "spool"
    links = []
    for path in files:  # publish moves its input into the spool: give it hard links
        link = staging / path.name
        os.link(path, link)
        links.append(link)
    store = S3Store(bucket, prefix, spool=spool, full_checksums=full_checksums)
    start = time.perf_counter()
    for link in links:
        store.publish(link, f"warc/bench/2026/01/{link.name}")
    store.close(timeout=3600)
    elapsed = time.perf_counter() - start
    if store.pending() or len(store.uploaded) != len(files):
        raise SystemExit(f"newsarchive upload incomplete: {store.failures}")
    shutil.rmtree(spool, ignore_errors=True)
    return elapsed


def run_upload_file(client, files: list[Path], bucket: str, prefix: str) -> float:
    start = time.perf_counter()
    for path in files:
        client.upload_file(str(path), bucket, f"{prefix}/warc/bench/2026/01/{path.name}")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--endpoint", help="an existing S3 endpoint (AWS env for credentials)")
    parser.add_argument("--bucket", default="bench")
    parser.add_argument("--workdir", help="where to write the test files (default: a temp dir)")
    args = parser.parse_args(argv)

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="newsarchive-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    server = None
    try:
        if args.endpoint:
            os.environ["AWS_ENDPOINT_URL_S3"] = args.endpoint
        else:
            from tests.s3server import SeaweedFS

            server = SeaweedFS(workdir / "seaweedfs", bucket=args.bucket).start()
            os.environ.update(server.client_env())
        files = make_files(workdir, args.files, args.size_mb * MB)
        total_mb = sum(p.stat().st_size for p in files) / MB
        client = build_client().client
        import boto3

        bare = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_S3"))
        print(f"{len(files)} files, {total_mb:.0f} MB in total, {args.rounds} round(s), "
              f"endpoint {client.meta.endpoint_url}")
        names = ["newsarchive", "newsarchive (full checksums)", "upload_file",
                 "upload_file (boto3 defaults)"]
        times: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[tuple[float, float]]] = {name: [] for name in times}
        server_pid = server.process.pid if server and server.process else None
        for number in range(args.rounds):
            staging = workdir / f"staging-{number}"
            staging.mkdir()
            order = names[::-1] if number % 2 else names
            for method, name in enumerate(order):
                prefix = f"round{number}/method{method}"
                own, served = client_cpu(), process_cpu(server_pid)
                if name == "newsarchive":
                    seconds = run_ours(files, args.bucket, prefix, staging, full_checksums=False)
                elif name.startswith("newsarchive"):
                    seconds = run_ours(files, args.bucket, prefix, staging, full_checksums=True)
                elif "defaults" in name:
                    seconds = run_upload_file(bare, files, args.bucket, prefix)
                else:
                    seconds = run_upload_file(client, files, args.bucket, prefix)
                times[name].append(seconds)
                gb = total_mb / 1000
                cpu[name].append(((client_cpu() - own) / gb,
                                  (process_cpu(server_pid) - served) / gb))
                print(f"  round {number + 1} {name:28s} {total_mb / seconds:6.1f} MB/s "
                      f"({seconds:.1f} s; CPU s/GB client {cpu[name][-1][0]:.2f}, "
                      f"server {cpu[name][-1][1]:.2f})")
            shutil.rmtree(staging, ignore_errors=True)
        rate = {name: total_mb / statistics.median(values) for name, values in times.items()}
        print("median over rounds (CPU seconds per GB: client, server):")
        for name, value in rate.items():
            client = statistics.median(c for c, _ in cpu[name])
            served = statistics.median(s for _, s in cpu[name])
            print(f"  {name:28s} {value:6.1f} MB/s   best {total_mb / min(times[name]):6.1f} "
                  f"MB/s   CPU {client:.2f} + {served:.2f}")
        print(f"ratios (median, best-of; target >= 0.90; load average "
              f"{os.getloadavg()[0]:.1f}):")
        for ours in names[:2]:
            for theirs in names[2:]:
                ratio = rate[ours] / rate[theirs]
                best = min(times[theirs]) / min(times[ours])
                print(f"  {ours:28s} / {theirs:28s} {ratio:.2f}  {best:.2f}")
        return 0
    finally:
        if server is not None:
            server.cleanup()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
