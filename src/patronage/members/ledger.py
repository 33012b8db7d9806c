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

from sqlalchemy import Connection, Engine, func, insert, select, update

from patronage.messages import N_, UserError
from patronage.storage.schema_members import (
    MEMBER_ACCOUNT_KINDS,
    PROGRAMME_ACCOUNT_KINDS,
    point_accounts,
    point_transfers,
)


class NotEnoughPoints(UserError):
    """A member's spendable balance is smaller than what is asked of it."""


@dataclass(frozen=True)
class Movement:
    """One movement of points and what made it.

    ``source_key`` names the source once ("txn:991", "redeem:17", "expire:5:2027-01-01"): a
    second movement with the same key is not written. ``earned_on``/``expires_on`` apply to
    points given to a member (the oldest are spent first)."""

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
        "expires_on")}
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
            earned_on=None, expires_on=None), balances)
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
        _transfer(conn, member_id, debit, target, replace(
            movement, kind=kind, points=rest, source_key=key), balances)
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


__all__ = ["Movement", "NotEnoughPoints", "account_balances", "balance", "check_balances",
           "give", "lock_member", "open_accounts", "posted", "programme_account", "take"]

