"""Service-level time in business hours, against hand-computed expectations.

The 2026 schedule (State Council notice of November 2025, carried by the chinesecalendar package):
春节 is Sunday 15 to Monday 23 February, with Saturdays 14 and 28 February as adjusted working
days; 国庆 is 1 to 7 October, with Sunday 20 September and Saturday 10 October worked.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from patronage.cases.calendar import BusinessCalendar, parse_hours

H = timedelta(hours=1)


@pytest.fixture
def cal():
    return BusinessCalendar("09:00-18:00")


def test_over_a_weekend(cal):
    # Friday 16:00 + 8 h: 2 h on Friday, 6 h on Monday from 09:00.
    assert cal.add(datetime(2026, 11, 27, 16, 0), 8 * H) == datetime(2026, 11, 30, 15, 0)
    assert cal.between(datetime(2026, 11, 27, 16, 0), datetime(2026, 11, 30, 15, 0)) == 8 * H


def test_spring_festival_and_an_adjusted_working_saturday(cal):
    # Friday 13 Feb 17:00 + 4 h: 1 h on Friday, then Saturday 14 Feb is a working day.
    assert cal.add(datetime(2026, 2, 13, 17, 0), 4 * H) == datetime(2026, 2, 14, 12, 0)
    # Saturday 14 Feb 17:00 + 4 h: 1 h that day, the holiday runs to Monday 23 Feb, 3 h on Tuesday.
    assert cal.add(datetime(2026, 2, 14, 17, 0), 4 * H) == datetime(2026, 2, 24, 12, 0)
    assert cal.between(datetime(2026, 2, 14, 17, 0), datetime(2026, 2, 24, 12, 0)) == 4 * H
    assert not cal.is_workday(date(2026, 2, 17)) and cal.is_workday(date(2026, 2, 28))


def test_national_day_week(cal):
    # Wednesday 30 Sep 12:00 + 9 h: 6 h that day, 1-7 Oct off, Thursday 8 Oct 09:00 + 3 h.
    assert cal.add(datetime(2026, 9, 30, 12, 0), 9 * H) == datetime(2026, 10, 8, 12, 0)
    # Friday 9 Oct 17:00 + 2 h: 1 h that day, Saturday 10 Oct is worked: 10:00.
    assert cal.add(datetime(2026, 10, 9, 17, 0), 2 * H) == datetime(2026, 10, 10, 10, 0)


def test_outside_hours_starts_at_the_next_window(cal):
    assert cal.add(datetime(2026, 11, 30, 20, 0), 1 * H) == datetime(2026, 12, 1, 10, 0)
    assert cal.add(datetime(2026, 11, 30, 7, 0), 30 * timedelta(minutes=1)) == \
        datetime(2026, 11, 30, 9, 30)
    assert cal.next_working_moment(datetime(2026, 11, 28, 10, 0)) == datetime(2026, 11, 30, 9, 0)


def test_a_lunch_break_is_not_working_time():
    cal = BusinessCalendar("09:00-12:00, 13:00-18:00")
    assert cal.add(datetime(2026, 12, 1, 11, 0), 2 * H) == datetime(2026, 12, 1, 14, 0)
    assert cal.between(datetime(2026, 12, 1, 11, 0), datetime(2026, 12, 1, 14, 0)) == 2 * H


def test_a_pause_while_waiting_for_the_customer(cal):
    # Opened Monday 09:00 with 8 h to resolve; waiting for the customer from 11:00 (2 h used)
    # until Wednesday 10:00; the remaining 6 h run from then: due Wednesday 16:00.
    opened, paused, resumed = (datetime(2026, 11, 30, 9, 0), datetime(2026, 11, 30, 11, 0),
                               datetime(2026, 12, 2, 10, 0))
    remaining = 8 * H - cal.between(opened, paused)
    assert cal.add(resumed, remaining) == datetime(2026, 12, 2, 16, 0)


def test_company_days_override_the_official_calendar():
    cal = BusinessCalendar("09:00-18:00", overrides={date(2026, 12, 31): False,
                                                    date(2026, 12, 5): True})
    assert cal.add(datetime(2026, 12, 30, 17, 0), 2 * H) == datetime(2027, 1, 4, 10, 0)
    assert cal.is_workday(date(2026, 12, 5))  # a Saturday the company works


def test_a_year_without_an_official_schedule_falls_back_and_says_so(cal):
    assert cal.covers(2026)
    assert not cal.covers(2099)
    assert not cal.is_workday(date(2099, 10, 1)) and not cal.is_workday(date(2099, 1, 3))
    assert cal.is_workday(date(2099, 1, 5))


@pytest.mark.parametrize("text", ["9-18", "18:00-09:00", "09:00-13:00,12:00-18:00", " "])
def test_bad_working_hours_are_explained(text):
    with pytest.raises(ValueError, match="working hours"):
        parse_hours(text)


def test_with_a_time_zone_times_are_stored_in_utc():
    cal = BusinessCalendar("09:00-18:00", timezone="Asia/Shanghai")
    # Friday 27 Nov 16:00 in Shanghai is 08:00 UTC; + 8 h ends Monday 15:00 Shanghai = 07:00 UTC.
    assert cal.add(datetime(2026, 11, 27, 8, 0), 8 * H) == datetime(2026, 11, 30, 7, 0)
    assert cal.between(datetime(2026, 11, 27, 8, 0), datetime(2026, 11, 30, 7, 0)) == 8 * H
    assert cal.next_working_moment(datetime(2026, 11, 28, 2, 0)) == datetime(2026, 11, 30, 1, 0)
    with pytest.raises(ValueError, match="time zone"):
        BusinessCalendar(timezone="Mars/Olympus")
