"""Is a finished crawl ok, degraded or failed?  One function, so that the exit status of
``newsarchive crawl`` and the summary line are decided in one place.

A run that ends normally is not necessarily healthy: an outlet whose every request was
refused, or whose site is down, used to report ``status=ok`` with ``pages=0``.  Degraded
means the crawl ran but the outlet looks dead or blocked:

- no page at all came back (robots.txt aside): every seed failed or was refused;
- robots.txt could be fetched from none of the outlet's origins;
- no article was archived although most recent runs of the outlet archived some, and
  nothing says the site merely had nothing new (articles listed again that are archived
  already, 304 Not Modified answers, unchanged re-checks are "nothing new", not "dead").

Refusals (the crawler keeping itself safe or polite) are not failures; they appear in the
reason so the operator sees what happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_STORE = 3
EXIT_PENDING = 4
EXIT_DEGRADED = 5  # finished, but the outlet looks dead or blocked (see reason)
HISTORY_RUNS = 5  # how many earlier runs "usually" looks at
OK_REASONS = ("finished", "max_articles")
NON_PAGE_KINDS = frozenset({"robots", "redirect"})


@dataclass(frozen=True)
class Outcome:
    status: str  # "ok" | "degraded" | "failed"
    exit_status: int
    reason: str = ""


def finished_normally(finish_reason: str | None) -> bool:
    reason = finish_reason or ""
    return reason in OK_REASONS or reason.startswith("closespider_")


def classify(report: Mapping[str, Any], history: Iterable[Mapping[str, Any]] = ()
             ) -> Outcome:
    """The outcome of a crawl ``report``; ``history``: earlier reports of the outlet."""
    if report.get("finish_reason") == "store_unwritable":
        return Outcome("failed", EXIT_STORE, "the store refused a write (disk full or "
                       "read-only): the run stopped")
    if not finished_normally(report.get("finish_reason")):
        return Outcome("failed", EXIT_FAILED,
                       f"the run stopped: {report.get('finish_reason') or 'crashed'}")
    pending = EXIT_PENDING if report.get("pending_uploads") else EXIT_OK
    reason = degraded_reason(report, list(history))
    if reason:
        return Outcome("degraded", EXIT_DEGRADED, reason)
    return Outcome("ok", pending)


def degraded_reason(report: Mapping[str, Any], history: list[Mapping[str, Any]]) -> str:
    by_kind = report.get("pages", {}).get("by_kind", {})
    pages = sum(n for kind, n in by_kind.items() if kind not in NON_PAGE_KINDS)
    refusals = report.get("refusals", {}).get("by_kind", {})
    failures = report.get("failures", {}).get("by_kind", {})
    robots = report.get("robots", {})
    if pages == 0:
        unreachable = robots.get("origins", 0) - robots.get("fetched", 0)
        where = (f"; robots.txt unreachable on {unreachable} of {robots['origins']} "
                 "origin(s)" if unreachable > 0 else "")
        return ("no page was fetched: every seed request failed or was refused" + where
                + _counts(refusals, failures))
    if robots.get("origins") and not robots.get("fetched"):
        return (f"robots.txt could not be fetched from any of the {robots['origins']} "
                "origin(s): the site treats the crawl as disallowed" + _counts(refusals, failures))
    if int(report.get("articles", 0)) == 0 and not nothing_new(report):
        earlier = [int(h.get("articles", 0)) for h in history
                   if finished_normally(h.get("finish_reason"))][-HISTORY_RUNS:]
        with_articles = sum(1 for n in earlier if n > 0)
        if len(earlier) >= 2 and with_articles * 2 > len(earlier):
            return (f"no article was archived, while {with_articles} of the last "
                    f"{len(earlier)} runs archived some" + _counts(refusals, failures))
    return ""


def nothing_new(report: Mapping[str, Any]) -> bool:
    """The site answered "nothing changed" (incremental crawling), not "nothing there":
    articles already archived were listed again, pages came back 304 or unchanged."""
    revisits = report.get("revisits") or {}
    return any(int(report.get(key, 0)) for key in ("skipped_archived", "unchanged",
                                                   "duplicates", "new_versions")) or \
        any(int(n) for n in revisits.values())


def _counts(refusals: Mapping[str, int], failures: Mapping[str, int]) -> str:
    groups = []
    for name, counts in (("refused", refusals), ("failures", failures)):
        items = [f"{k}={v}" for k, v in sorted(counts.items()) if v]
        if items:
            groups.append(f"{name}: {', '.join(items)}")
    return f" ({'; '.join(groups)})" if groups else ""
