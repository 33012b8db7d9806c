"""Key drivers and the PLS path model on an engine: the operational database (SQLite or
PostgreSQL), or DuckDB or Spark over an exported panel (issue 16).

Both only need the weighted moments of their columns over the complete responses (listwise
deletion, as the in-database analyses treat a missing answer): the engine pivots the answers of
the responses the database analysis reads (:mod:`patronage.engines.surveys`) to one row per
response and one column per item (or per dimension score, computed as
:func:`patronage.analytics.csi_scores` does), then counts, sums and sums the centred
cross-products of every column pair; :func:`patronage.analytics.driver_importance_from_moments`
and :meth:`patronage.analytics.PLSPathModel.fit_moments` fit on them. A model file's ``missing:
mean`` replaces a missing answer by its item's mean, in SQL too. The SQL is the same on every
engine but for the literals each engine writes (``text``, ``number``, ``text_type``,
``has_keys``).

Intervals come from the Poisson bootstrap (Hanley & MacGibbon 2006; Chamandy et al. 2012):
each response enters replicate b with its weight times a Poisson(1) count drawn by an integer
hash of its id, b and the seed that every engine computes alike
(:mod:`patronage.analytics.poisson_bootstrap`); the engine sums each replicate's moments in one
pass grouped by replicate (:mod:`patronage.engines.bootstrap`) and the same fitters give the
replicate estimates, whose percentiles are the intervals - the columns of the in-process tables,
with no response leaving the engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patronage.analytics import PLSPathModel, driver_importance_from_moments, moments_from_sums
from patronage.analytics.moments import Moments
from patronage.engines.bootstrap import replicate_moments
from patronage.engines.surveys import kept_responses
from patronage.index_system import IndexSystem, load_index_system
from patronage.messages import N_, UserError
from patronage.satisfaction.methods import (
    driver_predictors,
    index_path_structure,
    pls_output,
)

__all__ = ["drivers_table", "pls_table"]


def _answered(engine) -> list[str]:
    """The items with a numeric answer among the kept responses (the columns of the database
    analysis' answer matrix), sorted."""
    rows = engine.rows("SELECT DISTINCT a.item_code FROM answers a JOIN kept k "
                       "ON k.id = a.response_id WHERE a.value_num IS NOT NULL")
    return sorted(row[0] for row in rows)


def _item(engine, code: str) -> str:
    return f"MAX(CASE WHEN a.item_code = {engine.text(code)} THEN a.value_num END)"


def _dimension(engine, name: str, items: pd.DataFrame) -> str:
    """The response's score of a dimension: the weighted mean of its answered items rescaled
    to 0-100 (:func:`patronage.analytics.csi_scores`)."""
    parts, weights = [], []
    for row in items[items["dimension"] == name].itertuples(index=False):
        low, high, weight = (engine.number(float(v)) for v in (row.scale_min, row.scale_max,
                                                               row.weight))
        when = f"WHEN a.item_code = {engine.text(row.item_code)}"
        parts.append(f"{when} THEN {weight} * ((a.value_num - {low}) / ({high} - {low}) * "
                     f"{engine.number(100.0)})")
        weights.append(f"{when} THEN {weight}")
    return (f"SUM(CASE {' '.join(parts)} END) / "
            f"NULLIF(SUM(CASE {' '.join(weights)} END), {engine.number(0.0)})")


def _moments(engine, columns: dict[str, str], *, impute: bool = False) -> tuple[Moments, str]:
    """The weighted moments of ``columns`` (name: aggregate over a response's answers ``a``)
    over the kept responses without a missing value (``impute``: missing values replaced by
    the column's mean over the responses), and the query of those rows (``id``, ``w``,
    ``v0``, ...) for the bootstrap."""
    names = list(columns)
    cells = ", ".join(f"{expr} AS c{j}" for j, expr in enumerate(columns.values()))
    engine.materialise("wide", f"""
        SELECT k.id, k.weight AS w, {cells} FROM kept k
        LEFT JOIN answers a ON a.response_id = k.id AND a.value_num IS NOT NULL
        GROUP BY k.id, k.weight""")
    c = [f"c{j}" for j in range(len(names))]
    if impute:
        means = engine.rows("SELECT " + ", ".join(f"AVG({x})" for x in c) + " FROM wide")[0]
        c = [f"COALESCE({x}, {engine.number(float(m))})" if m is not None else x
             for x, m in zip(c, means)]
    values = ", ".join(f"{x} AS v{j}" for j, x in enumerate(c))
    complete = " AND ".join(f"v{j} IS NOT NULL" for j in range(len(c)))
    complete_rows = (f"SELECT * FROM (SELECT id, w, {values} FROM wide) r "
                     f"WHERE w > 0 AND {complete}")
    rows = f"({complete_rows}) r"
    v = [f"v{j}" for j in range(len(c))]
    p = len(names)
    first = engine.rows(  # per-column bounds: SQLite has no LEAST/GREATEST
        "SELECT COUNT(*), SUM(w), " + ", ".join(f"SUM(w * {x}) / SUM(w)" for x in v) + ", "
        + ", ".join(f"MIN({x}), MAX({x})" for x in v) + f" FROM {rows}")[0]
    n, weight, means, bounds = first[0], first[1], first[2:2 + p], first[2 + p:]
    low, high = (None, None) if not n else (min(bounds[0::2]), max(bounds[1::2]))
    centred = np.zeros((p, p))
    if n:
        m = [engine.number(float(x)) for x in means]
        pairs = [(i, j) for i in range(p) for j in range(i, p)]
        sums = engine.rows("SELECT " + ", ".join(
            f"SUM(w * ({v[i]} - {m[i]}) * ({v[j]} - {m[j]}))" for i, j in pairs)
            + f" FROM {rows}")[0]
        for (i, j), value in zip(pairs, sums):
            centred[i, j] = value
    full = moments_from_sums(names, n, weight, [np.nan if x is None else x for x in means],
                             centred, low, high)
    return full, complete_rows


def _replicates(engine, moments: Moments, rows: str, n_boot: int, seed: int) -> list[Moments]:
    """The moments of ``n_boot`` Poisson-bootstrap replicates of the complete ``rows``."""
    if not n_boot:
        return []
    return replicate_moments(engine, rows, list(moments.columns), moments, n_boot, seed)


def _enough(n: int, needed: int) -> None:
    if n < needed:
        raise UserError(N_("Too few complete responses: {n}; this method needs at least "
                           "{needed}."), n=n, needed=needed)


def drivers_table(engine, *, survey: str | None = None, include_flagged: bool = False,
                  target: str = "overall_satisfaction", level: str = "dimension",
                  method: str = "relative_weights", predictors: list[str] | None = None,
                  index_system: IndexSystem | None = None, n_boot: int = 0,
                  random_state: int = 0) -> pd.DataFrame:
    """:func:`patronage.satisfaction.methods.drivers_table` from the moments the engine
    computes, with the Poisson bootstrap's intervals of ``n_boot`` replicates (seed
    ``random_state``)."""
    system = index_system or load_index_system()
    kept_responses(engine, survey, include_flagged, None)
    kind, names = driver_predictors(_answered(engine), target=target, level=level,
                                    predictors=predictors, system=system)
    if kind == "dimension":
        columns = {name: _dimension(engine, name, system.items) for name in names}
    else:
        columns = {name: _item(engine, name) for name in names}
    moments, rows = _moments(engine, {**columns, target: _item(engine, target)})
    _enough(moments.n, len(names) + 2)
    table = driver_importance_from_moments(moments, target, method=method)  # checks first
    if not n_boot:
        return table
    return driver_importance_from_moments(
        moments, target, method=method,
        replicates=_replicates(engine, moments, rows, n_boot, random_state))


def pls_table(engine, *, survey: str | None = None, include_flagged: bool = False,
              show: str = "paths", model=None,
              index_system: IndexSystem | None = None, n_boot: int = 0,
              random_state: int = 0) -> pd.DataFrame:
    """:func:`patronage.satisfaction.methods.pls_table` (the index system's model, or the
    user's ``model``) fitted on the moments the engine computes, with the Poisson bootstrap's
    intervals of ``n_boot`` replicates (seed ``random_state``)."""
    kept_responses(engine, survey, include_flagged, None)
    answered = _answered(engine)
    if model is None:
        inner, outer = index_path_structure(answered, index_system or load_index_system())
        estimator = PLSPathModel(inner, outer)
        impute = False
    else:
        absent = [c for c in model.indicators if c not in answered]
        if absent:
            raise ValueError(f"the data have no column(s) {', '.join(absent)} named in the "
                             "model")
        estimator = PLSPathModel(model.inner, model.outer, modes=model.modes or None,
                                 scheme=model.scheme)
        impute = model.missing == "mean"
    indicators = list(dict.fromkeys(c for codes in estimator.outer.values() for c in codes))
    moments, rows = _moments(engine, {c: _item(engine, c) for c in indicators}, impute=impute)
    if model is None:
        _enough(moments.n, 10)
    estimator.fit_moments(moments)  # the checks before the resamples
    replicates = _replicates(engine, moments, rows, n_boot if show != "scores" else 0,
                             random_state)
    return pls_output(estimator.fit_moments(moments, replicates=replicates), show,
                      len(replicates))
