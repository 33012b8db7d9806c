"""Spans of clock hours as the settings write them: working hours (``"09:00-12:00, 13:00-18:00"``,
read by :class:`~patronage.cases.calendar.BusinessCalendar`) and care's quiet hours
(``"21:00-08:00"``, read by :mod:`patronage.care.outreach`).

A leaf module (the standard library only), so that :mod:`patronage.settings` checks both values
without importing the services that use them.
"""

from __future__ import annotations

from datetime import datetime, time


def parse_hours(text: str) -> tuple[tuple[time, time], ...]:
    """``"09:00-12:00, 13:00-18:00"`` → ordered, non-overlapping spans; ValueError otherwise."""
    spans = []
    for part in str(text).replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            start, end = (time.fromisoformat(p.strip()) for p in part.replace("–", "-").split("-"))
        except ValueError:
            raise ValueError(f"working hours {part!r}: write them as HH:MM-HH:MM, e.g. "
                             "09:00-18:00 (several spans separated by commas)") from None
        if not start < end:
            raise ValueError(f"working hours {part!r}: the end must be after the start")
        spans.append((start, end))
    if not spans:
        raise ValueError("working hours are empty; write them as HH:MM-HH:MM, e.g. 09:00-18:00")
    spans.sort()
    for (_, end), (start, _) in zip(spans, spans[1:]):
        if start < end:
            raise ValueError(f"working hours {text!r}: the spans overlap")
    return tuple(spans)


def parse_quiet_hours(text: str | None) -> tuple[time, time] | None:
    """``"21:00-08:00"`` → ``(21:00, 08:00)``; empty → None. A span may wrap past midnight."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        start, end = (datetime.strptime(part.strip(), "%H:%M").time()
                      for part in text.split("-"))
    except ValueError:
        raise ValueError(f"quiet hours must read like 21:00-08:00; got {text!r}") from None
    if start == end:
        raise ValueError(f"quiet hours must start and end at different times; got {text!r}")
    return start, end


__all__ = ["parse_hours", "parse_quiet_hours"]
