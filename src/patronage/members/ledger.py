"""The points ledger: the one place points move.

Every movement is a :class:`Movement` posted on a write connection by :func:`give` (points to a
member: earning, a bonus, compensation, a positive adjustment, a cancelled redemption) or
:func:`take` (points from a member: a redemption, expiry, a refund, a negative adjustment). Each
becomes a double-entry transfer between two accounts (see
:mod:`patronage.storage.schema_members`), written at most once per ``source_key``.

Integrity rests on three things the database holds, not on the code that calls this module:

* the member's ``points`` account row is locked (``SELECT … FOR UPDATE`` on PostgreSQL, the
  ``BEGIN IMMEDIATE`` write lock on SQLite) before its balance is read, so concurrent
  redemptions against one balance queue up and cannot overspend it;
* a check constraint keeps the cached spendable balance from going below zero;
* the transfer's ``source_key`` is unique, so a replay of the same source is a no-op.

The member accounts' cached balances are updated in the same transaction as the transfer; the
programme's accounts are not cached (every transfer touches one, and a cached total would make
every write wait on one row): :func:`account_balances` sums them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select, update

from patronage.members.lots import Entry
from patronage.messages import N_, UserError
from patronage.storage.schema import users
from patronage.storage.schema_members import (
    MEMBER_ACCOUNT_KINDS,
    PROGRAMME_ACCOUNT_KINDS,
    SHORTFALL_POLICIES,
    point_accounts,
    point_transfers,
)

#: What each kind of movement is, as a member's statement says it.
KIND_NAMES = {
    "earn": N_("points earned"), "bonus": N_("bonus points"),
    "refund": N_("points taken back for a refund"),
    "settle": N_("pending balance settled"), "redeem": N_("reward redeemed"),
    "cancel": N_("redemption cancelled"), "expire": N_("points expired"),
    "adjust": N_("adjustment"), "compensation": N_("case compensation"),
    "write_off": N_("written off"),
}


class NotEnoughPoints(UserError):
    """A member's spendable balance is smaller than what is asked of it."""


@dataclass(frozen=True)
class Movement:
    """One movement of points and what made it.

    ``source_key`` names the source once ("txn:991", "redeem:17", "expire:5:2027-01-01"): a
    second movement with the same key is not written. ``earned_on``/``expires_on`` apply to
    points given to a member (the oldest are spent first). ``base_points``: for a purchase's
    earning, its points before the tier's and the day's multipliers, and for a refund, the share
    of them it takes back (what points-based tiers count; None on every other movement)."""

    kind: str
    points: int
    source_key: str
    occurred_at: datetime
    transaction_id: int | None = None
    rule_id: int | None = None
    redemption_id: int | None = None
    case_id: int | None = None
    response_id: int | None = None
    actor_id: int | None = None
    reason: str | None = None
    earned_on: date | None = None
    expires_on: date | None = None
    base_points: int | None = None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def open_accounts(conn: Connection, member_id: int) -> None:
    """Open a new member's ``points`` and ``owed`` accounts (at enrolment)."""
    conn.execute(insert(point_accounts), [
        {"code": f"m{member_id}:{kind}", "kind": kind, "member_id": member_id, "balance": 0}
        for kind in MEMBER_ACCOUNT_KINDS])


def programme_account(conn: Connection, kind: str) -> int:
    """The id of the programme's account ``kind`` (``issue``, ``redemption`` …)."""
    if kind not in PROGRAMME_ACCOUNT_KINDS:
        raise ValueError(f"programme accounts are {list(PROGRAMME_ACCOUNT_KINDS)}; not {kind!r}")
    return conn.execute(select(point_accounts.c.id).where(point_accounts.c.code == kind)).scalar_one()


def lock_member(conn: Connection, member_id: int) -> dict:
    """Lock the member's accounts for the rest of the transaction and read them:
    ``{"points": (id, balance), "owed": (id, balance)}``."""
    query = (select(point_accounts.c.kind, point_accounts.c.id, point_accounts.c.balance)
             .where(point_accounts.c.member_id == member_id).order_by(point_accounts.c.id))
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    rows = {kind: (account, balance) for kind, account, balance in conn.execute(query)}
    if set(rows) != set(MEMBER_ACCOUNT_KINDS):
        raise UserError(N_("This member has no points account; enrol the customer first."))
    return rows


def posted(conn: Connection, source_key: str) -> bool:
    """Whether a transfer with this source key was written already."""
    return conn.execute(select(point_transfers.c.id)
                        .where(point_transfers.c.source_key == source_key)).first() is not None


