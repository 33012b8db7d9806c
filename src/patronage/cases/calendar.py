"""Business time for service levels: working hours on working days, in mainland China's calendar.

Which days are working days comes, in this order, from

1. the company's own calendar (a day marked working or not, e.g. a company holiday or the
   official schedule of a year the calendar package does not know yet),
2. the ``chinesecalendar`` package, which carries the State Council's yearly schedule: public
   holidays (春节, 清明, 劳动节, 端午, 中秋, 国庆, 元旦) and the adjusted working days (调休) that
   make up for them, such as Saturday 14 February 2026,
3. for a year the package does not cover: Monday to Friday except 1 January, 1-3 May and 1-3
   October. :meth:`BusinessCalendar.covers` says whether a year is known, so a page can ask an
   admin to enter the new schedule.

Working hours are one or more spans of a working day (``09:00-12:00, 13:00-18:00``) in the
company's time zone. With ``timezone`` set, times going in and out are naive UTC, like every
timestamp the panel stores, and the calendar works in local time in between; without it they are
taken as local times.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

from patronage.hours import parse_hours

DEFAULT_HOURS = "09:00-18:00"
#: Days off when the official schedule of a year is not known yet (元旦, 劳动节, 国庆 core days).
FALLBACK_HOLIDAYS = ((1, 1), (5, 1), (5, 2), (5, 3), (10, 1), (10, 2), (10, 3))
_MAX_DAYS = 3660  # how far a computation may walk before the calendar is called broken


class BusinessCalendar:
    """Working days and hours; adds and measures business time.

    >>> cal = BusinessCalendar("09:00-18:00")
    >>> cal.add(datetime(2026, 2, 13, 17, 0), timedelta(hours=4))   # over the Spring Festival
    datetime.datetime(2026, 2, 14, 12, 0)
    """

    def __init__(self, hours: str = DEFAULT_HOURS, overrides: Mapping[date, bool] | None = None,
                 timezone: str | None = None):
        self.hours = hours
        self.spans_ = parse_hours(hours)
        self.overrides = dict(overrides or {})
        self.timezone = timezone
        try:
            self.zone_ = ZoneInfo(timezone) if timezone else None
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r}; use a name such as "
                             "Asia/Shanghai") from None

    def _local(self, moment: datetime) -> datetime:
        if self.zone_ is None:
            return moment
        return moment.replace(tzinfo=UTC).astimezone(self.zone_).replace(tzinfo=None)

    def _stored(self, moment: datetime) -> datetime:
        if self.zone_ is None:
            return moment
        return moment.replace(tzinfo=self.zone_).astimezone(UTC).replace(tzinfo=None)

    @staticmethod
    def covers(year: int) -> bool:
        """Whether the official schedule of ``year`` is known to the calendar package."""
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return bool(self.overrides[day])
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            return day.weekday() < 5 and (day.month, day.day) not in FALLBACK_HOLIDAYS

    def _windows(self, start: datetime) -> Iterable[tuple[datetime, datetime]]:
        """Working windows ending after ``start``, in order (the first may begin before it)."""
        day = start.date()
        for _ in range(_MAX_DAYS):
            if self.is_workday(day):
                for a, b in self.spans_:
                    window = (datetime.combine(day, a), datetime.combine(day, b))
                    if window[1] > start:
                        yield window
            day += timedelta(days=1)
        raise ValueError("no working time within ten years; check the company calendar")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of working time after ``start``."""
        return self._stored(self._add(self._local(start), duration))

    def _add(self, start: datetime, duration: timedelta) -> datetime:
        if duration < timedelta(0):
            raise ValueError("a service-level target cannot be negative")
        left = duration
        for a, b in self._windows(start):
            begin = max(a, start)
            if begin + left <= b:
                if left == timedelta(0) and begin == b:
                    continue
                return begin + left
            left -= b - begin
        raise AssertionError("unreachable")  # _windows raises first

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from ``start`` to ``end`` (zero when ``end`` is not after ``start``)."""
        start, end = self._local(start), self._local(end)
        total = timedelta(0)
        if end <= start:
            return total
        for a, b in self._windows(start):
            if a >= end:
                break
            total += min(b, end) - max(a, start)
        return total

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself in working hours, else the start of the next working window."""
        local = self._local(moment)
        a, _ = next(iter(self._windows(local)))
        return self._stored(max(a, local))


__all__ = ["DEFAULT_HOURS", "FALLBACK_HOLIDAYS", "BusinessCalendar", "parse_hours"]
