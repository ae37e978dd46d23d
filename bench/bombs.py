"""Peak memory of a crawl that meets a decompression bomb (issue 13).

Serves the hostile test site (tests/sites/hostile.py) on 127.0.0.1 with one article and
one gzip page that inflates to ``--size-mib`` MiB, crawls it with ``newsarchive crawl`` in
a fresh process and prints the crawl's peak RSS (its own and its children's, the largest).

    python bench/bombs.py --size-mib 1024
    python bench/bombs.py --size-mib 256 --code /path/to/other/checkout   # compare versions
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.sites import hostile  # noqa: E402

PROBE = ("import resource, subprocess, sys\n"
         "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
         "sys.stderr.write(r.stdout + r.stderr[-2000:])\n"
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
         "sys.exit(r.returncode)\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024, help="what the bomb inflates to")
    parser.add_argument("--code", default=str(ROOT), help="checkout whose crawler to run")
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024
    original = hostile.zero_bomb
    hostile.zero_bomb = lambda _size, gzip_wrapper: original(size, gzip_wrapper)
    with tempfile.TemporaryDirectory() as tmp, hostile.HostileSite() as site:
        site.links = ["/news/1", "/bomb/gzip"]
        outlet = Path(tmp) / "bomb.yaml"
        outlet.write_text(f"name: bomb\nstart_urls: ['{site.base}/']\n"
                          "article_urls: ['/(news|bomb)/']\ndownload_delay: 0.05\n",
                          encoding="utf-8")
        report = Path(tmp) / "report.json"
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", PROBE, sys.executable, "-m", "crawler.cli", "crawl",
             str(outlet), "--store", str(Path(tmp) / "store"), "--report", str(report),
             "--workers", "1"], cwd=args.code, capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": args.code})
        elapsed = time.monotonic() - started
        compressed = len(hostile.zero_bomb(size, True))
        data = json.loads(report.read_text()) if report.exists() else {}
    peak = int(done.stdout.strip().splitlines()[-1]) / 1024
    print(f"bomb: {compressed} bytes gzip -> {args.size_mib} MiB; code: {args.code}")
    print(f"exit {done.returncode}; peak RSS {peak:.0f} MiB; {elapsed:.1f} s; "
          f"refusals {data.get('refusals', {}).get('by_kind', {})}; "
          f"articles {data.get('articles')}")


if __name__ == "__main__":
    main()
