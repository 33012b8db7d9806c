"""The qualifying value of members for a tier: what they spent as members, or the base points
their purchases earned (before multipliers, less refunds' shares), in the programme's rolling
window (see :mod:`patronage.members.tiers`).

A few members (a worker's round, a batch of reviews) are summed with one query per 500 ids.
Many members at once (the accrual moving the members of a 50,000-purchase chunk up a tier,
chunk after chunk with the same window) are served from **window sums** kept per engine: the
sums of the committed rows (purchases, or earning transfers) of every member, read once and then
brought up to date from the rows written since (rows are only ever added: transfers cannot be
changed, purchases are imported), plus, for the decision at hand only, the rows the caller's
own transaction wrote and has not committed yet. The sums are read on a connection of their own,
so a chunk that is rolled back leaves nothing in them; they are dropped after
:data:`KEEP_SECONDS` or when the window changes.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, case, func, select

from patronage.members.programme import Policy, add_months, company_zone
from patronage.storage.schema import transactions
from patronage.storage.schema_members import members, point_transfers

#: Above this many members, the window sums serve the values (below it, a query per 500 ids).
ALL_AT_ONCE = 2000
#: How long window sums are reused before they are read afresh.
KEEP_SECONDS = 300.0
_IN = 500


@dataclass
class _Sums:
    """Window sums of one engine: ``values`` per member, counting the committed rows with id up
    to ``rows_upto`` of the members with id up to ``members_upto``."""

    key: tuple
    values: dict[int, float]
    rows_upto: int
    members_upto: int
    read_at: float


_SUMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def rows_of(result) -> list[tuple]:
    """A result's rows as plain tuples, fetched at once (quicker than row by row for many)."""
    return list(map(tuple, result.fetchall()))


def _signed_base():
    """A transfer's base points as points-based tiers count them: a purchase's earning adds
    its base points, a refund (or what of it was carried or written off) takes its share back;
    transfers without base points (bonuses, redemptions, adjustments ...) do not count."""
    p = point_transfers.c
    return case((p.kind == "earn", p.base_points), else_=-p.base_points)


def window_start(policy: Policy, on: date) -> date:
    """The first day of the qualification window that ends on ``on``."""
    return add_months(on, -policy.tier_window_months) + timedelta(days=1)


def _sums(conn: Connection, policy: Policy, start: datetime, end: datetime, *,
          ids: list[int] | None = None) -> dict[int, float]:
    """Qualifying sums per member of the rows in the window (of ``ids``: a query per 500),
    summed by the database."""
    if policy.tier_basis == "spend":
        t, m = transactions.c, members.c
        amount = case((t.is_refund, -func.abs(t.amount)), else_=t.amount)
        query = (select(m.id, func.sum(amount)).join(transactions, t.customer_id == m.customer_id)
                 .where(t.occurred_at >= start, t.occurred_at < end, t.occurred_at >= m.joined_on)
                 .group_by(m.id))
        member = m.id
    else:
        p = point_transfers.c
        query = (select(p.member_id, func.sum(_signed_base()))
                 .where(p.base_points.is_not(None), p.occurred_at >= start, p.occurred_at < end)
                 .group_by(p.member_id))
        member = p.member_id
    parts = [ids[i:i + _IN] for i in range(0, len(ids), _IN)] if ids is not None else [None]
    found: dict[int, float] = {}
    for part in parts:
        chosen = query if part is None else query.where(member.in_(part))
        found.update({int(k): float(v or 0) for k, v in conn.execute(chosen)})
    return found


def _delta(conn: Connection, policy: Policy, start: datetime, end: datetime, *,
           rows_after: int, rows_upto: int | None, members_upto: int) -> dict[int, float]:
    """Qualifying sums per member (id up to ``members_upto``) of the rows with id in
    (``rows_after``, ``rows_upto``]: the rows are read by id range (few, and cheap to find)
    and summed here."""
    if policy.tier_basis == "spend":
        t = transactions.c
        amount = case((t.is_refund, -func.abs(t.amount)), else_=t.amount)
        query = select(t.customer_id, t.occurred_at, amount).where(
            t.id > rows_after, t.occurred_at >= start, t.occurred_at < end)
        if rows_upto is not None:
            query = query.where(t.id <= rows_upto)
        rows = pd.DataFrame(rows_of(conn.execute(query)),
                            columns=["customer_id", "occurred_at", "value"])
        if rows.empty:
            return {}
        buyers = sorted(set(rows["customer_id"].astype(int)))
        found = []
        for i in range(0, len(buyers), _IN):
            found += rows_of(conn.execute(
                select(members.c.customer_id, members.c.id, members.c.joined_on).where(
                    members.c.customer_id.in_(buyers[i:i + _IN]),
                    members.c.id <= members_upto)))
        who = pd.DataFrame(found, columns=["customer_id", "member_id", "joined_on"])
        rows = rows.merge(who, on="customer_id")
        rows = rows[pd.to_datetime(rows["occurred_at"]) >= pd.to_datetime(rows["joined_on"])]
    else:
        p = point_transfers.c
        query = select(p.member_id, _signed_base()).where(
            p.id > rows_after, p.base_points.is_not(None), p.occurred_at >= start,
            p.occurred_at < end, p.member_id <= members_upto)
        if rows_upto is not None:
            query = query.where(p.id <= rows_upto)
        rows = pd.DataFrame(rows_of(conn.execute(query)),
                            columns=["member_id", "value"])
    if rows.empty:
        return {}
    summed = rows.groupby("member_id")["value"].sum()
    return {int(k): float(v) for k, v in summed.items()}


