"""The case desk's tables: teams, categories, service-level policies, alert and assignment rules,
the case timeline, remedies, escalations, the company's working days and API keys.

They live on the same :data:`~patronage.storage.schema.metadata` as the panel (this module is
imported at the end of :mod:`patronage.storage.schema`), and the ``cases`` table itself stays there.
The timeline is append-only: a database trigger refuses any UPDATE of ``case_events``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)

from patronage.storage.schema_base import Money, _in, metadata

CASE_EVENT_KINDS = ("opened", "assigned", "status", "note", "reply", "field", "remedy",
                    "approval", "sla_warning", "sla_breach", "escalated", "survey_sent",
                    "survey_answer", "reopened")
EVENT_VISIBILITIES = ("internal", "customer")
REMEDY_KINDS = ("apology", "repair", "replacement", "refund", "compensation", "goodwill_points")
REMEDY_STATUSES = ("approved", "pending", "rejected")
ESCALATION_KINDS = ("warning", "breach", "escalation")
ESCALATION_TARGETS = ("owner", "team_lead", "manager")

teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("lead_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("manager_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", DateTime, nullable=False),
)

team_members = Table(
    "team_members",
    metadata,
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    # Round-robin inside a team: the member assigned longest ago (or never) is next.
    Column("last_assigned_at", DateTime),
)

case_categories = Table(
    "case_categories",
    metadata,
    Column("code", String(60), primary_key=True),
    Column("parent_code", String(60), ForeignKey("case_categories.code", ondelete="RESTRICT")),
    Column("name_en", String(100), nullable=False),
    Column("name_zh_hans", String(100), nullable=False),
    Column("name_zh_hant", String(100), nullable=False),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("position", Integer, nullable=False, server_default="0"),
)

sla_policies = Table(
    "sla_policies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    # Which cases it covers; NULL matches any. The most specific active policy wins.
    Column("severity", String(10)),
    Column("category", String(60), ForeignKey("case_categories.code", ondelete="CASCADE")),
    Column("first_response_minutes", Integer, nullable=False),
    Column("resolution_minutes", Integer, nullable=False),
    Column("warn_minutes", Integer, nullable=False, server_default="60"),
    # [{"after_minutes": 0, "notify": "owner"}, {"after_minutes": 240, "notify": "team_lead"}]:
    # business minutes after the resolution target was breached.
    Column("escalation", JSON, nullable=False),
    Column("active", Boolean, nullable=False, server_default=true()),
    CheckConstraint("first_response_minutes > 0 AND resolution_minutes > 0 AND warn_minutes >= 0",
                    name="positive_targets"),
)

case_rules = Table(
    "case_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(60), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("survey_id", Integer, ForeignKey("surveys.id", ondelete="CASCADE")),
    # {"item": "nps", "op": "lte", "value": 6} | {"item": "comment", "contains": ["投诉"]}
    # | {"all": [...]} ; optional {"key_account": true}
    Column("condition", JSON, nullable=False),
    Column("case_type", String(20), nullable=False),
    Column("category", String(60), ForeignKey("case_categories.code", ondelete="SET NULL")),
    Column("severity", String(10), nullable=False, server_default="normal"),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("created_at", DateTime, nullable=False),
    # Responses up to this id have been checked against the rule (the worker's cursor).
    Column("checked_up_to", Integer, nullable=False, server_default="0"),
)

assignment_rules = Table(
    "assignment_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("position", Integer, nullable=False, server_default="0"),
    Column("category", String(60), ForeignKey("case_categories.code", ondelete="CASCADE")),
    Column("region", String(100)),
    Column("key_account", Boolean),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE")),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="CASCADE")),
    Column("active", Boolean, nullable=False, server_default=true()),
    CheckConstraint("team_id IS NOT NULL OR owner_id IS NOT NULL", name="has_target"),
)

case_events = Table(
    "case_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("kind", String(20), nullable=False),
    Column("visibility", String(10), nullable=False, server_default="internal"),
    Column("body", Text),
    Column("changes", JSON),
    CheckConstraint(_in("kind", CASE_EVENT_KINDS), name="kind"),
    CheckConstraint(_in("visibility", EVENT_VISIBILITIES), name="visibility"),
)
Index("ix_case_events_case", case_events.c.case_id, case_events.c.at)

case_remedies = Table(
    "case_remedies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("amount", Money, nullable=False, server_default="0"),
    Column("points", Integer, nullable=False, server_default="0"),
    Column("note", Text),
    Column("status", String(10), nullable=False),
    Column("requested_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("decided_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", DateTime, nullable=False),
    Column("decided_at", DateTime),
    CheckConstraint(_in("kind", REMEDY_KINDS), name="kind"),
    CheckConstraint(_in("status", REMEDY_STATUSES), name="status"),
    CheckConstraint("amount >= 0 AND points >= 0", name="not_negative"),
)
Index("ix_case_remedies_case", case_remedies.c.case_id)

case_escalations = Table(
    "case_escalations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(10), nullable=False),
    # The escalation step (0 for a warning or the breach itself) and the round of the case
    # (a reopened case starts a new round with new timers).
    Column("step", Integer, nullable=False),
    Column("round", Integer, nullable=False),
    Column("notify", String(10)),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("at", DateTime, nullable=False),
    UniqueConstraint("case_id", "kind", "step", "round", name="uq_case_escalations_once"),
    CheckConstraint(_in("kind", ESCALATION_KINDS), name="kind"),
)

business_days = Table(
    "business_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("is_workday", Boolean, nullable=False),
    Column("name", String(100)),
)

worker_cursors = Table(
    "worker_cursors",
    metadata,
    # How far a worker job has read a growing table (e.g. responses checked for case follow-ups).
    Column("name", String(60), primary_key=True),
    Column("position", Integer, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    # SHA-256 of the whole key: the key itself is shown once and never stored.
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("scopes", JSON, nullable=False),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
    Column("last_used_at", DateTime),
)

__all__ = [
    "CASE_EVENT_KINDS", "ESCALATION_KINDS", "ESCALATION_TARGETS", "EVENT_VISIBILITIES",
    "REMEDY_KINDS", "REMEDY_STATUSES", "api_keys", "assignment_rules", "business_days",
    "case_categories", "case_escalations", "case_events", "case_remedies", "case_rules",
    "sla_policies", "team_members", "teams", "worker_cursors",
]
