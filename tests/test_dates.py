"""archive.dates: machine-readable dates strictly, visible dates in the outlet's order."""

from __future__ import annotations

import pytest

from archive.extract.dates import (
    date_from_url,
    find_visible_dates,
    parse_date,
    parse_iso,
    parse_rfc822,
    parse_visible,
    parse_with_formats,
)


@pytest.mark.parametrize(("value", "expected"), [
    ("2020-03-05", "2020-03-05"),
    ("20200305", "2020-03-05"),
    ("2020-03-05T10:15:00+03:00", "2020-03-05T10:15:00+03:00"),
    ("2020-03-05T10:15:00.123456+0300", "2020-03-05T10:15:00+03:00"),
    ("2020-03-05T07:15:00Z", "2020-03-05T07:15:00+00:00"),
    ("2020-03-05 10:15", "2020-03-05T10:15:00"),
    ("  2020-03-05T10:15:00-05:30 ", "2020-03-05T10:15:00-05:30"),
    ("2020-02-30", None), ("2020-13-01", None), ("1850-01-01", None), ("05-03-2020", None),
    ("", None), (None, None), ("yesterday", None),
])
def test_parse_iso(value, expected):
    assert parse_iso(value) == expected


def test_naive_times_get_the_outlet_timezone_dates_stay_dates():
    assert parse_iso("2020-03-05T21:30:00", "Asia/Baghdad") == "2020-03-05T21:30:00+03:00"
    assert parse_iso("2020-03-05", "Asia/Baghdad") == "2020-03-05"
    assert parse_iso("2020-03-05T21:30:00Z", "Asia/Baghdad") == "2020-03-05T21:30:00+00:00"
    assert parse_iso("2020-03-05T21:30:00", "No/Such_Zone") == "2020-03-05T21:30:00"


@pytest.mark.parametrize(("value", "expected"), [
    ("Thu, 05 Mar 2020 18:30:00 +0300", "2020-03-05T18:30:00+03:00"),
    ("Thu, 05 Mar 2020 15:30:00 GMT", "2020-03-05T15:30:00+00:00"),
    ("5 Mar 2020 15:30 -0500", "2020-03-05T15:30:00-05:00"),
    ("Thu, 32 Mar 2020 15:30:00 GMT", None), ("not a date", None), ("", None),
])
def test_parse_rfc822(value, expected):
    assert parse_rfc822(value) == expected


@pytest.mark.parametrize(("text", "order", "expected"), [
    ("05-03-2020", "dmy", "2020-03-05"),        # Rudaw's visible date: 5 March
    ("05-03-2020", "mdy", "2020-05-03"),
    ("05/03/2020", "dmy", "2020-03-05"),
    ("5.3.2020", "dmy", "2020-03-05"),
    ("03/05/2020", "mdy", "2020-03-05"),
    ("20-03-05", "ymd", "2020-03-05"),
    ("2020-03-05", "mdy", "2020-03-05"),        # year first is unambiguous
    ("2020/3/5", "dmy", "2020-03-05"),
    ("31-02-2020", "dmy", None),                # no such day
    ("13/25/2020", "mdy", None),
    ("05-03-20", "dmy", "2020-03-05"),          # two-digit year
    ("Published 05-03-2020 21:30", "dmy", "2020-03-05T21:30:00"),
    ("05.03.2020, 9.30 PM", "dmy", "2020-03-05T21:30:00"),
    ("version 1.2.3 released", "dmy", None),
])
def test_numeric_visible_dates_follow_order(text, order, expected):
    assert parse_visible(text, order) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Thursday, 5 March 2020", "2020-03-05"),
    ("March 5, 2020", "2020-03-05"),
    ("Mar. 5th, 2020 at 9:30 pm", "2020-03-05T21:30:00"),
    ("5th of March 2020", "2020-03-05"),
    ("12. März 2020", "2020-03-12"),
    ("5 mars 2020", "2020-03-05"),
    ("5 Mart 2020", "2020-03-05"),
    ("Sept 31, 2020", None),
])
def test_month_name_dates_need_no_order(text, expected):
    assert parse_visible(text, "mdy") == expected
    assert parse_visible(text, "dmy") == expected


def test_visible_dates_in_reading_order_and_outlet_formats():
    text = "Updated 06-03-2020 ... first published 05-03-2020"
    assert [d for _, d in find_visible_dates(text, "dmy")] == ["2020-03-06", "2020-03-05"]
    assert parse_with_formats("posted 2020.03.05 at 21h30", ["%Y.%m.%d at %Hh%M"],
                              "Asia/Baghdad") == (7, "2020-03-05T21:30:00+03:00")
    assert parse_visible("Yayın: 05 03 2020", "mdy", ["%d %m %Y"]) == "2020-03-05"
    assert parse_with_formats("nothing here", ["%d-%m-%Y"]) is None
    assert parse_with_formats("05-03-2020", ["%Q bad"]) is None  # unknown directive ignored


def test_parse_date_tries_iso_then_rfc822_then_visible():
    assert parse_date("2020-03-05T10:00:00Z") == "2020-03-05T10:00:00+00:00"
    assert parse_date("Thu, 05 Mar 2020 10:00:00 GMT") == "2020-03-05T10:00:00+00:00"
    assert parse_date("05-03-2020") == "2020-03-05"
    assert parse_date("05-03-2020", "mdy") == "2020-05-03"
    assert parse_date(None) is None and parse_date("soon") is None


@pytest.mark.parametrize(("url", "expected"), [
    ("https://e.org/2020/03/05/bridge-plan", "2020-03-05"),
    ("https://e.org/news/2020-03-05-bridge", "2020-03-05"),
    ("https://e.org/english/middleeast/syria/05032020", None),  # day-first: outlet knowledge
    ("https://e.org/2020/13/05/x", None),
])
def test_date_from_url(url, expected):
    assert date_from_url(url) == expected
