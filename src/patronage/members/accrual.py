"""Earning points from imported transactions and survey answers, exactly once (the accrual job).

The worker runs :func:`run_accrual` every round; ``patronage members earn`` runs
:func:`accrue`. What a purchase, a refund or a survey answer earns is decided by
:mod:`patronage.members.points` (the rules are stated there); this module reads the rows,
keeps the work exactly-once and writes the ledger.

**Exactly once.** Transactions are read in id order, in chunks (:data:`CHUNK`). Each chunk is
one database transaction that writes its transfers, updates the members' cached balances and
moves the cursor (``worker_cursors`` row ``members:earn``: every transaction with an id up to
it is done). A kill mid-run loses the chunk in progress and nothing else; the next run starts
after the last committed chunk. Two workers queue on the cursor row (locked ``FOR UPDATE`` on
PostgreSQL; SQLite admits one writer), and every transfer's source key is unique
(``earn:<transaction id>``, ``bonus:<rule id>:<transaction id>``, ``first:<member id>``,
``referral:<member id>``, ``refund:<transaction id>``, ``survey:<response id>``), so a
transfer is never written twice. On PostgreSQL a run first waits for imports in progress to
commit (a brief ``SHARE`` lock), so that no transaction with a smaller id appears after the
cursor has passed it. On SQLite a chunk commits without waiting for the disk
(``synchronous=NORMAL``, see :func:`patronage.storage.write_transaction`): a power cut may lose
the last chunks committed, never part of one, and since the cursor commits with the transfers,
a lost chunk is simply not done and the next run accrues it again; the ledger stays whole.

**What earns.** Purchases of active members dated on or after the day they joined, up to the
run's time (``until``, by default now). A transaction dated later waits: the cursor stops
before it, later ones are still accrued, and the next run skips those it finds already posted
(``members:earn:seen`` marks how far the accrual has read). Survey responses are accrued the
same way behind ``members:survey``. A member enrolled after their purchases were read (an
imported join date in the past) is caught up at the next run: the members cursor
(``members:earn:members``) says which members the main pass covers, and newer members' earlier
transactions and responses are accrued first. The accrual waits while no earning rule is
switched on (nothing is marked as read); rules apply to what is accrued after they change.

**Within a chunk** a member's tier at the start of the chunk applies, their earnings are posted
before their refunds, and the members who earned are then moved up a tier at once
(:func:`patronage.members.tiers.upgrade_now`). A refund takes back points with the programme's
shortfall policy: ``carry`` leaves a negative pending balance that later earnings settle,
``write_off`` lets the programme bear it; a refund to a closed membership takes nothing back.
A transaction changed by a re-import keeps the points it earned when it was first accrued (a
correction is a refund row).

**Days are the company's** (``PATRONAGE_TIMEZONE``; times are stored in UTC): a purchase's
earning day and expiry, joining day, member day, birthday month and capped month, the upgrades'
day and a run ``until`` a day (each chunk's times are converted a column at a time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import (
    Boolean, Connection, Date, DateTime, Engine, Numeric, and_, func, insert, select, type_coerce,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import NullType

from patronage.members import tiers as tier_rules
from patronage.members.points import (
    MULTIPLIER_KINDS, PURCHASE_KINDS, month_index, purchase_points, refund_base_points,
    refund_points, rule_matches, survey_points,
)
from patronage.members.posting import Accounts, big_cache, give_many, rows_in, take_many
from patronage.members.programme import company_day, company_times, company_zone, load_policy
from patronage.storage import write_transaction
from patronage.storage.schema import customers, responses, transactions
from patronage.storage.schema_cases import worker_cursors
from patronage.storage.schema_members import earn_rules, member_tiers, members

#: Transactions per database transaction of the accrual: large, because each commit rewrites
#: much of the ledger's member index (about 0.4 GB of memory at the peak for 200k).
CHUNK = 200_000
#: More members new to a run than this in its first chunk: their first purchases are read in
#: one pass over all members.
MANY_NEW = 20_000
#: Newly enrolled members caught up per database transaction.
MEMBER_CHUNK = 2_000
CURSOR, SEEN, MEMBERS = "members:earn", "members:earn:seen", "members:earn:members"
SURVEYS, SURVEYS_SEEN = "members:survey", "members:survey:seen"
#: The last run (minutes since 1970) and the last run that earned points, with its totals.
RUN_AT, LAST_AT = "members:earn:run_at", "members:earn:last_at"
LAST_TRANSACTIONS, LAST_POINTS = "members:earn:last_transactions", "members:earn:last_points"
CURSORS = (CURSOR, SEEN, MEMBERS, SURVEYS, SURVEYS_SEEN, RUN_AT, LAST_AT, LAST_TRANSACTIONS,
           LAST_POINTS)
_INT4 = 2**31 - 1


@dataclass
class Accrued:
    """What a run did."""

    transactions: int = 0  # purchases that earned points
    points: int = 0  # points given: base, multipliers and bonuses
    refunds: int = 0  # refunds that took points back
    points_taken: int = 0
    responses: int = 0  # survey responses that earned points


@dataclass
class _Run:
    rules: list
    multipliers: dict  # tier code -> multiplier
    multiplier_rules: list  # ids of every member-day and birthday rule, active or not
    policy: object
    accounts: Accounts | None
    limit: datetime
    now: datetime
    done: Accrued
    first: dict = field(default_factory=dict)  # member -> earliest purchase, None once given
    people: pd.DataFrame | None = None  # the covered members, by customer (see _people)
    people_upto: int = 0
    zone: ZoneInfo | None = None  # the company's time zone
    day: date | None = None  # the company's day of the run's limit (the upgrades' day)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _minutes(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1)).total_seconds() // 60)


# -- cursors -------------------------------------------------------------------------------------

def _ensure_cursors(engine: Engine) -> None:
    with engine.connect() as conn:
        have = set(conn.execute(select(worker_cursors.c.name)
                                .where(worker_cursors.c.name.in_(CURSORS))).scalars())
    for name in CURSORS:
        if name in have:
            continue
        try:
            with write_transaction(engine) as conn:
                conn.execute(insert(worker_cursors).values(name=name, position=0))
        except IntegrityError:  # another worker made it first
            pass


def _lock(conn: Connection) -> dict[str, int]:
    """Lock the accrual's cursor row (the other rows follow it) and read every cursor."""
    c = worker_cursors.c
    query = select(c.position).where(c.name == CURSOR)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    conn.execute(query)
    return {name: int(position) for name, position in conn.execute(
        select(c.name, c.position).where(c.name.in_(CURSORS)))}


