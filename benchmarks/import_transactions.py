"""Benchmark: import 1M transactions for 50k customers (goal: <= 10 s SQLite, <= 5 s PostgreSQL).

Generates a customers CSV and a transactions CSV in a temporary folder, imports the customers,
then times ``import_file(engine, "transactions", ...)`` (the whole pipeline: read, detect,
validate, look up customers, write in one transaction) into a fresh SQLite file and into a fresh
schema of PostgreSQL (dropped afterwards; skipped with a message when the server is not
reachable). Side by side, the "what a user would otherwise do" baseline: ``pandas.read_csv`` plus
``DataFrame.to_sql`` into a plain table, with no validation at all.

The machine's load average is printed before and after: on a shared 2-core machine other work
slows every step, so compare runs made under similar load.

Usage: python benchmarks/import_transactions.py [--rows 1000000] [--customers 50000]
       [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import make_url

from patronage.storage import make_engine, upgrade
from patronage.storage.importing import import_file

GOALS = {"sqlite": 10.0, "postgresql": 5.0}


def generate(folder: Path, rows: int, n_customers: int, seed: int = 7) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    ids = np.char.add("C", np.arange(n_customers).astype(str))
    customers = pd.DataFrame({"客户编号": ids, "姓名": np.char.add("客户", ids),
                              "地区": rng.choice(["北京", "上海", "广东", "四川"], n_customers)})
    customers_path = folder / "customers.csv"
    customers.to_csv(customers_path, index=False, encoding="utf-8")
    start = np.datetime64("2022-01-01T00:00:00")
    seconds = rng.integers(0, 3 * 365 * 86400, rows)
    amount = np.round(rng.gamma(2.0, 300.0, rows), 2)
    refund = rng.random(rows) < 0.02
    amount[refund] *= -1
    transactions = pd.DataFrame({
        "order_no": np.char.add("T", np.arange(rows).astype(str)),
        "customer_id": ids[rng.integers(0, n_customers, rows)],
        "order date": np.datetime_as_string(start + seconds.astype("timedelta64[s]"),
                                            unit="s"),
        "amount": amount,
        "cost": np.round(np.abs(amount) * 0.6, 2),
        "product": rng.choice(["pump", "valve", "filter", "sensor", "motor"], rows),
        "category": rng.choice(["parts", "service", "equipment"], rows),
        "channel": rng.choice(["online", "dealer", "direct"], rows),
    })
    transactions["order date"] = transactions["order date"].str.replace("T", " ", regex=False)
    transactions_path = folder / "transactions.csv"
    transactions.to_csv(transactions_path, index=False, encoding="utf-8")
    return customers_path, transactions_path


def run(url: str, customers_path: Path, transactions_path: Path) -> tuple[float, float, int]:
    """(import seconds, baseline seconds, rows inserted) on a fresh database at ``url``."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        report = import_file(engine, "customers", customers_path)
        assert report.ok, report.to_text()
        started = time.perf_counter()
        report = import_file(engine, "transactions", transactions_path)
        elapsed = time.perf_counter() - started
        assert report.ok, report.to_text()
        started = time.perf_counter()
        frame = pd.read_csv(transactions_path)
        frame.to_sql("baseline_transactions", engine, index=False, chunksize=50_000)
        baseline = time.perf_counter() - started
        return elapsed, baseline, report.inserted
    finally:
        engine.dispose()


def report_line(backend: str, rows: int, elapsed: float, baseline: float) -> None:
    goal = GOALS[backend] * rows / 1_000_000
    verdict = "meets" if elapsed <= goal else "MISSES"
    print(f"{backend:10s} import_file: {elapsed:6.2f} s ({rows / elapsed:,.0f} rows/s; goal "
          f"<= {goal:.1f} s: {verdict})")
    print(f"{'':10s} read_csv+to_sql baseline (no checks): {baseline:6.2f} s "
          f"({rows / baseline:,.0f} rows/s); import_file / baseline = {elapsed / baseline:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    print(f"Load average (1, 5, 15 min) at start: {_load()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        customers_path, transactions_path = generate(folder, args.rows, args.customers)
        size = transactions_path.stat().st_size / 1e6
        print(f"Generated {args.rows:,} transactions for {args.customers:,} customers "
              f"({size:.0f} MB) in {time.perf_counter() - started:.1f} s")
        elapsed, baseline, inserted = run(f"sqlite:///{folder / 'bench.db'}", customers_path,
                                          transactions_path)
        assert inserted == args.rows
        report_line("sqlite", args.rows, elapsed, baseline)
        bench_pg(args.pg_url, args.rows, customers_path, transactions_path)
    print(f"Load average (1, 5, 15 min) at end: {_load()}")


def _load() -> str:
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:  # pragma: no cover - not available on this platform
        return "unknown"


def bench_pg(url: str, rows: int, customers_path: Path, transactions_path: Path) -> None:
    admin = make_engine(url)
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "skip"
        print(f"postgresql skipped: cannot connect to {url} ({type(exc).__name__})")
        admin.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        elapsed, baseline, inserted = run(scoped.render_as_string(hide_password=False),
                                          customers_path, transactions_path)
        assert inserted == rows
        report_line("postgresql", rows, elapsed, baseline)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
