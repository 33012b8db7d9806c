"""Service standards (migration 0014): measurable promises on a touchpoint or the case desk
("80% of calls answered within 20 s", "complaint resolved within 48 h", "invoice correct first
time ≥ 99%"), each with a target share, a period (week or month) and an owner; and the breaches
the worker alerted the owner of. They live on the same :data:`~patronage.storage.schema.metadata`
as the panel; the service is :mod:`patronage.standards`.

A breach is recorded once per standard, period and unit (``""`` for the whole company,
``"site:上海"``, ``"team:..."``, ``"agent:..."``) under a unique constraint, in the same
transaction as its mail, so two workers alert once.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean, CheckConstraint, Column, Date, DateTime, Float, ForeignKey, Index, Integer, String,
    Table, UniqueConstraint, false, true,
)

from patronage.storage.schema_base import TOUCHPOINT_KINDS, _in, metadata

#: What a standard measures: where it reads its events from.
STANDARD_SOURCES = ("touchpoint", "case")
#: The measured quantity: the wait until answered, the handling time, start to end, right the
#: first time (touchpoints); the time to resolve (cases).
STANDARD_METRICS = ("waiting", "handling", "total", "right_first_time", "resolution")
STANDARD_PERIODS = ("week", "month")
CODE_MAX = 60

service_standards = Table(
    "service_standards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(CODE_MAX), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("source", String(12), nullable=False, server_default="touchpoint"),
    Column("touchpoint_kind", String(30)),
    # Only touchpoints of this channel (e.g. "phone"); None: every channel.
    Column("channel", String(50)),
    # Only cases of this category; None: every case.
    Column("case_category", String(60)),
    Column("metric", String(20), nullable=False),
    # The promise: within this many seconds (None for right the first time) ...
    Column("threshold_seconds", Float),
    # ... counted in working hours of the business calendar rather than clock time.
    Column("working_hours", Boolean, nullable=False, server_default=false()),
    # ... for at least this share of the events in each period.
    Column("target", Float, nullable=False),
    Column("period", String(5), nullable=False, server_default="month"),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint(_in("source", STANDARD_SOURCES), name="source"),
    CheckConstraint(_in("metric", STANDARD_METRICS), name="metric"),
    CheckConstraint(_in("period", STANDARD_PERIODS), name="period"),
    CheckConstraint("target > 0 AND target <= 1", name="target"),
    CheckConstraint("(metric = 'right_first_time' AND threshold_seconds IS NULL) OR "
                    "(metric <> 'right_first_time' AND threshold_seconds > 0)",
                    name="threshold"),
    CheckConstraint("(source = 'touchpoint' AND metric <> 'resolution' AND touchpoint_kind "
                    "IN (" + ", ".join(f"'{k}'" for k in TOUCHPOINT_KINDS) + ")) OR "
                    "(source = 'case' AND metric = 'resolution')", name="source_metric"),
)

standard_breaches = Table(
    "standard_breaches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("standard_id", Integer, ForeignKey("service_standards.id", ondelete="CASCADE"),
           nullable=False),
    Column("period_start", Date, nullable=False),
    Column("unit", String(150), nullable=False, server_default=""),
    Column("share", Float, nullable=False),
    Column("n", Integer, nullable=False),
    Column("alerted_at", DateTime, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    CheckConstraint("share >= 0 AND share <= 1", name="share"),
    CheckConstraint("n > 0", name="n"),
    UniqueConstraint("standard_id", "period_start", "unit", name="uq_standard_breaches_period"),
)
Index("ix_standard_breaches_standard", standard_breaches.c.standard_id,
      standard_breaches.c.period_start)

__all__ = ["CODE_MAX", "STANDARD_METRICS", "STANDARD_PERIODS", "STANDARD_SOURCES",
           "service_standards", "standard_breaches"]
