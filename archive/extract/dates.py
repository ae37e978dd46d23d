"""Date parsing for article pages: machine-readable values and visible dates.

Why not just htmldate: it guesses day/month order on visible dates and reads Rudaw's
``05-03-2020`` as May 3.  Here machine-readable values (ISO 8601, RFC 822) are parsed
strictly, and visible dates only with the order the outlet declares (``dmy``, ``mdy``,
``ymd``) or its explicit ``date_formats`` (strptime syntax).  Results are ISO 8601 strings:
``2020-03-05`` when only the day is known, ``2020-03-05T21:30:00+03:00`` when the time (and
offset) is known; a naive time gets the outlet's IANA timezone when one is configured.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIN_YEAR, MAX_YEAR = 1900, 2100

_ISO_RE = re.compile(
    r"^\s*(?P<y>\d{4})-?(?P<m>\d{2})-?(?P<d>\d{2})"
    r"(?:[T ](?P<H>\d{2}):?(?P<M>\d{2})(?::?(?P<S>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?)?\s*$",
    re.IGNORECASE,
)

MONTHS: dict[str, int] = {}
for _number, _names in enumerate((
    "january jan janvier janv enero ene januar jänner gennaio ocak",
    "february feb febr février fevrier févr febrero februar febbraio şubat subat",
    "march mar mars marzo märz maerz mart",
    "april apr avril abril aprile nisan",
    "may mai mayo maggio mayıs mayis",
    "june jun juin junio juni giugno haziran",
    "july jul juillet juil julio juli luglio temmuz",
    "august aug août aout agosto ağustos agustos",
    "september sep sept septembre septiembre settembre eylül eylul",
    "october oct octobre octubre oktober ottobre ekim",
    "november nov novembre noviembre kasım kasim",
    "december dec décembre decembre déc diciembre dezember dicembre aralık aralik",
), start=1):
    for _name in _names.split():
        MONTHS[_name] = _number

_MONTH_ALT = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_TIME = (r"(?:\s*(?:,|at|-|–)?\s*(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:[:.](?P<S>\d{2}))?"
         r"\s*(?P<ap>[ap]\.?m\.?)?)?")
_NUMERIC_RE = re.compile(
    r"(?<![\d.:/-])(?P<a>\d{1,4})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})(?![\d/-])"
    + _TIME, re.IGNORECASE)
_DAY_MONTH_RE = re.compile(
    r"(?<!\w)(?P<d>\d{1,2})(?:st|nd|rd|th)?\.?\s+(?:of\s+)?(?P<mon>" + _MONTH_ALT
    + r")\.?,?\s+(?P<y>\d{4})(?!\d)" + _TIME, re.IGNORECASE)
_MONTH_DAY_RE = re.compile(
    r"(?<!\w)(?P<mon>" + _MONTH_ALT + r")\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})"
    r"(?!\d)" + _TIME, re.IGNORECASE)


def _zone(name: str | None) -> ZoneInfo | None:
    return _zone_cached(name) if name else None


@lru_cache(maxsize=64)
def _zone_cached(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _format(day: date, hour: int | None = None, minute: int = 0, second: int = 0,
            tzinfo: timezone | ZoneInfo | None = None, tz_name: str | None = None) -> str | None:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        return None
    if hour is None:
        return day.isoformat()
    moment = datetime(day.year, day.month, day.day, hour, minute, second)
    zone = tzinfo or _zone(tz_name)
    if zone is not None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def _make_date(year: int, month: int, day: int) -> date | None:
    if year < 100:
        year += 2000 if year < 70 else 1900
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _offset(text: str | None) -> timezone | None:
    if not text:
        return None
    if text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_iso(value: str | None, tz_name: str | None = None) -> str | None:
    """Strict ISO 8601 (``2020-03-05``, ``2020-03-05T10:15:00+03:00``, ``...Z``, ``20200305``)."""
    if not value or len(value) > 64:
        return None
    match = _ISO_RE.match(value)
    if not match:
        return None
    day = _make_date(int(match["y"]), int(match["m"]), int(match["d"]))
    if day is None:
        return None
    if match["H"] is None:
        return _format(day)
    hour, minute, second = int(match["H"]), int(match["M"]), int(match["S"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        return _format(day)
    return _format(day, hour, minute, second, _offset(match["tz"]), tz_name)


def parse_rfc822(value: str | None) -> str | None:
    """RFC 822/2822 dates as in RSS ``pubDate`` and HTTP (``Thu, 05 Mar 2020 18:30:00 +0300``)."""
    if not value or len(value) > 64 or not re.search(r"\d{4}", value):
        return None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None or not MIN_YEAR <= moment.year <= MAX_YEAR:
        return None
    return moment.isoformat()


def _time_of(match: re.Match) -> tuple[int | None, int, int]:
    if not match["H"]:
        return None, 0, 0
    hour, minute, second = int(match["H"]), int(match["M"]), int(match["S"] or 0)
    meridiem = (match["ap"] or "").lower().replace(".", "")
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or second > 59:
        return None, 0, 0
    return hour, minute, second


def _numeric(match: re.Match, order: str) -> date | None:
    a, b, c = match["a"], match["b"], match["c"]
    if len(a) == 4:  # 2020-03-05 is year-first whatever the outlet's habit
        return _make_date(int(a), int(b), int(c)) if len(c) <= 2 else None
    if len(c) not in (2, 4) or len(a) > 2:
        return None
    if order == "mdy":
        return _make_date(int(c), int(a), int(b))
    if order == "ymd":  # ymd with a short year first: 20-03-05
        return _make_date(int(a), int(b), int(c))
    return _make_date(int(c), int(b), int(a))


_STRPTIME_PIECES = {
    "%d": r"\d{1,2}", "%-d": r"\d{1,2}", "%m": r"\d{1,2}", "%-m": r"\d{1,2}", "%Y": r"\d{4}",
    "%y": r"\d{2}", "%H": r"\d{1,2}", "%I": r"\d{1,2}", "%M": r"\d{2}", "%S": r"\d{2}",
    "%p": r"[AaPp]\.?[Mm]\.?", "%b": r"[^\W\d_]{3,5}\.?", "%B": r"[^\W\d_]{3,12}",
    "%a": r"[^\W\d_]{2,5}\.?", "%A": r"[^\W\d_]{5,12}", "%z": r"[+-]\d{2}:?\d{2}|Z",
    "%Z": r"[A-Z]{2,5}", "%%": "%", "%j": r"\d{1,3}",
}


@lru_cache(maxsize=128)
def _format_regex(fmt: str) -> re.Pattern | None:
    out, i = [], 0
    while i < len(fmt):
        piece = fmt[i:i + 3] if fmt[i:i + 2] == "%-" else fmt[i:i + 2]
        if piece in _STRPTIME_PIECES:
            out.append(f"(?:{_STRPTIME_PIECES[piece]})")
            i += len(piece)
        elif fmt[i] == "%":
            return None
        elif fmt[i].isspace():
            out.append(r"\s+")
            i += 1
        else:
            out.append(re.escape(fmt[i]))
            i += 1
    return re.compile(r"(?<![\w])" + "".join(out) + r"(?![\w])")


def parse_with_formats(text: str, formats: list[str], tz_name: str | None = None
                       ) -> tuple[int, str] | None:
    """First date in ``text`` matching one of the outlet's strptime ``formats``: (pos, iso)."""
    best: tuple[int, str] | None = None
    for fmt in formats:
        pattern = _format_regex(fmt)
        if pattern is None:
            continue
        for match in pattern.finditer(text):
            candidate = re.sub(r"\s+", " ", match.group(0))
            try:
                moment = datetime.strptime(candidate, fmt.replace("%-", "%"))
            except ValueError:
                continue
            has_time = any(d in fmt for d in ("%H", "%I", "%M"))
            iso = _format(moment.date(), moment.hour if has_time else None, moment.minute,
                          moment.second, moment.tzinfo, tz_name)
            if iso and (best is None or match.start() < best[0]):
                best = (match.start(), iso)
            break
    return best


