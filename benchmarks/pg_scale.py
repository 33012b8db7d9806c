"""Benchmark (issue 16): the customer summary on N PostgreSQL transactions, partitioned by month
(migration 0019) against the same rows in a plain table.

Run:  python benchmarks/pg_scale.py [--transactions 10000000] [--customers N]
      [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--keep]
      [--tables plain partitioned] [--ends all mid-2024]

1. Creates a scratch database (``patronage_bench``, dropped at the end unless ``--keep``) with
   two schemas migrated to the newest revision: ``partitioned`` as shipped, and ``plain`` taken
   back one revision (before 0019: the plain table). Both get the same customers.
2. Generates N transactions in the server (``generate_series``, in chunks of 1M rows, seeded):
   two years (2024-2025, 24 monthly partitions), each customer drawn uniformly, 1 % refunds,
   amounts of 10-500 with a cost of 60 %. The rows go into the partitioned table as a bulk load
   into a warehouse would: its uniqueness and foreign-key triggers off (the ids are unique and
   every customer exists by construction) and its two secondary indexes dropped, then built
   again after the load (1M rows took 38 s row by row, 10 s so), then are copied as they are
   into the plain one (unless ``--tables partitioned``); both are analysed.
3. Times the summary query (``patronage.storage.summary``: frequency, recency, T, monetary value
   per customer) on both, over everything and up to mid-2024 (a date-bounded summary, which the
   partitioned table answers from 6 of its 24 months), executed in the server and aggregated
   there so the transfer to Python is not timed. Prints the time, the rows, and what the plan
   did (partitions scanned, parallel workers).
The load average is printed before and after: on a shared 2-core machine other work slows every
step, so compare runs made under similar load.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from datetime import date

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from patronage.storage import make_engine, upgrade
from patronage.storage.migrate import downgrade
from patronage.storage.partitions import ensure_months
from patronage.storage.summary import _summary_query

DATABASE = "patronage_bench"
CHUNK = 1_000_000
ENDS = {"all": ("all (2025-12-31)", date(2025, 12, 31)),
        "mid-2024": ("to 2024-06-30", date(2024, 6, 30))}


def _admin(url: str):
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _schema_engine(url: str, schema: str):
    target = make_url(url).set(database=DATABASE).update_query_dict(
        {"options": f"-csearch_path={schema}"})
    return make_engine(target.render_as_string(hide_password=False))


def _setup(url: str, customers: int, tables: list[str]):
    admin = _admin(url)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    bench = _admin(make_url(url).set(database=DATABASE).render_as_string(hide_password=False))
    with bench.connect() as conn:
        conn.execute(text("CREATE SCHEMA partitioned; CREATE SCHEMA plain"))
    bench.dispose()
    engines = {name: _schema_engine(url, name) for name in ("partitioned", *tables)}
    upgrade(engines["partitioned"])
    if "plain" in engines:
        upgrade(engines["plain"])
        downgrade(engines["plain"], "-1")
    for engine in engines.values():
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO customers (external_id, name, created_at, updated_at) "
                "SELECT 'C' || g, 'C' || g, now(), now() FROM generate_series(1, :n) g"),
                {"n": customers})
    return engines


def _load(engines, n: int, customers: int) -> float:
    start = time.perf_counter()
    with engines["partitioned"].begin() as conn:
        indexes = conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'partitioned' "
            "AND tablename = 'transactions' AND indexname LIKE 'ix_%'")).all()
        for name, _ in indexes:
            conn.execute(text(f"DROP INDEX {name}"))
        months = [date(2024 + i // 12, 1 + i % 12, 1) for i in range(24)]
        print(f"  {ensure_months(conn, months)} monthly partitions made (as an import would)")
        conn.execute(text("ALTER TABLE transactions DISABLE TRIGGER ALL"))
        conn.execute(text("SELECT setseed(0.16)"))
        for first in range(1, n + 1, CHUNK):
            last = min(first + CHUNK - 1, n)
            conn.execute(text(
                "INSERT INTO transactions (id, external_id, customer_id, occurred_at, amount, "
                "cost, is_refund) "
                "SELECT g, 'T' || g, c, at, CASE WHEN r THEN -a ELSE a END, round(a * 0.6, 2), r "
                "FROM (SELECT g, 1 + floor(random() * :customers)::int AS c, "
                "  timestamp '2024-01-01' + random() * interval '730 days' AS at, "
                "  round((10 + random() * 490)::numeric, 2) AS a, random() < 0.01 AS r "
                "  FROM generate_series(:first, :last) g) s"),
                {"customers": customers, "first": first, "last": last})
            print(f"  {last:,} rows", flush=True)
        conn.execute(text("ALTER TABLE transactions ENABLE TRIGGER ALL"))
        for _, definition in indexes:
            conn.execute(text(definition))
        conn.execute(text("SELECT setval(pg_get_serial_sequence('transactions', 'id'), :n)"),
                     {"n": n})
    loaded = time.perf_counter() - start
    if "plain" in engines:
        with engines["plain"].begin() as conn:
            conn.execute(text("INSERT INTO transactions SELECT * FROM partitioned.transactions"))
    for engine in engines.values():
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE transactions"))
    return loaded


def _timed(engine, end: date) -> tuple[float, int, str]:
    summary = _summary_query(engine, end)
    sql = str(summary.compile(engine, compile_kwargs={"literal_binds": True}))
    outer = ("SELECT count(*), sum(frequency), sum(recency), sum(\"T\"), sum(monetary_value) "
             f"FROM ({sql}) s")
    with engine.connect() as conn:
        plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {outer}").scalars())
        start = time.perf_counter()
        rows = conn.exec_driver_sql(outer).one()[0]
        seconds = time.perf_counter() - start
    partitions = len(set(re.findall(r"transactions_(y\d{4}m\d{2}|default)", plan)))
    workers = re.findall(r"Workers Planned: (\d+)", plan)
    notes = (f"{partitions} partitions scanned" if partitions else "one table scanned")
    notes += f", {max(map(int, workers))} parallel workers" if workers else ", no parallel plan"
    return seconds, int(rows), notes


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=None,
                        help="default: one per ten transactions")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a database of the server to create the scratch database from")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--tables", nargs="+", choices=["plain", "partitioned"],
                        default=["plain", "partitioned"], help="the tables to time")
    parser.add_argument("--ends", nargs="+", choices=list(ENDS), default=list(ENDS),
                        help="the summaries to time: everything, or up to mid-2024")
    args = parser.parse_args()
    n, customers = args.transactions, args.customers or max(args.transactions // 10, 1)
    print(f"load average before: {_load_average()}")
    engines = _setup(args.pg_url, customers, args.tables)
    try:
        print(f"generating {n:,} transactions of {customers:,} customers ...")
        loaded = _load(engines, n, customers)
        print(f"loaded into the partitioned table in {loaded:.1f} s")
        print(f"\n{'table':<12} {'summary':<18} {'seconds':>8} {'customers':>10}  plan")
        for label, end in (ENDS[e] for e in args.ends):
            for name in args.tables:
                seconds, rows, notes = _timed(engines[name], end)
                print(f"{name:<12} {label:<18} {seconds:>8.1f} {rows:>10,}  {notes}", flush=True)
    finally:
        for engine in engines.values():
            engine.dispose()
        if not args.keep:
            admin = _admin(args.pg_url)
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
            admin.dispose()
    print(f"load average after: {_load_average()}")


if __name__ == "__main__":
    main()
