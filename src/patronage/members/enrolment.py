"""Enrolling customers in the programme: one membership per customer, with a card number.

:func:`enrol_member` is the one way a member is made (on a write connection): it checks the
card number (generated when none is given: the programme's prefix, a running number and a Luhn
check digit, like a bank card), puts the member on the entry tier, opens their points accounts
and records the tier on their history. :func:`enrol` does it for one customer by external id,
:func:`enrol_customers` for a selection of customers (database ids) and :func:`enrol_segment`
for a segment (an RFM segment, the customers' own tier column, a region), each in one
transaction; :func:`import_members` reads a file of members (all or nothing).
:func:`close_membership` and :func:`reopen_membership` close and reopen a membership (a closed
member keeps their points but earns none), with who did it and why on the profile's change
history, and :func:`find_member` finds a member by card number or customer id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.care.profile import record_change
from patronage.cases.inputs import customer_pk, user_id_of
from patronage.members.ledger import open_accounts
from patronage.members.programme import add_months, load_policy, load_tiers
from patronage.messages import N_, Term, UserError
from patronage.storage import write_transaction
from patronage.storage.importing.mapping import ALIASES as PANEL_ALIASES
from patronage.storage.importing.parsing import parse_bool, parse_date
from patronage.storage.importing.report import ImportReport
from patronage.storage.importing.rows import open_rows, write_rows
from patronage.storage.schema import customers
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


#: The most customers one enrolment may take at once.
MAX_ENROL = 50_000
#: Segments a bulk enrolment may name (``KIND:VALUE``), with their names as people read them.
SEGMENT_KINDS = {"rfm": N_("RFM segment"), "tier": N_("customer tier"), "region": N_("region")}
CHANNEL_LIMIT = 50
IMPORT_ALIASES = {
    "customer": PANEL_ALIASES["transactions"]["customer"],
    "card_no": ("card_no", "card", "card number", "card no", "member card", "membership card",
                "卡号", "卡號", "会员卡号", "會員卡號", "会员号", "會員號"),
    "joined_on": ("joined_on", "joined", "join date", "joined on", "enrolled", "enrolment date",
                  "入会日期", "入會日期", "入会时间", "入會時間", "注册日期", "註冊日期"),
    "channel": ("channel", "enrolment channel", "source", "渠道", "入会渠道", "入會渠道",
                "通路", "来源", "來源"),
    "consent": ("consent", "agreed", "terms", "同意", "同意条款", "同意條款", "授权", "授權"),
    "referrer": ("referrer", "referred_by", "referred by", "referrer card", "推荐人",
                 "推薦人", "推荐人卡号", "推薦人卡號"),
}


def _card(value) -> str | None:
    """A card number as typed, checked: digits, 4 to 32 of them (None when empty)."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    if not text.isdigit() or not 4 <= len(text) <= 32:
        raise UserError(N_("The card number {card!r} is not 4 to 32 digits."), card=text[:40])
    return text


def _channel(value) -> str | None:
    text = "" if value is None else str(value).strip()
    if len(text) > CHANNEL_LIMIT:
        raise UserError(N_("The {field} can have at most {maximum} characters."),
                        field=Term(N_("enrolment channel")), maximum=CHANNEL_LIMIT)
    return text or None