def find_visible_dates(text: str, order: str = "dmy", formats: list[str] | None = None,
                       tz_name: str | None = None) -> list[tuple[int, str]]:
    """Every date written in ``text``, as (position, ISO string), in reading order.

    Numeric dates follow ``order``; dates with a month name are unambiguous.  Outlet
    ``formats`` are tried too.  Times written right after a date (``05-03-2020 21:30``,
    ``March 5, 2020 at 9.30 PM``) are kept.
    """
    if not text:
        return []
    found: dict[int, str] = {}
    for regex in (_DAY_MONTH_RE, _MONTH_DAY_RE):
        for match in regex.finditer(text):
            day = _make_date(int(match["y"]), MONTHS[match["mon"].lower()], int(match["d"]))
            if day:
                iso = _format(day, *_time_of(match), tz_name=tz_name)
                if iso:
                    found.setdefault(match.start(), iso)
    for match in _NUMERIC_RE.finditer(text):
        day = _numeric(match, order)
        if day:
            iso = _format(day, *_time_of(match), tz_name=tz_name)
            if iso:
                found.setdefault(match.start(), iso)
    for fmt in formats or ():
        hit = parse_with_formats(text, [fmt], tz_name)
        if hit:
            found[hit[0]] = hit[1]
    return sorted(found.items())


def parse_visible(text: str | None, order: str = "dmy", formats: list[str] | None = None,
                  tz_name: str | None = None) -> str | None:
    """The first date written in ``text`` (see ``find_visible_dates``), or None."""
    dates = find_visible_dates(text or "", order, formats, tz_name)
    return dates[0][1] if dates else None


def parse_date(value: str | None, order: str = "dmy", formats: list[str] | None = None,
               tz_name: str | None = None) -> str | None:
    """Any single date value: ISO 8601, then RFC 822, then a visible date in ``order``."""
    if not value:
        return None
    value = value.strip()
    return (parse_iso(value, tz_name) or parse_rfc822(value)
            or parse_visible(value, order, formats, tz_name))


def date_from_url(url: str) -> str | None:
    """``/2020/03/05/`` or ``/2020-03-05/`` in a URL path (year first only: unambiguous)."""
    match = re.search(r"/((?:19|20)\d{2})[/-](\d{1,2})[/-](\d{1,2})(?:/|[-_]|$)", url)
    if not match:
        return None
    day = _make_date(int(match[1]), int(match[2]), int(match[3]))
    return _format(day) if day else None
