"""Reading many run reports quickly: the runs of a time window, merged over their workers.

A store that has crawled dozens of outlets hourly for a year holds tens of thousands of
run reports.  Their keys (``runs/{outlet}/{run_id}[-{worker}].json``) start with the run's
start time, so the window is chosen from the listing alone and only the reports inside it
are read, in parallel threads (on S3 each read is a round trip).  Reports older than the
window are read only for an outlet with no successful run inside it, newest first, until
one is found: that is when the operator needs the date of the last good run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from archive.runs.cache import ReportCache
from archive.runs.merge import merge_reports
from archive.runs.report import EXIT_OK, EXIT_PENDING

RUNS_PREFIX = "runs"
DEFAULT_THREADS = 16
# {YYYYMMDDThhmmssZ}-{hex}[-{worker}]: new_run_id() plus the worker suffix of crawl --redis
_NAME = re.compile(r"^(?P<run>(?P<time>\d{8}T\d{6}Z)-[0-9a-f]+)(?:-(?P<worker>.+))?$")
SUCCESS_STATUSES = (EXIT_OK, EXIT_PENDING)  # finished; pending uploads are not lost


@dataclass(frozen=True)
class ReportKey:
    """Where a run report is and what its name says about it (before reading it)."""

    key: str
    outlet: str
    run_id: str | None  # None when the name is not a newsarchive run id
    started: datetime | None

    @classmethod
    def parse(cls, key: str) -> ReportKey | None:
        parts = key.split("/")
        if len(parts) != 3 or parts[0] != RUNS_PREFIX or not parts[2].endswith(".json"):
            return None
        match = _NAME.match(parts[2][:-len(".json")])
        if match is None:
            return cls(key, parts[1], None, None)
        started = datetime.strptime(match["time"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return cls(key, parts[1], match["run"], started)


@dataclass
class History:
    """The crawl runs of a window per outlet (merged, oldest first) and what was odd."""

    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # outlet -> the newest successful run found before the window (merged report or None)
    earlier_success: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)
    reports_read: int = 0
    report_keys: int = 0
    cache_hits: int = 0  # of reports_read, how many came from the local cache


def is_success(report: dict[str, Any]) -> bool:
    try:
        return int(report.get("exit_status", 1)) in SUCCESS_STATUSES
    except (TypeError, ValueError):
        return False


def list_report_keys(store) -> list[ReportKey]:
    """Every run report key in the store, parsed (keys of other shapes are left out)."""
    keys = (ReportKey.parse(k) for k in store.list_keys(RUNS_PREFIX) if k.endswith(".json"))
    return [k for k in keys if k is not None]


def read_many(store, keys: Iterable[ReportKey], threads: int = DEFAULT_THREADS,
              cache: ReportCache | None = None
              ) -> Iterator[tuple[ReportKey, dict[str, Any] | None]]:
    """(key, report) for each key, read in parallel (or from ``cache``); None for an
    unreadable report."""
    def one(item: ReportKey) -> tuple[ReportKey, dict[str, Any] | None]:
        cached = cache.get(item.key) if cache is not None else None
        if cached is not None:
            return item, cached
        try:
            with store.open_read(item.key) as handle:
                report = json.loads(handle.read())
        except (OSError, ValueError):
            return item, None
        if not isinstance(report, dict):
            return item, None
        if cache is not None:
            cache.put(item.key, report)
        return item, report

    keys = list(keys)
    threads = min(threads, _pool_limit(store) or threads)
    if len(keys) < 2 or threads <= 1:
        yield from map(one, keys)
        return
    with ThreadPoolExecutor(max_workers=min(threads, len(keys))) as pool:
        yield from pool.map(one, keys)


def _pool_limit(store) -> int | None:
    """The S3 client's connection pool size: more threads than connections would only
    open and drop connections (and make urllib3 warn on stderr)."""
    client = getattr(getattr(store, "s3", None), "client", None)
    config = getattr(getattr(client, "meta", None), "config", None)
    limit = getattr(config, "max_pool_connections", None)
    return limit if isinstance(limit, int) and limit > 0 else None


def _is_crawl(report: dict[str, Any]) -> bool:
    return (report.get("kind", "crawl") == "crawl" and bool(report.get("run_id"))
            and bool(report.get("outlet")))


def _group(pairs: Iterable[tuple[ReportKey, dict[str, Any] | None]], history: History
           ) -> dict[tuple[str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item, report in pairs:
        history.reports_read += 1
        if report is None:
            history.unreadable.append(item.key)
            continue
        if not _is_crawl(report):
            continue  # re-extraction reports describe the corpus, not the outlet's health
        groups.setdefault((str(report["outlet"]), str(report["run_id"])), []).append(report)
    return groups


def merged_run(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One run from its reports; coverage kept from each worker (summed later).

    A single-process run's report is already the run (merging it would only copy it,
    which is most of the time on 10,000 runs)."""
    if len(reports) == 1:
        return reports[0]
    merged = merge_reports(reports)
    coverage = [r["coverage"] for r in reports if isinstance(r.get("coverage"), dict)]
    if coverage:
        merged["coverage_parts"] = coverage
    return merged


def load_history(store, since: datetime | None, threads: int = DEFAULT_THREADS,
                 outlets: Iterable[str] | None = None, cache: ReportCache | None = None
                 ) -> History:
    """The crawl runs started at or after ``since`` (all runs when None), per outlet
    (only ``outlets`` when given); reports found in ``cache`` are not read again."""
    history = History()
    keys = list_report_keys(store)
    if cache is not None and outlets is None:
        cache.forget_except({k.key for k in keys})
    if outlets is not None:
        wanted = set(outlets)
        keys = [k for k in keys if k.outlet in wanted]
    history.report_keys = len(keys)
    inside = [k for k in keys if since is None or k.started is None or k.started >= since]
    names = sorted({k.outlet for k in keys})
    read_keys = {k.key for k in inside}
    for (outlet, _), reports in _group(read_many(store, inside, threads, cache),
                                       history).items():
        history.runs.setdefault(outlet, []).append(merged_run(reports))
    for outlet in names:
        runs = history.runs.setdefault(outlet, [])
        runs.sort(key=lambda r: (r.get("started") or "", r.get("run_id") or ""))
        runs[:] = [r for r in runs if since is None or _after(r.get("started"), since)]
        if not any(is_success(r) for r in runs):
            older = [k for k in keys if k.outlet == outlet and k.key not in read_keys]
            history.earlier_success[outlet] = _newest_success(store, older, threads, history,
                                                              cache)
    history.cache_hits = cache.hits if cache is not None else 0
    return history


def _after(value: object, since: datetime) -> bool:
    """True unless the report says it started before ``since`` (unnamed keys are read)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return True
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) >= since


def _newest_success(store, keys: list[ReportKey], threads: int, history: History,
                    cache: ReportCache | None = None) -> dict[str, Any] | None:
    """The newest successful run among ``keys``, reading a batch at a time, newest first."""
    keys = sorted(keys, key=lambda k: (k.started or datetime.min.replace(tzinfo=UTC), k.key),
                  reverse=True)
    batch = max(threads, 8)
    for start in range(0, len(keys), batch):
        groups = _group(read_many(store, keys[start:start + batch], threads, cache), history)
        good = [merged_run(reports) for reports in groups.values()
                if any(is_success(r) for r in reports)]
        if good:
            return max(good, key=lambda r: r.get("finished") or r.get("started") or "")
    return None
