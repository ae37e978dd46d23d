"""The health page: one self-contained HTML file drawn from ``archive.runs.health`` data.

No scripts, fonts, images or style sheets from elsewhere: the page is read offline, from
mail, or from a server with no internet.  Alarms carry ``class="alarm"`` and
``data-alarm="<kind>"`` so people see them in red and tools can find them in the DOM.
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape
from typing import Any

from archive.runs.svg import Point, bar_chart, line_chart

ALARM_TITLES = {"zero_articles": "zero articles", "block_rate": "blocked",
                "text_collapse": "text collapse", "stale": "stale"}

STYLE = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
 margin:24px;color:#1d1d1d;background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:0 0 8px}
.meta{color:#555;margin:0 0 16px}
table{border-collapse:collapse;background:#fff;margin:8px 0 16px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#eee;font-weight:600;white-space:normal;vertical-align:bottom}td.name,th.name{text-align:left}
tr.alarm td{background:#fdecea}
.badge{display:inline-block;border-radius:3px;padding:0 6px;margin:0 2px;font-size:12px;
 font-weight:700;text-transform:uppercase;color:#fff;background:#2e7d32}
.badge.alarm{background:#c62828}
ul.alarms{list-style:none;padding:0}
ul.alarms li{background:#fdecea;border-left:5px solid #c62828;padding:6px 10px;margin:4px 0}
.allok{background:#e8f5e9;border-left:5px solid #2e7d32;padding:6px 10px}
section.outlet{background:#fff;border:1px solid #ddd;padding:12px 16px;margin:16px 0}
section.outlet.alarm{border-color:#c62828;border-width:2px}
.charts{display:flex;flex-wrap:wrap;gap:8px}
svg.chart{background:#fff;border:1px solid #eee}
svg .ct{font-size:12px;font-weight:600;fill:#333}svg .ax{stroke:#999}
svg .yl{font-size:10px;fill:#666;text-anchor:end}svg .xl{font-size:10px;fill:#666}
svg .xr{text-anchor:end}svg .xm{text-anchor:middle}
svg .th{stroke:#e57373;stroke-dasharray:4 3}
.na{color:#999}details{margin:8px 0}code{font-size:12px;word-break:break-all}
"""


def _fmt_rate(value: float) -> str:
    return f"{value:.0%}"


def _fmt_count(value: float) -> str:
    return f"{value:,.0f}"


def _na(value: Any, fmt=str) -> str:
    return '<span class="na">n/a</span>' if value is None else escape(fmt(value))


def _coverage(coverage: dict | None) -> str:
    if not coverage:
        return _na(None)
    ratio = coverage.get("ratio")
    share = f" ({ratio:.0%})" if isinstance(ratio, (int, float)) else ""
    return escape(f"{coverage['archived']:,} / {coverage['declared']:,}{share}")


def _badges(outlet: dict) -> str:
    if not outlet["alarms"]:
        return '<span class="badge">ok</span>'
    return "".join(f'<span class="badge alarm" data-alarm="{escape(a["kind"])}">'
                   f'{escape(ALARM_TITLES.get(a["kind"], a["kind"]))}</span>'
                   for a in outlet["alarms"])


def _days(health: dict, outlet: dict) -> list[dict | None]:
    """One entry per calendar day of the window (None: no run that day)."""
    by_date = {d["date"]: d for d in outlet["days"]}
    known = sorted(d for d in by_date if d != "unknown")
    if not known:
        return []
    first = date.fromisoformat((health.get("since") or known[0])[:10])
    last = max(date.fromisoformat(health["generated"][:10]), date.fromisoformat(known[-1]))
    first = min(first, date.fromisoformat(known[0]))
    out = []
    day = first
    while day <= last:
        out.append(by_date.get(day.isoformat()) or {"date": day.isoformat()})
        day += timedelta(days=1)
    return out


