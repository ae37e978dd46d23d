"""The edit-tracking re-check schedule (archive.state.schedule)."""

from datetime import UTC, datetime, timedelta

import pytest

from archive.state.schedule import (
    RecheckSchedule,
    ScheduleError,
    anchor_time,
    format_duration,
    parse_datetime,
    parse_duration,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
H, D = timedelta(hours=1), timedelta(days=1)


@pytest.mark.parametrize("text, expected", [
    ("1h", H), ("90m", timedelta(minutes=90)), ("1h30m", timedelta(minutes=90)),
    ("7d", 7 * D), ("2w", 14 * D), ("45s", timedelta(seconds=45)), ("3600", H),
    (" 1D ", D), (120, timedelta(minutes=2)), ("1.5h", timedelta(minutes=90)),
])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["", "h", "1x", "1h-", "one day", "1h 2", True])
def test_parse_duration_rejects_garbage(bad):
    with pytest.raises(ScheduleError):
        parse_duration(bad)


def test_format_duration_round_trips():
    for value in (H, D, 7 * D, timedelta(minutes=90), timedelta(seconds=61), 14 * D):
        assert parse_duration(format_duration(value)) == value
    assert format_duration(7 * D) == "1w"


def test_parse_schedule_string_and_describe():
    schedule = RecheckSchedule.parse("1h, 1d,7d", "30d")
    assert schedule.intervals == (H, D, 7 * D)
    assert schedule.max_age == 30 * D
    assert schedule.describe() == "1h,1d,1w within 30d"
    assert RecheckSchedule() == schedule  # the defaults are the example


@pytest.mark.parametrize("bad", ["1d,1h", "1h,1h", "0h", "-1h"])
def test_schedule_rejects_unordered_or_non_positive(bad):
    with pytest.raises(ScheduleError):
        RecheckSchedule.parse(bad)


def test_disabled_schedules():
    for spec in ("", "off", "none"):
        schedule = RecheckSchedule.parse(spec)
        assert not schedule.enabled and schedule.describe() == "off"
        assert schedule.next_due(T0, T0) is None
    # every interval beyond max_age: nothing is ever due
    assert not RecheckSchedule.parse("40d", "30d").enabled


def test_from_mapping_reads_outlet_yaml_values():
    assert RecheckSchedule.from_mapping(None) == RecheckSchedule()
    assert RecheckSchedule.from_mapping({"intervals": "2h,2d", "max_age": "10d"}) == \
        RecheckSchedule((2 * H, 2 * D), 10 * D)
    assert RecheckSchedule.from_mapping({"intervals": ["30m", 3600]}).intervals == \
        (timedelta(minutes=30), H)
    assert not RecheckSchedule.from_mapping(False).enabled
    assert not RecheckSchedule.from_mapping("off").enabled
    with pytest.raises(ScheduleError, match="unknown keys"):
        RecheckSchedule.from_mapping({"interval": "1h"})


def test_next_due_follows_the_intervals_from_the_anchor():
    s = RecheckSchedule()
    # first captured 10 minutes after publication: the 1 h check comes next
    assert s.next_due(T0, T0 + 10 * timedelta(minutes=1)) == T0 + H
    # checked at 1h05: the 1 day check is next; then the 7 day one; then nothing
    assert s.next_due(T0, T0 + H + timedelta(minutes=5)) == T0 + D
    assert s.next_due(T0, T0 + D + H) == T0 + 7 * D
    assert s.next_due(T0, T0 + 7 * D) is None


def test_late_first_capture_skips_checks_already_passed():
    s = RecheckSchedule()
    # discovered 3 days after publication: the 1 h and 1 d checks are pointless
    assert s.next_due(T0, T0 + 3 * D) == T0 + 7 * D
    # discovered a year later: never re-checked
    assert s.next_due(T0, T0 + 365 * D) is None


def test_is_due_catches_up_once_and_respects_max_age():
    s = RecheckSchedule()
    captured = T0 + timedelta(minutes=5)
    assert not s.is_due(T0, captured, T0 + timedelta(minutes=59))
    assert s.is_due(T0, captured, T0 + H)
    # cron was down for 3 days: one overdue check, after which only the 7 d one remains
    assert s.is_due(T0, captured, T0 + 3 * D)
    assert not s.is_due(T0, T0 + 3 * D, T0 + 4 * D)
    assert s.next_due(T0, T0 + 3 * D) == T0 + 7 * D
    # the 7 d check, missed until the article is older than max_age: dropped
    assert not s.is_due(T0, T0 + D + H, T0 + 31 * D)
    assert s.is_due(T0, T0 + D + H, T0 + 29 * D)


def test_intervals_beyond_max_age_are_never_scheduled():
    s = RecheckSchedule.parse("1h,1d,60d", "30d")
    assert s.next_due(T0, T0 + 2 * D) is None


def test_naive_datetimes_are_utc():
    s = RecheckSchedule()
    naive = T0.replace(tzinfo=None)
    assert s.next_due(naive, naive) == T0 + H


def test_anchor_time_prefers_plausible_publication():
    fetched = T0 + 2 * H
    assert anchor_time("2026-03-01T14:00:00+02:00", fetched) == T0  # 12:00 UTC
    assert anchor_time(None, fetched) == fetched
    assert anchor_time("not a date", fetched) == fetched
    # a publication date after the capture is a parse or time-zone error
    assert anchor_time("2026-03-02T00:00:00Z", fetched) == fetched
    assert anchor_time(T0 - D, fetched) == T0 - D


def test_parse_datetime_forms():
    assert parse_datetime("2026-03-01T12:00:00Z") == T0
    assert parse_datetime("2026-03-01T12:00:00") == T0
    assert parse_datetime("2026-03-01") == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_datetime("") is None and parse_datetime(None) is None
    assert parse_datetime("yesterday") is None
