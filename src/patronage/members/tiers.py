"""Tiers (VIP cards): qualification, upgrades at once, reviews with a grace period, and a
manual change by an admin.

A member qualifies for a tier by their **qualifying value** in a rolling window of the
programme's ``tier_window_months`` months ending on a day (the window of 12 months ending on
30 June 2026 runs from 1 July 2025 to 30 June 2026), by the programme's ``tier_basis``:

* ``spend``: what the customer spent as a member (purchases on or after the day they joined,
  less refunds) in the window;
* ``points``: the base points their purchases earned in the window (``base_points`` of the
  ledger's transfers: an ``earn`` adds them, a refund or other kind carrying them subtracts;
  see :mod:`patronage.members.qualifying`), before tier, member-day and birthday multipliers;
  bonuses, compensation and adjustments do not qualify.

The best tier a member qualifies for is the active tier of highest rank whose
``qualify_value`` the value reaches (the lowest active tier when none is reached).

* :func:`upgrade_now` moves members up at once (the accrual calls it for the members who
  earned): the new tier, ``tier_since`` that day, the next review ``review_months`` later, any
  grace period ended, and the tier's gift rewards given.
* :func:`run_reviews` (the worker, each round) reviews members whose review day has come: one
  who still qualifies keeps the tier until the next review; one who falls short keeps it for
  ``grace_days`` (a grace period), and at its end moves down to the best tier they then
  qualify for (or keeps it, when they qualify again).
* :func:`set_tier` is an admin's change, with a reason.

Every decision is a row of ``member_tier_changes`` with a unique source key
(``upgrade:<member>:<tier>:<day>``, ``review:<member>:<review day>``,
``grace:<member>:<review day>``, ``downgrade:<member>:<grace end>``), and the member row is
changed only when it is still as it was read (``WHERE review_on = …``), so two workers running
the reviews at once, or one running them twice on a day, decide each member once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, and_, insert, or_, select, update

from patronage.members import qualifying
from patronage.members.programme import (
    Policy,
    Tier,
    add_months,
    company_today,
    load_policy,
    load_tiers,
)
from patronage.members.qualifying import rows_of, window_start
from patronage.members.rewards import give_free
from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema_members import member_tier_changes, members

#: Members decided per write transaction by the reviews.
BATCH = 2000


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def qualifying_values(conn: Connection, member_ids: Iterable[int] | None, *, on: date,
                      policy: Policy | None = None, zone=None) -> pd.Series:
    """The qualifying value (spend, or base points: what purchases earned before multipliers,
    less refunds' shares; see :mod:`patronage.members.qualifying`) of each member in the window
    ending on ``on``, as a Series indexed by member id (0 for a member with nothing in it);
    ``member_ids`` None: every member with something in the window; the window's days are
    the company's (``zone``, by default the setting)."""
    on = on.date() if isinstance(on, datetime) else on
    return qualifying.qualifying_values(conn, member_ids, on=on,
                                        policy=policy or load_policy(conn), zone=zone)


def best_tier(tiers: list[Tier], value: float) -> Tier | None:
    """The active tier of highest rank that ``value`` reaches (the lowest when none is)."""
    active = [t for t in tiers if t.active]
    if not active:
        return None
    reached = [t for t in active if value >= t.qualify_value]
    return max(reached, key=lambda t: t.rank) if reached else min(active, key=lambda t: t.rank)


def _insert_change(conn: Connection, **values) -> int | None:
    """A row of the tier history, once per source key (None when written already)."""
    key = values["source_key"]
    found = conn.execute(select(member_tier_changes.c.id)
                         .where(member_tier_changes.c.source_key == key)).first()
    if found is not None:
        return None
    return int(conn.execute(insert(member_tier_changes).values(**values))
               .inserted_primary_key[0])


def _give_gifts(conn: Connection, member_id: int, tier: Tier, change_id: int,
                now: datetime) -> int:
    """The tier's gift rewards, once per tier change (source ``gift:<change id>:<reward>``)."""
    given = 0
    for code in tier.gift_rewards:
        if give_free(conn, member_id, code, source_key=f"gift:{change_id}:{code}", now=now):
            given += 1
    return given


def _move(conn: Connection, row, tier: Tier, *, kind: str, on: date, value: float | None,
          key: str, policy: Policy, now: datetime, actor_id: int | None = None,
          reason: str | None = None, gifts: bool = False) -> bool:
    """Put the member of ``row`` (as read: id, tier_code, review_on, grace_until) on ``tier``
    from ``on``, when the row is still as read; record the change; give the gifts."""
    m = members.c
    result = conn.execute(
        update(members)
        .where(m.id == row.id, _same(m.tier_code, row.tier_code),
               _same(m.review_on, row.review_on), _same(m.grace_until, row.grace_until))
        .values(tier_code=tier.code, tier_since=on,
                review_on=add_months(on, policy.review_months), grace_until=None))
    if result.rowcount != 1:
        return False
    change = _insert_change(conn, member_id=row.id, from_tier=row.tier_code, to_tier=tier.code,
                            kind=kind, qualify_value=value, changed_on=on, source_key=key,
                            actor_id=actor_id, reason=reason, created_at=now)
    if change is not None and gifts:
        _give_gifts(conn, row.id, tier, change, now)
    return change is not None


def _same(column, value):
    return column.is_(None) if value is None else column == value


def upgrade_now(conn: Connection, member_ids, *, on: date, now: datetime | None = None,
                zone=None) -> int:
    """Move each of ``member_ids`` up to the best tier they qualify for on ``on`` (upgrades
    happen at once; downgrades only at review); returns how many moved up.

    Runs on the caller's write connection (the accrual's chunk) and in bulk: one update per
    move (from tier, to tier) of the members still on the tier they were read on, their
    history in one insert, then the new tier's gifts. Closed members stay as they are; a member
    without a tier yet gets the best tier they qualify for; a member whose move to the same
    tier on the same day was recorded already is not moved again."""
    now = now or _now()
    on = on.date() if isinstance(on, datetime) else on
    ids = sorted({int(i) for i in member_ids or ()})
    tiers = load_tiers(conn)
    if not ids or not tiers:
        return 0
    ranks = {t.code: t.rank for t in load_tiers(conn, active_only=False)}
    policy = load_policy(conn)
    values = qualifying_values(conn, ids, on=on, policy=policy, zone=zone)
    best = pd.Series(_best_codes(tiers, values.to_numpy()), index=values.index)
    # Only a member without a tier can move to the entry tier: read the tiers of the others
    # only where the value reaches above it.
    entry = min(t.rank for t in tiers)
    reaching = best.index[best.map(ranks) > entry].tolist()
    rows = _tiers_of(conn, sorted(set(reaching) | _untiered(conn, ids)))
    if rows.empty:
        return 0
    rows["rank"] = rows["tier_code"].map(ranks).fillna(-1).astype(int)
    rows["value"] = values.reindex(rows["id"]).to_numpy()
    rows["best"] = best.reindex(rows["id"]).to_numpy()
    rows = rows[rows["best"].map(ranks).to_numpy() > rows["rank"].to_numpy()]
    rows["key"] = [f"upgrade:{i}:{code}:{on.isoformat()}"
                   for i, code in zip(rows["id"], rows["best"], strict=True)]
    rows = rows[~rows["key"].isin(_recorded(conn, rows["key"].tolist()))]
    moved = _move_many(conn, rows, on=on, policy=policy, now=now)
    by_code = {t.code: t for t in tiers}
    for change_id, member_id, code in _changes_of(conn, moved["key"].tolist()):
        _give_gifts(conn, member_id, by_code[code], change_id, now)
    return len(moved)


def _tiers_of(conn: Connection, ids: list[int]) -> pd.DataFrame:
    """``id, tier_code`` of the active members among ``ids`` (sorted): a query per 500 ids,
    or for many one pass over the range they span."""
    m = members.c
    query = select(m.id, m.tier_code).where(m.status == "active")
    if len(ids) > qualifying.ALL_AT_ONCE:
        found = rows_of(conn.execute(query.where(m.id >= ids[0], m.id <= ids[-1])))
        rows = pd.DataFrame(found, columns=["id", "tier_code"])
        return rows[rows["id"].isin(ids)].reset_index(drop=True)
    found = []
    for start in range(0, len(ids), 500):
        found += rows_of(conn.execute(query.where(m.id.in_(ids[start:start + 500]))))
    return pd.DataFrame(found, columns=["id", "tier_code"])


def _untiered(conn: Connection, ids: list[int]) -> set[int]:
    """The active members among ``ids`` (sorted) who have no tier yet."""
    m = members.c
    found = set(conn.execute(select(m.id).where(
        m.tier_code.is_(None), m.status == "active", m.id >= ids[0], m.id <= ids[-1])).scalars())
    return found & set(ids)


def _best_codes(tiers: list[Tier], values) -> list[str]:
    """The best tier's code for each value (see :func:`best_tier`)."""
    ordered = sorted((t for t in tiers if t.active), key=lambda t: t.rank)
    best = np.full(len(values), ordered[0].code, dtype=object)
    for tier in ordered:
        best[values >= tier.qualify_value] = tier.code
    return best.tolist()


def _recorded(conn: Connection, keys: list[str]) -> set[str]:
    """Those of ``keys`` that are on the tier history already."""
    h = member_tier_changes.c
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found |= set(conn.execute(select(h.source_key).where(
            h.source_key.in_(keys[start:start + 500]))).scalars())
    return found


def _move_many(conn: Connection, rows: pd.DataFrame, *, on: date, policy: Policy,
               now: datetime) -> pd.DataFrame:
    """Move up the members of ``rows`` (id, tier_code, best, value, key) still on the tier
    they were read on; record each move; returns the rows moved."""
    m = members.c
    moved: set[int] = set()
    review = add_months(on, policy.review_months)
    for (old, new), group in rows.groupby([rows["tier_code"].fillna(""), "best"]):
        ids = group["id"].astype(int).tolist()
        for start in range(0, len(ids), 500):
            moved |= set(conn.execute(
                update(members)
                .where(m.id.in_(ids[start:start + 500]), m.status == "active",
                       _same(m.tier_code, old or None))
                .values(tier_code=new, tier_since=on, review_on=review, grace_until=None)
                .returning(m.id)).scalars())
    done = rows[rows["id"].isin(moved)]
    if not done.empty:
        conn.execute(insert(member_tier_changes), [
            {"member_id": int(r.id), "from_tier": r.tier_code if isinstance(r.tier_code, str)
             else None, "to_tier": r.best, "kind": "upgrade", "qualify_value": float(r.value),
             "changed_on": on, "source_key": r.key, "actor_id": None, "reason": None,
             "created_at": now} for r in done.itertuples(index=False)])
    return done


def _changes_of(conn: Connection, keys: list[str]) -> list[tuple[int, int, str]]:
    """``(change id, member id, to tier)`` of the history rows of ``keys``."""
    h = member_tier_changes.c
    found = []
    for start in range(0, len(keys), 500):
        found += rows_of(conn.execute(select(h.id, h.member_id, h.to_tier).where(
            h.source_key.in_(keys[start:start + 500])).order_by(h.id)))
    return found


def _due(conn: Connection, today: date, after: int) -> list:
    """Active members whose review or grace period ends by ``today`` (ids above ``after``)."""
    m = members.c
    return conn.execute(
        select(m.id, m.tier_code, m.review_on, m.grace_until)
        .where(m.status == "active", m.id > after,
               or_(and_(m.grace_until.is_(None), m.review_on <= today),
                   m.grace_until <= today,
                   m.tier_code.is_(None)))
        .order_by(m.id).limit(BATCH)).all()


def _review(conn: Connection, row, value: float, tiers: list[Tier], ranks: dict,
            policy: Policy, today: date, now: datetime) -> int:
    """Decide one member's review; returns 1 when they changed tier."""
    best = best_tier(tiers, value)
    current = ranks.get(row.tier_code, -1)
    if best is None:
        return 0
    if row.tier_code is None or best.rank > current:
        key = f"upgrade:{row.id}:{best.code}:{today.isoformat()}"
        return int(_move(conn, row, best, kind="upgrade", on=today, value=value, key=key,
                         policy=policy, now=now, gifts=True))
    lowest = min(t.rank for t in tiers)
    keeps = best.rank >= current or current <= lowest
    m = members.c
    still = (m.id == row.id, _same(m.tier_code, row.tier_code),
             _same(m.review_on, row.review_on), _same(m.grace_until, row.grace_until))
    if keeps:
        moved = conn.execute(update(members).where(*still).values(
            review_on=add_months(today, policy.review_months), grace_until=None)).rowcount
        if moved == 1 and current > lowest:
            day = row.grace_until or row.review_on
            _insert_change(conn, member_id=row.id, from_tier=row.tier_code,
                           to_tier=row.tier_code, kind="kept", qualify_value=value,
                           changed_on=today, source_key=f"review:{row.id}:{day.isoformat()}",
                           created_at=now)
        return 0
    if row.grace_until is None and policy.grace_days > 0:
        until = today + timedelta(days=policy.grace_days)
        moved = conn.execute(update(members).where(*still).values(grace_until=until)).rowcount
        if moved == 1:
            _insert_change(conn, member_id=row.id, from_tier=row.tier_code,
                           to_tier=row.tier_code, kind="grace", qualify_value=value,
                           changed_on=today,
                           source_key=f"grace:{row.id}:{row.review_on.isoformat()}",
                           created_at=now)
        return 0
    day = row.grace_until or row.review_on
    key = f"downgrade:{row.id}:{day.isoformat()}"
    return int(_move(conn, row, best, kind="downgrade", on=today, value=value, key=key,
                     policy=policy, now=now))


def run_reviews(engine: Engine, *, now: datetime | None = None, today: date | None = None,
                timezone: str | None = None) -> int:
    """Review the tiers that are due on ``today`` (by default the company's day at ``now``, in
    ``timezone`` or the setting's); returns how many members changed tier.

    Members are decided in batches, each in its own write transaction; a member another
    worker decided meanwhile is left as that worker left them."""
    now = now or _now()
    today = today or company_today(now, timezone)
    changed, after = 0, 0
    while True:
        with write_transaction(engine) as conn:
            tiers = load_tiers(conn)
            if not tiers:
                return changed
            rows = _due(conn, today, after)
            if not rows:
                return changed
            policy = load_policy(conn)
            ranks = {t.code: t.rank for t in load_tiers(conn, active_only=False)}
            values = qualifying_values(conn, [r.id for r in rows], on=today, policy=policy,
                                       zone=timezone)
            for row in rows:
                changed += _review(conn, row, float(values.get(row.id, 0.0)), tiers, ranks,
                                   policy, today, now)
            after = rows[-1].id
        if len(rows) < BATCH:
            return changed


def set_tier(engine: Engine, member_id: int, tier_code: str, *, reason: str,
             actor_id: int | None = None, now: datetime | None = None,
             timezone: str | None = None) -> bool:
    """An admin puts the member on tier ``tier_code`` from today (the company's day at
    ``now``, in ``timezone``, by default the setting), for ``reason`` (required); the next
    review is ``review_months`` later. Returns False when the member holds it already. Gifts
    of the tier are given on a move up."""
    now = now or _now()
    today = company_today(now, timezone)
    reason = (reason or "").strip()
    if not reason:
        raise UserError(N_("Say why the tier is changed: a reason is required."))
    if len(reason) > 500:
        raise UserError(N_("The reason can have at most {maximum} characters."), maximum=500)
    code = str(tier_code or "").strip().lower()
    with write_transaction(engine) as conn:
        every = load_tiers(conn, active_only=False)
        tier = next((t for t in every if t.code == code), None)
        if tier is None or not tier.active:
            raise UserError(N_("There is no tier {code!r}; the tiers are {choices}."),
                            code=code[:40],
                            choices=", ".join(t.code for t in every if t.active) or "–")
        m = members.c
        row = conn.execute(select(m.id, m.tier_code, m.review_on, m.grace_until, m.status)
                           .where(m.id == member_id)).first()
        if row is None:
            raise UserError(N_("There is no such member."))
        if row.status != "active":
            raise UserError(N_("The membership is closed; reopen it before changing the tier."))
        if row.tier_code == code:
            return False
        ranks = {t.code: t.rank for t in every}
        policy = load_policy(conn)
        value = float(qualifying_values(conn, [member_id], on=today, policy=policy,
                                        zone=timezone)
                      .get(member_id, 0.0))
        return _move(conn, row, tier, kind="manual", on=today, value=value,
                     key=f"manual:{member_id}:{uuid.uuid4().hex}", policy=policy, now=now,
                     actor_id=actor_id, reason=reason,
                     gifts=tier.rank > ranks.get(row.tier_code, -1))


__all__ = ["best_tier", "qualifying_values", "run_reviews", "set_tier", "upgrade_now",
           "window_start"]
