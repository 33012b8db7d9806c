"""Benchmark (issue 16): summary + fit + scores of N transactions: pandas, DuckDB and Spark.

Run:  python benchmarks/scale.py [--transactions 1000000 10000000] [--folder DIR] [--keep]
          [--paths pandas duckdb spark-local spark-1 spark-2] [--pandas-max N] [--postgres]

1. Writes N synthetic transactions (BG/NBD-like: Poisson buying at a Gamma-distributed rate,
   dropping out after a purchase with a Beta-distributed probability, two years, about ten
   purchases per customer) as an export of ``patronage export parquet`` (customers/ and
   transactions/year=/month=/), generated and written in chunks of customers.
2. pandas: the four transaction columns read into memory, ``customer_summary`` (numpy), the
   sufficient statistics, the fit, and every customer's P(alive), expected purchases and CLV
   computed in process and written to Parquet.
3. DuckDB: ``DuckDBEngine.statistics`` (one SQL pass), the same fit, and the scores computed in
   SQL and written to Parquet (``DuckDBEngine.value_scores``).
4. Spark (``pip install 'patronage[spark]'``, Java 17+): ``SparkEngine`` in local[2] and on a
   Spark standalone cluster of 1 and of 2 workers (one core each) started on this machine by
   :class:`patronage.engines.spark_cluster.LocalCluster`; the scores are written as a Parquet
   folder. ``spark.sql.shuffle.partitions`` is set to about one per 2 million transactions
   (at least 8) instead of Spark's 200.
Each path runs in its own process; its peak memory is the largest sum of the resident memory
of that process and its children (Spark's JVM), plus, for the cluster paths, of the cluster's
master, workers and executors, sampled every 0.2 s from /proc. pandas holds every transaction in
memory, so it is left out above ``--pandas-max`` transactions (default 20 million). ``--postgres``
also runs ``benchmarks/pg_scale.py``'s ``run(n)`` when that file is there. The BG/NBD
parameters of the two paths agree to the bit (the same statistics); pandas sums money in binary
floating point and DuckDB in exact cents, so mean spends differ in their last bits and the
Gamma-Gamma parameters agree to the optimiser's tolerance (about 1e-7).
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
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
    queue.put(("pandas", t1 - t0, t2 - t1, t3 - t2, purchases.params_, spend.params_))


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
    queue.put(("duckdb", t1 - t0, t2 - t1, t3 - t2, purchases.params_, spend.params_))


def _spark_path(folder: Path, out: Path, queue, master: str = "local[2]",
                name: str = "spark", partitions: int = 8) -> None:
    from patronage.engines.spark import SparkEngine
    from patronage.engines.spark_cluster import spark_session
    from patronage.loyalty.value_fit import fit_on_statistics

    t0 = time.perf_counter()
    session = spark_session(master, {"spark.driver.memory": "2g",
                                     "spark.executor.memory": "1500m",
                                     "spark.sql.shuffle.partitions": str(partitions)})
    with SparkEngine(folder, session=session) as engine:
        stats = engine.statistics()
        t1 = time.perf_counter()
        purchases, spend = fit_on_statistics(stats)
        t2 = time.perf_counter()
        engine.value_scores(purchases, spend, margin=stats.margin).write.parquet(str(out))
        t3 = time.perf_counter()
    session.stop()
    queue.put((name, t1 - t0, t2 - t1, t3 - t2, purchases.params_, spend.params_))


def _tree_rss_mb(roots: list[int]) -> float:
    """Resident memory (MB) of the processes ``roots`` and all their descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * page
    total, todo, seen = 0, list(roots), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / 2**20


class _PeakMemory(threading.Thread):
    """Samples :func:`_tree_rss_mb` of ``roots`` every 0.2 s; ``peak`` is the largest."""

    def __init__(self, roots: list[int]):
        super().__init__(daemon=True)
        self.roots, self.peak, self._done = roots, 0.0, threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, _tree_rss_mb(self.roots))
            self._done.wait(0.2)

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak


