"""Coverage: what each discovery channel declared, against what the run archived.

Neither a feed reader nor a link follower knows by itself how complete a crawl was.
The ledger remembers, per channel (``sitemap``, ``feed``, ``listing``), every article
URL it declared, and per URL what became of it: archived this run, already archived
(state), re-checked unchanged, or not archived and why (HTTP status, not an article,
budget, trap, ...).  The run report carries :meth:`CoverageLedger.report` under the key
``coverage`` so the operator sees the gap and its causes, not only a count.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

CHANNELS = ("sitemap", "feed", "listing")
COVERED = frozenset({"archived", "already_archived", "unchanged", "duplicate"})
MAX_LISTED = 200  # missing articles listed by URL in the report (all are counted)


class CoverageLedger:
    """Declarations per channel and one outcome per URL (the last word wins)."""

    def __init__(self) -> None:
        self.declared: dict[str, set[str]] = {name: set() for name in CHANNELS}
        self.outcome: dict[str, str] = {}

    def declare(self, channel: str, url: str) -> None:
        """``channel`` says ``url`` is an article (a sitemap <loc>, a feed item, a
        headline link on a listing)."""
        self.declared.setdefault(channel, set()).add(url)

    def settle(self, url: str, outcome: str, *, overwrite: bool = True) -> None:
        """What became of ``url``: "archived", "already_archived", "unchanged",
        "duplicate", or a reason it was not archived."""
        if overwrite or url not in self.outcome:
            self.outcome[url] = outcome

    def report(self) -> dict[str, Any]:
        """Per channel: declared / covered / missing counts and the missing reasons; then
        the missing articles (URL, channels, reason), capped at ``MAX_LISTED``."""
        channels: dict[str, Any] = {}
        missing_urls: dict[str, list[str]] = {}
        for name, urls in self.declared.items():
            reasons: Counter[str] = Counter()
            covered = 0
            for url in urls:
                outcome = self.outcome.get(url, "not_fetched")
                if outcome in COVERED:
                    covered += 1
                elif outcome != "not_an_article":
                    # a headline link that proved to be a listing was never an article
                    reasons[outcome] += 1
                    missing_urls.setdefault(url, []).append(name)
            not_articles = sum(1 for u in urls if self.outcome.get(u) == "not_an_article")
            channels[name] = {"declared": len(urls), "archived": covered,
                              "not_articles": not_articles, "missing": sum(reasons.values()),
                              "missing_reasons": dict(sorted(reasons.items()))}
        missing = [{"url": url, "channels": sorted(names),
                    "reason": self.outcome.get(url, "not_fetched")}
                   for url, names in sorted(missing_urls.items())]
        archived = sum(1 for o in self.outcome.values() if o == "archived")
        return {"channels": channels, "archived_this_run": archived,
                "missing_total": len(missing), "missing": missing[:MAX_LISTED]}


def merge_coverage(sections: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``coverage`` section from several workers' (a distributed run): counts summed
    per channel (a URL declared to two workers counts twice), missing URLs listed once."""
    channels: dict[str, Any] = {}
    for section in sections:
        for name, counts in section.get("channels", {}).items():
            merged = channels.setdefault(name, {"declared": 0, "archived": 0,
                                                "not_articles": 0, "missing": 0,
                                                "missing_reasons": {}})
            for key in ("declared", "archived", "not_articles", "missing"):
                merged[key] += int(counts.get(key, 0))
            reasons = merged["missing_reasons"]
            for reason, count in counts.get("missing_reasons", {}).items():
                reasons[reason] = reasons.get(reason, 0) + int(count)
    missing: dict[str, dict[str, Any]] = {}
    for section in sections:
        for entry in section.get("missing", []):
            missing.setdefault(entry["url"], entry)
    return {"channels": channels,
            "archived_this_run": sum(int(s.get("archived_this_run", 0)) for s in sections),
            "missing_total": len(missing),
            "missing": [missing[url] for url in sorted(missing)][:MAX_LISTED]}
