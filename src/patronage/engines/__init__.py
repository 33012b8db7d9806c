"""Analysis engines (issue 16, "Beyond one machine").

An analysis reduces to sufficient statistics computed in one pass plus a small fit in numpy: an
engine computes the statistics (and writes per-customer scores back from the fitted
parameters), :mod:`patronage.analytics` fits on them. Engines: the operational database
(:mod:`patronage.engines.database`, SQL pushed down to SQLite/PostgreSQL), DuckDB
(:mod:`patronage.engines.duckdb`) and Apache Spark (:mod:`patronage.engines.spark`, optional)
over the Parquet files of ``patronage export parquet``.

Every engine offers ``customer_summary(observation_end)``, ``statistics(observation_end)``
(:class:`patronage.loyalty.value_fit.ValueStatistics`) and ``profiles()``.
"""

from __future__ import annotations

import importlib.util

ENGINES = ("database", "duckdb", "spark")

__all__ = ["ENGINES", "open_engine"]


def open_engine(name: str, source: str | None = None, database=None, *,
                spark_master: str | None = None):
    """The engine ``name`` reading ``source`` (``parquet:DIR`` for DuckDB and Spark) or, for the
    database engine, ``database`` (a SQLAlchemy engine). ``spark_master``: where Spark runs
    (default: the ``spark_master`` setting)."""
    if spark_master is not None and name != "spark":
        raise ValueError("--spark-master is for the spark engine (--engine spark)")
    if name == "database":
        if source is not None:
            raise ValueError("--source is for the duckdb engine; the database engine reads "
                             "the database of --db")
        from patronage.engines.database import DatabaseEngine

        return DatabaseEngine(database)
    if name in ("duckdb", "spark"):
        kind, _, path = (source or "").partition(":")
        if kind != "parquet" or not path:
            raise ValueError(f"the {name} engine needs --source parquet:DIR, a folder written "
                             "by `patronage export parquet DIR`")
        if name == "duckdb":
            from patronage.engines.duckdb import DuckDBEngine

            return DuckDBEngine(path)
        if spark_master is not None:
            from patronage.engines.spark_cluster import validate_master

            validate_master(spark_master)
        if importlib.util.find_spec("pyspark") is None:
            raise ValueError("the spark engine needs pyspark and Java 17 or later: "
                             "pip install 'patronage[spark]'")
        from patronage.engines.spark import SparkEngine

        return SparkEngine(path, master=spark_master)
    raise ValueError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
