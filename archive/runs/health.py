"""Per-outlet health over the runs of a window, and the alarms an operator must act on.

Each alarm compares the newest run with the outlet's own history, because outlets differ
by orders of magnitude (one posts 3 articles a day, another 300):

- ``zero_articles``: the newest runs archived nothing while the runs before them archived
  a median of at least ``zero_history_min`` (a layout change, a feed gone, a block page);
- ``block_rate``: in the newest run more than ``block_rate`` of the pages fetched were
  refused with 403, 429 or 503 (and at least ``block_min`` were);
- ``text_collapse``: the newest run's median article text is under ``text_drop`` times the
  median of the runs before it (extraction picks the wrong block, a paywall);
- ``stale``: no successful run for longer than ``stale`` (cron stopped, every run fails).

The result is plain JSON-ready data: ``newsarchive report --json`` prints it as is and the
HTML page is drawn from it, so both always say the same.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from archive.runs.cache import ReportCache
from archive.runs.history import DEFAULT_THREADS, History, is_success, load_history

BLOCK_KINDS = ("http_403", "http_429", "http_503")
ALARM_KINDS = ("zero_articles", "block_rate", "text_collapse", "stale")
RECENT_RUNS = 60  # runs per outlet listed in full (charts, JSON)


@dataclass(frozen=True)
class Thresholds:
    block_rate: float = 0.2       # share of pages refused with 403/429/503
    block_min: int = 3            # ... and at least this many refused pages
    stale_hours: float = 48.0     # no successful run for longer than this
    zero_history_min: float = 3   # median articles of earlier runs that makes 0 alarming
    text_drop: float = 0.5        # newest median text length / earlier median
    history_runs: int = 10        # how many earlier runs make "history"
    min_history: int = 3          # fewer earlier runs than this: no comparison

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


def coverage_of(run: Mapping[str, Any]) -> dict[str, Any] | None:
    """Declared vs archived from a run's coverage section(s), or None when it has none.

    Read tolerantly: ``{"declared": n, "archived": m}`` or the same per channel
    (``{"sitemap": {"declared": ..}, ...}``), from one report or summed over workers.
    """
    parts = run.get("coverage_parts") or ([run["coverage"]] if isinstance(
        run.get("coverage"), dict) else [])
    declared = archived = 0
    found = False
    for part in parts:
        for section in _coverage_sections(part):
            declared += _int(section.get("declared"))
            archived += _int(section.get("archived"))
            found = True
    if not found:
        return None
    ratio = round(archived / declared, 4) if declared else None
    return {"declared": declared, "archived": archived, "ratio": ratio}


def _coverage_sections(part: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    if "declared" in part and "archived" in part:
        yield part
        return
    for value in part.values():
        if isinstance(value, dict) and "declared" in value and "archived" in value:
            yield value


def run_row(run: Mapping[str, Any]) -> dict[str, Any]:
    """One merged run report reduced to what the health page shows."""
    pages = _int((run.get("pages") or {}).get("fetched"))
    by_kind = {k: _int(v) for k, v in ((run.get("failures") or {}).get("by_kind") or {}).items()}
    blocked = sum(by_kind.get(kind, 0) for kind in BLOCK_KINDS)
    text = run.get("text_length") if isinstance(run.get("text_length"), dict) else {}
    return {
        "run_id": run.get("run_id"),
        "started": run.get("started"),
        "finished": run.get("finished"),
        "ok": is_success(dict(run)),
        "exit_status": run.get("exit_status"),
        "finish_reason": run.get("finish_reason"),
        "workers": len(run.get("workers") or []) or 1,
        "articles": _int(run.get("articles")),
        "pages": pages,
        "failures": _int((run.get("failures") or {}).get("total")),
        "failures_by_kind": by_kind,
        "blocked": blocked,
        "block_rate": round(blocked / max(pages, blocked), 4) if blocked else 0.0,
        "text_median": text.get("median"),
        "text_count": _int(text.get("count")),
        "pending_uploads": _int(run.get("pending_uploads")),
        "coverage": coverage_of(run),
    }


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _day(value: object) -> str:
    return str(value or "")[:10] or "unknown"


def daily(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs summed per UTC day (the day a run started)."""
    days: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        days.setdefault(_day(row["started"]), []).append(row)
    out = []
    for day, group in sorted(days.items()):
        pages = sum(r["pages"] for r in group)
        blocked = sum(r["blocked"] for r in group)
        texts = [r["text_median"] for r in group if r["text_median"] is not None]
        out.append({"date": day, "runs": len(group), "ok_runs": sum(r["ok"] for r in group),
                    "articles": sum(r["articles"] for r in group), "pages": pages,
                    "failures": sum(r["failures"] for r in group), "blocked": blocked,
                    "block_rate": round(blocked / max(pages, blocked), 4) if blocked else 0.0,
                    "text_median": _median(texts)})
    return out


