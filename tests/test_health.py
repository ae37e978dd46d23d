"""`newsarchive report`: health of generated stores, alarms in --json and the exit status.

The stores hold run reports shaped like the crawler's (tests/run_reports.py): a healthy
outlet, one whose layout broke (the last runs archive nothing), one being blocked (half
of the last run's pages answered 429), one whose texts collapsed, one not crawled for days.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from archive.runs.health import parse_window, store_health
from archive.runs.html import render
from archive.runs.merge import merge_reports
from archive.runs.samples import RunSamples, merge_samples, scrub_url, text_length_stats
from archive.store import open_store
from crawler.commands.report import EXIT_ALARM
from tests.conftest import run_cli
from tests.run_reports import make_report, scenario, utc_now, write_local

OUTLETS = {"calm-times": "healthy", "broken-herald": "layout_break",
           "walled-post": "blocking", "thin-gazette": "text_collapse",
           "sleepy-news": "stale"}


@pytest.fixture(scope="module")
def mixed_store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("health") / "store"
    now = utc_now()
    for outlet, kind in OUTLETS.items():
        write_local(root, scenario(outlet, kind, now, runs=30))
    return root


def report_json(store: Path | str, *extra: str) -> tuple[int, dict, str]:
    proc = run_cli("report", "--store", str(store), "--json", *extra)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def alarm_kinds(health: dict) -> dict[str, list[str]]:
    return {o["outlet"]: [a["kind"] for a in o["alarms"]] for o in health["outlets"]}


def test_each_trouble_raises_its_alarm_and_exit_status(mixed_store):
    code, health, stderr = report_json(mixed_store)
    assert code == EXIT_ALARM == 8
    assert alarm_kinds(health) == {"calm-times": [], "broken-herald": ["zero_articles"],
                                   "walled-post": ["block_rate"],
                                   "thin-gazette": ["text_collapse"], "sleepy-news": ["stale"]}
    assert health["alarm_count"] == 4
    outlets = {o["outlet"]: o for o in health["outlets"]}
    walled = outlets["walled-post"]
    assert walled["last_run"]["block_rate"] == pytest.approx(0.5, abs=0.02)
    assert walled["failing_urls"]["http_429"][0].startswith("https://walled-post.example.org/")
    assert outlets["broken-herald"]["last_run"]["articles"] == 0
    assert outlets["calm-times"]["status"] == "ok" and outlets["calm-times"]["runs"] == 30
    assert outlets["calm-times"]["coverage"] is None  # these runs report no coverage
    # one line per alarm on stderr (what cron mails), nothing for the healthy outlet
    lines = stderr.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("newsarchive report: alarm ") for line in lines)
    assert not any("calm-times" in line for line in lines)


def test_healthy_store_is_silent_and_exits_zero(tmp_path):
    store = tmp_path / "store"
    write_local(store, scenario("calm-times", "healthy", utc_now(), runs=12))
    out = tmp_path / "page" / "health.html"
    proc = run_cli("report", "--store", str(store), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""  # quiet under cron
    page = out.read_text(encoding="utf-8")
    assert "calm-times" in page and "No alarms." in page
    # self-contained: nothing for a browser to fetch
    for marker in ("<script", "<link", "<img", "<iframe", "src=", "@import", "url(",
                   'href="http'):
        assert marker not in page, marker


def test_thresholds_come_from_the_command_line(mixed_store):
    code, health, _ = report_json(mixed_store, "--block-rate", "0.6", "--stale", "200h",
                                  "--outlet", "walled-post", "--outlet", "sleepy-news")
    assert code == 0, alarm_kinds(health)
    assert sorted(o["outlet"] for o in health["outlets"]) == ["sleepy-news", "walled-post"]
    assert health["thresholds"]["block_rate"] == 0.6


def test_window_reads_only_recent_reports_but_finds_the_last_success(tmp_path):
    store = tmp_path / "store"
    now = utc_now()
    old = scenario("old-news", "healthy", now - timedelta(days=40), runs=40)
    write_local(store, old)
    write_local(store, scenario("calm-times", "healthy", now, runs=5))
    health = store_health(open_store(store), since=parse_window("30d", now), now=now)
    outlets = {o["outlet"]: o for o in health["outlets"]}
    assert outlets["old-news"]["runs"] == 0
    assert outlets["old-news"]["last_success"]["run_id"] == old[-1]["run_id"]
    assert [a["kind"] for a in outlets["old-news"]["alarms"]] == ["stale"]
    # the old reports were not all read: only the newest batch, to find the last success
    assert health["report_keys"] == 45 and health["reports_read"] < 45
    assert outlets["calm-times"]["alarms"] == []


def test_workers_of_one_run_count_as_one_run(tmp_path):
    store = tmp_path / "store"
    now = utc_now()
    history = scenario("shared-post", "healthy", now - timedelta(hours=2), runs=6)
    start = now - timedelta(minutes=40)
    workers = [make_report("shared-post", start, articles=7, pages=20, worker=w,
                           run_id=f"{start:%Y%m%dT%H%M%SZ}-abcdef",
                           failures={"http_429": 4}, text_median=1800) for w in ("a-1", "b-2")]
    write_local(store, history + workers)
    health = store_health(open_store(store), since=parse_window("1d", now), now=now)
    outlet = health["outlets"][0]
    assert outlet["runs"] == 7
    last = outlet["last_run"]
    assert last["workers"] == 2 and last["articles"] == 14 and last["pages"] == 40
    assert last["blocked"] == 8 and last["block_rate"] == 0.2  # 0.2 is not above 0.2
    assert outlet["alarms"] == []


def test_unreadable_report_is_listed_not_fatal(tmp_path):
    store = tmp_path / "store"
    now = utc_now()
    write_local(store, scenario("calm-times", "healthy", now, runs=4))
    broken = store / "runs" / "calm-times" / f"{now:%Y%m%dT%H%M%SZ}-000000.json"
    broken.write_text("{ not json", encoding="utf-8")
    health = store_health(open_store(store), since=parse_window("1d", now), now=now)
    assert health["unreadable"] == [f"runs/calm-times/{broken.name}"]
    assert health["outlets"][0]["runs"] == 4


def test_coverage_shown_when_runs_report_it(tmp_path):
    now = utc_now()
    reports = scenario("calm-times", "healthy", now, runs=4)
    reports[-1]["coverage"] = {"sitemap": {"declared": 80, "archived": 60},
                               "feed": {"declared": 20, "archived": 20}}
    write_local(tmp_path, reports)
    health = store_health(open_store(tmp_path), since=parse_window("1d", now), now=now)
    assert health["outlets"][0]["coverage"] == {"declared": 100, "archived": 80, "ratio": 0.8}
    assert "80 / 100 (80%)" in render(health)


def test_page_escapes_what_comes_from_the_store(tmp_path):
    now = utc_now()
    reports = scenario("calm-times", "healthy", now, runs=3)
    reports[-1]["failing_urls"] = {"http_404": ['https://x.example.org/"><script>alert(1)</script>']}
    write_local(tmp_path, reports)
    page = render(store_health(open_store(tmp_path), since=None, now=now))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_bad_usage_bad_store_and_unwritable_output(mixed_store):
    proc = run_cli("report", "--since", "lately")
    assert proc.returncode == 2 and "neither a duration" in proc.stderr
    proc = run_cli("report", "--store", "ftp://nowhere/x", "--json")
    assert proc.returncode == 3 and "unsupported store URI" in proc.stderr
    proc = run_cli("report", "--store", str(mixed_store), "--quiet", "--out",
                   "/proc/no-such-dir/health.html")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "writing" in proc.stderr


def test_help_teaches_the_alarms_and_exit_status():
    text = run_cli("report", "--help").stdout
    for word in ("zero_articles", "block_rate", "text_collapse", "stale", "--json",
                 "exit status", "8 at least one alarm", "cron"):
        assert word in text


# ---- what the crawler adds to its run report ------------------------------------------

def test_scrub_url_drops_credentials():
    assert scrub_url("https://user:secret@news.example.org/a?id=3") == \
        "https://news.example.org/a?id=3"
    scrubbed = scrub_url("https://news.example.org/a?id=3&token=abc&api_key=k&sig=zz")
    assert "abc" not in scrubbed and "=k" not in scrubbed and "zz" not in scrubbed
    assert "id=3" in scrubbed and scrubbed.count("REDACTED") == 3
    assert scrub_url("not a url") == "not a url"


def test_failing_urls_are_capped_per_kind_and_deduplicated():
    samples = RunSamples()
    for number in range(120):
        samples.add_failure("http_429", f"https://a.example.org/{number}")
        samples.add_failure("http_429", f"https://a.example.org/{number}")
    samples.add_failure("http_404", "https://u:p@a.example.org/gone")
    fields = samples.report_fields()
    assert len(fields["failing_urls"]["http_429"]) == 50
    assert fields["failing_urls"]["http_404"] == ["https://a.example.org/gone"]


def test_text_length_stats_and_merge():
    stats = text_length_stats([0, 100, 250, 3000, 4000])
    assert stats == {"count": 5, "median": 250, "p10": 0, "p90": 3000, "short": 2,
                     "empty": 1}
    merged = merge_samples([{"text_length": {"count": 3, "median": 1000, "p10": 1, "p90": 2,
                                             "short": 0, "empty": 0},
                             "failing_urls": {"http_404": ["https://a/1"]}},
                            {"text_length": {"count": 1, "median": 10, "p10": 1, "p90": 2,
                                             "short": 1, "empty": 0},
                             "failing_urls": {"http_404": ["https://a/1", "https://a/2"]}}])
    assert merged["text_length"]["count"] == 4 and merged["text_length"]["median"] == 1000
    assert merged["failing_urls"] == {"http_404": ["https://a/1", "https://a/2"]}


def test_merged_run_reports_carry_failing_urls():
    now = utc_now()
    reports = [make_report("x", now, articles=2, pages=5, worker=w,
                           run_id="20260101T000000Z-aaaaaa", failures={"http_503": 1})
               for w in ("w1", "w2")]
    merged = merge_reports(reports)
    assert merged["failing_urls"] == {"http_503": ["https://x.example.org/http_503/0"]}
    assert merged["text_length"]["count"] == 4



def test_report_cache_round_trip_and_damage(tmp_path):
    from archive.runs.cache import ReportCache

    cache = ReportCache.for_store("s3://b/p", tmp_path)
    report = make_report("x", utc_now(), articles=1, pages=2)
    cache.put("runs/x/a.json", report)
    cache.save()
    again = ReportCache.for_store("s3://b/p", tmp_path)
    entry = again.get("runs/x/a.json")
    assert entry is not None and "files" not in entry and entry["run_id"] == report["run_id"]
    again.forget_except(set())
    again.save()
    assert len(ReportCache.for_store("s3://b/p", tmp_path)) == 0
    cache.path.write_text("{ damaged", encoding="utf-8")
    assert len(ReportCache.for_store("s3://b/p", tmp_path)) == 0  # ignored, not fatal