def _move(conn: Connection, **positions: int) -> None:
    names = {"tc": CURSOR, "seen": SEEN, "mc": MEMBERS, "rc": SURVEYS, "rseen": SURVEYS_SEEN}
    for key, value in positions.items():
        conn.execute(update(worker_cursors).where(worker_cursors.c.name == names.get(key, key))
                     .values(position=min(int(value), _INT4)))


def _horizon(engine: Engine) -> dict[str, int]:
    """The highest ids of transactions, responses and members whose writers have committed."""
    tables = {"transactions": transactions, "responses": responses, "members": members}
    postgres = engine.dialect.name == "postgresql"
    with (write_transaction(engine) if postgres else engine.connect()) as conn:
        if postgres:
            conn.exec_driver_sql("LOCK TABLE transactions, responses, members IN SHARE MODE")
        return {name: int(conn.execute(select(func.max(t.c.id))).scalar() or 0)
                for name, t in tables.items()}


# -- reading -------------------------------------------------------------------------------------

def _frame(conn: Connection, query) -> pd.DataFrame:
    """The rows of ``query`` as a frame; times, days, flags and amounts are read as the
    driver gives them and converted a column at a time (far faster than row by row)."""
    kinds, columns = {}, []
    for column in query.selected_columns:
        kind = next((k for t, k in ((DateTime, "stamp"), (Date, "day"), (Boolean, "flag"),
                                    (Numeric, "number")) if isinstance(column.type, t)), None)
        if kind:
            kinds[column.name] = kind
            column = type_coerce(column, NullType()).label(column.name)
        columns.append(column)
    result = conn.execute(query.with_only_columns(*columns))
    names = list(result.keys())
    frame = pd.DataFrame.from_records(result.cursor.fetchall(), columns=names)
    for name, kind in kinds.items():
        if kind in ("stamp", "day"):
            values = pd.to_datetime(frame[name], format="ISO8601")
            frame[name] = values if kind == "stamp" else values.dt.date.where(values.notna(), None)
        elif kind == "flag":
            frame[name] = frame[name].astype(bool)
        else:
            frame[name] = frame[name].astype("float64")
    return frame


