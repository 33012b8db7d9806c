"""DuckDB over the Parquet files of ``patronage export parquet`` (issue 16).

The customer summary is one SQL pass over the transactions (the same definitions as
:mod:`patronage.storage.summary`: sales only, purchases grouped per customer and day); the value
models' sufficient statistics are ``GROUP BY`` counts of it; per-customer scores are computed in
SQL from the fitted parameters and written to Parquet, so the customers never pass through
Python one by one. Only two things are computed in numpy: the fit (on the distinct rows) and,
per distinct ``(frequency, T)``, the recency-free factors of the BG/NBD forecasts (they need
the Gaussian hypergeometric function); SQL joins them back.

Amounts are summed as ``DECIMAL(18, 2)`` (exact cents, as the database keeps them).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from patronage.analytics.btyd import lifetime_value_factor
from patronage.engines.parquet import arrow_schema
from patronage.engines.sql import p_alive_sql, panel_folder, segment_sql
from patronage.loyalty.value_fit import WEEK, ValueStatistics
from patronage.storage.schema import (
    answers, cases, customers, responses, surveys, touchpoints, transactions, waves,
)

__all__ = ["DuckDBEngine"]

_SUMMARY = """
CREATE OR REPLACE TEMP TABLE summary AS
WITH daily AS (
    SELECT customer_id, CAST(occurred_at AS DATE) AS day,
           SUM(CAST(amount AS DECIMAL(18, 2))) AS amount,
           SUM(CAST(COALESCE(cost, 0) AS DECIMAL(18, 2))) AS cost
    FROM transactions
    WHERE NOT is_refund AND occurred_at < $cutoff
    GROUP BY customer_id, day
), per_customer AS (
    SELECT customer_id, MIN(day) AS first_day, MAX(day) AS last_day, COUNT(*) AS days,
           SUM(amount) AS total, SUM(cost) AS cost, ARG_MIN(amount, day) AS first_amount
    FROM daily GROUP BY customer_id
)
SELECT c.external_id AS customer_id,
       CAST(p.days - 1 AS DOUBLE) AS frequency,
       CAST(p.last_day - p.first_day AS DOUBLE) AS recency,
       CAST(CAST($end AS DATE) - p.first_day AS DOUBLE) AS "T",
       CASE WHEN p.days > 1 THEN CAST(p.total - p.first_amount AS DOUBLE) / (p.days - 1)
            ELSE 0.0 END AS monetary_value,
       CAST(p.first_day AS TIMESTAMP) AS first_purchase,
       CAST(p.last_day AS TIMESTAMP) AS last_purchase,
       CAST(p.total AS DOUBLE) AS total_spend, CAST(p.total - p.cost AS DOUBLE) AS profit
