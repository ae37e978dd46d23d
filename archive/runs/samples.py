"""What a run report needs beyond counters: failing URLs per kind and article text lengths.

Counters say *that* 40 pages failed with ``http_429``; an operator needs to see *which*
ones (a section, a CDN path) and whether extraction degraded (texts getting short).  A
run keeps up to ``MAX_URLS_PER_KIND`` failing URLs per kind, scrubbed of credentials, and
the length of every article text it wrote; the report carries the URLs and a few
quantiles of the lengths.  Pure Python: the crawler feeds it, reports and merges read it.
"""

from __future__ import annotations

import re
import statistics
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_URLS_PER_KIND = 50
SHORT_TEXT_CHARS = 200  # a text under this many characters is counted as "short"

# query parameters whose values are secrets as often as not
_SECRET_PARAM = re.compile(
    r"(pass(word|wd)?|pwd|secret|token|api[-_]?key|apikey|key|auth\w*|session\w*|sig"
    r"|signature|credential\w*|x-amz-[\w-]+)$", re.IGNORECASE)
REDACTED = "REDACTED"


def scrub_url(url: str) -> str:
    """``url`` without credentials: userinfo dropped, secret-looking query values redacted.

    Reports are read by people and tools that must never see a password that an outlet
    page (or a redirect) put into a link.
    """
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return re.sub(r"//[^/@\s]*@", "//", text)
    netloc = parts.netloc.rpartition("@")[2] if "@" in parts.netloc else parts.netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM.search(name) for name, _ in pairs):
            query = urlencode([(name, REDACTED if _SECRET_PARAM.search(name) else value)
                               for name, value in pairs])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class RunSamples:
    """Failing URLs (capped per kind) and text lengths collected during one run.

    Thread-safe: failures are noted from the reactor thread and from middleware alike.
    """

    def __init__(self, max_urls: int = MAX_URLS_PER_KIND):
        self.max_urls = max_urls
        self._urls: dict[str, list[str]] = {}
        self._seen: dict[str, set[str]] = {}
        self._lengths: list[int] = []
        self._lock = threading.Lock()

    def add_failure(self, kind: str, url: str | None) -> None:
        if not url:
            return
        clean = scrub_url(url)
        with self._lock:
            urls = self._urls.setdefault(kind, [])
            seen = self._seen.setdefault(kind, set())
            if len(urls) < self.max_urls and clean not in seen:
                urls.append(clean)
                seen.add(clean)

    def add_text_length(self, chars: int) -> None:
        with self._lock:
            self._lengths.append(max(0, int(chars)))

    def report_fields(self) -> dict[str, Any]:
        """``failing_urls`` and ``text_length`` for the run report."""
        with self._lock:
            urls = {kind: list(values) for kind, values in sorted(self._urls.items())}
            lengths = list(self._lengths)
        return {"failing_urls": urls, "text_length": text_length_stats(lengths)}


def text_length_stats(lengths: Iterable[int]) -> dict[str, Any]:
    """count, median, p10, p90, short (under SHORT_TEXT_CHARS) and empty, in characters."""
    values = sorted(int(v) for v in lengths)
    if not values:
        return {"count": 0, "median": None, "p10": None, "p90": None, "short": 0, "empty": 0}
    return {"count": len(values),
            "median": int(statistics.median(values)),
            "p10": values[int(0.1 * (len(values) - 1))],
            "p90": values[int(0.9 * (len(values) - 1))],
            "short": sum(1 for v in values if v < SHORT_TEXT_CHARS),
            "empty": sum(1 for v in values if v == 0)}


def merge_samples(reports: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The sample fields of one run from its workers' reports.

    URLs: the union per kind, still capped.  Text lengths: counts are summed; the median
    and quantiles are the count-weighted median of the workers' values (exact for one
    worker, close for several, which see the same outlet's articles at random).
    """
    reports = list(reports)
    merged: dict[str, Any] = {}
    if any(isinstance(r.get("failing_urls"), dict) for r in reports):
        urls: dict[str, list[str]] = {}
        for report in reports:
            for kind, values in (report.get("failing_urls") or {}).items():
                bucket = urls.setdefault(kind, [])
                for url in values if isinstance(values, list) else []:
                    if len(bucket) < MAX_URLS_PER_KIND and url not in bucket:
                        bucket.append(url)
        merged["failing_urls"] = dict(sorted(urls.items()))
    stats = [r["text_length"] for r in reports if isinstance(r.get("text_length"), dict)]
    if stats:
        merged["text_length"] = {
            "count": sum(int(s.get("count") or 0) for s in stats),
            **{name: _weighted_median(stats, name) for name in ("median", "p10", "p90")},
            "short": sum(int(s.get("short") or 0) for s in stats),
            "empty": sum(int(s.get("empty") or 0) for s in stats)}
    return merged


def _weighted_median(stats: list[Mapping[str, Any]], name: str) -> int | None:
    pairs = sorted((int(s[name]), int(s.get("count") or 0)) for s in stats
                   if isinstance(s.get(name), (int, float)) and s.get("count"))
    total = sum(count for _, count in pairs)
    if not total:
        return None
    running = 0
    for value, count in pairs:
        running += count
        if 2 * running >= total:
            return value
    return pairs[-1][0]
