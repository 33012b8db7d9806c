"""Action plans (migration 0013): an improvement action made from an analysis (an IPA "concentrate
here" dimension, a key driver, a Kano must-be attribute, a complaint category, a comment theme)
or by hand, with its owner, team, due date, budget and status, the metric it should move on a
survey (an item, a dimension, NPS or CSI; a service standard later), the segment it targets, the
change it aims for and the baseline to measure it against; and its history (status changes,
notes, reminders). They live on the same :data:`~patronage.storage.schema.metadata` as the panel
(imported at the end of :mod:`patronage.storage.schema`); the service is :mod:`patronage.actions`.

A reminder of an overdue action is recorded once per action and due date: the history's unique
``(action_id, kind, due_on)`` (only reminders carry ``due_on``) makes a second worker's attempt
fail, in the same transaction as its mail.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint, Column, Date, DateTime, Float, ForeignKey, Index, Integer, String, Table,
    Text, UniqueConstraint,
)

from patronage.storage.schema_base import Money, _in, metadata

#: Where an action came from.
ACTION_SOURCES = ("ipa", "driver", "kano", "complaint", "theme", "manual")
#: An action's statuses; the first two are open.
ACTION_STATUSES = ("planned", "in_progress", "done", "cancelled")
OPEN_ACTION_STATUSES = ("planned", "in_progress")
#: What an action should move: an item or a dimension (by code), NPS or CSI (no code), a
#: service standard (by its id).
METRIC_KINDS = ("item", "dimension", "nps", "csi", "standard")
#: What the history records.
ACTION_EVENT_KINDS = ("created", "status", "note", "edit", "reminder")
ACTION_TITLE_MAX = 200

actions = Table(
    "actions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(ACTION_TITLE_MAX), nullable=False),
    Column("description", Text),
    Column("source", String(10), nullable=False, server_default="manual"),
    # The source's reference: a dimension or item code, a Kano attribute, a case category, a
    # comment theme's name. None for a manual action.
    Column("source_ref", String(200)),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="SET NULL")),
    Column("due_on", Date, nullable=False),
    Column("budget", Money),
    Column("status", String(12), nullable=False, server_default="planned"),
    Column("survey_id", Integer, ForeignKey("surveys.id", ondelete="SET NULL")),
    Column("metric_kind", String(10), nullable=False),
    Column("metric_code", String(100)),
    # The customers it targets, as the dashboard's segment filters ("region=East+China");
    # None: every customer.
    Column("segment", String(500)),
    # The change of the metric it aims for, in the metric's unit (points of 0–100, NPS points,
    # scale points of an item).
    Column("target_change", Float),
    # The baseline: a wave of the survey, or the responses answered before a day (surveys
    # without waves).
    Column("baseline_wave_id", Integer, ForeignKey("waves.id", ondelete="SET NULL")),
    Column("baseline_until", Date),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    CheckConstraint(f"length(title) BETWEEN 1 AND {ACTION_TITLE_MAX}", name="title_length"),
    CheckConstraint(_in("source", ACTION_SOURCES), name="source"),
    CheckConstraint("source = 'manual' OR source_ref IS NOT NULL", name="source_ref"),
    CheckConstraint(_in("status", ACTION_STATUSES), name="status"),
    CheckConstraint(_in("metric_kind", METRIC_KINDS), name="metric_kind"),
    CheckConstraint("metric_kind IN ('nps', 'csi') OR metric_code IS NOT NULL",
                    name="metric_code"),
    CheckConstraint("budget IS NULL OR budget >= 0", name="budget"),
    CheckConstraint("updated_at >= created_at", name="updated_after_created"),
)
Index("ix_actions_status_due", actions.c.status, actions.c.due_on)
Index("ix_actions_owner", actions.c.owner_id)

action_events = Table(
    "action_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("action_id", Integer, ForeignKey("actions.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("status_from", String(12)),
    Column("status_to", String(12)),
    Column("note", Text),
    # The due date a reminder was about (reminders only): one reminder per action and due date.
    Column("due_on", Date),
    UniqueConstraint("action_id", "kind", "due_on", name="uq_action_events_reminder"),
    CheckConstraint(_in("kind", ACTION_EVENT_KINDS), name="kind"),
    CheckConstraint("kind <> 'status' OR status_to IS NOT NULL", name="status_to"),
    CheckConstraint("(kind = 'reminder' AND due_on IS NOT NULL) OR "
                    "(kind <> 'reminder' AND due_on IS NULL)", name="reminder_due"),
)
Index("ix_action_events_action", action_events.c.action_id, action_events.c.at)

__all__ = ["ACTION_EVENT_KINDS", "ACTION_SOURCES", "ACTION_STATUSES", "ACTION_TITLE_MAX",
           "METRIC_KINDS", "OPEN_ACTION_STATUSES", "action_events", "actions"]