FROM per_customer AS p JOIN customers AS c ON c.id = p.customer_id
"""

def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _column(name: str) -> str:
    return f'"{name}"'


class DuckDBEngine:
    """The analyses' statistics from an exported panel (a folder of Parquet files)."""

    name = "duckdb"
    #: The type a group's key is cast to in shared SQL.
    text_type = "STRING"
    #: What ends a subquery the planner must not merge into its query: nothing, the
    #: planner keeps a repeated expression's projection.
    fence = ""

    def __init__(self, folder, *, threads: int | None = None):
        self.folder = panel_folder(folder)
        self.conn = duckdb.connect()
        if threads is not None:
            self.conn.execute(f"SET threads = {int(threads)}")
        self._view("customers", customers, "customers/*.parquet", hive=False)
        self._view("transactions", transactions, "transactions/**/*.parquet", hive=True)
        self._summary_end: date | None = None
        self._survey_views = self._activity_views = False

    def survey_views(self) -> None:
        """Views of the exported surveys, waves, responses and answers (made once, when a
        survey analysis first needs them)."""
        if not self._survey_views:
            from patronage.engines.surveys import require_survey_folders

            require_survey_folders(self.folder)
            for table in (surveys, waves, responses, answers):
                self._view(table.name, table, f"{table.name}/*.parquet", hive=False)
            self._survey_views = True

    def activity_views(self) -> None:
        """Views of the exported touchpoints and cases (made once, when first needed)."""
        if not self._activity_views:
            for table in (touchpoints, cases):
                self._view(table.name, table, f"{table.name}/*.parquet", hive=False)
            self._activity_views = True

    def _view(self, name: str, table, pattern: str, *, hive: bool) -> None:
        if not any((self.folder / name).rglob("*.parquet")):
            self.conn.register(f"{name}_empty", arrow_schema(table).empty_table())
            self.conn.execute(f"CREATE VIEW {name} AS SELECT * FROM {name}_empty")
            return
        columns = ", ".join(f'"{c.name}"' for c in table.columns)
        source = _quote(str(self.folder / pattern))
        self.conn.execute(f"CREATE VIEW {name} AS SELECT {columns} FROM read_parquet("
                          f"{source}, hive_partitioning = {str(hive).lower()})")

    def close(self) -> None:
        self.conn.close()

    # -- SQL shared with the other engines (patronage.engines.survey_models) -----------------
    def rows(self, query: str) -> list[tuple]:
        """The rows of ``query`` as tuples."""
        return self.conn.execute(query).fetchall()

    def materialise(self, name: str, query: str) -> None:
        """The result of ``query`` as the temp table ``name`` (replaced when it exists)."""
        self.conn.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}")

    def frame(self, query: str, columns: list[str]) -> pd.DataFrame:
        """The result of ``query`` as a frame with these column names."""
        return self.conn.execute(query).df().set_axis(columns, axis=1)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """``frame`` as the view ``name``."""
        self.conn.register(name, pa.Table.from_pandas(frame, preserve_index=False))

    @staticmethod
    def has_keys(column: str) -> str:
        """Whether the JSON text ``column`` is an object with at least one key."""
        return (f"CASE WHEN {column} IS NULL THEN false "
                f"WHEN json_type(CAST({column} AS JSON)) = 'OBJECT' "
                f"THEN len(json_keys(CAST({column} AS JSON))) > 0 ELSE false END")

    @staticmethod
    def days(later: str, earlier: str) -> str:
        """The days from the date ``earlier`` to the date ``later``."""
        return f"datediff('day', {earlier}, {later})"

    @staticmethod
    def text(value: str) -> str:
        """A string literal."""
        return _quote(value)

    @staticmethod
    def number(value: float) -> str:
        """A double literal, the exact value of ``value``."""
        return f"CAST('{value!r}' AS DOUBLE)"

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the customer summary ----------------------------------------------------------------
    def _end_day(self, observation_end) -> date | None:
        if observation_end is not None:
            return pd.Timestamp(observation_end).date()
        latest = self.conn.execute("SELECT MAX(occurred_at) FROM transactions").fetchall()[0][0]
        return None if latest is None else pd.Timestamp(latest).date()

    def _summarise(self, observation_end) -> date | None:
        """Build the temp table ``summary`` for this observation end (once per end)."""
        end = self._end_day(observation_end)
        if end is None:
            self.conn.execute("CREATE OR REPLACE TEMP TABLE summary AS SELECT "
                              "NULL::VARCHAR AS customer_id WHERE false")
        elif end != self._summary_end:
            cutoff = datetime.combine(end + timedelta(days=1), datetime.min.time())
            self.conn.execute(_SUMMARY, {"cutoff": cutoff, "end": end})
        self._summary_end = end
        return end

    def customer_summary(self, observation_end=None) -> pd.DataFrame:
        """The per-customer summary, as :func:`patronage.storage.summary.read_customer_summary`
        (same columns, index and order)."""
        columns = ["frequency", "recency", "T", "monetary_value", "first_purchase",
                   "last_purchase", "total_spend", "profit"]
        if self._summarise(observation_end) is None:
            return pd.DataFrame(columns=columns).rename_axis("customer_id")
        frame = self.conn.execute("SELECT * FROM summary ORDER BY customer_id").df()
        for column in ("first_purchase", "last_purchase"):
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
        return frame.set_index("customer_id")[columns]

    def statistics(self, observation_end=None) -> ValueStatistics:
        """The value models' sufficient statistics, counted in SQL."""
        end = self._summarise(observation_end)
        if end is None:
            purchases = pd.DataFrame({"frequency": [], "recency": [], "T": [], "customers": []})
            spend = pd.DataFrame({"frequency": [], "monetary_value": [], "customers": []})
            return ValueStatistics(purchases, spend, 0.0, 0.0, None, None)
        purchases = self.conn.execute(
            'SELECT frequency, recency, "T", COUNT(*) AS customers FROM summary '
            'GROUP BY ALL ORDER BY frequency, recency, "T"').df()
        spend = self.conn.execute(
            "SELECT frequency, monetary_value, COUNT(*) AS customers FROM summary "
            "WHERE frequency > 0 AND monetary_value > 0 GROUP BY ALL "
            "ORDER BY frequency, monetary_value").df()
        total, profit, first = self.conn.execute(
            "SELECT SUM(total_spend), SUM(profit), MIN(first_purchase) FROM summary").fetchall()[0]
        for frame in (purchases, spend):
            frame["customers"] = frame["customers"].astype("int64")
        return ValueStatistics(purchases=purchases, spend=spend, total_spend=float(total or 0),
                               profit=float(profit or 0),
                               first_purchase=None if first is None else pd.Timestamp(first),
                               observation_end=pd.Timestamp(end))

    def profiles(self) -> pd.DataFrame:
        """Name, region, industry, size and tier by external id (as the database's)."""
        frame = self.conn.execute(
            "SELECT external_id AS customer_id, name, region, industry, size, tier "
            "FROM customers ORDER BY external_id").df()
        return frame.set_index("customer_id")

    # -- scores written back -----------------------------------------------------------------
    def value_scores(self, purchases, spend, *, margin: float, months: int = 12,
                     monthly_discount: float = 0.01,
                     observation_end=None) -> duckdb.DuckDBPyRelation:
        """Per customer: P(alive), expected purchases in 90 days and CLV, as a relation
        (write it with ``.write_parquet(path)``). ``purchases`` is a fitted BetaGeo,
        ``spend`` a fitted GammaGamma or None (CLV left empty)."""
        if self._summarise(observation_end) is None:
            raise ValueError("no sales yet: import transactions first")
        pairs = self.conn.execute('SELECT DISTINCT frequency, "T" FROM summary').fetchnumpy()
        x, age = np.asarray(pairs["frequency"], float), np.asarray(pairs["T"], float) / WEEK
        factors = pa.table({
            "frequency": x, "T": np.asarray(pairs["T"], float),
            "if_alive_90d": np.asarray(purchases.expected_purchases_if_alive(90 / WEEK, x, age),
                                       dtype=float),
            "value_factor": np.asarray(lifetime_value_factor(
                purchases, x, age, time=months, discount_rate=monthly_discount, freq="W"),
                dtype=float)})
        p = purchases.params_
        g = spend.params_ if spend is not None else {"p": None, "q": None, "v": None}
        model = pa.table({key: pa.array([value], type=pa.float64()) for key, value in (
            ("r", p["r"]), ("alpha", p["alpha"]), ("a", p["a"]), ("b", p["b"]),
            ("gp", g["p"]), ("gq", g["q"]), ("gv", g["v"]), ("margin", float(margin)))})
        self.conn.register("value_factors", factors)
        self.conn.register("value_model", model)
        return self.conn.sql(f"""
            WITH alive AS (
                SELECT s.customer_id, s.frequency, s.monetary_value, f.if_alive_90d,
                       f.value_factor, {p_alive_sql(_column, str)} AS p_alive
                FROM summary AS s CROSS JOIN value_model AS m
                JOIN value_factors AS f ON f.frequency = s.frequency AND f."T" = s."T")
            SELECT a.customer_id, a.p_alive, a.p_alive * a.if_alive_90d AS expected_purchases_90d,
                   m.margin * (m.gp * (m.gv + a.monetary_value * a.frequency)
                               / (m.gp * a.frequency + m.gq - 1.0))
                   * a.p_alive * a.value_factor AS clv
            FROM alive AS a CROSS JOIN value_model AS m
            ORDER BY a.customer_id""")

    def rfm_scores(self, observation_end=None) -> duckdb.DuckDBPyRelation:
        """RFM values, balanced quintile scores, code and segment per customer, as
        :func:`patronage.analytics.rfm_scores` on the summary (ties by customer id)."""
        if self._summarise(observation_end) is None:
            raise ValueError("no sales yet: import transactions first")
        return self.conn.sql(f"""
            WITH v AS (
                SELECT customer_id, "T" - recency AS recency_days, frequency + 1.0 AS frequency,
                       total_spend AS monetary, COUNT(*) OVER () AS n FROM summary),
            ranked AS (
                SELECT *,
                  CAST(ceil(CAST(5 * ROW_NUMBER() OVER (ORDER BY recency_days DESC, customer_id)
                                 AS DOUBLE) / n) AS BIGINT) AS "R",
                  CAST(ceil(CAST(5 * ROW_NUMBER() OVER (ORDER BY frequency, customer_id)
                                 AS DOUBLE) / n) AS BIGINT) AS "F",
                  CAST(ceil(CAST(5 * ROW_NUMBER() OVER (ORDER BY monetary, customer_id)
                                 AS DOUBLE) / n) AS BIGINT) AS "M"
                FROM v),
            coded AS (SELECT *, CAST(floor(("F" + "M") / 2.0 + 0.5) AS BIGINT) AS fm FROM ranked)
            SELECT customer_id, recency_days, frequency, monetary, "R", "F", "M",
                   CAST("R" AS VARCHAR) || CAST("F" AS VARCHAR) || CAST("M" AS VARCHAR)
                       AS rfm_code,
                   {segment_sql(_column, _quote)} AS segment
            FROM coded ORDER BY customer_id""")