def _people(conn: Connection, run: _Run, up_to: int) -> pd.DataFrame:
    """The active members with an id up to ``up_to``, indexed by customer: read once per run
    and extended when the members cursor moves (a join per chunk costs more than the chunk's
    own rows)."""
    if up_to > run.people_upto:
        m, c = members.c, customers.c
        more = _frame(conn, select(
            m.customer_id, m.id.label("member_id"), m.joined_on, m.tier_code.label("tier"),
            m.referred_by, c.birthday).join(customers, c.id == m.customer_id).where(
            m.status == "active", m.id > run.people_upto, m.id <= up_to))
        for column in ("joined_on", "birthday"):
            more[column] = pd.to_datetime(more[column])
        more = more.set_index("customer_id")
        run.people = more if run.people is None else pd.concat([run.people, more])
        run.people_upto = up_to
    return run.people


def _with_people(rows: pd.DataFrame, people: pd.DataFrame | None, key: str) -> pd.DataFrame:
    if people is None or rows.empty:
        return rows.iloc[0:0].assign(member_id=pd.Series(dtype="int64"))
    joined = rows.join(people, on="customer_id", how="inner")
    return joined.sort_values(key, kind="stable").reset_index(drop=True)


def _transaction_rows(conn: Connection, run: _Run, where) -> pd.DataFrame:
    """The transactions of ``where`` (in id order) of the members the run covers, with the
    member's join day, tier, referrer and birthday."""
    t = transactions.c
    rows = _frame(conn, select(t.id.label("transaction_id"), t.customer_id, t.occurred_at,
                               t.amount, t.category, t.channel, t.is_refund, t.refund_of)
                  .where(where))
    rows = _with_people(rows, run.people, "transaction_id")
    return rows.assign(local_at=company_times(rows["occurred_at"], run.zone))


def _response_rows(conn: Connection, run: _Run, where) -> pd.DataFrame:
    """The survey responses of ``where`` submitted by covered members after they joined."""
    r = responses.c
    rows = _with_people(_frame(conn, select(r.id.label("response_id"), r.customer_id,
                                            r.submitted_at).where(where)),
                        run.people, "response_id")
    if rows.empty:
        return rows
    rows = rows.assign(local_at=company_times(rows["submitted_at"], run.zone))
    return rows[(rows["local_at"].dt.normalize() >= rows["joined_on"]).to_numpy()]


def _posted(conn: Connection, keys) -> set[str]:
    """Which of these source keys were posted already."""
    return {key for (key,) in rows_in(
        conn, "SELECT source_key FROM point_transfers WHERE source_key {in}", sorted(set(keys)))}


def _earned_before(conn: Connection, run: _Run, member_ids, stamps: pd.Series):
    """Points the monthly-capped rules gave these members in the months of ``stamps``."""
    capped = [int(r["id"]) for r in run.rules if r.get("cap_per_month") is not None]
    if not capped or len(stamps) == 0 or len(member_ids) == 0:
        return None
    days = pd.to_datetime(stamps)
    start = days.min().date().replace(day=1).isoformat()
    end = (days.max() + pd.offsets.MonthEnd(0)).date().isoformat()
    rows = rows_in(conn, "SELECT member_id, rule_id, earned_on, points FROM point_transfers "
                         f"WHERE rule_id IN ({', '.join(map(str, capped))}) AND earned_on >= "
                         f"'{start}' AND earned_on <= '{end}' AND member_id {{in}}",
                   sorted({int(m) for m in member_ids}))
    if not rows:
        return None
    frame = pd.DataFrame(rows, columns=["member_id", "rule_id", "earned_on", "points"])
    return frame.assign(month=month_index(frame["earned_on"]))


def _capped_members(run: _Run, purchases: pd.DataFrame) -> list[int]:
    """The members whose purchases a monthly-capped rule may give points for (the referrers
    for a referral rule)."""
    found: set[int] = set()
    for rule in run.rules:
        if rule.get("cap_per_month") is None or rule["kind"] not in PURCHASE_KINDS:
            continue
        if rule["kind"] == "referral":
            rows = purchases[purchases["referrer"].notna().to_numpy()]
            found.update(rows["referrer"].astype(int)[
                rule_matches(rule, rows, tier="referrer_tier", when="local_at")])
            continue
        rows = purchases[purchases["first"].to_numpy()] if rule["kind"] == "first_purchase" \
            else purchases
        found.update(rows["member_id"].astype(int)[rule_matches(rule, rows, when="local_at")])
    return sorted(found)