def _when(row: dict) -> str:
    """A run's start as a short axis label: 12-04 07:46 (UTC)."""
    return str(row.get("started") or "?")[5:16].replace("T", " ")


def _charts(health: dict, outlet: dict) -> str:
    kinds = {a["kind"] for a in outlet["alarms"]}
    days = _days(health, outlet)
    limit = health["thresholds"]["block_rate"]
    per_day = [Point(d["date"], d.get("articles"),
                     alarm="zero_articles" in kinds and d.get("articles") == 0) for d in days]
    runs = outlet["recent_runs"]
    per_run = [Point(_when(r), r["articles"], note=r["run_id"] or "",
                     alarm=("zero_articles" in kinds and r["articles"] == 0) or not r["ok"])
               for r in runs]
    blocks = [Point(_when(r), r["block_rate"], note=r["run_id"] or "",
                    alarm=r["block_rate"] > limit and r["blocked"] >= health["thresholds"][
                        "block_min"]) for r in runs]
    texts = [Point(_when(r), r["text_median"], note=r["run_id"] or "",
                   alarm="text_collapse" in kinds and r is runs[-1]) for r in runs]
    return "".join([
        '<div class="charts">',
        bar_chart("articles per day", per_day, _fmt_count),
        bar_chart(f"articles per run (last {len(runs)})", per_run, _fmt_count),
        line_chart("block rate per run (403/429/503)", blocks, _fmt_rate, y_max=1.0,
                   threshold=limit),
        line_chart("median text per run (characters)", texts, _fmt_count),
        "</div>",
    ])


def _failures(outlet: dict) -> str:
    last = (outlet.get("last_run") or {}).get("failures_by_kind") or {}
    kinds = sorted(set(outlet["failures"]) | set(last))
    if not kinds:
        return "<p>No failures in the window.</p>"
    rows = "".join(f"<tr><td class=\"name\">{escape(k)}</td><td>{outlet['failures'].get(k, 0)}"
                   f"</td><td>{last.get(k, 0)}</td></tr>" for k in kinds)
    return ('<table class="failures"><tr><th class="name">failure kind</th>'
            f"<th>in the window</th><th>last run</th></tr>{rows}</table>")


def _failing_urls(outlet: dict) -> str:
    urls = outlet.get("failing_urls") or {}
    count = sum(len(v) for v in urls.values())
    if not count:
        return ""
    parts = [f"<details><summary>Failing URLs of the last run ({count})</summary>"]
    for kind, values in urls.items():
        items = "".join(f"<li><code>{escape(str(url))}</code></li>" for url in values)
        parts.append(f"<h4>{escape(kind)}</h4><ul>{items}</ul>")
    parts.append("</details>")
    return "".join(parts)


def _outlet_section(health: dict, outlet: dict) -> str:
    name = escape(outlet["outlet"])
    status = "alarm" if outlet["alarms"] else "ok"
    alarms = "".join(f'<li class="alarm" data-alarm="{escape(a["kind"])}">'
                     f'<b>{escape(ALARM_TITLES.get(a["kind"], a["kind"]))}</b>: '
                     f'{escape(a["message"])}</li>' for a in outlet["alarms"])
    text = outlet.get("text_length") or {}
    return "".join([
        f'<section class="outlet {status}" id="outlet-{name}" data-outlet="{name}" '
        f'data-status="{status}">',
        f"<h2>{name} {_badges(outlet)}</h2>",
        f'<ul class="alarms">{alarms}</ul>' if alarms else "",
        _charts(health, outlet),
        f"<p>Last run text lengths: {_na(text.get('count'))} articles, median "
        f"{_na(text.get('median'))}, 10th percentile {_na(text.get('p10'))}, "
        f"90th {_na(text.get('p90'))} characters; short (&lt;200) {_na(text.get('short'))}."
        "</p>",
        _failures(outlet),
        _failing_urls(outlet),
        "</section>",
    ])


