"""One batch of the accrual job (:mod:`patronage.members.accrual`): reading a chunk's
transactions or survey responses with their members, deciding what they earn
(:func:`prepare`, which only reads) and writing it (:func:`apply`: the ledger, refunds, tier
upgrades).

:func:`prepare` reads through any connection: the accrual runs it for the next chunk on a
connection of its own while the current chunk is written (see ``accrue``). What it reads from
the ledger (points already given under a monthly cap, bonuses already given) then comes from
the last committed chunk, and the chunk being written is passed in as ``pending``; a member
moved up a tier by the chunk being written is put right by :func:`retier` before the prepared
chunk is written.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import (
    Boolean, Connection, Date, DateTime, Integer, Numeric, select, type_coerce,
)
from sqlalchemy.types import NullType

from patronage.members import tiers as tier_rules
from patronage.members.points import (
    PURCHASE_KINDS, month_index, purchase_points, refund_base_points, refund_points,
    rule_matches, survey_points,
)
from patronage.members.posting import (
    Accounts, Staged, give_many, rows_in, stage_gives, take_many,
)
from patronage.members.programme import company_times
from patronage.storage.schema import customers, responses, transactions
from patronage.storage.schema_members import members

#: More members new to a run than this in its first chunk: their first purchases are read in
#: one pass over all members.
MANY_NEW = 20_000


@dataclass
class Accrued:
    """What a run did."""

    transactions: int = 0  # purchases that earned points
    points: int = 0  # points given: base, multipliers and bonuses
    refunds: int = 0  # refunds that took points back
    points_taken: int = 0
    responses: int = 0  # survey responses that earned points


@dataclass
class Run:
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


# -- reading -------------------------------------------------------------------------------------

def _kind(column) -> str:
    """How a selected column is read: ``stamp``, ``day``, ``flag``, ``number``, ``int`` or
    ``text``."""
    return next((kind for type_, kind in ((DateTime, "stamp"), (Date, "day"), (Boolean, "flag"),
                                           (Numeric, "number"), (Integer, "int"))
                 if isinstance(column.type, type_)), "text")


def _frame(conn: Connection, query) -> pd.DataFrame:
    """The rows of ``query`` as a frame; times, days, flags and amounts are read as the
    driver gives them and converted a column at a time (far faster than row by row)."""
    kinds, columns = {}, []
    for column in query.selected_columns:
        kind = _kind(column)
        if kind not in ("int", "text"):
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


def _copied(conn: Connection, query) -> pd.DataFrame:
    """PostgreSQL: the rows of ``query`` as :func:`_frame` gives them, sent by the server as
    one CSV text (``COPY (…) TO STDOUT``) and parsed by pandas' C reader. For a million
    transactions this saves several seconds of the client's CPU over converting the rows one by
    one (each time, amount and text an object first). An empty text is read as none, as the
    accrual treats an empty category, channel or refunded purchase."""
    kinds = {column.name: _kind(column) for column in query.selected_columns}
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    buffer = io.BytesIO()
    cursor = conn.connection.driver_connection.cursor()
    try:
        with cursor.copy(f"COPY ({compiled}) TO STDOUT (FORMAT csv)", compiled.params) as copy:
            for block in copy:
                buffer.write(block)
    finally:
        cursor.close()
    buffer.seek(0)
    dtypes = {"number": "float64", "int": "Int64", "text": object, "flag": object,
              "stamp": object, "day": object}
    frame = pd.read_csv(buffer, header=None, names=list(kinds), keep_default_na=False,
                        na_values=[""],
                        dtype={name: dtypes[kind] for name, kind in kinds.items()})
    for name, kind in kinds.items():
        if kind == "int" and not frame[name].hasnans:
            frame[name] = frame[name].astype("int64")
        elif kind == "flag":
            frame[name] = frame[name].eq("t")
        elif kind in ("stamp", "day"):
            values = pd.to_datetime(frame[name], format="ISO8601")
            frame[name] = values if kind == "stamp" else values.dt.date.where(values.notna(), None)
    return frame


def read_people(conn: Connection, run: Run, up_to: int) -> pd.DataFrame:
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


def transaction_rows(conn: Connection, run: Run, where) -> pd.DataFrame:
    """The transactions of ``where`` (in id order) of the members the run covers, with the
    member's join day, tier, referrer and birthday."""
    t = transactions.c
    read = _copied if conn.dialect.name == "postgresql" else _frame
    rows = read(conn, select(t.id.label("transaction_id"), t.customer_id, t.occurred_at,
                             t.amount, t.category, t.channel, t.is_refund, t.refund_of)
                .where(where))
    rows = _with_people(rows, run.people, "transaction_id")
    return rows.assign(local_at=company_times(rows["occurred_at"], run.zone))


