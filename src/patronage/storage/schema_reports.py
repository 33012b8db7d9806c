"""Scheduled reports' tables (migration 0011): the schedules, the periods already sent (one row
per schedule and period, written in the same transaction as the mail, so a period is sent
exactly once whatever the number of workers), and files attached to outbox mail. They live on
the same :data:`~patronage.storage.schema.metadata` as the panel (imported at the end of
:mod:`patronage.storage.schema`).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON, Boolean, CheckConstraint, Column, DateTime, ForeignKey, Integer, LargeBinary, String,
    Table, UniqueConstraint, true,
)

from patronage.storage.schema_base import metadata

#: How often a schedule sends: every day, every week on a weekday, every month (on the 1st).
REPORT_EVERY = ("day", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                "sunday", "month")
REPORT_FORMATS = ("pdf", "xlsx", "html")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


report_schedules = Table(
    "report_schedules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("survey", String(60)),  # NULL: the survey with the most responses when it is built
    Column("every", String(10), nullable=False),
    # The recipients' addresses, a JSON list of strings.
    Column("recipients", JSON, nullable=False),
    Column("format", String(10), nullable=False),
    Column("language", String(10), nullable=False),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint(_in("every", REPORT_EVERY), name="every"),
    CheckConstraint(_in("format", REPORT_FORMATS), name="format"),
)

report_deliveries = Table(
    "report_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("schedule_id", Integer, ForeignKey("report_schedules.id", ondelete="CASCADE"),
           nullable=False),
    # The period's key in the company's time zone: 2026-12-07 (a day or week's first day) or
    # 2026-12 (a month).
    Column("period", String(10), nullable=False),
    Column("mails", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("schedule_id", "period"),
)

outbox_attachments = Table(
    "outbox_attachments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("filename", String(200), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("content", LargeBinary, nullable=False),
)

__all__ = ["REPORT_EVERY", "REPORT_FORMATS", "outbox_attachments", "report_deliveries",
           "report_schedules"]