def _day(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise UserError(N_("The join date must be a date like 2026-03-31; not {value!r}."),
                        value=str(value)[:40]) from None


def find_member(conn: Connection, key) -> dict:
    """The member row of a card number or, failing that, of a customer id (as the company
    knows it); a clear error when neither is a member."""
    text = str(key or "").strip()
    m = members.c
    row = conn.execute(select(members).where(m.card_no == text)).mappings().first()
    if row is None:
        row = conn.execute(select(members).join(customers, customers.c.id == m.customer_id)
                           .where(customers.c.external_id == text)).mappings().first()
    if row is None:
        raise UserError(N_("There is no member with card number or customer id {key!r}."),
                        key=text[:64])
    return dict(row)


def member_of_customer(conn: Connection, customer_id: int) -> dict | None:
    """The member row of a customer (database id), or None when they are not a member."""
    row = conn.execute(select(members).where(members.c.customer_id == customer_id)
                       ).mappings().first()
    return dict(row) if row else None


@dataclass(frozen=True)
class BulkEnrolment:
    """What a bulk enrolment did: members ``created`` and customers ``existing`` (members
    already, left as they are)."""

    created: int
    existing: int

    @property
    def total(self) -> int:
        return self.created + self.existing


def _customer_ids(customer_ids: Iterable) -> list[int]:
    ids: list[int] = []
    for value in customer_ids or ():
        text = str(value).strip()
        if not text.isdigit():
            raise UserError(N_("{value!r} is not a customer's number; choose customers on a "
                               "list."), value=text[:40])
        ids.append(int(text))
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise UserError(N_("No customer to enrol: the selection or segment is empty."))
    if len(ids) > MAX_ENROL:
        raise UserError(N_("{count} customers are selected; at most {limit} can be enrolled at "
                           "once. Enrol them in parts."), count=len(ids), limit=MAX_ENROL)
    return ids


def enrol_customers(engine: Engine, customer_ids: Iterable, *, joined_on=None,
                    channel: str | None = None, consent: bool = True,
                    actor_id: int | None = None, now: datetime | None = None) -> BulkEnrolment:
    """Enrol each customer of ``customer_ids`` (database ids) with a generated card, all in
    one transaction: a customer who is a member already is left as they are and counted; an
    id of no customer refuses the whole enrolment."""
    ids = _customer_ids(customer_ids)
    now = now or _now()
    joined_on, channel = _day(joined_on), _channel(channel)
    if joined_on is not None and joined_on > now.date() + timedelta(days=1):
        raise UserError(N_("The join date {day} is in the future."), day=joined_on.isoformat())
    created = 0
    with write_transaction(engine) as conn:
        found: set[int] = set()
        for start in range(0, len(ids), 500):
            found |= set(conn.execute(select(customers.c.id).where(
                customers.c.id.in_(ids[start:start + 500]))).scalars())
        missing = [i for i in ids if i not in found]
        if missing:
            raise UserError(N_("There is no customer {customer!r}; check the customer id."),
                            customer=str(missing[0]))
        for customer_id in ids:
            created += enrol_member(conn, customer_id, joined_on=joined_on, channel=channel,
                                    consent=consent, actor_id=actor_id, now=now).created
    return BulkEnrolment(created=created, existing=len(ids) - created)


def segment_customers(engine: Engine, segment: str) -> list[int]:
    """The customers (database ids) of ``segment``, written ``KIND:VALUE``: ``rfm:Champions``
    (an RFM segment of the loyalty analysis), ``tier:gold`` (the customers' own tier column,
    as imported), ``region:East China``."""
    kind, _, value = str(segment or "").partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if kind not in SEGMENT_KINDS or not value:
        raise UserError(N_("Name the segment as KIND:VALUE, where KIND is one of {kinds} "
                           "(e.g. rfm:Champions, tier:gold, region:East China); not {value!r}."),
                        kinds=", ".join(SEGMENT_KINDS), value=str(segment)[:60])
    c = customers.c
    if kind == "rfm":
        from patronage.loyalty.analysis import rfm_table  # the loyalty models load on demand

        scores = rfm_table(engine)
        if value not in set(scores["segment"].dropna()):
            raise UserError(N_("There is no RFM segment {segment!r} among the customers."),
                            segment=value[:40])
        keys = [str(k) for k in scores.index[scores["segment"] == value]]
        with engine.connect() as conn:
            pks = dict(conn.execute(select(c.external_id, c.id)).all())
        return [int(pks[k]) for k in keys if k in pks]
    column = c.tier if kind == "tier" else c.region
    with engine.connect() as conn:
        ids = conn.execute(select(c.id).where(func.lower(column) == value.lower())
                           .order_by(c.id)).scalars().all()
    if not ids:
        raise UserError(N_("No customer has {kind} {value!r}."),
                        kind=Term(SEGMENT_KINDS[kind]), value=value[:60])
    return [int(i) for i in ids]


def enrol_segment(engine: Engine, segment: str, **options) -> BulkEnrolment:
    """Enrol every customer of ``segment`` (see :func:`segment_customers` and
    :func:`enrol_customers`)."""
    return enrol_customers(engine, segment_customers(engine, segment), **options)


#: The field of the profile's change history that closing and reopening write: its values are
#: ``{"status": ..., "reason": ...}`` (JSON).
STATUS_FIELD = "membership"
MAX_REASON = 500


def _set_status(engine: Engine, key, status: str, reason, by, now: datetime | None) -> bool:
    reason = str(reason or "").strip()
    if not reason or len(reason) > MAX_REASON or "\x00" in reason:
        raise UserError(N_("Say why the membership is closed or reopened (up to {limit} "
                           "characters)."), limit=MAX_REASON)
    now = now or _now()
    with write_transaction(engine) as conn:
        member = member_of_customer(conn, key) if isinstance(key, int) else \
            find_member(conn, key)
        if member is None:
            raise UserError(N_("The customer is not a member."))
        actor_id = user_id_of(conn, by)
        if member["status"] == status:
            return False
        conn.execute(update(members).where(members.c.id == member["id"]).values(
            status=status, closed_at=now if status == "closed" else None))
        record_change(conn, member["customer_id"], STATUS_FIELD, {"status": member["status"]},
                      {"status": status, "reason": reason}, by=actor_id, at=now)
    return True


def close_membership(engine: Engine, key, *, reason: str, by: str | int | None = None,
                     now: datetime | None = None) -> bool:
    """Close the membership of a card number or customer id (or, given an int, of that
    customer's database id) for ``reason``, by the staff member ``by`` (e-mail or id); False
    when it was closed already. A closed member keeps their points and history but earns no
    points and is not reviewed until reopened. The profile's change history keeps who closed
    it, when and why."""
    return _set_status(engine, key, "closed", reason, by, now)


def reopen_membership(engine: Engine, key, *, reason: str, by: str | int | None = None,
                      now: datetime | None = None) -> bool:
    """Reopen a closed membership (see :func:`close_membership`); False when it was open."""
    return _set_status(engine, key, "active", reason, by, now)


def import_members(engine: Engine, path, *, dry_run: bool = False, encoding: str | None = None,
                   sheet: str | None = None, date_order: str | None = None,
                   actor_id: int | None = None, now: datetime | None = None) -> ImportReport:
    """``patronage import members FILE``: columns customer (required), card number (generated
    when empty), join date (today when empty), channel, consent (yes/no, yes when empty) and
    the referrer's card number (a member already, or one earlier in the file).

    All or nothing: one bad row and nothing is written, each problem named by line and column.
    A customer who is a member already is left as they are (so a file can be imported again),
    unless the file gives them another card number: that is a problem."""
    now = now or _now()
    rows = open_rows(Path(path), kind="members", aliases=IMPORT_ALIASES, required=("customer",),
                     dry_run=dry_run, encoding=encoding, sheet=sheet)
    if isinstance(rows, ImportReport):
        return rows
    frame, problems = rows.frame, rows.problems
    none = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    days, consent = none, none
    if "joined_on" in frame:
        days, bad, _serials = parse_date(frame["joined_on"], date_order)
        problems.flag(bad.notna(), "joined_on", frame["joined_on"], bad)
    if "consent" in frame:
        consent, bad = parse_bool(frame["consent"])
        problems.flag(bad.notna(), "consent", frame["consent"], bad)
    return write_rows(engine, rows, lambda conn, position, line: _import_row(
        conn, frame.iloc[position], line, days.iloc[position], consent.iloc[position], rows,
        actor_id, now), dry_run=dry_run)


def _import_row(conn, row, line, day, consent, rows, actor_id, now) -> int:
    problems, labels = rows.problems, rows.labels

    def cell(name):
        value = row.get(name)
        return None if value is None or (isinstance(value, float) and pd.isna(value)) \
            else str(value).strip() or None

    def problem(name, message):
        problems.add(line, labels.get(name, name), cell(name), message)
        return 0

    ext = cell("customer")
    pk = conn.execute(select(customers.c.id).where(customers.c.external_id == (ext or ""))
                      ).scalar()
    if pk is None:
        return problem("customer", f"there is no customer {ext!r}; import the customer first "
                                   "or fix the id" if ext else "the customer id is empty")
    try:
        card = _card(cell("card_no"))
    except UserError as exc:
        return problem("card_no", str(exc))
    try:
        channel = _channel(cell("channel"))
    except UserError as exc:
        return problem("channel", str(exc))
    joined = None if day is None or pd.isna(day) else day
    if joined is not None and joined > now.date() + timedelta(days=1):
        return problem("joined_on", "the join date is in the future")
    existing = member_of_customer(conn, pk)
    if existing is not None:
        if card and card != existing["card_no"]:
            return problem("card_no", f"customer {ext} is a member already with card "
                                      f"{existing['card_no']}")
        return 0
    referrer = None
    if cell("referrer"):
        referrer = conn.execute(select(members.c.id).where(
            members.c.card_no == cell("referrer"))).scalar()
        if referrer is None:
            return problem("referrer", f"there is no member with card {cell('referrer')!r}; "
                                       "list the referrer before the members they referred")
    if card and conn.execute(select(members.c.id).where(members.c.card_no == card)).first():
        return problem("card_no", f"the card number {card} belongs to another member")
    enrol_member(conn, int(pk), card_no=card, joined_on=joined, channel=channel,
                 consent=True if consent is None or pd.isna(consent) else bool(consent),
                 referred_by=referrer, actor_id=actor_id, now=now)
    return 1


__all__ = ["BulkEnrolment", "CARD_DIGITS", "Enrolled", "IMPORT_ALIASES", "MAX_ENROL",
           "SEGMENT_KINDS", "STATUS_FIELD", "close_membership", "enrol", "enrol_customers",
           "enrol_member", "enrol_segment", "find_member", "import_members", "luhn_digit", "member_of_card",
           "member_of_customer", "next_card_no", "reopen_membership", "segment_customers",
           "valid_card"]