def _minute(value: object) -> str:
    return str(value)[:16].replace("T", " ")


def _summary_row(outlet: dict) -> str:
    last = outlet.get("last_run") or {}
    success = outlet.get("last_success") or {}
    cls = ' class="alarm"' if outlet["alarms"] else ""
    name = escape(outlet["outlet"])
    return (f'<tr{cls} data-outlet="{name}"><td class="name"><a href="#outlet-{name}">{name}'
            f'</a></td><td class="name">{_badges(outlet)}</td>'
            f"<td>{_na(last.get('started'), _minute)}</td>"
            f"<td>{_na(success.get('finished'), _minute)}</td>"
            f"<td>{outlet['runs']} ({outlet['ok_runs']})</td>"
            f"<td>{outlet['articles']:,}</td><td>{_na(last.get('articles'))}</td>"
            f"<td>{outlet['pages']:,}</td><td>{sum(outlet['failures'].values()):,}</td>"
            f"<td>{_na(last.get('block_rate'), _fmt_rate)}</td>"
            f"<td>{_na(last.get('text_median'))}</td>"
            f"<td>{_coverage(outlet.get('coverage'))}</td>"
            f"<td>{_na(outlet.get('pending_uploads') if last else None)}</td></tr>")


def render(health: dict) -> str:
    """The whole page as one string."""
    outlets = health["outlets"]
    alarm_items = "".join(
        f'<li class="alarm" data-alarm="{escape(a["kind"])}" data-outlet="{escape(o["outlet"])}">'
        f'<b>{escape(o["outlet"])}</b> — {escape(ALARM_TITLES.get(a["kind"], a["kind"]))}: '
        f'{escape(a["message"])}</li>' for o in outlets for a in o["alarms"])
    alarms = (f'<ul class="alarms" id="alarms">{alarm_items}</ul>' if alarm_items else
              '<p class="allok" id="alarms">No alarms.</p>')
    header = ("<tr><th class=\"name\">outlet</th><th class=\"name\">status</th>"
              "<th>last run</th><th>last success</th><th>runs (ok)</th><th>articles</th>"
              "<th>articles last run</th><th>pages</th><th>failures</th>"
              "<th>block rate last run</th><th>median text last run</th><th>coverage</th>"
              "<th>pending uploads</th></tr>")
    rows = "".join(_summary_row(o) for o in outlets)
    since = health.get("since")
    meta = (f"store {escape(str(health['store']))} · runs since "
            f"{escape(str(since)[:16]) if since else 'the beginning'} · generated "
            f"{escape(health['generated'][:16])} UTC · {len(outlets)} outlet(s), "
            f"{health['reports_read']} report(s) read · {health['alarm_count']} alarm(s)")
    unreadable = health.get("unreadable") or []
    footer = [f"<p class=\"meta\">Thresholds: {escape(_thresholds(health['thresholds']))}</p>"]
    if unreadable:
        items = "".join(f"<li><code>{escape(k)}</code></li>" for k in unreadable[:100])
        footer.append(f"<details><summary>{len(unreadable)} unreadable report(s)</summary>"
                      f"<ul>{items}</ul></details>")
    body = (f'<table class="summary">{header}{rows}</table>' if outlets else
            "<p>No run reports in this store.</p>")
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>newsarchive health: {escape(str(health['store']))}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>newsarchive health</h1>", f'<p class="meta">{meta}</p>', alarms, body,
        "".join(_outlet_section(health, o) for o in outlets),
        *footer, "</body></html>\n",
    ])


def _thresholds(limits: dict) -> str:
    return (f"block rate above {limits['block_rate']:.0%} (at least {limits['block_min']} "
            f"refused pages); stale after {limits['stale_hours']:g} h without a successful "
            f"run; zero articles when the {limits['history_runs']} runs before had a median "
            f"of at least {limits['zero_history_min']:g}; text collapse under "
            f"{limits['text_drop']:.0%} of the earlier median")
