"""Reports mailed on a schedule: every day, every week on a weekday, or every month, as PDF,
Excel or HTML attached to a mail in the reader's language, sent through the outbox by the worker.

Exactly once per period: a period is a day, the week starting on the schedule's weekday, or a
calendar month, in the company's time zone (the ``timezone`` setting, ``PATRONAGE_TIMEZONE``).
The worker builds the report outside any transaction, then writes the period's delivery row
(unique per schedule and period) in the same transaction as the outbox mail; a second worker
that built the same report meets the unique key, rolls back and sends nothing. A period whose
start has come is sent in the first round after it, including the period the schedule was
made in.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema_reports import (
    REPORT_EVERY, REPORT_FORMATS, report_deliveries, report_schedules,
)

WEEKDAYS = REPORT_EVERY[1:8]
LANGUAGES = ("zh_Hans", "zh_Hant", "en")
_ADDRESS = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def period_of(every: str, day: date) -> tuple[str, date]:
    """The key and first day of the period holding the company day ``day``: the day itself,
    the last ``every`` weekday on or before it, or the month."""
    if every == "day":
        return day.isoformat(), day
    if every == "month":
        return f"{day.year:04d}-{day.month:02d}", day.replace(day=1)
    start = day - timedelta(days=(day.weekday() - WEEKDAYS.index(every)) % 7)
    return start.isoformat(), start


def company_day(now: datetime, timezone: str) -> date:
    """The company's day at ``now`` (naive UTC)."""
    return now.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()


def recipients_of(text) -> list[str]:
    """The addresses of ``a@b.cn,c@d.cn`` (commas, semicolons or spaces), each checked."""
    parts = [p for p in re.split(r"[,;\s]+", text if isinstance(text, str) else ",".join(text))
             if p]
    if not parts:
        raise UserError(N_("Give at least one address to send the report to (--to a@b.cn)."))
    bad = [p for p in parts if not _ADDRESS.match(p)]
    if bad:
        raise UserError(N_("Not an e-mail address: {addresses}."), addresses=", ".join(bad))
    return list(dict.fromkeys(parts))


def add_schedule(engine: Engine, *, every: str, to, fmt: str = "pdf", survey: str | None = None,
                 language: str = "zh_Hans", now: datetime | None = None) -> int:
    """Store a schedule; returns its id. Everything is checked first (an unknown survey, a PDF
    without a Chinese font on this machine)."""
    from patronage.reporting.report_build import check_survey

    every = every.lower()
    if every not in REPORT_EVERY:
        raise UserError(N_("--every must be day, month or a weekday (monday … sunday); got "
                           "{every!r}."), every=every)
    if fmt not in REPORT_FORMATS:
        raise UserError(N_("Unknown report format {fmt!r}: choose pdf, xlsx or html."), fmt=fmt)
    if language not in LANGUAGES:
        raise UserError(N_("Unknown language {language!r}: choose zh_Hans, zh_Hant or en."),
                        language=language)
    addresses = recipients_of(to)
    check_survey(engine, survey)
    if fmt == "pdf":
        from patronage.reporting.report_pdf import find_font

        find_font()
    with write_transaction(engine) as conn:
        result = conn.execute(insert(report_schedules).values(
            survey=survey, every=every, recipients=addresses, format=fmt, language=language,
            active=True, created_at=now or _now()))
        return int(result.inserted_primary_key[0])


def schedule_table(engine: Engine) -> pd.DataFrame:
    """Every schedule with the last period sent: ``id`` → ``every, survey, format, language,
    to, last_period``."""
    s, d = report_schedules.c, report_deliveries.c
    with engine.connect() as conn:
        rows = conn.execute(select(s.id, s.every, s.survey, s.format, s.language, s.recipients)
                            .order_by(s.id)).all()
        last = dict(conn.execute(select(d.schedule_id, d.period).order_by(d.id)).all())
    return pd.DataFrame([{"id": r.id, "every": r.every, "survey": r.survey or "",
                          "format": r.format, "language": r.language,
                          "to": ", ".join(r.recipients), "last_period": last.get(r.id, "")}
                         for r in rows],
                        columns=["id", "every", "survey", "format", "language", "to",
                                 "last_period"]).set_index("id")


def remove_schedule(engine: Engine, schedule_id: int) -> None:
    """Delete a schedule (and the record of its periods)."""
    with write_transaction(engine) as conn:
        if not conn.execute(delete(report_schedules).where(
                report_schedules.c.id == schedule_id)).rowcount:
            raise UserError(N_("There is no report schedule {id}; 'patronage report schedules' "
                               "lists them."), id=schedule_id)


def _due(engine: Engine, day: date) -> list[tuple]:
    """``(schedule row, period key)`` of every schedule whose current period is not sent."""
    s, d = report_schedules.c, report_deliveries.c
    with engine.connect() as conn:
        schedules = conn.execute(select(report_schedules).where(s.active)).all()
        sent = set(conn.execute(select(d.schedule_id, d.period)).all())
    due = []
    for row in schedules:
        period, _start = period_of(row.every, day)
        if (row.id, period) not in sent:
            due.append((row, period))
    return due


def _mail(row, period: str, data: bytes, gettext) -> dict:
    from patronage.reporting.report_files import MEDIA_TYPES

    _ = gettext
    title = _("Customer satisfaction and loyalty report")
    subject = _("{title}: {survey}, {period}").format(title=title, survey=row.survey or "",
                                                      period=period)
    body = _("The report for {period} is attached ({format}).").format(
        period=period, format=row.format.upper())
    filename = f"report-{row.survey or 'survey'}-{period}.{row.format}"
    return {"subject": subject, "body_text": body,
            "attachments": [(filename, MEDIA_TYPES[row.format].split(";")[0], data)]}


def run_schedules(engine: Engine, settings, *, now: datetime | None = None) -> int:
    """Queue the mail of every schedule whose period has come and is not sent yet; returns the
    number of mails queued. A report that cannot be built does not hold up the others; it is
    raised after them (the worker logs it) and tried again in the next round."""
    from patronage.catalogs import gettext_for
    from patronage.reporting.report_files import build_file
    from patronage.surveys.outbox import enqueue

    now = now or _now()
    day = company_day(now, settings.timezone)
    queued, failure = 0, None
    for row, period in _due(engine, day):
        gettext = gettext_for(row.language)
        try:
            data = build_file(engine, row.format, survey=row.survey, language=row.language,
                              gettext=gettext)
        except Exception as exc:  # noqa: BLE001  (the others still go; raised at the end)
            failure = failure or exc
            continue
        mail = _mail(row, period, data, gettext)
        try:
            with write_transaction(engine) as conn:
                conn.execute(insert(report_deliveries).values(
                    schedule_id=row.id, period=period, mails=len(row.recipients),
                    created_at=now))
                for address in row.recipients:
                    enqueue(conn, kind="report", to_address=address, now=now, **mail)
        except IntegrityError:  # another worker sent this period first
            continue
        queued += len(row.recipients)
    if failure is not None:  # the worker logs it and the next round tries that schedule again
        raise failure
    return queued


__all__ = ["add_schedule", "company_day", "period_of", "recipients_of", "remove_schedule",
           "run_schedules", "schedule_table"]
