"""The run report: counters grouped by kind, files listed, exit status derived."""

from __future__ import annotations

from datetime import UTC, datetime

from archive.runs.report import EXIT_FAILED, EXIT_OK, EXIT_PENDING, build_report, summary_line
from archive.store.base import StoredObject


def test_report_groups_counters_and_lists_files():
    stats = {"newsarchive/fetched/article": 5, "newsarchive/fetched/front": 2,
             "newsarchive/failures/http_404": 1, "newsarchive/failures/truncated": 2,
             "newsarchive/articles": 4, "newsarchive/non_articles": 1,
             "newsarchive/bytes": 1234, "downloader/request_count": 99}
    files = [StoredObject("warc/x/2026/11/a.warc.gz", 10, "ab" * 32),
             StoredObject("corpus/x/2026/11/r.jsonl.gz", 5, "cd" * 32, pending=True)]
    report = build_report(run_id="r", outlet="x", store_uri="/s",
                          started=datetime(2026, 1, 1, tzinfo=UTC), stats=stats, files=files,
                          finish_reason="finished")
    assert report["pages"] == {"fetched": 7, "by_kind": {"article": 5, "front": 2}}
    assert report["failures"] == {"total": 3, "by_kind": {"http_404": 1, "truncated": 2}}
    assert report["articles"] == 4 and report["non_articles"] == 1 and report["bytes"] == 1234
    assert [f["key"] for f in report["files"]] == [f.key for f in files]
    assert report["pending_uploads"] == 1
    assert report["exit_status"] == EXIT_PENDING
    line = summary_line(report)
    assert "outlet=x" in line and "pending=1" in line and "status=failed" in line


def test_report_carries_the_template_counters():
    base = dict(run_id="r", outlet="x", store_uri="/s", started=datetime.now(UTC), files=[],
                finish_reason="finished")
    report = build_report(**base, stats={"newsarchive/template_blocks_removed": 7,
                                         "newsarchive/template_recleaned": 2,
                                         "newsarchive/template_lost_marks": 1})
    assert report["templates"] == {"blocks_removed": 7, "recleaned": 2, "lost_marks": 1}
    assert "template_blocks=7 recleaned=2 lost_marks=1" in summary_line(report)
    plain = build_report(**base, stats={})  # a run without the template pass says nothing
    assert "templates" not in plain and "recleaned" not in summary_line(plain)


def test_exit_status():
    base = dict(run_id="r", outlet="x", store_uri="/s", started=datetime.now(UTC), stats={},
                files=[])
    assert build_report(**base, finish_reason="finished")["exit_status"] == EXIT_OK
    assert build_report(**base, finish_reason="closespider_pagecount")["exit_status"] == EXIT_OK
    assert build_report(**base, finish_reason="shutdown")["exit_status"] == EXIT_FAILED


# ---- the state at the end of a run (crawler.report.RunReportExtension.write_state) ----------


def _context(tmp_path):
    from archive.outlet.config import OutletConfig
    from archive.store import open_store
    from crawler.context import RunContext

    outlet = OutletConfig(name="fixture", start_urls=["http://news.example/"],
                          article_urls=[r"/story/"])
    return RunContext(run_id="r1", outlet=outlet, store=open_store(tmp_path / "store"),
                      started=datetime.now(UTC),
                      state_location=str(tmp_path / "state" / "state.sqlite3"))


def test_run_that_never_used_the_state_does_not_open_it(tmp_path):
    from crawler.report import RunReportExtension

    context = _context(tmp_path)
    assert context.opened_state() is None
    assert RunReportExtension.write_state(context) is True
    assert context.opened_state() is None
    assert not (tmp_path / "state").exists()


def test_held_back_state_writes_are_flushed_or_discarded(tmp_path):
    from archive.state import open_state
    from crawler.report import RunReportExtension

    when = datetime(2026, 11, 2, tzinfo=UTC)
    for failed in (False, True):
        context = _context(tmp_path)
        key = f"story-{failed}"
        context.state.record_article("fixture", key, f"http://news.example/story/{key}",
                                     "ab" * 32, 1, when)
        assert context.opened_state() is context.state
        context.publish_failed = failed
        assert RunReportExtension.write_state(context) is (not failed)
        context.close_state()
        assert context.opened_state() is None
        with open_state(tmp_path / "state" / "state.sqlite3") as state:
            assert state.is_archived("fixture", key) is (not failed)
