"""Benchmark: the key drivers' and the PLS path model's Poisson-bootstrap intervals on the
engines (issue 16), against the estimates alone and against the in-process plain bootstrap.

On the demo company (built into a temporary SQLite file unless ``--db URL`` names one) and its
Parquet export, times ``patronage.engines.survey_models.drivers_table`` and ``pls_table`` with
``n_boot=0`` and ``n_boot=B`` on the database engine (SQLite or PostgreSQL) and on DuckDB, and
the in-process tables (``patronage.satisfaction.methods``, responses read into pandas) with B
resamples, and prints each time with its ratio to the engine's estimates alone. The load
average is printed before and after: on a shared 2-core machine other work slows every step.

Usage: python benchmarks/engine_bootstrap.py [--db URL] [--replicates 200]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from patronage.cli import main
from patronage.engines import survey_models
from patronage.engines.database import DatabaseEngine
from patronage.engines.duckdb import DuckDBEngine
from patronage.satisfaction import methods, survey_data_from_db
from patronage.storage.engine import make_engine


def _timed(compute) -> float:
    start = time.perf_counter()
    compute()
    return time.perf_counter() - start


def run(url: str, folder: Path, replicates: int) -> None:
    engine = make_engine(url)
    result = CliRunner().invoke(main, ["export", "parquet", str(folder), "--db", url])
    assert result.exit_code == 0, result.output
    engines = {"database": lambda: DatabaseEngine(engine), "duckdb": lambda: DuckDBEngine(folder)}
    for name in ("drivers", "pls"):
        on_engine = getattr(survey_models, f"{name}_table")
        in_process = getattr(methods, f"{name}_table")
        for label, make in engines.items():
            def fit(n_boot, make=make):
                with make() as opened:
                    on_engine(opened, n_boot=n_boot)
            alone, boot = _timed(lambda: fit(0)), _timed(lambda: fit(replicates))
            print(f"{name:8} {label:9} estimates {alone:6.2f} s   with {replicates} Poisson "
                  f"replicates {boot:6.2f} s   ratio {boot / alone:5.1f}")
        plain = _timed(lambda: in_process(survey_data_from_db(engine), n_boot=replicates))
        print(f"{name:8} in process with {replicates} plain resamples (reading the responses) "
              f"{plain:6.2f} s")
    engine.dispose()


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None)
    parser.add_argument("--replicates", type=int, default=200)
    args = parser.parse_args()
    print("load before:", os.getloadavg())
    with tempfile.TemporaryDirectory() as scratch:
        url = args.db
        if url is None:
            from patronage.demo import build_demo_database

            url = f"sqlite:///{Path(scratch) / 'demo.db'}"
            build_demo_database(make_engine(url))
        run(url, Path(scratch) / "export", args.replicates)
    print("load after:", os.getloadavg())


if __name__ == "__main__":
    main_()
