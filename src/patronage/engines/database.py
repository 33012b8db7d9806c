"""The operational database (SQLite or PostgreSQL) as an analysis engine: the summary and its
sufficient statistics are computed in SQL (:mod:`patronage.storage.summary`); the scores are
computed in process (:mod:`patronage.engines.analyses` writes them to Parquet or, by
:func:`write_scores_table`, to a table of the database). The key drivers' and the PLS path
model's moments are computed in SQL by :mod:`patronage.engines.survey_models`, which this engine
serves as DuckDB and Spark do (``rows``, ``materialise`` and the literals of the dialect), on
one connection held until :meth:`DatabaseEngine.close` (its temp tables live as long)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, Engine
from sqlalchemy import text as sql

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
        self._conn: Connection | None = None
        self._sqlite = engine.dialect.name == "sqlite"
        #: The type a group's key is cast to in shared SQL.
        self.text_type = "TEXT"
        #: What ends a subquery the planner must not merge into its query (the bootstrap's).
        self.fence = " LIMIT -1 OFFSET 0" if self._sqlite else " OFFSET 0"

    def close(self) -> None:
        """Closes the connection of the SQL analyses (dropping their temp tables); the
        command owns the database engine."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

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

    # -- SQL shared with DuckDB and Spark (patronage.engines.surveys, .survey_models) ---------
    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self.engine.connect()
        return self._conn

    def survey_views(self) -> None:
        """Nothing to make: the survey tables are the database's."""

    def rows(self, query: str) -> list[tuple]:
        """The rows of ``query`` as tuples."""
        return [tuple(row) for row in self._connection().execute(sql(query))]

    def materialise(self, name: str, query: str) -> None:
        """The result of ``query`` as the temp table ``name`` of the connection (replaced when
        it exists; a table of the database with that name is left alone)."""
        conn = self._connection()
        schema = "temp" if self._sqlite else "pg_temp"
        conn.execute(sql(f"DROP TABLE IF EXISTS {schema}.{name}"))
        conn.execute(sql(f"CREATE TEMP TABLE {name} AS {query}"))

    def has_keys(self, column: str) -> str:
        """Whether the JSON ``column`` is an object with at least one key."""
        if self._sqlite:
            return (f"CASE WHEN NOT json_valid({column}) THEN 0 "
                    f"WHEN json_type({column}) = 'object' "
                    f"THEN (SELECT COUNT(*) FROM json_each({column})) > 0 ELSE 0 END")
        return (f"CASE WHEN {column} IS NULL THEN false "
                f"WHEN jsonb_typeof(CAST({column} AS JSONB)) = 'object' "
                f"THEN CAST({column} AS JSONB) <> CAST('{{}}' AS JSONB) ELSE false END")

    @staticmethod
    def text(value: str) -> str:
        """A string literal."""
        return "'" + value.replace("'", "''") + "'"

    def number(self, value: float) -> str:
        """A double literal, the exact value of ``value``."""
        return f"CAST('{value!r}' AS {'REAL' if self._sqlite else 'DOUBLE PRECISION'})"


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
