"""The run report: what a run fetched, extracted, failed on and wrote, as one JSON file.

Built from plain counters (Scrapy's stats in the crawler, plain dicts in re-extraction)
so it needs no Scrapy; ``runs/{outlet}/{run_id}.json`` doubles as the run's manifest
that ``newsarchive verify`` checks object by object.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive.runs.outcome import classify, finished_normally
from archive.store.base import StoredObject

STAT_PREFIX = "newsarchive/"

# Exit statuses of `newsarchive crawl` (documented in the README).
EXIT_OK = 0  # the run finished; page-level failures are counted in the report
EXIT_FAILED = 1  # the run itself failed (crashed, cancelled)
EXIT_USAGE = 2  # bad command line, unknown outlet, invalid outlet YAML: nothing was written
EXIT_STORE = 3  # the store cannot be used at all (bad URI, nothing could be spooled)
EXIT_PENDING = 4  # the run finished but some objects still wait in the spool for upload
EXIT_LOCKED = 75  # another run of this outlet into this store holds the lock (EX_TEMPFAIL)


EXIT_DEGRADED = 5  # the run finished but the outlet looks dead or blocked (outcome.py)
# Most severe first: several outlets (or a locked one beside a crashed one) exit with the
# most severe status, never with the numerically largest (75 would read as success).
SEVERITY = (EXIT_FAILED, EXIT_USAGE, EXIT_STORE, EXIT_DEGRADED, EXIT_PENDING, EXIT_LOCKED,
            EXIT_OK)


def worst_exit_status(statuses: Iterable[int]) -> int:
    """The most severe of ``statuses`` (crashed > store > degraded > pending uploads >
    locked > ok)."""
    rank = {status: number for number, status in enumerate(SEVERITY)}
    found = list(statuses)
    if not found:
        return EXIT_FAILED
    return min(found, key=lambda status: rank.get(status, -1))


def exit_status_for(finish_reason: str | None, pending_uploads: int) -> int:
    reason = finish_reason or ""
    if reason == "store_unwritable":
        return EXIT_STORE
    if not finished_normally(reason):
        return EXIT_FAILED
    if pending_uploads:
        return EXIT_PENDING
    return EXIT_OK


def new_run_id(now: datetime | None = None) -> str:
    """Sortable, unique run id (crawls and re-extractions alike): UTC time + random suffix."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def report_key(outlet: str, run_id: str) -> str:
    return f"runs/{outlet}/{run_id}.json"


def _group(stats: Mapping[str, Any], prefix: str) -> dict[str, int]:
    return {k[len(prefix):]: int(v) for k, v in sorted(stats.items())
            if k.startswith(prefix) and isinstance(v, (int, float))}


def resource_counts(stats: Mapping[str, Any], responses: int = 0) -> dict[str, Any]:
    """Page resources (spiders/resources.py): fetched (200), revalidated (304), skipped
    and failed by reason; ``responses`` counts every response, redirects and errors too."""
    group = _group(stats, STAT_PREFIX + "resources/")
    out: dict[str, Any] = {"fetched": group.get("fetched", 0),
                           "revalidated": group.get("revalidated", 0)}
    for outcome in ("skipped", "failed"):
        prefix = outcome + "/"
        by_reason = {k[len(prefix):]: v for k, v in group.items() if k.startswith(prefix)}
        out[outcome] = {"total": sum(by_reason.values()), "by_reason": by_reason}
    out["responses"] = responses
    return out


