"""The schema's foundation: the one :class:`~sqlalchemy.MetaData` every table of the panel lives
on (with its naming convention for constraints), the allowed values the panel's check constraints
name, and the column helpers the table modules share.

:mod:`patronage.storage.schema` and its table modules (``schema_cases``, ``schema_care``, ...) all
import it, so no table module imports :mod:`~patronage.storage.schema` back;
:mod:`~patronage.storage.schema` re-exports these names for its callers.
"""

from __future__ import annotations

from sqlalchemy import MetaData, Numeric

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: Moments of truth, the allowed ``touchpoints.kind`` values.
TOUCHPOINT_KINDS = (
    "proposal",
    "quote",
    "order",
    "invoice",
    "delivery",
    "installation",
    "training",
    "survey",
    "promotion",
    "payment",
    "inquiry",
    "complaint",
    "maintenance",
    "parts_return",
)
CASE_TYPES = ("complaint", "inquiry", "detractor", "negative_comment")
#: A case's life: new → assigned → in progress ⇄ waiting for the customer → resolved → closed;
#: a resolved or closed case can be reopened (it goes back to assigned, or new without an owner).
CASE_STATUSES = ("new", "assigned", "in_progress", "waiting", "resolved", "closed")
#: Statuses in which a case still needs work (its service-level timers run, except "waiting").
OPEN_CASE_STATUSES = ("new", "assigned", "in_progress", "waiting")
CASE_SEVERITIES = ("low", "normal", "high", "urgent")
CASE_CHANNELS = ("agent", "phone", "email", "web", "import", "api", "survey", "system")
SURVEY_STATUSES = ("draft", "open", "closed")
USER_ROLES = ("admin", "analyst", "agent")
RESPONSE_CHANNELS = ("web", "email", "phone", "paper", "interview", "import")
LANGUAGES = ("en", "zh_Hans", "zh_Hant")
INVITATION_CHANNELS = ("email", "sms", "phone", "link", "paper")
OUTBOX_STATUSES = ("pending", "sent", "failed")
TRIGGER_EVENTS = ("purchase", "case_closed", "touchpoint")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def any_of(column: str, values: tuple[str, ...]) -> str:
    """The check of :func:`_in` as a chain of equalities, for tables written in bulk: SQLite
    evaluates a check's ``IN (…)`` list at a cost of about 18,000 machine instructions per
    written row (a third of a ledger transfer's insert, counted with callgrind), and a chain of
    ten equalities at about 200."""
    return "(" + " OR ".join(f"{column} = '{v}'" for v in values) + ")"


Money = Numeric(14, 2, asdecimal=False)
