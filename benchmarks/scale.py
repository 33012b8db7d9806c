"""Benchmark (issue 16): summary + fit + scores of N transactions, pandas vs DuckDB over Parquet.

Run:  python benchmarks/scale.py [--transactions 1000000 10000000] [--folder DIR] [--keep]

1. Writes N synthetic transactions (BG/NBD-like: Poisson buying at a Gamma-distributed rate,
   dropping out after a purchase with a Beta-distributed probability, two years, about ten
   purchases per customer) as an export of ``patronage export parquet`` (customers/ and
   transactions/year=/month=/), generated and written in chunks of customers.
2. pandas: the four transaction columns read into memory, ``customer_summary`` (numpy), the
   sufficient statistics, the fit, and every customer's P(alive), expected purchases and CLV
   computed in process and written to Parquet.
3. DuckDB: ``DuckDBEngine.statistics`` (one SQL pass), the same fit, and the scores computed in
   SQL and written to Parquet (``DuckDBEngine.value_scores``).
Each path runs in its own process, so its peak resident memory is its own. The BG/NBD
parameters of the two paths agree to the bit (the same statistics); pandas sums money in binary
floating point and DuckDB in exact cents, so mean spends differ in their last bits and the
Gamma-Gamma parameters agree to the optimiser's tolerance (about 1e-7).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

START = np.datetime64("2024-01-01T00:00:00", "s")
DAYS = 730
CHUNK_CUSTOMERS = 100_000


def _table(schema: pa.Schema, values: dict, n: int) -> pa.Table:
    """A table of ``schema`` with ``values``; other non-null columns get a neutral default."""
    defaults = {pa.types.is_boolean: False, pa.types.is_integer: 0, pa.types.is_string: "",
                pa.types.is_timestamp: datetime(2024, 1, 1)}
    columns = []
    for field in schema:
        if field.name in values:
            columns.append(pa.array(values[field.name], type=field.type))
        elif field.nullable:
            columns.append(pa.nulls(n, type=field.type))
        else:
            fill = next(v for test, v in defaults.items() if test(field.type))
            columns.append(pa.array([fill] * n, type=field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def generate(folder: Path, n_transactions: int, seed: int = 7) -> tuple[int, int]:
    """Write about ``n_transactions`` transactions; returns (transactions, customers)."""
    from patronage.engines.parquet import arrow_schema
    from patronage.storage.schema import customers, transactions

    rng = np.random.default_rng(seed)
    schema, written, next_customer, chunk = arrow_schema(transactions), 0, 1, 0
    customer_files = []
    while written < n_transactions:
        k = CHUNK_CUSTOMERS
        ids = np.arange(next_customer, next_customer + k)
        start = rng.uniform(0, DAYS / 2, k)
        rate = rng.gamma(0.9, 1 / 18, k)  # purchases per day while active
        planned = np.minimum(rng.geometric(rng.beta(1.0, 8.0, k)), 400)
        owner = np.repeat(np.arange(k), planned)
        gaps = rng.exponential(1.0, owner.size) / rate[owner]
        first = np.cumsum(planned) - planned
        gaps[first] = 0.0
        total = np.cumsum(gaps)
        days = start[owner] + total - np.repeat(total[first], planned)
        keep = days < DAYS
        owner, days = owner[keep], days[keep]
        take = min(owner.size, n_transactions - written)
        owner, days = owner[:take], days[:take]
        stamps = START + (days * 86_400).astype("timedelta64[s]")
        amount = np.round(rng.gamma(2.0, 30.0, owner.size), 2)
        rows = np.arange(written + 1, written + owner.size + 1)
        month = stamps.astype("datetime64[M]")
        order = np.argsort(month, kind="stable")
        for value in np.unique(month):
            sel = order[month[order] == value]
            year, mon = int(str(value)[:4]), int(str(value)[5:7])
            part = folder / "transactions" / f"year={year}" / f"month={mon}"
            part.mkdir(parents=True, exist_ok=True)
            pq.write_table(_table(schema, {
                "id": rows[sel], "external_id": [f"T{i}" for i in rows[sel]],
                "customer_id": ids[owner[sel]], "occurred_at": stamps[sel],
                "amount": amount[sel], "cost": np.round(amount[sel] * 0.6, 2),
                "is_refund": np.zeros(sel.size, dtype=bool)}, sel.size),
                part / f"part-{chunk}.parquet")
        customer_files.append(ids[np.unique(owner)])
        written += owner.size
        next_customer += k
        chunk += 1
    everyone = np.concatenate(customer_files)
    names = [f"C{i:09d}" for i in everyone]
    (folder / "customers").mkdir(parents=True, exist_ok=True)
    pq.write_table(_table(arrow_schema(customers), {"id": everyone, "external_id": names,
                                                    "name": names}, everyone.size),
                   folder / "customers" / "part-0.parquet")
    return written, int(everyone.size)


def _pandas_path(folder: Path, out: Path, queue) -> None:
    from patronage.analytics.btyd import customer_lifetime_value, customer_summary
    from patronage.loyalty.value_fit import WEEK, fit_on_statistics, summary_statistics

    t0 = time.perf_counter()
    frame = ds.dataset(folder / "transactions", format="parquet", partitioning="hive").to_table(
        columns=["customer_id", "occurred_at", "amount", "cost", "is_refund"]).to_pandas()
    sales = frame[~frame["is_refund"]]
    end = sales["occurred_at"].max().normalize()
    summary = customer_summary(sales, "customer_id", "occurred_at", "amount", "cost",
                               observation_period_end=end)
    t1 = time.perf_counter()
    stats = summary_statistics(summary)
    purchases, spend = fit_on_statistics(stats)
    t2 = time.perf_counter()
    x, tx, age = summary["frequency"], summary["recency"] / WEEK, summary["T"] / WEEK
    scores = summary[[]].copy()
    scores["p_alive"] = purchases.probability_alive(x, tx, age)
    scores["expected_purchases_90d"] = purchases.expected_purchases(90 / WEEK, x, tx, age)
    scores["clv"] = customer_lifetime_value(purchases, spend, x, tx, age,
                                            summary["monetary_value"], margin=stats.margin)
    pq.write_table(pa.Table.from_pandas(scores.reset_index()), out)
    t3 = time.perf_counter()
    queue.put(("pandas", t1 - t0, t2 - t1, t3 - t2, purchases.params_, spend.params_,
               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def _duckdb_path(folder: Path, out: Path, queue) -> None:
    from patronage.engines.duckdb import DuckDBEngine
    from patronage.loyalty.value_fit import fit_on_statistics

    t0 = time.perf_counter()
    with DuckDBEngine(folder) as engine:
        stats = engine.statistics()
        t1 = time.perf_counter()
        purchases, spend = fit_on_statistics(stats)
        t2 = time.perf_counter()
        engine.value_scores(purchases, spend, margin=stats.margin).write_parquet(str(out))
        t3 = time.perf_counter()
    queue.put(("duckdb", t1 - t0, t2 - t1, t3 - t2, purchases.params_, spend.params_,
               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def _run(target, folder: Path, out: Path):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(folder, out, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--folder", type=Path, default=None,
                        help="Where to write the Parquet files (default: a temporary folder).")
    parser.add_argument("--keep", action="store_true", help="Keep the files afterwards.")
    args = parser.parse_args()
    root = args.folder or Path(tempfile.mkdtemp(prefix="patronage-scale-"))
    for n in args.transactions:
        folder = root / f"n{n}"
        shutil.rmtree(folder, ignore_errors=True)
        t0 = time.perf_counter()
        rows, people = generate(folder, n)
        print(f"\n{rows:,} transactions of {people:,} customers written in "
              f"{time.perf_counter() - t0:.1f} s to {folder}")
        print(f"{'path':8} {'summary s':>10} {'fit s':>8} {'scores s':>9} {'total s':>8} "
              f"{'peak MB':>8}")
        results = {}
        for target in (_pandas_path, _duckdb_path):
            name, summ, fit, score, bg, gg, peak = _run(target, folder,
                                                        folder / f"{target.__name__}.parquet")
            results[name] = (bg, gg)
            print(f"{name:8} {summ:10.2f} {fit:8.2f} {score:9.2f} {summ + fit + score:8.2f} "
                  f"{peak:8.0f}")
        for i, model in enumerate(("BG/NBD", "Gamma-Gamma")):
            worst = max(abs(results["duckdb"][i][k] / results["pandas"][i][k] - 1)
                        for k in results["pandas"][i])
            print(f"{model}: largest relative difference of the parameters {worst:.1e}")
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    if not args.keep and args.folder is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