def _first_purchases(conn: Connection, run: _Run, purchases: pd.DataFrame) -> pd.DataFrame:
    """Mark each member's first purchase on or after joining (``first``) and the member who
    referred them (``referrer``, ``referrer_tier``) when the referral bonus is still due.

    A member's earliest purchase on or after joining is looked up once per run (``run.first``:
    its time, or None once their bonus is given), so a run reads it once however many chunks
    the member's purchases fall in."""
    kinds = {r["kind"] for r in run.rules}
    frame = purchases.assign(first=False, referrer=np.nan, referrer_tier=None)
    if frame.empty or not kinds & {"first_purchase", "referral"}:
        return frame
    new = sorted(set(frame["member_id"].astype(int).unique().tolist()) - run.first.keys())
    if len(new) > MANY_NEW and not run.first:
        _all_first_purchases(conn, run)
        new = [m for m in new if m not in run.first]
    if new:
        posted = _posted(conn, [f"{prefix}:{m}" for m in new for prefix in ("first", "referral")])
        run.first.update(dict.fromkeys(
            (m for m in new if f"first:{m}" in posted or f"referral:{m}" in posted), None))
        wanted = [m for m in new if m not in run.first]
        run.first.update(dict.fromkeys(wanted, None))
        run.first.update({int(m): pd.Timestamp(at) for m, at in rows_in(
            conn, "SELECT m.id, MIN(t.occurred_at) FROM members m JOIN transactions t ON "
                  "t.customer_id = m.customer_id WHERE NOT t.is_refund AND t.occurred_at >= "
                  "m.joined_on AND m.id {in} GROUP BY m.id", wanted) if at is not None})
    here = frame["member_id"].astype(int)
    first_at = here.map({m: run.first.get(m) for m in here.unique().tolist()})
    due = first_at.notna().to_numpy()
    ordered = frame[due].sort_values(["occurred_at", "transaction_id"],
                                     kind="stable").drop_duplicates("member_id")
    # At or before: a purchase early on the company's join day (the UTC day before, which the
    # query's join-day bound leaves out) is the first.
    hit = ordered.index[(ordered["occurred_at"]
                         <= pd.to_datetime(first_at[ordered.index])).to_numpy()]
    frame.loc[hit, "first"] = True
    run.first.update(dict.fromkeys(frame.loc[hit, "member_id"].astype(int).tolist(), None))
    if "referral" in kinds:
        firsts = frame[frame["first"] & frame["referred_by"].notna()]
        found = dict(rows_in(conn, "SELECT id, tier_code FROM members WHERE status = 'active' "
                                   "AND id {in}",
                             firsts["referred_by"].astype(int).unique().tolist()))
        referrer = firsts["referred_by"].astype(int)
        active = referrer.isin(list(found)).to_numpy()
        frame.loc[firsts.index[active], "referrer"] = referrer[active].astype("float64")
        frame.loc[firsts.index[active], "referrer_tier"] = referrer[active].map(found)
    return frame


def _keys_from(conn: Connection, prefix: str) -> set[int]:
    """The ids ending the posted source keys ``<prefix><id>`` (a range of the unique index)."""
    bound = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    return {int(key[len(prefix):]) for (key,) in conn.exec_driver_sql(
        f"SELECT source_key FROM point_transfers WHERE source_key >= {mark} AND source_key < "
        f"{mark}", (prefix, bound))}


def _all_first_purchases(conn: Connection, run: _Run) -> None:
    """Every member's earliest purchase on or after joining, in one pass (``run.first``; None
    for those whose first-purchase or referral bonus was given): for a run whose first chunk
    holds many members, far cheaper than looking them up a list at a time."""
    given = _keys_from(conn, "first:") | _keys_from(conn, "referral:")
    # Per member, a seek into the purchases' (customer, time) index at the day they joined.
    rows = [row for row in conn.exec_driver_sql(
        "SELECT m.id, (SELECT t.occurred_at FROM transactions t WHERE t.customer_id = "
        "m.customer_id AND t.occurred_at >= m.joined_on AND NOT t.is_refund "
        "ORDER BY t.occurred_at LIMIT 1) FROM members m").fetchall() if row[1] is not None]
    if not rows:
        return
    ids = [int(m) for m, _ in rows]
    times = pd.to_datetime(pd.Series([at for _, at in rows]), format="ISO8601")
    run.first.update({m: (None if m in given else at)
                      for m, at in zip(ids, times.tolist(), strict=True)})


