"""Benchmark: points accrual for 1M transactions of 100k members (goal: <= 10 s on SQLite and on
PostgreSQL).

Builds a programme into a fresh SQLite file and into a scratch PostgreSQL database (created and
dropped; skipped with a message when the server is not reachable): four tiers with multipliers,
earning rules of every purchase kind (1 point per ¥, 2 per ¥ in one category, 1.5 per ¥ on one
channel, a member day ×2 on Wednesdays, the birthday month ×2 capped at 2,000 points a month,
a first-purchase bonus and a referral bonus), 100k members (one in ten referred by another),
and 1M transactions over two years, 2 % of them refunds (half naming their purchase). Then it
times ``accrue`` from zero (the whole job: reading, computing, writing transfers and balances,
moving the cursor, chunk by chunk) and checks the ledger (every cached balance equals the sum
of its transfers; a second run earns nothing).

Then the floor: the same lines copied, by the database alone (``INSERT … SELECT``, nothing through
Python), into an empty table of the ledger's shape (its key, unique source key, member index,
checks, and the account and member checks: SQLite's foreign keys, PostgreSQL's statement
trigger), a chunk of transactions per database transaction in member order as the job writes
them. No accrual can write its lines faster than that, whatever it computes; the ratio of the
two says how much of the job is the rest (reading, computing, balances, tiers), on any machine.

Side by side, the naive approach a loyalty module typically takes (odoo's ``loyalty`` adds
points order by order): one database transaction and one ``ledger.give`` call per movement of
each purchase, on the first 20k transactions of a fresh copy, extrapolated to 1M, with the
ratio. The load average is printed before and after: on a shared 2-core machine other work
slows every step, so compare runs made under similar load.

Usage: python benchmarks/accrual.py [--rows 1000000] [--members 100000] [--naive 20000]
       [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import make_url

from patronage.members import earning
from patronage.members.accrual import accrue
from patronage.members.ledger import Movement, check_balances, give, take
from patronage.members.posting import big_cache
from patronage.members.points import purchase_points, refund_points
from patronage.members.programme import expiry_date, load_policy
from patronage.storage import make_engine, upgrade, write_transaction
from patronage.storage.importing import bulk
from patronage.storage.schema import customers, transactions
from patronage.storage.schema_members import earn_rules, member_tiers, members, point_transfers

GOAL_SECONDS = 10.0
#: Transactions per database transaction of the floor's copy (the job's chunk on SQLite).
FLOOR_CHUNK = 200_000
NOW = datetime(2026, 1, 1)
#: Tiers: code, rank, multiplier and the spend in 12 months that reaches them.
TIERS = [("basic", 0, 1.0, 0), ("silver", 1, 1.2, 4_000), ("gold", 2, 1.5, 8_000),
         ("diamond", 3, 2.0, 15_000)]


def generate(rows: int, n_members: int, seed: int = 11) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n_members + 1)
    stamp = pd.Timestamp(NOW)
    people = pd.DataFrame({
        "id": ids, "external_id": np.char.add("C", ids.astype(str)),
        "name": np.char.add("客户", ids.astype(str)),
        "birthday": pd.to_datetime("1960-01-01") + pd.to_timedelta(
            rng.integers(0, 40 * 365, n_members), unit="D"),
        "created_at": stamp, "updated_at": stamp})
    people["birthday"] = people["birthday"].dt.date
    joined = pd.to_datetime("2023-06-01") + pd.to_timedelta(rng.integers(0, 400, n_members),
                                                            unit="D")
    referred = np.where((rng.random(n_members) < 0.1) & (ids > 1),
                        rng.integers(1, n_members + 1, n_members), 0)
    referred = np.where(referred == ids, 0, referred).astype("float64")
    referred[referred == 0] = np.nan
    tier = rng.choice([t[0] for t in TIERS], n_members, p=[0.55, 0.25, 0.15, 0.05])
    member_rows = pd.DataFrame({
        "id": ids, "customer_id": ids, "card_no": np.char.add("8", ids.astype(str)),
        "joined_on": joined.date, "status": "active", "consent": True, "tier_code": tier,
        "tier_since": joined.date, "referred_by": referred, "created_at": stamp})
    accounts = pd.DataFrame({
        "code": np.concatenate([np.char.add(np.char.add("m", ids.astype(str)), ":points"),
                                np.char.add(np.char.add("m", ids.astype(str)), ":owed")]),
        "kind": np.repeat(["points", "owed"], n_members),
        "member_id": np.concatenate([ids, ids]), "balance": 0})
    start = np.datetime64("2024-01-01T00:00:00")
    seconds = rng.integers(0, 2 * 365 * 86400, rows)
    amount = np.round(rng.gamma(2.0, 150.0, rows), 2) + 1.0
    buyer = rng.integers(1, n_members + 1, rows)
    frame = pd.DataFrame({
        "external_id": np.char.add("T", np.arange(rows).astype(str)), "customer_id": buyer,
        "occurred_at": start + seconds.astype("timedelta64[s]"), "amount": amount,
        "category": rng.choice(["家电", "厨具", "服务", "配件"], rows),
        "channel": rng.choice(["门店", "app", "电话"], rows), "is_refund": False,
        "refund_of": None})
    refund = np.flatnonzero(rng.random(rows) < 0.02)
    refund = refund[refund > 0]
    of = refund - rng.integers(1, 1000, len(refund)).clip(max=refund)
    frame.loc[refund, "amount"] = -np.round(amount[of] * rng.uniform(0.2, 1.0, len(refund)), 2)
    frame.loc[refund, "is_refund"] = True
    frame.loc[refund, "customer_id"] = buyer[of]
    frame.loc[refund, "occurred_at"] = frame["occurred_at"].to_numpy()[of] + np.timedelta64(3, "D")
    named = refund[: len(refund) // 2]
    frame.loc[named, "refund_of"] = frame["external_id"].to_numpy()[of[: len(named)]]
    frame = frame[~frame["external_id"].isin(frame.loc[refund, "external_id"]) | frame["is_refund"]]
    return {"customers": people, "members": member_rows, "accounts": accounts,
            "transactions": frame.reset_index(drop=True)}


def install(engine, data: dict[str, pd.DataFrame]) -> None:
    upgrade(engine)
    with write_transaction(engine) as conn:
        for code, rank, multiplier, spend in TIERS:
            conn.execute(member_tiers.insert().values(
                code=code, name_en=code, name_zh_hans=code, name_zh_hant=code, rank=rank,
                qualify_value=spend, multiplier=multiplier))
        bulk.insert(conn, "customers", data["customers"],
                    kinds={"id": "int", "birthday": "date", "created_at": "datetime",
                           "updated_at": "datetime"})
        people = data["members"]
        bulk.insert(conn, "members", people.drop(columns=["referred_by"]),
                    kinds={"id": "int", "customer_id": "int", "joined_on": "date",
                           "tier_since": "date", "consent": "bool", "created_at": "datetime"})
        referred = people.dropna(subset=["referred_by"])
        conn.execute(members.update().where(members.c.id == bindparam("member")).values(
            referred_by=bindparam("referrer")), [
                {"member": int(m), "referrer": int(r)}
                for m, r in zip(referred["id"], referred["referred_by"], strict=True)])
        bulk.insert(conn, "point_accounts", data["accounts"],
                    kinds={"member_id": "int", "balance": "int"})
        bulk.insert(conn, "transactions", data["transactions"],
                    kinds={"customer_id": "int", "occurred_at": "datetime", "amount": "float",
                           "is_refund": "bool"})
        if conn.dialect.name == "postgresql":
            for table in ("customers", "members"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT MAX(id) FROM {table}))"))
    earning.add_rule(engine, "purchase", points_per_yuan=1)
    earning.add_rule(engine, "purchase", points_per_yuan=2, category="家电")
    earning.add_rule(engine, "purchase", points_per_yuan=1.5, channel="app")
    earning.add_rule(engine, "member_day", multiplier=2, weekday="wed")
    earning.add_rule(engine, "birthday_month", multiplier=2, cap_per_month=2000)
    earning.add_rule(engine, "first_purchase", points=200)
    earning.add_rule(engine, "referral", points=500)


def naive(engine, limit: int) -> float:
    """One database transaction and one ledger call per movement of each transaction."""
    started = time.perf_counter()
    with engine.connect() as conn:
        rules = [dict(r) for r in conn.execute(select(earn_rules)).mappings()]
        multipliers = dict(conn.execute(select(member_tiers.c.code,
                                               member_tiers.c.multiplier)).all())
        policy = load_policy(conn)
        ids = conn.execute(select(transactions.c.id).order_by(transactions.c.id)
                           .limit(limit)).scalars().all()
    t, m, c = transactions.c, members.c, customers.c
    for transaction_id in ids:
        with write_transaction(engine) as conn:
            row = conn.execute(
                select(t.id.label("transaction_id"), m.id.label("member_id"), t.occurred_at,
                       t.amount, t.category, t.channel, t.is_refund, m.tier_code.label("tier"),
                       c.birthday).join(members, m.customer_id == t.customer_id)
                .join(customers, c.id == t.customer_id).where(t.id == transaction_id)
            ).mappings().one()
            frame = pd.DataFrame([dict(row)]).assign(
                tier_multiplier=multipliers.get(row["tier"], 1.0),
                birthday_month=float(row["birthday"].month), first=False, referrer=np.nan,
                referrer_tier=None)
            if row["is_refund"]:
                points = int(refund_points(frame.assign(purchase_amount=np.nan,
                                                        purchase_points=np.nan), rules)[0])
                if points:
                    take(conn, row["member_id"], Movement(
                        "refund", points, f"refund:{transaction_id}", row["occurred_at"],
                        transaction_id=transaction_id), to="issue", shortfall="carry")
                continue
            for move in purchase_points(frame, rules).itertuples(index=False):
                day = row["occurred_at"].date()
                give(conn, row["member_id"], Movement(
                    move.kind, int(move.points), move.source_key, row["occurred_at"],
                    transaction_id=transaction_id, rule_id=None if move.rule_id != move.rule_id
                    else int(move.rule_id), earned_on=day, expires_on=expiry_date(policy, day)))
    return time.perf_counter() - started


def run(url: str, data: dict[str, pd.DataFrame], naive_rows: int) -> None:
    engine = make_engine(url)
    try:
        install(engine, data)
        peak_before = _peak_mb()
        started, cpu = time.perf_counter(), time.process_time()
        done = accrue(engine, now=NOW)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert check_balances(engine) == [], "cached balances differ from the ledger"
        again = accrue(engine, now=NOW)
        assert again.transactions == 0 and again.points == 0, again
        with engine.connect() as conn:
            transfers = conn.execute(select(text("count(*)")).select_from(point_transfers)
                                     ).scalar_one()
            upgrades = conn.execute(text("SELECT count(*) FROM member_tier_changes "
                                         "WHERE kind = 'upgrade'")).scalar_one()
        floor = write_floor(engine)
    finally:
        engine.dispose()
    rows = len(data["transactions"])
    verdict = "meets" if elapsed <= GOAL_SECONDS * rows / 1_000_000 else "MISSES"
    backend = make_url(url).get_backend_name()
    print(f"{backend:10s} accrue: {elapsed:6.2f} s for {rows:,} transactions "
          f"({rows / elapsed:,.0f} transactions/s; goal <= {GOAL_SECONDS:.0f} s per 1M: "
          f"{verdict}); {done.transactions:,} purchases earned {done.points:,} points, "
          f"{done.refunds:,} refunds took back {done.points_taken:,}; {transfers:,} transfers; "
          f"{upgrades:,} members moved up a tier")
    print(f"{'':10s} CPU time of this process: {cpu:6.2f} s (on SQLite the database's own work "
          "is in it too; wall time above it is time spent waiting for the disk or a busy CPU, "
          "or on PostgreSQL for the server)")
    print(f"{'':10s} floor: the same {transfers:,} lines copied by the database alone into an "
          f"empty table of the ledger's shape: {floor:6.2f} s; the goal leaves "
          f"{GOAL_SECONDS * rows / 1_000_000 - floor:5.2f} s for everything else; accrue took "
          f"{elapsed / floor:4.1f}x the floor")
    print(f"{'':10s} peak memory of this process: {peak_before:,.0f} MB before the accrual "
          f"(the generated data), {_peak_mb():,.0f} MB after it")
    if naive_rows:
        engine = make_engine(url.replace("bench.db", "naive.db") if backend == "sqlite"
                             else url)
        try:
            if backend == "sqlite":
                install(engine, data)
            else:  # the same database, emptied of the accrual's work
                with write_transaction(engine) as conn:
                    conn.execute(text("DELETE FROM point_transfers"))
                    conn.execute(text("UPDATE point_accounts SET balance = 0"))
                    conn.execute(text("DELETE FROM worker_cursors"))
            seconds = naive(engine, naive_rows)
        finally:
            engine.dispose()
        projected = seconds * rows / naive_rows
        print(f"{'':10s} naive (a transaction and ledger call per purchase): {seconds:6.2f} s "
              f"for {naive_rows:,} ({naive_rows / seconds:,.0f}/s) -> about {projected:,.0f} s "
              f"for {rows:,}; accrue is {projected / elapsed:,.0f}x faster")


def write_floor(engine) -> float:
    """Seconds to copy the ledger's lines into an empty table of its shape inside the database
    (see the module docstring); the table is dropped afterwards."""
    postgres = engine.dialect.name == "postgresql"
    with write_transaction(engine) as conn:
        if postgres:
            conn.execute(text("CREATE TABLE accrual_floor "
                              "(LIKE point_transfers INCLUDING ALL)"))
            conn.execute(text(
                "CREATE TRIGGER accrual_floor_references AFTER INSERT ON accrual_floor "
                "REFERENCING NEW TABLE AS new_transfers FOR EACH STATEMENT "
                "EXECUTE FUNCTION point_transfers_references_exist()"))
        else:
            shape = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                      "AND name = 'point_transfers'")).scalar_one()
            conn.execute(text(shape.replace("point_transfers", "accrual_floor", 1)))
            conn.execute(text("CREATE INDEX ix_accrual_floor_member_time "
                              "ON accrual_floor (member_id, occurred_at)"))
        # The lines in the order they are copied (chunk, then member), read through an index
        # so that the copy itself sorts nothing.
        columns = ", ".join(c.name for c in point_transfers.columns if c.name != "id")
        conn.execute(text(
            f"CREATE TABLE accrual_floor_source AS SELECT {columns}, "
            f"coalesce(transaction_id, 0) / {FLOOR_CHUNK} AS part, row_number() OVER "
            f"(ORDER BY coalesce(transaction_id, 0) / {FLOOR_CHUNK}, member_id, occurred_at) "
            "AS n FROM point_transfers"))
        conn.execute(text("CREATE INDEX ix_accrual_floor_source ON accrual_floor_source "
                          "(part, n)"))
        if postgres:
            conn.execute(text("ANALYZE accrual_floor_source"))
        parts = conn.execute(text("SELECT DISTINCT part FROM accrual_floor_source "
                                  "ORDER BY part")).scalars().all()
    started = time.perf_counter()
    for part in parts:
        with write_transaction(engine, durable=False) as conn, big_cache(conn):
            conn.execute(text(
                f"INSERT INTO accrual_floor ({columns}) SELECT {columns} FROM "
                "accrual_floor_source WHERE part = :part ORDER BY n"), {"part": part})
    seconds = time.perf_counter() - started
    with write_transaction(engine) as conn:
        conn.execute(text("DROP TABLE accrual_floor"))
        conn.execute(text("DROP TABLE accrual_floor_source"))
    return seconds


def _peak_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load() -> str:
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:  # pragma: no cover - not available on this platform
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--naive", type=int, default=20_000,
                        help="transactions for the naive approach (0 to skip it)")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    print(f"Load average (1, 5, 15 min) at start: {_load()}")
    started = time.perf_counter()
    data = generate(args.rows, args.members)
    print(f"Generated {len(data['transactions']):,} transactions of {args.members:,} members in "
          f"{time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'bench.db'}", data, args.naive)
    if not args.no_pg:
        bench_pg(args.pg_url, data, args.naive)
    print(f"Load average (1, 5, 15 min) at end: {_load()}")


def bench_pg(url: str, data: dict[str, pd.DataFrame], naive_rows: int) -> None:
    admin = make_engine(url)
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "skip"
        print(f"postgresql skipped: cannot connect to {url} ({type(exc).__name__})")
        admin.dispose()
        return
    name = f"bench_accrual_{uuid.uuid4().hex[:10]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        run(make_url(url).set(database=name).render_as_string(hide_password=False), data,
            naive_rows)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