def alarms_for(rows: list[dict[str, Any]], last_success: str | None, now: datetime,
               limits: Thresholds) -> list[dict[str, str]]:
    """The alarms of one outlet from its runs (oldest first) and its last good run."""
    alarms: list[dict[str, str]] = []
    if rows:
        alarms += _zero_articles(rows, limits) + _block_rate(rows[-1], limits)
        alarms += _text_collapse(rows, limits)
    alarms += _stale(last_success, now, limits)
    return alarms


def _zero_articles(rows: list[dict[str, Any]], limits: Thresholds) -> list[dict[str, str]]:
    zeros = 0
    while zeros < len(rows) and rows[-1 - zeros]["articles"] == 0:
        zeros += 1
    earlier = rows[:len(rows) - zeros][-limits.history_runs:]
    if not zeros or len(earlier) < limits.min_history:
        return []
    usual = _median([r["articles"] for r in earlier]) or 0.0
    if usual < limits.zero_history_min:
        return []
    since = rows[-zeros]["started"]
    return [{"kind": "zero_articles",
             "message": f"0 articles in the last {zeros} run(s) (since {since}); the "
                        f"{len(earlier)} runs before archived a median of {usual:g}"}]


def _block_rate(last: dict[str, Any], limits: Thresholds) -> list[dict[str, str]]:
    if last["block_rate"] <= limits.block_rate or last["blocked"] < limits.block_min:
        return []
    kinds = ", ".join(f"{k} {last['failures_by_kind'][k]}" for k in BLOCK_KINDS
                      if last["failures_by_kind"].get(k))
    return [{"kind": "block_rate",
             "message": f"{last['block_rate']:.0%} of {last['pages']} pages refused in run "
                        f"{last['run_id']} ({kinds}); threshold {limits.block_rate:.0%}"}]


def _text_collapse(rows: list[dict[str, Any]], limits: Thresholds) -> list[dict[str, str]]:
    last = rows[-1]
    if last["text_median"] is None or last["text_count"] < limits.min_history:
        return []
    earlier = [r["text_median"] for r in rows[:-1] if r["text_median"] is not None
               ][-limits.history_runs:]
    if len(earlier) < limits.min_history:
        return []
    usual = _median(earlier) or 0.0
    if not usual or last["text_median"] >= limits.text_drop * usual:
        return []
    return [{"kind": "text_collapse",
             "message": f"median text {last['text_median']} characters in run "
                        f"{last['run_id']} against {usual:g} before "
                        f"(under {limits.text_drop:.0%})"}]


def _stale(last_success: str | None, now: datetime, limits: Thresholds
           ) -> list[dict[str, str]]:
    if last_success is None:
        return [{"kind": "stale", "message": "no successful run found in the store"}]
    moment = _parse_time(last_success)
    if moment is None:
        return []
    age = (now - moment).total_seconds() / 3600
    if age <= limits.stale_hours:
        return []
    return [{"kind": "stale", "message": f"no successful run for {age:.0f} h (last "
                                          f"{last_success}); threshold {limits.stale_hours:g} h"}]