def build_report(*, run_id: str, outlet: str, store_uri: str, started: datetime,
                 stats: Mapping[str, Any], files: Iterable[StoredObject],
                 finish_reason: str | None, kind: str = "crawl",
                 extra: Mapping[str, Any] | None = None,
                 history: Iterable[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Assemble the report dict from counters named ``newsarchive/...``.

    ``history`` (earlier reports of the outlet) makes it a crawl report: its ``status``
    and ``exit_status`` then come from ``archive.runs.outcome.classify``.
    """
    finished = datetime.now(UTC)
    fetched = _group(stats, STAT_PREFIX + "fetched/")
    resource_responses = fetched.pop("resource", 0)  # page resources are not pages
    failures = _group(stats, STAT_PREFIX + "failures/")
    refusals = _group(stats, STAT_PREFIX + "refused/")
    file_list = [f.to_dict() for f in files]
    report: dict[str, Any] = {
        "run_id": run_id,
        "outlet": outlet,
        "kind": kind,
        "store": store_uri,
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "duration_seconds": round((finished - started).total_seconds(), 3),
        "finish_reason": finish_reason,
        "pages": {"fetched": sum(fetched.values()), "by_kind": fetched},
        "articles": int(stats.get(STAT_PREFIX + "articles", 0)),
        "non_articles": int(stats.get(STAT_PREFIX + "non_articles", 0)),
        "duplicates": int(stats.get(STAT_PREFIX + "duplicates", 0)),
        "new_versions": int(stats.get(STAT_PREFIX + "new_versions", 0)),
        "unchanged": int(stats.get(STAT_PREFIX + "unchanged", 0)),
        "revisits": _group(stats, STAT_PREFIX + "revisits/"),
        "skipped_archived": int(stats.get(STAT_PREFIX + "discovery/archived", 0)),
        "failures": {"total": sum(failures.values()), "by_kind": failures},
        "refusals": {"total": sum(refusals.values()), "by_kind": refusals},
        "resources": resource_counts(stats, resource_responses),
        "bytes": int(stats.get(STAT_PREFIX + "bytes", 0)),
        "files": file_list,
        "pending_uploads": sum(1 for f in file_list if f.get("pending")),
    }
    robots = _group(stats, STAT_PREFIX + "robots/")
    if robots:
        report["robots"] = {"origins": robots.get("fetched", 0) + robots.get("unreachable", 0),
                            "fetched": robots.get("fetched", 0)}
    if history is not None:
        outcome = classify(report, history)
        report.update(status=outcome.status, exit_status=outcome.exit_status)
        if outcome.reason:
            report["status_reason"] = outcome.reason
    else:
        report["exit_status"] = exit_status_for(finish_reason, report["pending_uploads"])
    templates = _group(stats, STAT_PREFIX + "template_")
    if templates:  # the template pass (archive.corpus.templating): removed, cleaned again
        report["templates"] = {"blocks_removed": templates.get("blocks_removed", 0),
                               "recleaned": templates.get("recleaned", 0),
                               "lost_marks": templates.get("lost_marks", 0)}
    distributed = _group(stats, STAT_PREFIX + "distributed/")
    if distributed:  # a worker of a shared crawl (crawl --redis): its coordination counters
        report["distributed"] = distributed
    if extra:
        report.update(extra)
    return report


def write_report(report: Mapping[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".open")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False, sort_keys=False) + "\n",
                   encoding="utf-8")
    tmp.replace(path)
    return path


def summary_line(report: Mapping[str, Any]) -> str:
    """One parseable line for cron mail and log scrapers (key=value pairs)."""
    status = report.get("status") or ("ok" if report.get("exit_status", 0) == 0 else "failed")
    parts = [
        f"outlet={report['outlet']}", f"run={report['run_id']}", f"status={status}",
        f"pages={report['pages']['fetched']}", f"articles={report['articles']}",
        f"failures={report['failures']['total']}",
        f"refused={report.get('refusals', {}).get('total', 0)}", f"bytes={report['bytes']}",
        f"pending={report['pending_uploads']}", f"duration={report['duration_seconds']}s",
    ]
    templates = report.get("templates")
    if templates:
        parts += [f"template_blocks={templates.get('blocks_removed', 0)}",
                  f"recleaned={templates.get('recleaned', 0)}"]
        if templates.get("lost_marks"):
            parts.append(f"lost_marks={templates['lost_marks']}")
    recovered = report.get("recovered") or {}
    if recovered.get("runs"):
        parts += [f"recovered={recovered.get('articles', 0)}",
                  f"recovered_from={','.join(recovered['runs'])}"]
    parts.append(f"report={report.get('report_key', '')}")
    return "newsarchive: " + " ".join(parts)