def _transfer(conn: Connection, member_id: int, debit: int, credit: int,
              movement: Movement, balances: dict[int, int]) -> int:
    values = {c: getattr(movement, c) for c in (
        "kind", "points", "source_key", "occurred_at", "transaction_id", "rule_id",
        "redemption_id", "case_id", "response_id", "actor_id", "reason", "earned_on",
        "expires_on", "base_points")}
    transfer_id = conn.execute(insert(point_transfers).values(
        debit_account_id=debit, credit_account_id=credit, member_id=member_id,
        created_at=_now(), **values)).inserted_primary_key[0]
    for account, change in ((debit, -movement.points), (credit, movement.points)):
        if account in balances:
            balances[account] += change
            conn.execute(update(point_accounts).where(point_accounts.c.id == account)
                         .values(balance=point_accounts.c.balance + change))
    return transfer_id


def give(conn: Connection, member_id: int, movement: Movement, *, source: str = "issue",
         settle: bool = True) -> int | None:
    """Credit ``movement.points`` to the member from the programme account ``source``; returns
    the transfer id, or None when its source key was posted already.

    A negative pending balance (``owed``) is settled first from what was given (a second
    transfer, kind ``settle``), unless ``settle`` is False."""
    if movement.points <= 0:
        raise ValueError("a movement moves a positive number of points")
    accounts = lock_member(conn, member_id)
    if posted(conn, movement.source_key):
        return None
    (points_id, _), (owed_id, owed) = accounts["points"], accounts["owed"]
    balances = {points_id: accounts["points"][1], owed_id: owed}
    transfer_id = _transfer(conn, member_id, programme_account(conn, source), points_id,
                            movement, balances)
    if settle and owed < 0:
        amount = min(movement.points, -owed)
        _transfer(conn, member_id, points_id, owed_id, replace(
            movement, kind="settle", points=amount, source_key=f"settle:{movement.source_key}",
            earned_on=None, expires_on=None, base_points=None), balances)
    return transfer_id


def take(conn: Connection, member_id: int, movement: Movement, *, to: str,
         shortfall: str | None = None) -> int | None:
    """Debit ``movement.points`` from the member to the programme account ``to``; returns the
    points taken from the spendable balance, or None when the source key was posted already.

    More than the spendable balance raises :class:`NotEnoughPoints` unless ``shortfall`` says
    what to do with the rest: ``"carry"`` leaves it as a negative pending balance (the member's
    ``owed`` account) that future earnings settle, ``"write_off"`` lets the programme bear it
    (a transfer from the ``write_off`` account)."""
    if movement.points <= 0:
        raise ValueError("a movement moves a positive number of points")
    if shortfall is not None and shortfall not in SHORTFALL_POLICIES:
        raise ValueError(f"shortfall is one of {list(SHORTFALL_POLICIES)}; not {shortfall!r}")
    accounts = lock_member(conn, member_id)
    if posted(conn, movement.source_key):
        return None
    (points_id, spendable), (owed_id, owed) = accounts["points"], accounts["owed"]
    balances = {points_id: spendable, owed_id: owed}
    target = programme_account(conn, to)
    if movement.points > spendable and shortfall is None:
        raise NotEnoughPoints(N_("The member has {balance} points; {points} are needed."),
                              balance=spendable, points=movement.points)
    taken = min(movement.points, spendable)
    if taken:
        _transfer(conn, member_id, points_id, target, replace(movement, points=taken),
                  balances)
    rest = movement.points - taken
    if rest:
        debit = owed_id if shortfall == "carry" else programme_account(conn, "write_off")
        kind = movement.kind if shortfall == "carry" else "write_off"
        key = movement.source_key if not taken else f"{movement.source_key}:rest"
        # A refund's base share goes on its first transfer only.
        _transfer(conn, member_id, debit, target, replace(
            movement, kind=kind, points=rest, source_key=key,
            base_points=None if taken else movement.base_points), balances)
    return taken


def balance(conn: Connection, member_id: int) -> dict[str, int]:
    """The member's spendable points and negative pending balance (from the cached balances):
    ``{"points": 420, "owed": -30}``."""
    rows = conn.execute(select(point_accounts.c.kind, point_accounts.c.balance)
                        .where(point_accounts.c.member_id == member_id)).all()
    return {kind: int(value) for kind, value in rows}


def account_balances(engine: Engine) -> dict[str, int]:
    """Every account's balance summed from the transfers (credits minus debits), by account
    code; the balances add up to zero."""
    t = point_transfers
    with engine.connect() as conn:
        credit = dict(conn.execute(select(t.c.credit_account_id, func.sum(t.c.points))
                                   .group_by(t.c.credit_account_id)).all())
        debit = dict(conn.execute(select(t.c.debit_account_id, func.sum(t.c.points))
                                  .group_by(t.c.debit_account_id)).all())
        codes = dict(conn.execute(select(point_accounts.c.id, point_accounts.c.code)).all())
    return {code: int(credit.get(i, 0) or 0) - int(debit.get(i, 0) or 0)
            for i, code in codes.items()}


def check_balances(engine: Engine) -> list[str]:
    """The member accounts whose cached balance differs from the sum of their transfers (an
    empty list when the ledger is whole)."""
    summed = account_balances(engine)
    with engine.connect() as conn:
        cached = conn.execute(select(point_accounts.c.code, point_accounts.c.balance)
                              .where(point_accounts.c.member_id.is_not(None))).all()
    return [code for code, value in cached if int(value) != summed.get(code, 0)]


