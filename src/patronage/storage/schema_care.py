"""Customer care's tables: follow-up rules and tasks with their outcomes, the contact log, the
care calendar's occasions and the greetings sent for them, the SMS outbox, win-back campaigns
with their control groups, and the history of edits to a customer's profile (migration 0006).

They live on the same :data:`~patronage.storage.schema.metadata` as the panel (this module is
imported at the end of :mod:`patronage.storage.schema`). Exactly-once work is kept by unique
constraints: a rule's task per triggering event (``care_tasks.source_key``), a greeting per
customer, occasion and date (``care_greetings``), an imported contact per ``external_id``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)

from patronage.storage.schema_base import Money, _in, metadata

#: What makes a follow-up rule create a task.
CARE_TRIGGERS = ("purchase", "touchpoint", "case_resolved", "visit_due", "alive_drop")
TASK_TYPES = ("call", "visit", "message")
TASK_STATUSES = ("open", "done", "cancelled")
#: What an outcome does to its task: close it, open a case, retry later, or stop calling.
OUTCOME_EFFECTS = ("done", "open_case", "retry", "wrong_number", "do_not_call")
CONTACT_CHANNELS = ("phone", "visit", "sms", "email", "wechat", "letter", "web", "other")
CONTACT_KINDS = ("call", "visit", "message", "greeting", "gift", "note", "survey", "case",
                 "reply", "opt_out")
CONTACT_DIRECTIONS = ("out", "in")
OCCASION_KINDS = ("birthday", "first_purchase", "contract", "festival", "company")
OCCASION_ACTIONS = ("greeting", "task")
MESSAGE_CHANNELS = ("sms", "email")
SMS_STATUSES = ("pending", "sent", "failed")
CAMPAIGN_KINDS = ("win_back", "care")
CAMPAIGN_STATUSES = ("draft", "running", "closed")
CAMPAIGN_GROUPS = ("target", "control")

care_rules = Table(
    "care_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(60), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("trigger", String(20), nullable=False),
    # {"days": 3, "category": "空调"} | {"kind": "installation", "days": 1} | {"days": 2}
    # | {"every_days": 90} | {"below": 0.5, "tiers": ["gold"]}
    Column("params", JSON, nullable=False),
    Column("task_type", String(10), nullable=False, server_default="call"),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="SET NULL")),
    Column("assignee_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    # The account owner (when the customer has one) takes the task before team or assignee.
    Column("to_account_owner", Boolean, nullable=False, server_default=false()),
    # What the agent says, per language, with {name}, {product} ... filled in.
    Column("script_en", Text),
    Column("script_zh_hans", Text),
    Column("script_zh_hant", Text),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("created_at", DateTime, nullable=False),
    # Source rows (transactions, touchpoints, cases) up to this id have been looked at.
    Column("checked_up_to", Integer, nullable=False, server_default="0"),
    Column("last_run_at", DateTime),
    CheckConstraint(_in("trigger", CARE_TRIGGERS), name="trigger"),
    CheckConstraint(_in("task_type", TASK_TYPES), name="task_type"),
)

care_outcomes = Table(
    "care_outcomes",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("name_en", String(100), nullable=False),
    Column("name_zh_hans", String(100), nullable=False),
    Column("name_zh_hant", String(100), nullable=False),
    Column("effect", String(20), nullable=False),
    # Did the call reach the customer (the reach rate counts these)?
    Column("reached", Boolean, nullable=False, server_default=false()),
    # For "retry": try again after this many hours, up to max_attempts in all.
    Column("retry_after_hours", Integer),
    Column("max_attempts", Integer),
    Column("position", Integer, nullable=False, server_default="0"),
    Column("active", Boolean, nullable=False, server_default=true()),
    CheckConstraint(_in("effect", OUTCOME_EFFECTS), name="effect"),
    CheckConstraint("retry_after_hours IS NULL OR retry_after_hours > 0", name="retry_hours"),
    CheckConstraint("max_attempts IS NULL OR max_attempts > 0", name="max_attempts"),
)

care_campaigns = Table(
    "care_campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(60), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(10), nullable=False, server_default="win_back"),
    Column("status", String(10), nullable=False, server_default="draft"),
    Column("offer", Text),
    # How the target group is approached: a task of this type and/or a message on this channel.
    Column("task_type", String(10)),
    Column("channel", String(10)),
    Column("template_en", Text),
    Column("template_zh_hans", Text),
    Column("template_zh_hant", Text),
    # Share of the list held out at random as the control group, and the seed of that draw.
    Column("control_share", Float, nullable=False, server_default="0.2"),
    Column("seed", Integer, nullable=False, server_default="0"),
    Column("measure_days", Integer, nullable=False, server_default="90"),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime),
    CheckConstraint(_in("kind", CAMPAIGN_KINDS), name="kind"),
    CheckConstraint(_in("status", CAMPAIGN_STATUSES), name="status"),
    CheckConstraint("task_type IS NULL OR " + _in("task_type", TASK_TYPES), name="task_type"),
    CheckConstraint("channel IS NULL OR " + _in("channel", MESSAGE_CHANNELS), name="channel"),
    CheckConstraint("control_share >= 0 AND control_share < 1", name="control_share"),
    CheckConstraint("measure_days > 0", name="measure_days"),
)

care_tasks = Table(
    "care_tasks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"),
           nullable=False),
    Column("rule_id", Integer, ForeignKey("care_rules.id", ondelete="SET NULL")),
    # What made the task ("rule:3:transaction:991", "occasion:2:2027-02-06", ...): a task is
    # made once per source, whatever number of workers run.
    Column("source_key", String(160), unique=True),
    Column("type", String(10), nullable=False, server_default="call"),
    Column("subject", String(300), nullable=False),
    Column("script", Text),
    Column("due_at", DateTime, nullable=False),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="SET NULL")),
    Column("assignee_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("status", String(10), nullable=False, server_default="open"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("outcome", String(40), ForeignKey("care_outcomes.code", ondelete="SET NULL")),
    Column("note", Text),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="SET NULL")),
    Column("campaign_id", Integer, ForeignKey("care_campaigns.id", ondelete="SET NULL")),
    Column("gift", String(200)),
    Column("gift_cost", Money),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", DateTime, nullable=False),
    Column("completed_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("completed_at", DateTime),
    CheckConstraint(_in("type", TASK_TYPES), name="type"),
    CheckConstraint(_in("status", TASK_STATUSES), name="status"),
    CheckConstraint("attempts >= 0", name="attempts"),
    CheckConstraint("gift_cost IS NULL OR gift_cost >= 0", name="gift_cost"),
)
Index("ix_care_tasks_status_due", care_tasks.c.status, care_tasks.c.due_at)
Index("ix_care_tasks_assignee", care_tasks.c.assignee_id, care_tasks.c.status)
Index("ix_care_tasks_customer", care_tasks.c.customer_id)

contacts = Table(
    "contacts",
    metadata,
    # The contact log: every call, visit, message, greeting, gift and note, by whoever made it.
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"),
           nullable=False),
    Column("at", DateTime, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("channel", String(10), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("direction", String(3), nullable=False, server_default="out"),
    Column("outcome", String(40)),
    Column("subject", String(300)),
    Column("body", Text),
    Column("cost", Money),
    Column("task_id", Integer, ForeignKey("care_tasks.id", ondelete="SET NULL")),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="SET NULL")),
    Column("campaign_id", Integer, ForeignKey("care_campaigns.id", ondelete="SET NULL")),
    # An imported row's own id, or a message's key: importing or sending twice logs it once.
    Column("external_id", String(100), unique=True),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint(_in("channel", CONTACT_CHANNELS), name="channel"),
    CheckConstraint(_in("kind", CONTACT_KINDS), name="kind"),
    CheckConstraint(_in("direction", CONTACT_DIRECTIONS), name="direction"),
    CheckConstraint("cost IS NULL OR cost >= 0", name="cost"),
)
Index("ix_contacts_customer_at", contacts.c.customer_id, contacts.c.at)

care_occasions = Table(
    "care_occasions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(60), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("name_en", String(100), nullable=False),
    Column("name_zh_hans", String(100), nullable=False),
    Column("name_zh_hant", String(100), nullable=False),
    # A festival on a fixed day each year (month/day, lunar or solar), or a company day on a date.
    Column("month", Integer),
    Column("day", Integer),
    Column("lunar", Boolean, nullable=False, server_default=false()),
    Column("on_date", Date),
    Column("action", String(10), nullable=False, server_default="greeting"),
    Column("channel", String(10)),
    Column("template_en", Text),
    Column("template_zh_hans", Text),
    Column("template_zh_hant", Text),
    Column("task_type", String(10)),
    Column("gift", String(200)),
    Column("gift_cost", Money),
    # Who is greeted: these tiers only (NULL: every customer who consents to care).
    Column("tiers", JSON),
    # Send or schedule this many days ahead of the occasion.
    Column("days_before", Integer, nullable=False, server_default="0"),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint(_in("kind", OCCASION_KINDS), name="kind"),
    CheckConstraint(_in("action", OCCASION_ACTIONS), name="action"),
    CheckConstraint("channel IS NULL OR " + _in("channel", MESSAGE_CHANNELS), name="channel"),
    CheckConstraint("task_type IS NULL OR " + _in("task_type", TASK_TYPES), name="task_type"),
    CheckConstraint("month IS NULL OR (month BETWEEN 1 AND 12)", name="month"),
    CheckConstraint("day IS NULL OR (day BETWEEN 1 AND 31)", name="day"),
    CheckConstraint("days_before >= 0", name="days_before"),
    CheckConstraint("gift_cost IS NULL OR gift_cost >= 0", name="gift_cost"),
)

care_greetings = Table(
    "care_greetings",
    metadata,
    # One row per customer, occasion and date: the customer is never greeted twice for it.
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"),
           nullable=False),
    Column("occasion_id", Integer, ForeignKey("care_occasions.id", ondelete="CASCADE"),
           nullable=False),
    Column("occasion_on", Date, nullable=False),
    Column("channel", String(10)),
    Column("contact_id", Integer, ForeignKey("contacts.id", ondelete="SET NULL")),
    Column("task_id", Integer, ForeignKey("care_tasks.id", ondelete="SET NULL")),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("customer_id", "occasion_id", "occasion_on", name="uq_care_greetings_once"),
)

sms_outbox = Table(
    "sms_outbox",
    metadata,
    # Text messages waiting for the gateway; claimed, sent and marked like the mail outbox.
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="SET NULL")),
    Column("to_number", String(32), nullable=False),
    Column("body", Text, nullable=False),
    # Fixed when the row is written and sent to the gateway: a resend after a crash is known.
    Column("message_key", String(64), nullable=False, unique=True),
    Column("status", String(10), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("gateway_ref", String(100)),
    # Held until this time (the end of the customer's quiet hours).
    Column("not_before", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("claimed_at", DateTime),
    Column("sent_at", DateTime),
    CheckConstraint(_in("status", SMS_STATUSES), name="status"),
)
Index("ix_sms_outbox_status", sms_outbox.c.status, sms_outbox.c.id)

campaign_members = Table(
    "campaign_members",
    metadata,
    Column("campaign_id", Integer, ForeignKey("care_campaigns.id", ondelete="CASCADE"),
           primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"),
           primary_key=True),
    Column("group", String(10), nullable=False),
    Column("task_id", Integer, ForeignKey("care_tasks.id", ondelete="SET NULL")),
    Column("contact_id", Integer, ForeignKey("contacts.id", ondelete="SET NULL")),
    Column("added_at", DateTime, nullable=False),
    CheckConstraint(_in('"group"', CAMPAIGN_GROUPS), name="group"),
)

customer_changes = Table(
    "customer_changes",
    metadata,
    # Who changed which field of a profile, from what to what.
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"),
           nullable=False),
    Column("at", DateTime, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("field", String(60), nullable=False),
    Column("old_value", Text),
    Column("new_value", Text),
)
Index("ix_customer_changes_customer", customer_changes.c.customer_id, customer_changes.c.at)

__all__ = [
    "CAMPAIGN_GROUPS", "CAMPAIGN_KINDS", "CAMPAIGN_STATUSES", "CARE_TRIGGERS", "CONTACT_CHANNELS",
    "CONTACT_DIRECTIONS", "CONTACT_KINDS", "MESSAGE_CHANNELS", "OCCASION_ACTIONS",
    "OCCASION_KINDS", "OUTCOME_EFFECTS", "SMS_STATUSES", "TASK_STATUSES", "TASK_TYPES",
    "campaign_members", "care_campaigns", "care_greetings", "care_occasions", "care_outcomes",
    "care_rules", "care_tasks", "contacts", "customer_changes", "sms_outbox",
]