def _run(target, folder: Path, out: Path, *extra, also: list[int] = ()):
    """``target`` in its own process; its result and the peak memory of that process's tree
    and of the processes ``also`` (a cluster's)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(folder, out, queue, *extra))
    process.start()
    sampler = _PeakMemory([process.pid, *also])
    sampler.start()
    result = queue.get()
    process.join()
    return (*result, sampler.stop())


def _spark_runs(paths: list[str]):
    """(name, master, cluster processes) of each Spark path asked for, starting and stopping
    a local standalone cluster of 1 and 2 workers around its run."""
    from patronage.engines.spark_cluster import LocalCluster

    for name in paths:
        if name == "spark-local":
            yield name, "local[2]", []
        elif name.startswith("spark-"):
            workers = int(name.split("-")[1])
            with LocalCluster(workers=workers, cores=1, memory="2g") as cluster:
                yield name, cluster.master, cluster.pids()


PATHS = ("pandas", "duckdb", "spark-local", "spark-1", "spark-2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--folder", type=Path, default=None,
                        help="Where to write the Parquet files (default: a temporary folder).")
    parser.add_argument("--keep", action="store_true", help="Keep the files afterwards.")
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS),
                        help="Which engines to time (Spark ones need pyspark and Java).")
    parser.add_argument("--pandas-max", type=int, default=20_000_000,
                        help="Leave pandas out above this many transactions (it holds them "
                             "all in memory).")
    parser.add_argument("--postgres", action="store_true",
                        help="Also time benchmarks/pg_scale.py's run(n), when it is there.")
    args = parser.parse_args()
    spark_paths = [p for p in args.paths if p.startswith("spark")]
    if spark_paths and importlib.util.find_spec("pyspark") is None:
        print("pyspark is not installed: the Spark paths are left out "
              "(pip install 'patronage[spark]')")
        spark_paths = []
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the driver, for a local cluster
    root = args.folder or Path(tempfile.mkdtemp(prefix="patronage-scale-"))
    print(f"{os.cpu_count()} cores; load average before: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for n in args.transactions:
        folder = root / f"n{n}"
        shutil.rmtree(folder, ignore_errors=True)
        t0 = time.perf_counter()
        rows, people = generate(folder, n)
        print(f"\n{rows:,} transactions of {people:,} customers written in "
              f"{time.perf_counter() - t0:.1f} s to {folder}")
        print(f"{'path':12} {'summary s':>10} {'fit s':>8} {'scores s':>9} {'total s':>8} "
              f"{'peak MB':>8}", flush=True)
        results = {}

        def show(name, summ, fit, score, bg, gg, peak):
            results[name] = (bg, gg, summ + fit + score)
            print(f"{name:12} {summ:10.2f} {fit:8.2f} {score:9.2f} {summ + fit + score:8.2f} "
                  f"{peak:8.0f}", flush=True)

        for target in (_pandas_path, _duckdb_path):
            name = target.__name__.strip("_").removesuffix("_path")
            if name not in args.paths:
                continue
            if name == "pandas" and n > args.pandas_max:
                print(f"{'pandas':12} left out: {n:,} transactions do not fit in memory")
                continue
            show(*_run(target, folder, folder / f"{name}.parquet"))
        for name, master, cluster in _spark_runs(spark_paths):
            # Spark's default of 200 shuffle partitions is for big clusters; here a few
            # million rows per partition.
            show(*_run(_spark_path, folder, folder / f"{name}.parquet", master, name,
                       max(8, n // 2_000_000), also=cluster))
        base = "pandas" if "pandas" in results else next(iter(results), None)
        for other in results:
            if other == base:
                continue
            worst = [max(abs(results[other][i][k] / results[base][i][k] - 1)
                         for k in results[base][i]) for i in (0, 1)]
            print(f"{other} vs {base}: largest relative difference of the BG/NBD parameters "
                  f"{worst[0]:.1e}, of the Gamma-Gamma parameters {worst[1]:.1e}")
        if "duckdb" in results:
            for other in results:
                if other.startswith("spark"):
                    print(f"{other} took {results[other][2] / results['duckdb'][2]:.1f}x "
                          "DuckDB's time")
        if "spark-1" in results and "spark-2" in results:
            print(f"cluster of 2 workers vs 1: {results['spark-1'][2] / results['spark-2'][2]:.2f}x"
                  " faster")
        if args.postgres:
            here = Path(__file__).resolve().parent
            if (here / "pg_scale.py").is_file():
                sys.path.insert(0, str(here))
                import pg_scale

                pg_scale.run(n)
            else:
                print("benchmarks/pg_scale.py is not there: no PostgreSQL timing")
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if not args.keep and args.folder is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
