"""Acquisition cohorts and the profit whale curve on DuckDB or Spark over an exported panel
(issue 16).

The engine counts (in SQL both dialects read) what the in-database analyses need
(:func:`patronage.loyalty.cohort_overview`, ``cohort_table``,
:func:`patronage.loyalty.retention.repeat_purchase_table`, :func:`patronage.loyalty.whale_table`): the customers active per (cohort, periods since
acquisition) and, per cohort, the customers observed, repeating within the window and repeating
at all; per customer the profit less the cost to serve. The analytics turn them into the same
tables (:func:`patronage.analytics.retention.cohort_matrix_from_counts`,
``repeat_purchase_from_counts``, :func:`patronage.analytics.whale_figures`).
"""

from __future__ import annotations

import pandas as pd

from patronage.analytics import retention_curve, whale_curve, whale_figures
from patronage.analytics.retention import cohort_matrix_from_counts, repeat_purchase_from_counts
from patronage.loyalty.analysis import overview_of
from patronage.messages import N_, UserError

__all__ = ["cohort_analysis", "whale_analysis"]

#: The period ordinal of a date ``d`` as pandas numbers periods (months, quarters, years
#: since 1970).
_ORDINAL = {"M": "(year({d}) - 1970) * 12 + month({d}) - 1",
            "Q": "(year({d}) - 1970) * 4 + quarter({d}) - 1",
            "Y": "year({d}) - 1970"}
_SALES = "SELECT * FROM transactions WHERE NOT COALESCE(is_refund, false)"


def _ordinal(period: str, column: str) -> str:
    if period not in _ORDINAL:
        raise ValueError(f"period must be M, Q or Y (month, quarter, year), not {period!r}")
    return _ORDINAL[period].format(d=column)


def _matrix(engine, period: str) -> pd.DataFrame:
    counts = engine.frame(f"""
        WITH pairs AS (SELECT DISTINCT customer_id AS c, {_ordinal(period, 'occurred_at')} AS p
                       FROM ({_SALES}) sales),
        firsts AS (SELECT p, MIN(p) OVER (PARTITION BY c) AS cohort FROM pairs)
        SELECT cohort, p - cohort AS k, COUNT(*) AS active FROM firsts
        GROUP BY cohort, p - cohort""", ["cohort", "k", "active"])
    end = int(counts.eval("cohort + k").max())
    return cohort_matrix_from_counts(counts.astype("int64"), period=period, end=end)


def _repeat(engine, period: str, within_days: int) -> pd.DataFrame:
    within = int(within_days)
    counts = engine.frame(f"""
        WITH days AS (SELECT DISTINCT customer_id AS c, CAST(occurred_at AS DATE) AS d
                      FROM ({_SALES}) sales),
        firsts AS (SELECT c, MIN(d) AS f FROM days GROUP BY c),
        seconds AS (SELECT days.c, MIN(days.d) AS s FROM days JOIN firsts ON firsts.c = days.c
                    WHERE days.d > firsts.f GROUP BY days.c),
        per AS (SELECT {_ordinal(period, 'f.f')} AS cohort,
                       {engine.days('(SELECT MAX(d) FROM days)', 'f.f')} >= {within}
                           AS observed,
                       COALESCE({engine.days('s.s', 'f.f')} <= {within}, false) AS soon,
                       s.s IS NOT NULL AS ever
                FROM firsts f LEFT JOIN seconds s ON s.c = f.c)
        SELECT cohort, COUNT(*) AS customers, SUM(CAST(observed AS INT)) AS observed,
               SUM(CAST(observed AND soon AS INT)) AS repeat_customers,
               SUM(CAST(ever AS INT)) AS ever
        FROM per GROUP BY cohort ORDER BY cohort""",
        ["cohort", "customers", "observed", "repeat_customers", "ever"])
    counts.index = pd.PeriodIndex.from_ordinals(counts.pop("cohort").astype("int64"),
                                                freq=period).astype(str)
    return repeat_purchase_from_counts(counts.astype("int64").rename_axis("cohort"))


def cohort_analysis(engine, *, period: str = "Q", curve: bool = False, repeat: bool = False,
                    repeat_days: int = 90) -> pd.DataFrame:
    """The table of ``patronage analyze cohorts`` (the overview, or the retention ``curve``, or
    the ``repeat``-purchase detail), counted by the engine."""
    if engine.rows(f"SELECT COUNT(*) FROM ({_SALES}) sales")[0][0] == 0:
        raise UserError(N_("no sales yet: import transactions first"))
    if repeat_days < 1:
        raise ValueError(f"the repeat window must be a whole number of days >= 1, not "
                         f"{repeat_days!r}")
    if curve:
        return retention_curve(_matrix(engine, period), period=period)
    if repeat:
        return _repeat(engine, period, repeat_days)
    return overview_of(_matrix(engine, period), _repeat(engine, period, repeat_days),
                       period=period, repeat_days=repeat_days)


def whale_analysis(engine, *, cost_per_touchpoint: float = 300.0,
                   cost_per_case: float = 1500.0) -> tuple[pd.DataFrame, dict]:
    """The whale curve and figures of :func:`patronage.loyalty.whale_table`: each customer's
    profit less touchpoints x ``cost_per_touchpoint`` and cases x ``cost_per_case``, in SQL."""
    for name in ("touchpoints", "cases"):
        if not (engine.folder / name).is_dir():
            raise ValueError(f"{engine.folder} holds no {name}/ folder: export the panel again "
                             "with `patronage export parquet DIR` (it now writes them)")
    engine.activity_views()
    if engine._summarise(None) is None:
        raise UserError(N_("no sales yet: import transactions first"))
    stray = engine.rows("""
        SELECT COUNT(DISTINCT c.external_id) FROM (SELECT customer_id FROM touchpoints UNION ALL
            SELECT customer_id FROM cases) a JOIN customers c ON c.id = a.customer_id
        WHERE c.external_id NOT IN (SELECT customer_id FROM summary)""")[0][0]
    if stray:
        raise ValueError(f"{stray} customer(s) with touchpoints or cases have no sales: the "
                         "cost to serve is allocated to customers with sales")
    frame = engine.frame(f"""
        WITH activity AS (
            SELECT customer_id, COUNT(*) AS n, 0 AS m FROM touchpoints GROUP BY customer_id
            UNION ALL SELECT customer_id, 0, COUNT(*) FROM cases GROUP BY customer_id),
        cost AS (SELECT c.external_id AS customer_id, SUM(n) AS n, SUM(m) AS m
                 FROM activity a JOIN customers c ON c.id = a.customer_id
                 GROUP BY c.external_id)
        SELECT s.customer_id, s.total_spend,
               s.profit - (COALESCE(k.n, 0) * {engine.number(float(cost_per_touchpoint))}
                           + COALESCE(k.m, 0) * {engine.number(float(cost_per_case))}) AS profit
        FROM summary s LEFT JOIN cost k ON k.customer_id = s.customer_id
        ORDER BY s.customer_id""", ["customer_id", "total_spend", "profit"]).set_index(
        "customer_id")
    return whale_curve(frame["profit"]), whale_figures(frame["profit"], frame["total_spend"])
