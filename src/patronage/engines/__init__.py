"""Analysis engines (issue 16, "Beyond one machine").

An analysis reduces to sufficient statistics computed in one pass plus a small fit in numpy: an
engine computes the statistics (and writes per-customer scores back from the fitted
parameters), :mod:`patronage.analytics` fits on them. Engines: the operational database
(:mod:`patronage.engines.database`, SQL pushed down to SQLite/PostgreSQL) and DuckDB over the
Parquet files of ``patronage export parquet`` (:mod:`patronage.engines.duckdb`).

Every engine offers ``customer_summary(observation_end)``, ``statistics(observation_end)``
(:class:`patronage.loyalty.value_fit.ValueStatistics`) and ``profiles()``.
"""

from __future__ import annotations

ENGINES = ("database", "duckdb")

__all__ = ["ENGINES", "open_engine"]


def open_engine(name: str, source: str | None = None, database=None):
    """The engine ``name`` reading ``source`` (``parquet:DIR`` for DuckDB) or, for the
    database engine, ``database`` (a SQLAlchemy engine)."""
    if name == "database":
        if source is not None:
            raise ValueError("--source is for the duckdb engine; the database engine reads "
                             "the database of --db")
        from patronage.engines.database import DatabaseEngine

        return DatabaseEngine(database)
    if name == "duckdb":
        kind, _, path = (source or "").partition(":")
        if kind != "parquet" or not path:
            raise ValueError("the duckdb engine needs --source parquet:DIR, a folder written "
                             "by `patronage export parquet DIR`")
        from patronage.engines.duckdb import DuckDBEngine

        return DuckDBEngine(path)
    raise ValueError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
