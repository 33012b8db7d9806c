"""The CLV and RFM analyses on any engine, as ``patronage analyze clv|rfm --engine`` runs them.

The models are fitted on the engine's sufficient statistics; the table shown is the one of the
in-database analysis (:func:`patronage.loyalty.clv_table`, :func:`patronage.loyalty.rfm_table`);
``scores_out`` writes every customer's scores to a Parquet file: computed in SQL by DuckDB, in
process for the database engine (Spark writes a folder of that name).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from patronage.analytics import rfm_scores
from patronage.loyalty.analysis import ValueModels, clv_table, rfm_table, value_models

__all__ = ["clv_analysis", "rfm_analysis", "write_rfm_scores", "write_value_scores"]


def _target(path, engine=None) -> Path:
    path = Path(path)
    if engine is not None and engine.name == "spark" and path.exists():
        raise ValueError(f"{path} already exists: Spark writes its scores as a folder of that "
                         "name; give a new name")
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise ValueError(f"{path} is a folder: give a file name such as scores.parquet")
    return path


def _write(engine, relation, path: Path) -> None:
    """A DuckDB relation to one Parquet file; a Spark DataFrame to a folder of part files."""
    if engine.name == "spark":
        relation.write.mode("errorifexists").parquet(str(path))
    else:
        relation.write_parquet(str(path))


def write_value_scores(engine, models: ValueModels, path, *, months: int = 12,
                       monthly_discount: float = 0.01, observation_end=None) -> Path:
    """Every customer's P(alive), expected purchases in 90 days and CLV to ``path``."""
    path = _target(path, engine)
    if engine.name in ("duckdb", "spark"):
        scores = engine.value_scores(models.purchases, models.spend, margin=models.margin,
                                     months=months, monthly_discount=monthly_discount,
                                     observation_end=observation_end)
        _write(engine, scores, path)
    else:
        frame = models.customers.rename_axis("customer_id").reset_index()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def write_rfm_scores(engine, path, *, observation_end=None, summary=None) -> Path:
    """Every customer's RFM values, scores, code and segment to ``path``."""
    path = _target(path, engine)
    if engine.name in ("duckdb", "spark"):
        _write(engine, engine.rfm_scores(observation_end), path)
    else:
        if summary is None:
            summary = engine.customer_summary(observation_end)
        frame = rfm_scores(summary).rename_axis("customer_id").reset_index()
        for column in ("R", "F", "M"):
            frame[column] = frame[column].astype("int64")
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


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
