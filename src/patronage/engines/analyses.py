"""The CLV and RFM analyses on any engine, as ``patronage analyze clv|rfm --engine`` runs them.

The models are fitted on the engine's sufficient statistics; the table shown is the one of the
in-database analysis (:func:`patronage.loyalty.clv_table`, :func:`patronage.loyalty.rfm_table`);
``scores_out`` writes every customer's scores to a Parquet file or a table
(:mod:`patronage.engines.scores`): computed in SQL by DuckDB and Spark, in process for the
database engine.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from patronage.analytics import rfm_scores
from patronage.engines.database import write_scores_table
from patronage.engines.scores import ScoresTarget, scores_target, write_relation
from patronage.loyalty.analysis import ValueModels, clv_table, rfm_table, value_models

__all__ = ["clv_analysis", "rfm_analysis", "write_rfm_scores", "write_value_scores"]


def _write_frame(engine, frame: pd.DataFrame, target: ScoresTarget) -> None:
    """Scores computed in process (the database engine) to a Parquet file or a table."""
    if target.path is not None:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), target.path)
    else:
        write_scores_table(engine.engine, target.table, frame)


def write_value_scores(engine, models: ValueModels, out, *, months: int = 12,
                       monthly_discount: float = 0.01, observation_end=None) -> ScoresTarget:
    """Every customer's P(alive), expected purchases in 90 days and CLV to ``out`` (a Parquet
    path or a table name, :func:`patronage.engines.scores.scores_target`)."""
    target = scores_target(out, engine.name)
    if engine.name in ("duckdb", "spark"):
        scores = engine.value_scores(models.purchases, models.spend, margin=models.margin,
                                     months=months, monthly_discount=monthly_discount,
                                     observation_end=observation_end)
        write_relation(engine, scores, target)
    else:
        _write_frame(engine, models.customers.rename_axis("customer_id").reset_index(), target)
    return target


def write_rfm_scores(engine, out, *, observation_end=None, summary=None) -> ScoresTarget:
    """Every customer's RFM values, scores, code and segment to ``out``."""
    target = scores_target(out, engine.name)
    if engine.name in ("duckdb", "spark"):
        write_relation(engine, engine.rfm_scores(observation_end), target)
    else:
        if summary is None:
            summary = engine.customer_summary(observation_end)
        frame = rfm_scores(summary).rename_axis("customer_id").reset_index()
        for column in ("R", "F", "M"):
            frame[column] = frame[column].astype("int64")
        _write_frame(engine, frame, target)
    return target


def clv_analysis(engine, *, months: int = 12, monthly_discount: float = 0.01,
                 margin: float | None = None, params=None, observation_end=None,
                 top: int | None = None, scores_out=None) -> tuple[ValueModels, pd.DataFrame]:
    """The fitted value models and the CLV table of ``engine``'s customers (and their scores
    written to ``scores_out``)."""
    summary = engine.customer_summary(observation_end)
    statistics = None if summary.empty else engine.statistics(observation_end)
    models = value_models(summary, statistics, observation_end=observation_end, months=months,
                          monthly_discount=monthly_discount, margin=margin, params=params)
    if scores_out is not None:
        write_value_scores(engine, models, scores_out, months=months,
                           monthly_discount=monthly_discount, observation_end=observation_end)
    return models, clv_table(None, models, top=top, profiles=engine.profiles())


def rfm_analysis(engine, *, observation_end=None, scores_out=None) -> pd.DataFrame:
    """The RFM table of ``engine``'s customers (and their scores written to ``scores_out``)."""
    summary = engine.customer_summary(observation_end)
    table = rfm_table(None, summary=summary, profiles=engine.profiles())
    if scores_out is not None:
        write_rfm_scores(engine, scores_out, observation_end=observation_end, summary=summary)
    return table