def response_rows(conn: Connection, run: Run, where) -> pd.DataFrame:
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


def _earned_before(conn: Connection, run: Run, member_ids, stamps: pd.Series):
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


def _capped_members(run: Run, purchases: pd.DataFrame) -> list[int]:
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


def _first_purchases(conn: Connection, run: Run, purchases: pd.DataFrame) -> pd.DataFrame:
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


def _all_first_purchases(conn: Connection, run: Run) -> None:
    """Every member's earliest purchase on or after joining, in one pass (``run.first``; None
    for those whose first-purchase or referral bonus was given): for a run whose first chunk
    holds many members, far cheaper than looking them up a list at a time."""
    given = _keys_from(conn, "first:") | _keys_from(conn, "referral:")
    if conn.dialect.name == "sqlite":
        # Per member, a seek into the purchases' (customer, time) index at the day they joined.
        sql = ("SELECT m.id, (SELECT t.occurred_at FROM transactions t WHERE t.customer_id = "
               "m.customer_id AND t.occurred_at >= m.joined_on AND NOT t.is_refund "
               "ORDER BY t.occurred_at LIMIT 1) FROM members m")
    else:
        # One hash join and grouping: a seek per member would probe the index of every month
        # of the partitioned transactions (15 s instead of 1 s for 100k members).
        sql = ("SELECT m.id, MIN(t.occurred_at) FROM members m JOIN transactions t ON "
               "t.customer_id = m.customer_id AND t.occurred_at >= m.joined_on "
               "WHERE NOT t.is_refund GROUP BY m.id")
    rows = [row for row in conn.exec_driver_sql(sql).fetchall() if row[1] is not None]
    if not rows:
        return
    ids = [int(m) for m, _ in rows]
    times = pd.to_datetime(pd.Series([at for _, at in rows]), format="ISO8601")
    run.first.update({m: (None if m in given else at)
                      for m, at in zip(ids, times.tolist(), strict=True)})


def _refund_rows(conn: Connection, run: Run, refunds: pd.DataFrame) -> pd.DataFrame:
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

@dataclass
class Prepared:
    """A chunk of transactions with what its purchases earn (:func:`prepare`), to be written by
    :func:`apply`."""

    rows: pd.DataFrame  # the chunk's rows not posted yet
    purchases: pd.DataFrame  # its purchases dated on or after joining, marked (first, referrer)
    before: pd.DataFrame | None  # what the monthly-capped rules gave before the chunk
    moves: pd.DataFrame  # what the purchases earn (points.MOVEMENT_COLUMNS)
    on_time: np.ndarray  # per row: dated on or after the member joined
    staged: Staged | None = None  # the moves laid out for writing (posting.stage_gives)


def capped_moves(run: Run, moves: pd.DataFrame) -> pd.DataFrame | None:
    """The movements of ``moves`` given under a monthly-capped rule, as ``earned_before``
    lists them (``member_id, rule_id, earned_on, points, month``)."""
    capped = [int(r["id"]) for r in run.rules if r.get("cap_per_month") is not None]
    if not capped or moves.empty:
        return None
    mine = moves[moves["rule_id"].isin(capped).to_numpy()]
    frame = pd.DataFrame({"member_id": mine["member_id"].astype("int64"),
                          "rule_id": mine["rule_id"].astype("int64"),
                          "earned_on": mine["earned_on"], "points": mine["points"]})
    return frame.assign(month=month_index(frame["earned_on"]))


def prepare(conn: Connection, run: Run, rows: pd.DataFrame, *, check: bool,
            pending: pd.DataFrame | None = None) -> Prepared:
    """What a chunk of transactions (purchases and refunds of active members, in id order)
    earns, read on ``conn`` (it writes nothing); ``check`` skips rows already posted (read
    before by a run that stopped behind them); ``pending``: the capped movements of a chunk
    being written and not in what ``conn`` sees (:func:`capped_moves`)."""
    if check and not rows.empty:
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
    if pending is not None and not pending.empty:
        before = pending if before is None else pd.concat([before, pending], ignore_index=True)
    moves = purchase_points(purchases, run.rules, before)
    staged = None if moves.empty else stage_gives(conn, moves, run.accounts, run.policy,
                                                  now=run.now)
    return Prepared(rows, purchases, before, moves, on_time, staged)


