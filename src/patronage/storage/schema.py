"""The customer panel schema (SQLAlchemy Core).

Profiles, transactions, touchpoints, survey answers and cases meet here. Constraints (unique
external ids and tokens, foreign keys, allowed values) are declared on the tables so that the
database enforces them, on SQLite and on PostgreSQL alike. Changes go through Alembic migrations
in ``patronage/storage/migrations``; a test checks that the migrations and this module agree.
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

from patronage.storage.schema_base import (
    CASE_CHANNELS,
    CASE_SEVERITIES,
    CASE_STATUSES,
    CASE_TYPES,
    INVITATION_CHANNELS,
    LANGUAGES,
    OPEN_CASE_STATUSES,
    OUTBOX_STATUSES,
    RESPONSE_CHANNELS,
    SURVEY_STATUSES,
    TOUCHPOINT_KINDS,
    TRIGGER_EVENTS,
    USER_ROLES,
    Money,
    _in,
    any_of,
    metadata,
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("external_id", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("phone", String(32)),
    Column("email", String(254)),
    Column("birthday", Date),
    Column("region", String(100)),
    Column("industry", String(100)),
    Column("size", String(50)),
    Column("channel", String(50)),
    Column("tier", String(50)),
    Column("consent_survey", Boolean, nullable=False, server_default=true()),
    Column("consent_marketing", Boolean, nullable=False, server_default=false()),
    Column("consent_care", Boolean, nullable=False, server_default=true()),
    Column("attributes", JSON),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # The staff member who looks after a (key) account: their cases go to them (migration 0005).
    Column("account_owner_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    # Customer care (migration 0006): the language and time zone messages and calls follow,
    # the contract date (an anniversary), a key account's visit plan, contact preferences
    # ({"channel": "sms", "best_time": "evening", "do_not_call": true}) and, for a customer
    # the company has lost, when, why and to which competitor.
    Column("language", String(10)),
    Column("timezone", String(64)),
    Column("contract_on", Date),
    Column("visit_every_days", Integer),
    Column("preferences", JSON),
    Column("lost_on", Date),
    Column("lost_reason", String(100)),
    Column("lost_to", String(200)),
    CheckConstraint("language IS NULL OR " + _in("language", LANGUAGES), name="language"),
    CheckConstraint("visit_every_days IS NULL OR visit_every_days > 0", name="visit_every_days"),
)
Index("ix_customers_name", customers.c.name)

# On PostgreSQL partitioned by month of ``occurred_at`` (migration 0019): the primary key there is
# (id, occurred_at) and the external id's uniqueness a trigger; see patronage.storage.partitions.
transactions = Table(
    "transactions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("external_id", String(64), nullable=False, unique=True),
    Column(
        "customer_id",
        Integer,
        ForeignKey("customers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("occurred_at", DateTime, nullable=False),
    Column("amount", Money, nullable=False),
    Column("cost", Money),
    Column("product", String(200)),
    Column("category", String(100)),
    Column("channel", String(50)),
    Column("is_refund", Boolean, nullable=False, server_default=false()),
    # The external id of the purchase a refund gives money back for (migration 0007): the
    # membership programme takes back the points that purchase earned, pro rata.
    Column("refund_of", String(64)),
    CheckConstraint("is_refund OR amount >= 0", name="refund_sign"),
)
Index("ix_transactions_customer_time", transactions.c.customer_id, transactions.c.occurred_at)

touchpoints = Table(
    "touchpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "customer_id",
        Integer,
        ForeignKey("customers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("occurred_at", DateTime, nullable=False),
    Column("kind", String(30), nullable=False),
    Column("channel", String(50)),
    Column("waiting_seconds", Float),
    Column("handling_seconds", Float),
    # Imported touchpoints (migration 0014): the source's id (re-importing adds nothing), where
    # and by whom the customer was served, when the contact was answered and ended
    # (``occurred_at`` is its start; waiting and handling are derived from the three when the
    # file gives times), and whether it was right the first time (an invoice without correction).
    Column("external_id", String(64), unique=True),
    Column("site", String(100)),
    Column("team", String(100)),
    Column("agent", String(100)),
    Column("answered_at", DateTime),
    Column("ended_at", DateTime),
    Column("right_first_time", Boolean),
    CheckConstraint(_in("kind", TOUCHPOINT_KINDS), name="kind"),
    CheckConstraint("waiting_seconds IS NULL OR waiting_seconds >= 0", name="waiting"),
    CheckConstraint("handling_seconds IS NULL OR handling_seconds >= 0", name="handling"),
)
Index("ix_touchpoints_customer_time", touchpoints.c.customer_id, touchpoints.c.occurred_at)

competitors = Table(
    "competitors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("note", Text),
)

surveys = Table(
    "surveys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("title", String(300), nullable=False),
    Column("language", String(10), nullable=False, server_default="en"),
    Column("status", String(10), nullable=False, server_default="draft"),
    Column("definition", JSON, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    # Token of the anonymous open link (and QR code); NULL when the survey is by invitation only.
    Column("open_token", String(64), unique=True),
    # Days in which a customer is not asked again after an invitation to any survey.
    Column("quiet_days", Integer, nullable=False, server_default="90"),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint(_in("status", SURVEY_STATUSES), name="status"),
    CheckConstraint(_in("language", LANGUAGES), name="language"),
)

waves = Table(
    "waves",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("survey_id", Integer, ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date),
    UniqueConstraint("survey_id", "name", name="uq_waves_survey_name"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("survey_id", Integer, ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
    Column("wave_id", Integer, ForeignKey("waves.id", ondelete="SET NULL")),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE")),
    Column("token", String(64), nullable=False, unique=True),
    Column("channel", String(10), nullable=False, server_default="email"),
    Column("stratum", String(200)),
    Column("design_weight", Float, nullable=False, server_default="1"),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    Column("reminded_at", DateTime),
    Column("responded_at", DateTime),
    # A follow-up survey after a case: its answer is checked against the case (migration 0005).
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="SET NULL", use_alter=True,
                                          name="fk_invitations_case_id_cases")),
    # The touchpoint a transactional survey asks about (migration 0015): its answer is tagged.
    Column("touchpoint_id", Integer, ForeignKey("touchpoints.id", ondelete="SET NULL")),
    CheckConstraint(_in("channel", INVITATION_CHANNELS), name="channel"),
    CheckConstraint("design_weight > 0", name="design_weight_positive"),
)
Index("ix_invitations_customer_created", invitations.c.customer_id, invitations.c.created_at)

#: Mail waiting to be sent. A row is written in the same transaction as what causes it (an
#: invitation, a reminder), and the sender marks it sent after the SMTP server accepted it; the
#: Message-ID is fixed when the row is written, so a resend after a crash is recognisable.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("invitation_id", Integer, ForeignKey("invitations.id", ondelete="CASCADE")),
    Column("to_address", String(254), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text),
    Column("message_id", String(200), nullable=False, unique=True),
    Column("status", String(10), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("claimed_at", DateTime),
    Column("sent_at", DateTime),
    CheckConstraint(_in("status", OUTBOX_STATUSES), name="status"),
)
Index("ix_outbox_status", outbox.c.status, outbox.c.id)

#: Save-and-resume: the answers given so far on a public survey page.
drafts = Table(
    "drafts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resume_key", String(64), nullable=False, unique=True),
    Column("survey_id", Integer, ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
    Column("invitation_id", Integer, ForeignKey("invitations.id", ondelete="CASCADE"),
           unique=True),
    Column("answers", JSON, nullable=False),
    Column("page", Integer, nullable=False, server_default="0"),
    Column("started_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

#: Transactional surveys: invite after an event, with a delay.
survey_triggers = Table(
    "survey_triggers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("survey_id", Integer, ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(20), nullable=False),
    Column("delay_hours", Integer, nullable=False, server_default="24"),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("last_run_at", DateTime),
    # For a case follow-up: answers matching this condition reopen the case ("csat <= 2").
    Column("reopen_condition", JSON),
    # After a touchpoint: only touchpoints of this kind (None: any but a survey; migration 0015).
    Column("touchpoint_kind", String(30)),
    CheckConstraint(_in("event", TRIGGER_EVENTS), name="event"),
    CheckConstraint("touchpoint_kind IS NULL OR event = 'touchpoint'", name="touchpoint_kind"),
    CheckConstraint("delay_hours >= 0", name="delay"),
)

responses = Table(
    "responses",
    metadata,
    Column("id", Integer, primary_key=True),
    # A client-supplied id (import row id or submission UUID): makes submissions idempotent.
    Column("external_id", String(64), nullable=False, unique=True),
    Column("survey_id", Integer, ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
    Column("wave_id", Integer, ForeignKey("waves.id", ondelete="SET NULL")),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="SET NULL")),
    Column(
        "invitation_id",
        Integer,
        ForeignKey("invitations.id", ondelete="SET NULL"),
        unique=True,
    ),
    Column("channel", String(20), nullable=False, server_default="web"),
    Column("language", String(10)),
    Column("started_at", DateTime),
    Column("submitted_at", DateTime, nullable=False),
    Column("weight", Float, nullable=False, server_default="1"),
    # Quality flags with reasons, e.g. {"speeder": "completed in 41 s"}; empty when clean.
    Column("quality_flags", JSON),
    # The touchpoint the answer concerns (migration 0015): from the invitation of a
    # transactional survey or the import's touchpoint column. NULL: the journey view and the
    # touchpoint filter infer it from the customer's touchpoints before answering.
    Column("touchpoint_id", Integer, ForeignKey("touchpoints.id", ondelete="SET NULL")),
    CheckConstraint(_in("channel", RESPONSE_CHANNELS), name="channel"),
    CheckConstraint("weight > 0", name="weight_positive"),
)
Index("ix_responses_survey_wave", responses.c.survey_id, responses.c.wave_id)
Index("ix_responses_customer", responses.c.customer_id)
Index("ix_responses_touchpoint", responses.c.touchpoint_id)

answers = Table(
    "answers",
    metadata,
    Column(
        "response_id",
        Integer,
        ForeignKey("responses.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("item_code", String(100), primary_key=True),
    Column("value_num", Float),
    Column("value_text", Text),
    CheckConstraint("value_num IS NOT NULL OR value_text IS NOT NULL", name="has_value"),
)
# The responses that answered an item, from the index alone (migration 0018).
Index("ix_answers_item_response", answers.c.item_code, answers.c.response_id)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(20), nullable=False),
    Column("status", String(20), nullable=False, server_default="new"),
    Column("subject", String(300), nullable=False),
    Column("description", Text),
    Column("touchpoint_kind", String(30)),
    Column("response_id", Integer, ForeignKey("responses.id", ondelete="SET NULL")),
    Column("opened_at", DateTime, nullable=False),
    Column("closed_at", DateTime),
    # The case desk (migration 0005): where it came from, what it is about, who owns it and
    # its service-level clock. A rule makes at most one case per response (unique below).
    Column("external_ref", String(100), unique=True),
    Column("channel", String(10), nullable=False, server_default="agent"),
    Column("category", String(60), ForeignKey("case_categories.code", ondelete="SET NULL")),
    Column("severity", String(10), nullable=False, server_default="normal"),
    Column("contact", String(200)),
    Column("survey_id", Integer, ForeignKey("surveys.id", ondelete="SET NULL")),
    Column("rule_id", Integer, ForeignKey("case_rules.id", ondelete="SET NULL")),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="SET NULL")),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("sla_policy_id", Integer, ForeignKey("sla_policies.id", ondelete="SET NULL")),
    Column("first_response_due_at", DateTime),
    Column("resolution_due_at", DateTime),
    Column("first_responded_at", DateTime),
    Column("resolved_at", DateTime),
    Column("waiting_since", DateTime),
    Column("round", Integer, nullable=False, server_default="1"),
    Column("updated_at", DateTime),
    # The touchpoint the case is about (migration 0015); its kind is ``touchpoint_kind``.
    Column("touchpoint_id", Integer, ForeignKey("touchpoints.id", ondelete="SET NULL")),
    UniqueConstraint("rule_id", "response_id", name="uq_cases_rule_response"),
    CheckConstraint(_in("type", CASE_TYPES), name="type"),
    CheckConstraint(_in("status", CASE_STATUSES), name="status"),
    CheckConstraint(_in("severity", CASE_SEVERITIES), name="severity"),
    CheckConstraint(_in("channel", CASE_CHANNELS), name="channel"),
    CheckConstraint("closed_at IS NULL OR closed_at >= opened_at", name="closed_after_opened"),
)
Index("ix_cases_customer", cases.c.customer_id)
Index("ix_cases_status", cases.c.status, cases.c.resolution_due_at)
Index("ix_cases_owner", cases.c.owner_id)
Index("ix_cases_team", cases.c.team_id)
Index("ix_cases_touchpoint", cases.c.touchpoint_id)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("display_name", String(200)),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(10), nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("created_at", DateTime, nullable=False),
    Column("last_login_at", DateTime),
    # Set when an admin resets the password: the user must choose a new one at next login.
    Column("must_change_password", Boolean, nullable=False, server_default=false()),
    Column("password_changed_at", DateTime),
    Column("deactivated_at", DateTime),
    CheckConstraint(_in("role", USER_ROLES), name="role"),
)

sessions = Table(
    "sessions",
    metadata,
    # SHA-256 of the random session id held in the cookie: a stolen table leaks no cookies.
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

#: Kinds of category values that carry display labels per language.
LABEL_KINDS = ("region", "industry", "size", "channel", "tier", "product", "category",
               "churn_reason", "competitor", "case_subject", "touchpoint", "site", "team")

category_labels = Table(
    "category_labels",
    metadata,
    # A category value (a region, a tier, a product ...) as the reader of ``language`` sees it.
    Column("kind", String(40), primary_key=True),
    Column("value", String(300), primary_key=True),
    Column("language", String(10), primary_key=True),
    Column("label", String(300), nullable=False),
    CheckConstraint(_in("kind", LABEL_KINDS), name="kind"),
    CheckConstraint(_in("language", LANGUAGES), name="language"),
)

__all__ = [
    "CASE_CHANNELS",
    "CASE_SEVERITIES",
    "CASE_STATUSES",
    "CASE_TYPES",
    "OPEN_CASE_STATUSES",
    "INVITATION_CHANNELS",
    "LABEL_KINDS",
    "LANGUAGES",
    "OUTBOX_STATUSES",
    "RESPONSE_CHANNELS",
    "SURVEY_STATUSES",
    "TOUCHPOINT_KINDS",
    "TRIGGER_EVENTS",
    "USER_ROLES",
    "any_of",
    "answers",
    "cases",
    "category_labels",
    "competitors",
    "customers",
    "drafts",
    "invitations",
    "metadata",
    "outbox",
    "responses",
    "sessions",
    "survey_triggers",
    "surveys",
    "touchpoints",
    "transactions",
    "users",
    "waves",
]

# The table modules below import only schema_base; they are imported here, after the panel's
# tables, so that importing the schema loads every table in the same order as ever.
# The case desk's tables share this metadata (and the cases table above refers to them).
from patronage.storage import schema_cases  # noqa: E402,F401
# Customer care's tables likewise.
from patronage.storage import schema_care  # noqa: E402,F401
# The membership programme's tables likewise.
from patronage.storage import schema_members  # noqa: E402,F401
# Comment analytics' edited themes likewise.
from patronage.storage import schema_comments  # noqa: E402,F401
# Scheduled reports and outbox attachments likewise.
from patronage.storage import schema_reports  # noqa: E402,F401
# Saved views of the dashboard pages likewise.
from patronage.storage import schema_views  # noqa: E402,F401
# Action plans and their history likewise.
from patronage.storage import schema_actions  # noqa: E402,F401
# Service standards and their breaches likewise.
from patronage.storage import schema_standards  # noqa: E402,F401
