"""Enrolling customers in the programme: one membership per customer, with a card number.

:func:`enrol_member` is the one way a member is made (on a write connection): it checks the
card number (generated when none is given: the programme's prefix, a running number and a Luhn
check digit, like a bank card), puts the member on the entry tier, opens their points accounts
and records the tier on their history. :func:`enrol` does it for one customer by external id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from patronage.cases.inputs import customer_pk
from patronage.members.ledger import open_accounts
from patronage.members.programme import add_months, load_policy, load_tiers
from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema_members import member_tier_changes, members

#: Digits of the running number inside a generated card number.
CARD_DIGITS = 9


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def luhn_digit(digits: str) -> str:
    """The Luhn check digit of ``digits`` (ISO/IEC 7812-1): "7992739871" → "3"."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            value = value - 9 if value > 9 else value
        total += value
    return str((10 - total % 10) % 10)


def valid_card(card_no: str) -> bool:
    """Whether a card number is digits ending in their Luhn check digit."""
    return card_no.isdigit() and len(card_no) >= 2 and luhn_digit(card_no[:-1]) == card_no[-1]


def next_card_no(conn: Connection, prefix: str) -> str:
    """A new card number: ``prefix``, the next running number, and the check digit."""
    count = conn.execute(select(func.max(members.c.id))).scalar() or 0
    while True:
        count += 1
        body = f"{prefix}{count:0{CARD_DIGITS}d}"
        card = body + luhn_digit(body)
        taken = conn.execute(select(members.c.id).where(members.c.card_no == card)).first()
        if taken is None:
            return card


@dataclass(frozen=True)
class Enrolled:
    member_id: int
    card_no: str
    created: bool


def enrol_member(conn: Connection, customer_id: int, *, card_no: str | None = None,
                 joined_on: date | None = None, channel: str | None = None,
                 consent: bool = True, referred_by: int | None = None,
                 actor_id: int | None = None, now: datetime | None = None) -> Enrolled:
    """Enrol the customer (database id) on the write connection ``conn``; a customer who is a
    member already keeps their membership (``created`` is False)."""
    now = now or _now()
    existing = conn.execute(select(members.c.id, members.c.card_no)
                            .where(members.c.customer_id == customer_id)).first()
    if existing is not None:
        return Enrolled(int(existing[0]), existing[1], False)
    policy = load_policy(conn)
    if card_no:
        card_no = str(card_no).strip()
        if not card_no.isdigit() or not 4 <= len(card_no) <= 32:
            raise UserError(N_("The card number {card!r} is not 4 to 32 digits."),
                            card=card_no[:40])
    else:
        card_no = next_card_no(conn, policy.card_prefix)
    joined_on = joined_on or now.date()
    tiers = load_tiers(conn)
    entry = tiers[0].code if tiers else None
    savepoint = conn.begin_nested()
    try:
        member_id = conn.execute(insert(members).values(
            customer_id=customer_id, card_no=card_no, joined_on=joined_on, channel=channel,
            consent=bool(consent), status="active", tier_code=entry,
            tier_since=joined_on if entry else None,
            review_on=add_months(joined_on, policy.review_months) if entry else None,
            referred_by=referred_by, created_at=now)).inserted_primary_key[0]
    except IntegrityError:
        savepoint.rollback()
        raise UserError(N_("The card number {card} belongs to another member."),
                        card=card_no) from None
    savepoint.commit()
    open_accounts(conn, member_id)
    if entry:
        conn.execute(insert(member_tier_changes).values(
            member_id=member_id, from_tier=None, to_tier=entry, kind="enrol",
            changed_on=joined_on, source_key=f"enrol:{member_id}", actor_id=actor_id,
            created_at=now))
    return Enrolled(int(member_id), card_no, True)


def enrol(engine: Engine, customer: str, **options) -> Enrolled:
    """Enrol the customer with external id ``customer`` (see :func:`enrol_member`)."""
    with write_transaction(engine) as conn:
        return enrol_member(conn, customer_pk(conn, customer), **options)


def member_of_card(conn: Connection, card_no: str) -> int:
    """The member id of a card number; a clear error when there is none."""
    member_id = conn.execute(select(members.c.id)
                             .where(members.c.card_no == str(card_no).strip())).scalar()
    if member_id is None:
        raise UserError(N_("There is no member with card number {card!r}."),
                        card=str(card_no)[:40])
    return int(member_id)


__all__ = ["CARD_DIGITS", "Enrolled", "enrol", "enrol_member", "luhn_digit", "member_of_card",
           "next_card_no", "valid_card"]