def _refund_rows(conn: Connection, run: _Run, refunds: pd.DataFrame) -> pd.DataFrame:
    """The refunds with what their purchase (``refund_of``) cost and earned, and the base
    points of its earning (``purchase_base``)."""
    frame = refunds.assign(purchase_amount=np.nan, purchase_points=np.nan, purchase_base=np.nan)
    named = frame["refund_of"].dropna().astype(str).unique().tolist()
    if not named:
        return frame
    bought = {ext: (int(i), float(amount)) for ext, i, amount in rows_in(
        conn, "SELECT external_id, id, amount FROM transactions WHERE NOT is_refund AND "
              "external_id {in}", named)}
    keys = []
    for pid, _ in bought.values():
        keys += [f"earn:{pid}"] + [f"bonus:{r}:{pid}" for r in run.multiplier_rules]
    earned: dict[tuple[int, int], int] = {}
    base: dict[tuple[int, int], int] = {}
    for key, member, points, base_points in rows_in(
            conn, "SELECT source_key, member_id, points, base_points FROM point_transfers "
                  "WHERE source_key {in}", keys):
        pid = int(key.rsplit(":", 1)[1])
        earned[(pid, int(member))] = earned.get((pid, int(member)), 0) + int(points)
        if base_points is not None:
            base[(pid, int(member))] = base.get((pid, int(member)), 0) + int(base_points)
    purchase = frame["refund_of"].map(lambda ext: bought.get(ext, (None, np.nan)))
    frame["purchase_amount"] = [amount for _, amount in purchase]
    frame["purchase_points"] = [np.nan if pid is None else earned.get((pid, int(member)), 0)
                                for (pid, _), member in zip(purchase, frame["member_id"],
                                                            strict=True)]
    frame["purchase_base"] = [np.nan if pid is None else base.get((pid, int(member)), np.nan)
                              for (pid, _), member in zip(purchase, frame["member_id"],
                                                          strict=True)]
    return frame


# -- one batch -----------------------------------------------------------------------------------

def _accrue_rows(conn: Connection, run: _Run, rows: pd.DataFrame, *, check: bool) -> None:
    """Accrue a batch of transactions (purchases and refunds of active members, in id order);
    ``check`` skips those already posted (read before by a run that stopped behind them)."""
    if rows.empty:
        return
    if check:
        posted = _posted(conn, [f"{k}:{i}" for i in rows["transaction_id"]
                                for k in ("earn", "refund")])
        keep = [f"earn:{i}" not in posted and f"refund:{i}" not in posted
                for i in rows["transaction_id"]]
        rows = rows[keep]
    on_time = (rows["local_at"].dt.normalize() >= rows["joined_on"]).to_numpy()
    refund = rows["is_refund"].astype(bool).to_numpy()
    purchases = rows[~refund & on_time]
    purchases = purchases.assign(
        tier_multiplier=purchases["tier"].map(run.multipliers).astype("float64"),
        birthday_month=purchases["birthday"].dt.month.astype("float64"))
    purchases = _first_purchases(conn, run, purchases)
    before = _earned_before(conn, run, _capped_members(run, purchases), purchases["local_at"])
    moves = purchase_points(purchases, run.rules, before)
    given = give_many(conn, moves, run.accounts, run.policy, now=run.now)
    if not moves.empty:
        own = ~moves["source_key"].str.startswith("referral:")
        run.done.transactions += int(moves.loc[own, "transaction_id"].nunique())
        run.done.points += given
    refunds = rows[refund]
    if not refunds.empty:
        refunds = _refund_rows(conn, run, refunds)
        # A refund naming no purchase (or an unknown one) counts from the day they joined.
        refunds = refunds[refunds["purchase_amount"].notna().to_numpy() | on_time[refund]]
        refunds = refunds.assign(points=refund_points(refunds, run.rules),
                                 base_points=refund_base_points(refunds, run.rules))
        refunds = refunds[refunds["points"] > 0]
        takes = pd.DataFrame({
            "member_id": refunds["member_id"], "kind": "refund", "points": refunds["points"],
            "source_key": "refund:" + refunds["transaction_id"].astype(int).astype(str),
            "occurred_at": refunds["occurred_at"], "transaction_id": refunds["transaction_id"],
            "base_points": refunds["base_points"]})
        run.done.points_taken += take_many(conn, takes, run.accounts,
                                           shortfall=run.policy.refund_shortfall, now=run.now)
        run.done.refunds += len(takes)
    if not moves.empty:
        earners = sorted(set(moves["member_id"].astype(int)))
        if tier_rules.upgrade_now(conn, earners, on=run.day, now=run.now, zone=run.zone):
            _refresh_tiers(conn, run, earners)


