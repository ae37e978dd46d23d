"""When to look at an article again: the edit-tracking re-check schedule.

News articles get corrected, updated and retitled in the hours and days after they go
up, then settle.  So a young article is re-fetched at fixed ages (by default 1 hour,
1 day and 7 days after it was published) and never again once it is older than
``max_age``.  Unchanged content becomes a revisit record; changed content becomes a new
corpus version.

The schedule is *stateless*: whether a check is due follows from two instants the state
store keeps for every article, its **anchor** (when it was published, or first seen when
the publication date is unknown or implausible) and its **last check** (the last time we
fetched it, as a full capture or a re-check).  A check at age ``a`` is due when no fetch
happened since the article reached age ``a``.  Because nothing else is stored, changing
the intervals in the outlet file takes effect on the next run for every article, and a
run that was skipped (cron down for two days) simply does the overdue check once instead
of catching up several.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_INTERVALS = "1h,1d,7d"
DEFAULT_MAX_AGE = "30d"

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.IGNORECASE)


class ScheduleError(ValueError):
    """An unparseable duration or an inconsistent schedule (message says which part)."""


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """``"90m"``, ``"1h30m"``, ``"2d"``, ``"1w"`` or a number of seconds -> timedelta."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, bool):
        raise ScheduleError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        return timedelta(seconds=float(text))
    raw = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        return timedelta(seconds=float(raw))
    compact = raw.replace(" ", "")
    parts = _PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts).lower() != compact.lower():
        raise ScheduleError(f"not a duration: {text!r} (use e.g. 30m, 1h, 1d, 7d, 2w)")
    seconds = sum(float(number) * _UNITS[unit.lower()] for number, unit in parts)
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling of ``value`` in the units parse_duration reads."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def _aware(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the crawler stores UTC everywhere)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_datetime(value: str | datetime | None) -> datetime | None:
    """An ISO 8601 string (``Z`` allowed) or datetime -> aware datetime; None if unusable."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return _aware(value)
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return _aware(datetime.fromisoformat(text))
    except ValueError:
        return None


def anchor_time(published: str | datetime | None, first_fetched: datetime) -> datetime:
    """The instant an article's age counts from: publication, else first capture.

    A publication date later than the first capture is a page or parser error (or a
    time-zone slip); trusting it would postpone every re-check, so the capture wins.
    """
    first = _aware(first_fetched)
    when = parse_datetime(published)
    if when is None or when > first:
        return first
    return when


@dataclass(frozen=True)
class RecheckSchedule:
    """Re-check ages (ascending, each after the anchor) and the age after which to stop.

    An empty ``intervals`` list disables edit tracking.
    """

    intervals: tuple[timedelta, ...] = field(
        default_factory=lambda: (timedelta(hours=1), timedelta(days=1), timedelta(days=7)))
    max_age: timedelta = timedelta(days=30)

    def __post_init__(self) -> None:
        intervals = tuple(parse_duration(i) for i in self.intervals)
        object.__setattr__(self, "intervals", intervals)
        object.__setattr__(self, "max_age", parse_duration(self.max_age))
        if any(i <= timedelta(0) for i in intervals):
            raise ScheduleError("re-check intervals must be positive")
        if any(b <= a for a, b in zip(intervals, intervals[1:], strict=False)):
            raise ScheduleError("re-check intervals must be strictly increasing, e.g. 1h,1d,7d")
        if self.max_age < timedelta(0):
            raise ScheduleError("max_age must not be negative")

    # ---- construction ------------------------------------------------------------------

    @classmethod
    def parse(cls, intervals: str | Iterable[Any] = DEFAULT_INTERVALS,
              max_age: str | timedelta | int | float = DEFAULT_MAX_AGE) -> RecheckSchedule:
        """From ``"1h,1d,7d"`` (or a list of durations) and ``"30d"``; ``""``/"off" disables."""
        if isinstance(intervals, str):
            text = intervals.strip()
            items: list[Any] = [] if text.lower() in ("", "off", "none", "no") else [
                part for part in text.split(",") if part.strip()]
        else:
            items = list(intervals)
        return cls(intervals=tuple(parse_duration(i) for i in items),
                   max_age=parse_duration(max_age))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | str | None) -> RecheckSchedule:
        """From an outlet-file value such as ``{intervals: "1h,1d,7d", max_age: 30d}``.

        Outlets put it under the ``recheck`` key (it lands in ``OutletConfig.extra``);
        ``recheck: off`` disables, a missing key means the defaults.
        """
        if data is None:
            return cls.parse()
        if data is False:
            return cls.parse("")
        if isinstance(data, str):
            return cls.parse(data)
        if not isinstance(data, Mapping):
            raise ScheduleError(f"recheck: expected a mapping or a string, got {data!r}")
        unknown = set(data) - {"intervals", "max_age"}
        if unknown:
            raise ScheduleError(f"recheck: unknown keys {sorted(unknown)}")
        return cls.parse(data.get("intervals", DEFAULT_INTERVALS),
                         data.get("max_age", DEFAULT_MAX_AGE))

    def describe(self) -> str:
        """``"1h,1d,7d within 30d"``: for logs and the run report."""
        if not self.enabled:
            return "off"
        return (",".join(format_duration(i) for i in self.intervals)
                + f" within {format_duration(self.max_age)}")

    # ---- decisions ---------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return bool(self.intervals) and any(i <= self.max_age for i in self.intervals)

    def next_due(self, anchor: datetime, last_checked: datetime) -> datetime | None:
        """When the next re-check falls due, or None when the article is done.

        The next check is the first scheduled age the article reached *after* its last
        fetch; ages beyond ``max_age`` are never scheduled.
        """
        anchor, last_checked = _aware(anchor), _aware(last_checked)
        for interval in self.intervals:
            if interval > self.max_age:
                return None
            due = anchor + interval
            if due > last_checked:
                return due
        return None

    def is_due(self, anchor: datetime, last_checked: datetime, now: datetime) -> bool:
        """True when a re-check is due at ``now`` and the article is still young enough."""
        now = _aware(now)
        if now - _aware(anchor) > self.max_age:
            return False
        due = self.next_due(anchor, last_checked)
        return due is not None and due <= now

    def young_since(self, now: datetime) -> datetime:
        """Articles anchored before this instant are too old to re-check at ``now``."""
        return _aware(now) - self.max_age