def _everyone(conn: Connection, policy: Policy, start: datetime, end: datetime, *,
              rows_upto: int, members_upto: int) -> dict[int, float]:
    """Every member's sum (rows up to ``rows_upto``, members up to ``members_upto``), read the
    cheap way for a whole table: one pass over the rows summed per customer (``+ 0`` keeps
    SQLite from walking an index row by row), the members who joined within the window summed
    apart from the day they joined."""
    if policy.tier_basis != "spend":
        p = point_transfers.c
        who = (p.member_id + 0).label("member")
        query = (select(who, func.sum(_signed_base()))
                 .where(p.base_points.is_not(None), p.occurred_at >= start,
                        p.occurred_at < end, p.id <= rows_upto, p.member_id <= members_upto)
                 .group_by(who))
        return {int(k): float(v or 0) for k, v in conn.execute(query)}
    t, m = transactions.c, members.c
    amount = case((t.is_refund, -func.abs(t.amount)), else_=t.amount)
    buyer = (t.customer_id + 0).label("buyer")
    spent = dict(conn.execute(select(buyer, func.sum(amount)).where(
        t.occurred_at >= start, t.occurred_at < end, t.id <= rows_upto).group_by(buyer)).all())
    before = conn.execute(select(m.id, m.customer_id).where(
        m.id <= members_upto, m.joined_on <= start.date())).all()
    values = {int(member): float(spent.get(customer) or 0) for member, customer in before}
    late = (select(m.id, func.sum(amount)).join(transactions, t.customer_id == m.customer_id)
            .where(m.id <= members_upto, m.joined_on > start.date(), t.id <= rows_upto,
                   t.occurred_at >= m.joined_on, t.occurred_at < end).group_by(m.id))
    values.update({int(k): float(v or 0) for k, v in conn.execute(late)})
    return values


def _cacheable(conn: Connection) -> bool:
    """Whether another connection sees the same database (not an in-memory SQLite one)."""
    url = conn.engine.url
    return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))


def _from_window_sums(conn: Connection, ids: list[int], policy: Policy, start: datetime,
                      end: datetime) -> dict[int, float]:
    engine = conn.engine
    key = (policy.tier_basis, start, end)
    row = transactions.c.id if policy.tier_basis == "spend" else point_transfers.c.id
    with engine.connect() as side:  # committed rows only
        top_rows = int(side.execute(select(func.max(row))).scalar() or 0)
        top_members = int(side.execute(select(func.max(members.c.id))).scalar() or 0)
        sums = _SUMS.get(engine)
        if (sums is None or sums.key != key or top_rows < sums.rows_upto
                or top_members < sums.members_upto
                or time.monotonic() - sums.read_at > KEEP_SECONDS):
            sums = _Sums(key, _everyone(side, policy, start, end, rows_upto=top_rows,
                                        members_upto=top_members),
                         top_rows, top_members, time.monotonic())
            _SUMS[engine] = sums
        elif top_rows > sums.rows_upto:
            for member, value in _delta(side, policy, start, end, rows_after=sums.rows_upto,
                                        rows_upto=top_rows,
                                        members_upto=sums.members_upto).items():
                sums.values[member] = sums.values.get(member, 0.0) + value
            sums.rows_upto = top_rows
    values = {i: sums.values.get(i, 0.0) for i in ids if i <= sums.members_upto}
    # Rows this transaction wrote (or committed since): for this decision only.
    for member, value in _delta(conn, policy, start, end, rows_after=sums.rows_upto,
                                rows_upto=None, members_upto=sums.members_upto).items():
        if member in values:
            values[member] += value
    newer = [i for i in ids if i > sums.members_upto]
    if newer:
        values.update({i: 0.0 for i in newer})
        values.update(_sums(conn, policy, start, end, ids=newer))
    return values


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of ``day`` in the company's time zone, as a stored time (naive UTC)."""
    return datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC) \
        .replace(tzinfo=None)


def qualifying_values(conn: Connection, member_ids, *, on: date, policy: Policy,
                      zone: ZoneInfo | str | None = None) -> pd.Series:
    """The qualifying value (spend or points) of each member in the window ending on ``on``,
    as a Series indexed by member id (0 for a member with nothing in it); ``member_ids``
    None: every member with something in the window. The window's days are the company's
    (``zone``, by default the setting): a purchase at 00:30 on the 5th in Shanghai counts on
    the 5th, though it is stored at 16:30 UTC on the 4th."""
    zone = zone if isinstance(zone, ZoneInfo) else company_zone(zone)
    start = _midnight(window_start(policy, on), zone)
    end = _midnight(on + timedelta(days=1), zone)
    if member_ids is None:
        values = _sums(conn, policy, start, end)
        index = sorted(values)
    else:
        index = sorted({int(i) for i in member_ids})
        if len(index) > ALL_AT_ONCE and _cacheable(conn):
            values = _from_window_sums(conn, index, policy, start, end)
        else:
            values = _sums(conn, policy, start, end, ids=index)
    return pd.Series([values.get(i, 0.0) for i in index], index=pd.Index(index, dtype=int),
                     dtype=float, name="qualify_value")


__all__ = ["ALL_AT_ONCE", "KEEP_SECONDS", "qualifying_values", "rows_of", "window_start"]
