"""The operational database (SQLite or PostgreSQL) as an analysis engine: the summary and its
sufficient statistics are computed in SQL (:mod:`patronage.storage.summary`); the scores are
computed in process (:mod:`patronage.engines.analyses` writes them to Parquet)."""

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