def _refresh_tiers(conn: Connection, run: _Run, member_ids: list[int]) -> None:
    """Read again the tiers of the members who moved up (the next chunk uses them)."""
    since = run.day.isoformat()
    tiers = dict(rows_in(conn, "SELECT customer_id, tier_code FROM members WHERE tier_since = "
                               f"'{since}' AND id {{in}}", member_ids))
    index = run.people.index.intersection(list(tiers))
    run.people.loc[index, "tier"] = [tiers[c] for c in index]


def _accrue_responses(conn: Connection, run: _Run, rows: pd.DataFrame, *, check: bool) -> None:
    if rows.empty:
        return
    if check:
        posted = _posted(conn, [f"survey:{i}" for i in rows["response_id"]])
        rows = rows[[f"survey:{i}" not in posted for i in rows["response_id"]]]
    before = _earned_before(conn, run, rows["member_id"].tolist(), rows["local_at"])
    moves = survey_points(rows, run.rules, before)
    run.done.points += give_many(conn, moves, run.accounts, run.policy, now=run.now)
    run.done.responses += len(moves)


# -- the passes ----------------------------------------------------------------------------------

def _catch_up(engine: Engine, run: _Run, top: dict) -> None:
    """Accrue the earlier transactions and responses of members enrolled since the last run."""
    purchase_rules = any(r["kind"] in PURCHASE_KINDS for r in run.rules)
    survey_rules = any(r["kind"] == "survey_completed" for r in run.rules)
    while True:
        with write_transaction(engine, durable=False) as conn, big_cache(conn):
            cur = _lock(conn)
            mc = cur[MEMBERS]
            if mc >= top["members"]:
                return
            hi = conn.execute(select(members.c.id).where(
                members.c.id > mc, members.c.id <= top["members"]).order_by(members.c.id)
                .offset(MEMBER_CHUNK - 1).limit(1)).scalar() or top["members"]
            _people(conn, run, hi)
            new = select(members.c.customer_id).where(members.c.id > mc, members.c.id <= hi)
            if purchase_rules and cur[CURSOR] > 0:
                rows = _transaction_rows(conn, run, and_(
                    transactions.c.customer_id.in_(new), transactions.c.id <= cur[CURSOR]))
                _accrue_rows(conn, run, rows[rows["member_id"] > mc], check=False)
            if survey_rules and cur[SURVEYS] > 0:
                rows = _response_rows(conn, run, and_(
                    responses.c.customer_id.in_(new), responses.c.id <= cur[SURVEYS]))
                _accrue_responses(conn, run, rows[rows["member_id"] > mc], check=False)
            _move(conn, mc=hi)
            _note(conn, run)


def _stream(engine: Engine, run: _Run, top: int, chunk: int, *, table, stamp: str, cursor: str,
            seen: str, accrue, read) -> None:
    """Accrue ``table``'s rows after ``cursor`` dated up to the run's limit, chunk by chunk."""
    after, first_held = None, None
    limit = run.limit
    while True:
        with write_transaction(engine, durable=False) as conn, big_cache(conn):
            cur = _lock(conn)
            after = max(after or 0, cur[cursor])
            if first_held is None:
                first_held = conn.execute(select(func.min(table.c.id)).where(
                    table.c.id > cur[cursor], table.c.id <= top,
                    table.c[stamp] > limit)).scalar() or top + 1
            # The chunk ends at its last row dated up to the limit (or at the top).
            hi = conn.execute(select(table.c.id).where(
                table.c.id > after, table.c.id <= top, table.c[stamp] <= limit)
                .order_by(table.c.id).offset(chunk - 1).limit(1)).scalar() or top
            if hi > after:
                window = and_(table.c.id > after, table.c.id <= hi, table.c[stamp] <= limit)
                _people(conn, run, cur[MEMBERS])
                accrue(conn, run, read(conn, run, window), check=after < cur[seen])
            _move(conn, **{cursor: max(cur[cursor], min(hi, first_held - 1)),
                           seen: max(cur[seen], hi)})
            _note(conn, run)
        after = hi
        if hi >= top:
            return


