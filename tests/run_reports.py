"""Generated run reports shaped like the crawler's, for health tests and bench/report.py.

A scenario is a series of hourly runs of one outlet; the healthy part has articles, pages
and text lengths that vary a little, the last runs show the trouble being simulated.
All names, URLs and numbers are invented.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SCENARIOS = ("healthy", "layout_break", "blocking", "text_collapse", "stale")


def make_report(outlet: str, started: datetime, *, articles: int, pages: int,
                failures: dict[str, int] | None = None, text_median: int | None = 2400,
                exit_status: int = 0, worker: str | None = None, run_id: str | None = None,
                coverage: dict | None = None, rng: random.Random | None = None
                ) -> dict[str, Any]:
    """One run report as crawler/report.py writes it (the fields the health page reads,
    plus a realistic ``files`` manifest)."""
    rng = rng or random.Random(f"{outlet}-{started.isoformat()}")
    run_id = run_id or f"{started:%Y%m%dT%H%M%SZ}-{rng.randrange(16 ** 6):06x}"
    stem = f"{run_id}-{worker}" if worker else run_id
    failures = dict(failures or {})
    finished = started + timedelta(minutes=10)
    files = [{"key": f"{kind}/{outlet}/{started:%Y/%m}/{stem}{suffix}",
              "size": rng.randrange(10_000, 50_000_000),
              "sha256": hashlib.sha256(f"{stem}{kind}".encode()).hexdigest(), "pending": False}
             for kind, suffix in (("warc", "-00000.warc.gz"), ("corpus", ".jsonl.gz"),
                                  ("indexes", "-00000.warc.gz.cdxj"))]
    report: dict[str, Any] = {
        "run_id": run_id, "outlet": outlet, "kind": "crawl", "store": "/generated",
        "started": started.isoformat(), "finished": finished.isoformat(),
        "duration_seconds": 600.0,
        "finish_reason": "finished" if exit_status in (0, 4) else "shutdown",
        "pages": {"fetched": pages, "by_kind": {"article": max(pages - 8, 0),
                                                "front": min(pages, 8)}},
        "articles": articles, "non_articles": 0, "duplicates": 0, "new_versions": 0,
        "unchanged": 0, "revisits": {}, "skipped_archived": 0,
        "failures": {"total": sum(failures.values()), "by_kind": failures},
        "bytes": pages * 80_000, "files": files, "pending_uploads": 0,
        "exit_status": exit_status, "report_key": f"runs/{outlet}/{stem}.json",
        "crawl_host": "gen", "worker_id": worker, "responses": pages,
        "failing_urls": {kind: [f"https://{outlet}.example.org/{kind}/{n}"
                                for n in range(min(count, 50))]
                         for kind, count in failures.items()},
        "text_length": ({"count": articles, "median": text_median,
                         "p10": text_median // 3, "p90": text_median * 2, "short": 0,
                         "empty": 0} if articles and text_median is not None else
                        {"count": 0, "median": None, "p10": None, "p90": None, "short": 0,
                         "empty": 0}),
    }
    if coverage is not None:
        report["coverage"] = coverage
    return report


def scenario(outlet: str, kind: str, now: datetime, runs: int = 24,
             every: timedelta = timedelta(hours=1), seed: int = 0) -> list[dict[str, Any]]:
    """``runs`` hourly runs ending just before ``now``, healthy but for ``kind``'s trouble."""
    if kind not in SCENARIOS:
        raise ValueError(f"unknown scenario {kind!r}")
    rng = random.Random(f"{outlet}-{kind}-{seed}")
    end = now - timedelta(minutes=30)
    if kind == "stale":
        end = now - timedelta(days=4)
    reports = []
    for index in range(runs):
        started = end - every * (runs - 1 - index)
        tail = runs - index  # 1 for the newest run
        articles = rng.randrange(15, 30)
        pages = articles + rng.randrange(30, 50)
        failures = {"http_404": rng.randrange(0, 3)} if rng.random() < 0.3 else {}
        text = rng.randrange(2000, 3200)
        if kind == "layout_break" and tail <= 3:
            articles = 0
        if kind == "blocking" and tail == 1:
            failures["http_429"] = pages // 2
            articles //= 4
        if kind == "text_collapse" and tail == 1:
            text = rng.randrange(90, 160)
        reports.append(make_report(outlet, started, articles=articles, pages=pages,
                                   failures=failures, text_median=text, rng=rng))
    return reports


def write_local(root: Path, reports: list[dict[str, Any]]) -> list[Path]:
    """Each report at ``{root}/{report_key}`` (a local store)."""
    paths = []
    for report in reports:
        path = root / report["report_key"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2), encoding="utf-8")
        paths.append(path)
    return paths


def put_s3(client, bucket: str, prefix: str, reports: list[dict[str, Any]],
           threads: int = 16) -> None:
    """Each report as the object ``{prefix}/{report_key}`` (an S3 store), in parallel."""
    from concurrent.futures import ThreadPoolExecutor

    def put(report: dict[str, Any]) -> None:
        key = f"{prefix.strip('/')}/{report['report_key']}" if prefix else report["report_key"]
        client.put_object(Bucket=bucket, Key=key, Body=json.dumps(report, indent=2).encode())

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(put, reports))


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