def _parse_time(value: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def outlet_health(outlet: str, runs: list[dict[str, Any]], earlier_success: Mapping | None,
                  now: datetime, limits: Thresholds) -> dict[str, Any]:
    """Everything the page and the JSON say about one outlet."""
    rows = [run_row(run) for run in runs]
    good = [(run, row) for run, row in zip(runs, rows, strict=True) if row["ok"]]
    success_run = good[-1][0] if good else earlier_success
    last_success = ((success_run.get("finished") or success_run.get("started"))
                    if success_run else None)
    last_run = runs[-1] if runs else None
    failures: dict[str, int] = {}
    for row in rows:
        for kind, count in row["failures_by_kind"].items():
            failures[kind] = failures.get(kind, 0) + count
    pages = sum(r["pages"] for r in rows)
    blocked = sum(r["blocked"] for r in rows)
    alarms = alarms_for(rows, last_success, now, limits)
    return {
        "outlet": outlet,
        "status": "alarm" if alarms else "ok",
        "alarms": alarms,
        "runs": len(rows),
        "ok_runs": sum(r["ok"] for r in rows),
        "articles": sum(r["articles"] for r in rows),
        "pages": pages,
        "failures": dict(sorted(failures.items())),
        "blocked": blocked,
        "block_rate": round(blocked / max(pages, blocked), 4) if blocked else 0.0,
        "last_run": rows[-1] if rows else None,
        "last_success": ({"run_id": success_run.get("run_id"), "finished": last_success}
                         if success_run else None),
        "text_length": (last_run or {}).get("text_length"),
        "coverage": rows[-1]["coverage"] if rows else None,
        "pending_uploads": rows[-1]["pending_uploads"] if rows else 0,
        "failing_urls": (last_run or {}).get("failing_urls") or {},
        "days": daily(rows),
        "recent_runs": rows[-RECENT_RUNS:],
    }


def health_from_history(history: History, *, store_uri: str, since: datetime | None,
                        now: datetime, limits: Thresholds) -> dict[str, Any]:
    outlets = [outlet_health(name, runs, history.earlier_success.get(name), now, limits)
               for name, runs in sorted(history.runs.items())]
    alarms = sum(len(o["alarms"]) for o in outlets)
    return {
        "generated": now.isoformat(),
        "store": store_uri,
        "since": since.isoformat() if since else None,
        "thresholds": limits.to_dict(),
        "report_keys": history.report_keys,
        "reports_read": history.reports_read,
        "reports_fetched": history.reports_read - history.cache_hits,
        "unreadable": history.unreadable,
        "alarm_count": alarms,
        "alarm_outlets": [o["outlet"] for o in outlets if o["alarms"]],
        "outlets": outlets,
    }


def store_health(store, *, since: datetime | None, now: datetime | None = None,
                 limits: Thresholds | None = None, threads: int = DEFAULT_THREADS,
                 outlets: Iterable[str] | None = None, cache: ReportCache | None = None
                 ) -> dict[str, Any]:
    """Health of every outlet (or of ``outlets``) in ``store`` over the runs since ``since``."""
    now = now or datetime.now(UTC)
    history = load_history(store, since, threads, outlets, cache)
    if cache is not None:
        cache.save()
    return health_from_history(history, store_uri=getattr(store, "uri", ""), since=since,
                               now=now, limits=limits or Thresholds())


def parse_window(text: str, now: datetime | None = None) -> datetime:
    """``30d``, ``12h``, ``2w``, ``90m`` back from now, or an ISO date/time (UTC when naive)."""
    now = now or datetime.now(UTC)
    value = text.strip()
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    if value[:-1].isdigit() and value[-1:] in units:
        return now - timedelta(**{units[value[-1]]: int(value[:-1])})
    moment = _parse_time(value)
    if moment is None:
        raise ValueError(f"{text!r} is neither a duration (30d, 12h, 2w) nor a date "
                         "(2026-11-01)")
    return moment
