"""The operational database (SQLite or PostgreSQL) as an analysis engine: the summary and its
sufficient statistics are computed in SQL (:mod:`patronage.storage.summary`); the scores are
computed in process (:mod:`patronage.engines.analyses` writes them to Parquet or, by
:func:`write_scores_table`, to a table of the database)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from patronage.loyalty.value_fit import ValueStatistics
from patronage.storage import read_customers
from patronage.storage.summary import (
    read_customer_summary,
    read_summary_counts,
    read_summary_totals,
)

__all__ = ["DatabaseEngine"]


class DatabaseEngine:
    """The analyses' statistics from the operational database."""

    name = "database"

    def __init__(self, engine: Engine):
        self.engine = engine

    def close(self) -> None:
        """Nothing to close: the command owns the database engine."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def customer_summary(self, observation_end=None) -> pd.DataFrame:
        return read_customer_summary(self.engine, observation_end=observation_end)

    def statistics(self, observation_end=None) -> ValueStatistics:
        """The value models' sufficient statistics, counted in the database."""
        purchases = read_summary_counts(self.engine, ("frequency", "recency", "T"),
                                        observation_end=observation_end)
        spend = read_summary_counts(self.engine, ("frequency", "monetary_value"),
                                    observation_end=observation_end, repeat_buyers=True)
        totals = read_summary_totals(self.engine, observation_end=observation_end)
        return ValueStatistics(purchases=purchases, spend=spend,
                               total_spend=totals["total_spend"] or 0.0,
                               profit=totals["profit"] or 0.0,
                               first_purchase=totals["first_purchase"],
                               observation_end=totals["end"])

    def profiles(self) -> pd.DataFrame:
        return read_customers(self.engine).set_index("customer_id")[
            ["name", "region", "industry", "size", "tier"]]


def write_scores_table(engine: Engine, name: str, frame: pd.DataFrame) -> int:
    """``frame`` (one row per customer) as the table ``name`` of the database, replacing the
    one of an earlier run in one transaction (readers see the old scores or the new, never
    none): the table is dropped, created from the frame's columns with SQLAlchemy Core and
    filled with one multi-row insert. Refuses the names of Patronage's own tables."""
    from sqlalchemy import Column, Float, Integer, MetaData, String, Table, inspect

    from patronage.engines.scores import check_table_name
    from patronage.storage.engine import write_transaction
    from patronage.storage.schema import metadata as schema

    name = check_table_name(name)
    if name.lower() in {t.lower() for t in schema.tables} | {"alembic_version"}:
        raise ValueError(f"{name} is one of Patronage's own tables: give the scores another "
                         "table name")

    def column(label: str, dtype) -> Column:
        if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            kind = Integer()
        elif pd.api.types.is_float_dtype(dtype):
            kind = Float(53)
        else:
            kind = String(200)
        return Column(label, kind, primary_key=label == "customer_id")

    table = Table(name, MetaData(), *(column(c, t) for c, t in frame.dtypes.items()))
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    with write_transaction(engine) as conn:
        found = inspect(conn)
        if found.has_table(name):
            if "customer_id" not in {c["name"] for c in found.get_columns(name)}:
                raise ValueError(f"the table {name} exists and holds no scores (no customer_id "
                                 "column): give the scores another table name")
            table.drop(conn)
        table.create(conn)
        if rows:
            conn.execute(table.insert(), rows)
    return len(rows)
