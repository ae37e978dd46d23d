"""Discovery cost: pages fetched per article archived, generic discovery versus rules.

Serves the generated news site of tests/sites/newsgen.py (default 2,000 articles: query,
path and offset pagination, tag/author/related-only articles, redirecting old URLs) and
crawls it twice with the real ``newsarchive crawl`` command, same politeness (no delay):

  generic - the outlet file names only ``name`` and ``start_urls``: pages decide
  rules   - the hand-tuned outlet a newcomer writes after studying the site: feeds,
            sitemaps, ``article_urls`` and ``follow_urls``

and prints, for each, the pages the server answered, the articles archived, recall and
pages per archived article, then the ratio generic/rules (target <= 1.3).  Usage:

  python bench/discovery.py [--articles 2000] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sites.gensite import GeneratedSite  # noqa: E402


def run(outlet: Path, store: Path, workers: int) -> tuple[dict, float]:
    report = store.parent / f"{store.name}.json"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl", str(outlet), "--store", str(store),
         "--report", str(report), "--recheck", "off", "--workers", str(workers), "-q"],
        cwd=ROOT, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    data = json.loads(report.read_text())
    return (data[0] if isinstance(data, list) else data), elapsed


def archived_urls(store: Path) -> set[str]:
    import gzip

    urls = set()
    for path in store.glob("corpus/**/*.jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            urls.update(json.loads(line)["url"] for line in handle if line.strip())
    return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-discovery-"))
    rows = {}
    try:
        with GeneratedSite(args.articles) as site:
            expected = site.expected_urls()
            generic = site.write_outlet(work / "generic.yaml")
            with generic.open("a") as handle:  # politeness only, as in the rules file
                handle.write("download_delay: 0\nconcurrency: 8\n")
            rules = site.write_rules_outlet(work / "rules.yaml")
            for name, outlet in (("rules", rules), ("generic", generic)):
                mark = len(site.requests)
                report, elapsed = run(outlet, work / f"store-{name}", args.workers)
                served = site.requests[mark:]
                archived = archived_urls(work / f"store-{name}")
                rows[name] = {
                    "pages": len(served),
                    "articles": len(archived & expected),
                    "recall": round(len(archived & expected) / len(expected), 4),
                    "non_articles_archived": len(archived - expected),
                    "pages_per_article": round(len(served) / max(1, len(archived)), 3),
                    "seconds": round(elapsed, 1),
                    "missing_declared": report.get("coverage", {}).get("missing_total"),
                }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, row in rows.items():
        print(f"{name:8s} " + " ".join(f"{k}={v}" for k, v in row.items()))
    ratio = rows["generic"]["pages_per_article"] / rows["rules"]["pages_per_article"]
    pages_ratio = rows["generic"]["pages"] / rows["rules"]["pages"]
    print(f"generic/rules pages per archived article: {ratio:.3f} (target <= 1.3); "
          f"total pages: {pages_ratio:.3f}")


if __name__ == "__main__":
    main()