def retier(conn: Connection, run: Run, prepared: Prepared, moved: pd.DataFrame) -> Prepared:
    """``prepared`` with the tiers of the members ``moved`` up (``member_id, customer_id,
    tier``) since it was read: the points of the members who bought or whose referrer moved
    are computed again, all of each such member's purchases (a monthly cap counts a member's
    purchases together), and only theirs unless a referral bonus is capped (a referrer's cap
    counts the purchases of everyone they referred: then all are computed again)."""
    purchases = prepared.purchases
    if moved.empty or purchases.empty:
        return prepared
    tier_of = dict(zip(moved["member_id"], moved["tier"], strict=True))
    own = purchases["member_id"].isin(list(tier_of)).to_numpy()
    referring = purchases["referrer"].isin(list(tier_of)).to_numpy()
    if not own.any() and not referring.any():
        return prepared
    purchases = purchases.copy()
    tiers = purchases.loc[own, "member_id"].map(tier_of)
    purchases.loc[own, "tier"] = tiers
    purchases.loc[own, "tier_multiplier"] = tiers.map(run.multipliers).astype("float64")
    purchases.loc[referring, "referrer_tier"] = purchases.loc[referring, "referrer"].map(tier_of)
    capped_referral = any(r["kind"] == "referral" and r.get("cap_per_month") is not None
                          for r in run.rules)
    if capped_referral or prepared.staged is None:
        moves = purchase_points(purchases, run.rules, prepared.before)
        staged = None if moves.empty else stage_gives(conn, moves, run.accounts, run.policy,
                                                      now=run.now)
        return Prepared(prepared.rows, purchases, prepared.before, moves, prepared.on_time,
                        staged)
    again = purchases["member_id"].isin(
        purchases.loc[own | referring, "member_id"].unique()).to_numpy()
    redo = purchase_points(purchases[again], run.rules, prepared.before)
    drop = purchases.loc[again, "transaction_id"].to_numpy(dtype="float64")
    kept = prepared.moves[~np.isin(prepared.moves["transaction_id"].to_numpy(dtype="float64"),
                                   drop)]
    moves = pd.concat([kept, redo], ignore_index=True) if not redo.empty else kept
    staged = prepared.staged.replaced(drop, None if redo.empty else stage_gives(
        conn, redo, run.accounts, run.policy, now=run.now))
    return Prepared(prepared.rows, purchases, prepared.before, moves.reset_index(drop=True),
                    prepared.on_time, staged)


def apply(conn: Connection, run: Run, prepared: Prepared) -> pd.DataFrame:
    """Write a prepared chunk on the write connection ``conn``: its points, its refunds and
    the upgrades they bring; returns the members moved up (``member_id, customer_id, tier``),
    for :func:`set_tiers` (the chunks after read them)."""
    rows, moves, on_time = prepared.rows, prepared.moves, prepared.on_time
    given = give_many(conn, moves, run.accounts, run.policy, now=run.now,
                      staged=prepared.staged)
    if not moves.empty:
        own = ~moves["source_key"].str.startswith("referral:")
        run.done.transactions += int(moves.loc[own, "transaction_id"].nunique())
        run.done.points += given
    refund = rows["is_refund"].astype(bool).to_numpy()
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
    moved = pd.DataFrame(columns=["member_id", "customer_id", "tier"])
    if not moves.empty:
        earners = sorted(set(moves["member_id"].astype(int)))
        if tier_rules.upgrade_now(conn, earners, on=run.day, now=run.now, zone=run.zone):
            moved = pd.DataFrame(rows_in(
                conn, "SELECT id, customer_id, tier_code FROM members WHERE tier_since = "
                      f"'{run.day.isoformat()}' AND id {{in}}", earners),
                columns=["member_id", "customer_id", "tier"])
    return moved


def set_tiers(run: Run, moved: pd.DataFrame) -> None:
    """Give the run's members the tiers they moved up to (the chunks after read them)."""
    if moved.empty or run.people is None:
        return
    tiers = dict(zip(moved["customer_id"], moved["tier"], strict=True))
    index = run.people.index.intersection(list(tiers))
    run.people.loc[index, "tier"] = [tiers[c] for c in index]


def accrue_rows(conn: Connection, run: Run, rows: pd.DataFrame, *, check: bool) -> None:
    """Prepare and write a chunk on the write connection ``conn``."""
    if rows.empty:
        return
    set_tiers(run, apply(conn, run, prepare(conn, run, rows, check=check)))


def accrue_responses(conn: Connection, run: Run, rows: pd.DataFrame, *, check: bool) -> None:
    if rows.empty:
        return
    if check:
        posted = _posted(conn, [f"survey:{i}" for i in rows["response_id"]])
        rows = rows[[f"survey:{i}" not in posted for i in rows["response_id"]]]
    before = _earned_before(conn, run, rows["member_id"].tolist(), rows["local_at"])
    moves = survey_points(rows, run.rules, before)
    run.done.points += give_many(conn, moves, run.accounts, run.policy, now=run.now)
    run.done.responses += len(moves)
