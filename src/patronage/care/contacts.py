"""The contact log: every call, visit, message, greeting, gift and note with a customer.

Tasks, cases, surveys, greetings, campaigns and agents all write here through
:func:`log_contact`, in the transaction of what the contact is about.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from patronage.storage.schema_care import CONTACT_CHANNELS, CONTACT_KINDS, contacts


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def log_contact(conn: Connection, *, customer_id: int, channel: str, kind: str,
                user_id: int | None = None, at: datetime | None = None,
                direction: str = "out", outcome: str | None = None, subject: str | None = None,
                body: str | None = None, cost: float | None = None, task_id: int | None = None,
                case_id: int | None = None, campaign_id: int | None = None,
                external_id: str | None = None, now: datetime | None = None) -> int | None:
    """Add one contact on the open write connection ``conn``; returns its id.

    With ``external_id`` (an imported row's id, a message's key) a second call for the same id
    logs nothing and returns the first contact's id: importing or sending twice logs once.
    """
    if channel not in CONTACT_CHANNELS:
        raise ValueError(f"contact channel must be one of {list(CONTACT_CHANNELS)}; got {channel!r}")
    if kind not in CONTACT_KINDS:
        raise ValueError(f"contact kind must be one of {list(CONTACT_KINDS)}; got {kind!r}")
    now = now or _now()
    values = dict(customer_id=customer_id, at=at or now, user_id=user_id, channel=channel,
                  kind=kind, direction=direction, outcome=outcome,
                  subject=subject[:300] if subject else subject, body=body, cost=cost,
                  task_id=task_id, case_id=case_id, campaign_id=campaign_id,
                  external_id=external_id, created_at=now)
    if external_id is None:
        return conn.execute(insert(contacts).values(**values)).inserted_primary_key[0]
    savepoint = conn.begin_nested()
    try:
        new_id = conn.execute(insert(contacts).values(**values)).inserted_primary_key[0]
    except IntegrityError:
        savepoint.rollback()
        return conn.execute(select(contacts.c.id)
                            .where(contacts.c.external_id == external_id)).scalar_one_or_none()
    savepoint.commit()
    return new_id


__all__ = ["log_contact"]