def _note(conn: Connection, run: _Run) -> None:
    """Record the run (and, when it earned, its totals so far) for the rules page."""
    stamp = _minutes(run.now)
    _move(conn, **{RUN_AT: stamp})
    if run.done.transactions or run.done.points or run.done.points_taken:
        _move(conn, **{LAST_AT: stamp, LAST_TRANSACTIONS: run.done.transactions,
                       LAST_POINTS: run.done.points})


def _active_rules(conn: Connection, day: date) -> list[dict]:
    r = earn_rules.c
    rows = conn.execute(select(earn_rules).where(r.active.is_(True)).order_by(r.id)).mappings()
    return [dict(row) for row in rows if row["starts_on"] is None or row["starts_on"] <= day]


def _until(until, zone: ZoneInfo) -> datetime | None:
    """The run's limit (naive UTC): ``until``, or the end of that day in the company's."""
    if until is None or isinstance(until, datetime):
        return until
    end = datetime.combine(until + timedelta(days=1), time(), tzinfo=zone)
    return end.astimezone(UTC).replace(tzinfo=None) - timedelta(microseconds=1)


def accrue(engine: Engine, *, until: date | datetime | None = None,
           now: datetime | None = None, chunk: int = CHUNK,
           timezone: str | None = None) -> Accrued:
    """Earn the points of every transaction and survey response not yet accrued, dated up to
    ``until`` (a day counts whole, in the company's time zone: ``timezone``, by default the
    setting; by default up to ``now``); returns what was done."""
    now = now or _now()
    zone = company_zone(timezone)
    limit = _until(until, zone) or now
    day = company_day(limit, zone)
    with engine.connect() as conn:
        rules = _active_rules(conn, day)
        multipliers = {code: float(x) for code, x in conn.execute(
            select(member_tiers.c.code, member_tiers.c.multiplier))}
        multiplier_rules = conn.execute(select(earn_rules.c.id).where(
            earn_rules.c.kind.in_(MULTIPLIER_KINDS))).scalars().all()
        policy = load_policy(conn)
    run = _Run(rules, multipliers, list(multiplier_rules), policy, None, limit, now, Accrued(),
               zone=zone, day=day)
    if not rules:
        return run.done
    _ensure_cursors(engine)
    top = _horizon(engine)
    with engine.connect() as conn:
        run.accounts = Accounts(conn)
    _catch_up(engine, run, top)
    if any(r["kind"] in PURCHASE_KINDS for r in rules):
        _stream(engine, run, top["transactions"], chunk, table=transactions,
                stamp="occurred_at", cursor=CURSOR, seen=SEEN, accrue=_accrue_rows,
                read=_transaction_rows)
    if any(r["kind"] == "survey_completed" for r in rules):
        _stream(engine, run, top["responses"], chunk, table=responses, stamp="submitted_at",
                cursor=SURVEYS, seen=SURVEYS_SEEN, accrue=_accrue_responses, read=_response_rows)
    return run.done


def run_accrual(engine: Engine, *, now: datetime | None = None) -> int:
    """Earn the points of every transaction not yet accrued; returns how many purchases
    earned points (the worker's job; see :func:`accrue`)."""
    return accrue(engine, now=now).transactions


def last_run(engine: Engine) -> dict:
    """When the accrual last ran and last earned points (with how many purchases earned how
    many points), and how many transactions wait for it."""
    with engine.connect() as conn:
        found = dict(conn.execute(select(worker_cursors.c.name, worker_cursors.c.position)
                                  .where(worker_cursors.c.name.in_(CURSORS))).all())
        waiting = conn.execute(select(func.count()).select_from(transactions).where(
            transactions.c.id > found.get(CURSOR, 0))).scalar_one()

    def moment(name):
        value = found.get(name)
        return datetime(1970, 1, 1) + timedelta(minutes=value) if value else None

    return {"run_at": moment(RUN_AT), "earned_at": moment(LAST_AT),
            "transactions": int(found.get(LAST_TRANSACTIONS, 0)),
            "points": int(found.get(LAST_POINTS, 0)), "waiting": int(waiting)}


__all__ = ["CHUNK", "Accrued", "accrue", "last_run", "run_accrual"]