def ledger_problems(engine: Engine) -> list[str]:
    """Everything wrong with the ledger, in words (an empty list when it is whole): a member
    account whose cached balance differs from the sum of its transfers, accounts that do not
    add up to zero, a negative spendable balance, a positive pending balance."""
    summed = account_balances(engine)
    problems = []
    total = sum(summed.values())
    if total:
        problems.append(f"the accounts add up to {total}, not 0")
    with engine.connect() as conn:
        cached = conn.execute(select(point_accounts.c.code, point_accounts.c.kind,
                                     point_accounts.c.balance)
                              .where(point_accounts.c.member_id.is_not(None))
                              .order_by(point_accounts.c.id)).all()
    for code, kind, value in cached:
        value, expected = int(value), summed.get(code, 0)
        if value != expected:
            problems.append(f"{code}: cached balance {value}, transfers sum to {expected}")
        if kind == "points" and min(value, expected) < 0:
            problems.append(f"{code}: negative spendable balance {min(value, expected)}")
        if kind == "owed" and max(value, expected) > 0:
            problems.append(f"{code}: positive pending balance {max(value, expected)}")
    return problems


def points_accounts(conn: Connection, member_ids) -> dict[int, int]:
    """The spendable account id of each member: ``{member id: account id}``."""
    ids = [int(m) for m in member_ids]
    rows = conn.execute(select(point_accounts.c.member_id, point_accounts.c.id)
                        .where(point_accounts.c.member_id.in_(ids),
                               point_accounts.c.kind == "points")).all()
    return {int(member): int(account) for member, account in rows}


def entries(conn: Connection, member_ids) -> dict[int, list[Entry]]:
    """Each member's transfers as they moved the spendable balance, in the order written, for
    :func:`patronage.members.lots.open_lots` (a credit without an earning day counts as earned
    on the day it happened)."""
    accounts = points_accounts(conn, member_ids)
    found: dict[int, list[Entry]] = {member: [] for member in accounts}
    if not accounts:
        return found
    t = point_transfers.c
    rows = conn.execute(select(t.id, t.member_id, t.debit_account_id, t.credit_account_id,
                               t.points, t.kind, t.occurred_at, t.earned_on, t.expires_on)
                        .where(t.member_id.in_(list(accounts))).order_by(t.id))
    for (id_, member, debit, credit, points, kind, occurred, earned,
         expires) in rows:
        account = accounts[int(member)]
        if account not in (debit, credit):
            continue
        sign = 1 if credit == account else -1
        found[int(member)].append(Entry(int(id_), sign * int(points),
                                        earned or occurred.date(), expires, kind))
    return found


def statement(conn: Connection, member_id: int) -> pd.DataFrame:
    """The member's ledger lines in the order written, with the running spendable and pending
    balances: ``id, occurred_at, kind, points, balance, pending, earned_on, expires_on,
    source_key, reason, by``. ``points`` is the change to the spendable balance (0 for a
    movement that only touched the pending balance, such as a refund's carried rest)."""
    t = point_transfers.c
    accounts = {kind: account for kind, account in conn.execute(
        select(point_accounts.c.kind, point_accounts.c.id)
        .where(point_accounts.c.member_id == member_id))}
    rows = conn.execute(
        select(t.id, t.occurred_at, t.kind, t.points, t.debit_account_id, t.credit_account_id,
               t.earned_on, t.expires_on, t.source_key, t.reason, users.c.email.label("by"))
        .outerjoin(users, users.c.id == t.actor_id)
        .where(t.member_id == member_id).order_by(t.id)).mappings().all()
    lines, spendable, pending = [], 0, 0
    for row in rows:
        change = {accounts.get("points"): 0, accounts.get("owed"): 0}
        for account, sign in ((row["credit_account_id"], 1), (row["debit_account_id"], -1)):
            if account in change:
                change[account] += sign * int(row["points"])
        spendable += change[accounts.get("points")]
        pending += change[accounts.get("owed")]
        lines.append({"id": row["id"], "occurred_at": row["occurred_at"], "kind": row["kind"],
                      "points": change[accounts.get("points")], "balance": spendable,
                      "pending": pending, "earned_on": row["earned_on"],
                      "expires_on": row["expires_on"], "source_key": row["source_key"],
                      "reason": row["reason"], "by": row["by"]})
    columns = ["id", "occurred_at", "kind", "points", "balance", "pending", "earned_on",
               "expires_on", "source_key", "reason", "by"]
    frame = pd.DataFrame(lines, columns=columns)
    for column in ("earned_on", "expires_on", "reason", "by"):  # missing is None, never NaN
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


__all__ = ["KIND_NAMES", "Movement", "NotEnoughPoints", "account_balances", "balance",
           "check_balances", "entries", "give", "ledger_problems", "lock_member",
           "open_accounts", "points_accounts", "posted", "programme_account", "statement",
           "take"]

