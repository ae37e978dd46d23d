"""Runs as an operator sees them: one entry per run, however many workers wrote it.

A crawl run by N workers (``crawl --redis``) leaves N reports sharing one ``run_id``:
``runs/{outlet}/{run_id}-{worker}.json``.  A single-process run leaves one
``runs/{outlet}/{run_id}.json``.  ``list_runs`` groups the reports of a store by
(outlet, run id) and ``merge_reports`` sums them into one report of the same shape
(pages, articles, failures, bytes, files, ...) plus a ``workers`` list, so tools that
read a run report read a merged one the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from archive.discover.coverage import merge_coverage
from archive.runs.report import EXIT_OK
from archive.runs.samples import merge_samples
from archive.store.manifest import manifest_keys

# counters that are summed as they are; nested {"by_kind": {...}} groups are summed per kind
_SUMMED = ("articles", "non_articles", "duplicates", "new_versions", "unchanged",
           "skipped_archived", "bytes", "pending_uploads", "responses")
_GROUPS = ("revisits", "distributed")


@dataclass
class RunSummary:
    """The reports of one run (one per worker), and where they are in the store."""

    outlet: str
    run_id: str
    reports: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    @property
    def started(self) -> str:
        return min((r.get("started") or "" for r in self.reports), default="")

    def merged(self) -> dict[str, Any]:
        return merge_reports(self.reports)


def read_reports(store, outlet: str | None = None) -> Iterable[tuple[str, dict[str, Any]]]:
    """(key, report) for every readable crawl/re-extraction report in the store."""
    for key in manifest_keys(store):
        parts = key.split("/")
        if outlet is not None and (len(parts) < 3 or parts[1] != outlet):
            continue
        try:
            with store.open_read(key) as handle:
                report = json.loads(handle.read())
        except (OSError, ValueError):
            continue
        if isinstance(report, dict) and report.get("run_id") and report.get("outlet"):
            yield key, report


def list_runs(store, outlet: str | None = None) -> list[RunSummary]:
    """Every run in the store, oldest first (by the earliest worker start)."""
    runs: dict[tuple[str, str], RunSummary] = {}
    for key, report in read_reports(store, outlet):
        ident = (str(report["outlet"]), str(report["run_id"]))
        summary = runs.setdefault(ident, RunSummary(*ident))
        summary.reports.append(report)
        summary.keys.append(key)
    return sorted(runs.values(), key=lambda s: (s.started, s.outlet, s.run_id))


def find_run(store, run_id: str, outlet: str | None = None) -> RunSummary | None:
    """One run by id ("latest" for the most recent; a unique prefix is enough)."""
    runs = list_runs(store, outlet)
    if not runs:
        return None
    if run_id == "latest":
        return runs[-1]
    exact = [r for r in runs if r.run_id == run_id]
    if exact:
        return exact[0] if len(exact) == 1 else None
    matches = [r for r in runs if r.run_id.startswith(run_id)]
    return matches[0] if len(matches) == 1 else None


def merge_reports(reports: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One report for a run from its workers' reports (same fields, summed)."""
    reports = sorted(reports, key=lambda r: (r.get("started") or "", r.get("worker_id") or ""))
    if not reports:
        raise ValueError("no reports to merge")
    first = reports[0]
    merged: dict[str, Any] = {
        "run_id": first.get("run_id"),
        "outlet": first.get("outlet"),
        "kind": first.get("kind", "crawl"),
        "store": first.get("store"),
    }
    starts = [_time(r.get("started")) for r in reports]
    ends = [_time(r.get("finished")) for r in reports]
    started = min((t for t in starts if t), default=None)
    finished = max((t for t in ends if t), default=None)
    merged["started"] = started.isoformat() if started else first.get("started")
    merged["finished"] = finished.isoformat() if finished else first.get("finished")
    merged["duration_seconds"] = (round((finished - started).total_seconds(), 3)
                                  if started and finished else
                                  max(float(r.get("duration_seconds") or 0) for r in reports))
    reasons = sorted({str(r.get("finish_reason")) for r in reports})
    merged["finish_reason"] = reasons[0] if len(reasons) == 1 else ",".join(reasons)
    by_kind = _sum_groups(r.get("pages", {}).get("by_kind", {}) for r in reports)
    merged["pages"] = {"fetched": sum(int(r.get("pages", {}).get("fetched", 0))
                                      for r in reports),
                       "by_kind": by_kind}
    for name in _SUMMED:
        if any(name in r for r in reports):
            merged[name] = sum(int(r.get(name) or 0) for r in reports)
    for name in _GROUPS:
        groups = [r[name] for r in reports if isinstance(r.get(name), dict)]
        if groups:
            merged[name] = _sum_groups(groups)
    failures = _sum_groups(r.get("failures", {}).get("by_kind", {}) for r in reports)
    merged["failures"] = {"total": sum(int(r.get("failures", {}).get("total", 0))
                                       for r in reports),
                          "by_kind": failures}
    resources = [r["resources"] for r in reports if isinstance(r.get("resources"), dict)]
    if resources:
        merged["resources"] = _merge_resources(resources)
    coverage = [r["coverage"] for r in reports if isinstance(r.get("coverage"), dict)]
    if coverage:
        merged["coverage"] = merge_coverage(coverage)
    merged["files"] = [f for r in reports for f in r.get("files", [])]
    merged["exit_status"] = max(int(r.get("exit_status", EXIT_OK)) for r in reports)
    merged.update(merge_samples(reports))  # failing URLs and text lengths
    merged["workers"] = [{
        "worker_id": r.get("worker_id"),
        "crawl_host": r.get("crawl_host"),
        "report_key": r.get("report_key"),
        "started": r.get("started"),
        "finished": r.get("finished"),
        "finish_reason": r.get("finish_reason"),
        "exit_status": r.get("exit_status"),
        "pages": int(r.get("pages", {}).get("fetched", 0)),
        "articles": int(r.get("articles") or 0),
        "files": len(r.get("files", [])),
    } for r in reports]
    return merged


def _merge_resources(blocks: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The workers' ``resources`` blocks (archive.runs.report.resource_counts), summed."""
    out: dict[str, Any] = {name: sum(int(b.get(name) or 0) for b in blocks)
                           for name in ("fetched", "revalidated")}
    for outcome in ("skipped", "failed"):
        parts = [b.get(outcome) or {} for b in blocks]
        out[outcome] = {"total": sum(int(p.get("total") or 0) for p in parts),
                        "by_reason": _sum_groups(p.get("by_reason") or {} for p in parts)}
    out["responses"] = sum(int(b.get("responses") or 0) for b in blocks)
    return out


def _sum_groups(groups: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for group in groups:
        for key, value in group.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + int(value)
    return dict(sorted(total.items()))


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
