"""NPS and CSI on DuckDB or Spark over an exported panel (issue 16): the engine counts, the
analytics fit.

The engine computes (in SQL both dialects read), per group, the sufficient statistics of the
in-database analyses (:func:`patronage.satisfaction.indices.nps_table` and ``csi_table``): for the NPS the number of
answers and the weight sums of all, promoters and detractors and the sum of squared weights;
for the CSI each response's weighted item sums (its index and dimension scores) and, per group,
the weight-weighted sums of those scores. :func:`patronage.analytics.nps_from_totals` and a
division turn them into the same table, with the same rows in the same order: the responses are
those of the database read (the survey with most responses by default, employee surveys left
out, flagged responses left out unless asked), the groups ordered as there (waves by start,
others by name).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patronage.analytics import nps_from_totals
from patronage.analytics.scores import DETRACTOR_MAX, PROMOTER_MIN
from patronage.index_system import IndexSystem, load_index_system
from patronage.messages import N_, UserError
from patronage.satisfaction.sources import EMPLOYEE_ITEM

__all__ = ["csi_table", "kept_responses", "nps_table", "require_survey_folders"]

_TABLES = ("surveys", "waves", "responses", "answers")


def require_survey_folders(folder) -> None:
    """A ``ValueError`` saying how to export them again when the exported panel ``folder``
    lacks the survey tables (the check of DuckDB's and Spark's ``survey_views``)."""
    for name in _TABLES:
        if not (folder / name).is_dir():
            raise ValueError(f"{folder} holds no {name}/ folder: export the panel again "
                             "with `patronage export parquet DIR` (it now writes the surveys)")

#: The grouping names of :meth:`patronage.satisfaction.sources.SurveyData.groups` available on
#: an engine, as SQL over the responses ``r``, waves ``w`` and customers ``c``.
_GROUPS = {
    "wave": "w.name", "mode": "r.channel", "channel": "r.channel", "language": "r.language",
    "sales_channel": "c.channel", "customer_channel": "c.channel", "survey": "s.code",
    "customer_id": "c.external_id",
    **{name: f"c.{name}" for name in ("region", "industry", "size", "tier")},
    **{f"customer_{name}": f"c.{name}" for name in ("region", "industry", "size", "tier")},
}


def kept_responses(engine, survey: str | None, include_flagged: bool, by: str | None) -> str:
    """Views of the survey tables (or, on the database, the tables) and the temp table ``kept`` (response id, weight, group ``g``,
    wave start ``ws`` and order key ``o``) of the responses the database analysis reads; returns
    the chosen survey code."""
    engine.survey_views()
    if by is not None and by not in _GROUPS:
        raise UserError(N_("Cannot group by {by!r}: choose one of {available}."), by=by,
                        available=", ".join(k for k in _GROUPS if not k.startswith("customer_")))
    employee = {row[0] for row in engine.rows(
        "SELECT DISTINCT s.code FROM answers a JOIN responses r ON r.id = a.response_id "
        f"JOIN surveys s ON s.id = r.survey_id WHERE a.item_code = {engine.text(EMPLOYEE_ITEM)}")}
    if survey in employee:
        raise UserError(N_("Survey {survey!r} is the anonymous employee survey: its results are "
                           "shown only for groups of a minimum size, by site and team, on the "
                           "service-profit chain page (patronage analyze chain)."), survey=survey)
    if survey is None:
        internal = (f"WHERE s.code NOT IN ({', '.join(map(engine.text, sorted(employee)))})"
                    if employee else "")
        ranked = engine.rows(
            f"SELECT s.code FROM responses r JOIN surveys s ON s.id = r.survey_id {internal} "
            "GROUP BY s.code ORDER BY COUNT(*) DESC, MIN(r.submitted_at), MIN(r.id) LIMIT 1")
        if not ranked:
            raise UserError(N_("No survey responses yet."))
        survey = ranked[0][0]
    group = _GROUPS[by] if by is not None else "'all'"
    flagged = "" if include_flagged else f"AND NOT ({engine.has_keys('r.quality_flags')})"
    engine.materialise("kept", f"""
        SELECT r.id, r.weight, CAST({group} AS {engine.text_type}) AS g, w.starts_on AS ws,
               ROW_NUMBER() OVER (ORDER BY r.submitted_at, r.id) AS o
        FROM responses r JOIN surveys s ON s.id = r.survey_id
        LEFT JOIN waves w ON w.id = r.wave_id LEFT JOIN customers c ON c.id = r.customer_id
        WHERE s.code = {engine.text(survey)} {flagged}""")
    if engine.rows("SELECT COUNT(*) FROM kept")[0][0] == 0:
        raise UserError(N_("No responses for survey {survey!r} yet."), survey=survey)
    return survey


def _group_order(engine, by: str) -> list:
    """The groups as the database analysis orders them: waves by start (then first answer),
    other groups by name."""
    if by == "wave":
        rows = engine.rows("SELECT g FROM kept WHERE g IS NOT NULL GROUP BY g "
                           "ORDER BY MIN(ws), MIN(o)")
        return [row[0] for row in rows]
    rows = engine.rows("SELECT DISTINCT g FROM kept WHERE g IS NOT NULL")
    return sorted((row[0] for row in rows), key=str)


def nps_table(engine, *, survey: str | None = None, include_flagged: bool = False,
              by: str | None = "wave", item: str = "nps") -> pd.DataFrame:
    """:func:`patronage.satisfaction.indices.nps_table` of the exported survey, counted by
    the engine."""
    kept_responses(engine, survey, include_flagged, by)
    totals = engine.frame(f"""
        SELECT k.g, COUNT(*) AS n, SUM(k.weight) AS w, SUM(k.weight * k.weight) AS w2,
               SUM(CASE WHEN a.value_num >= {PROMOTER_MIN} THEN k.weight ELSE 0 END) AS p,
               SUM(CASE WHEN a.value_num <= {DETRACTOR_MAX} THEN k.weight ELSE 0 END) AS d,
               MIN(a.value_num) AS low, MAX(a.value_num) AS high
        FROM kept k JOIN answers a ON a.response_id = k.id
        WHERE a.item_code = {engine.text(item)} AND a.value_num IS NOT NULL GROUP BY k.g""",
        ["g", "n", "w", "w2", "p", "d", "low", "high"])
    if totals.empty:
        raise UserError(N_("The data have no {item!r} item (0–10 likelihood to recommend)."),
                        item=item)
    if (totals["low"] < 0).any() or (totals["high"] > 10).any():
        raise ValueError("NPS scores must lie between 0 and 10")

    def summary(part: pd.DataFrame) -> pd.Series:
        return nps_from_totals(float(part["n"].sum()), float(part["w"].sum()),
                               float(part["w2"].sum()), float(part["p"].sum()),
                               float(part["d"].sum()))

    if by is None:
        return summary(totals).to_frame("all").T.rename_axis("group")
    by_group = totals.dropna(subset=["g"]).set_index("g")
    order = [key for key in _group_order(engine, by) if key in by_group.index]
    if not order:
        if by == "wave":  # a survey without waves: one row
            return summary(totals).to_frame("all").T.rename_axis(by)
        raise UserError(N_("No answers to {item!r} in any group (anonymous responses, or "
                           "customers without this attribute)."), item=item)
    rows = {key: summary(by_group.loc[[key]]) for key in order}
    return pd.DataFrame(rows).T.rename_axis(by)


def csi_table(engine, *, survey: str | None = None, include_flagged: bool = False,
              by: str | None = "wave", index_system: IndexSystem | None = None) -> pd.DataFrame:
    """:func:`patronage.satisfaction.indices.csi_table` of the exported survey: each response's
    index and dimension scores and their weighted sums per group computed by the engine."""
    system = index_system or load_index_system()
    kept_responses(engine, survey, include_flagged, by)
    items = system.items[["item_code", "dimension", "weight", "scale_min", "scale_max"]]
    if (items["scale_max"] <= items["scale_min"]).any():
        raise ValueError("scale_max must exceed scale_min")
    engine.register("index_items", items.assign(position=np.arange(len(items))))
    present = engine.rows(
        "SELECT i.dimension, MIN(i.position) AS first FROM index_items i WHERE i.item_code IN "
        "(SELECT DISTINCT a.item_code FROM answers a JOIN kept k ON k.id = a.response_id "
        " WHERE a.value_num IS NOT NULL) GROUP BY i.dimension ORDER BY first")
    if not present:
        raise ValueError("none of the index system's items appear in the answers")
    dimensions = [row[0] for row in present]
    scores = engine.frame("""
        WITH parts AS (
            SELECT k.id, k.g, k.weight, i.dimension,
                   SUM(i.weight * (a.value_num - i.scale_min) / (i.scale_max - i.scale_min)
                       * 100.0) AS num, SUM(i.weight) AS den
            FROM kept k JOIN answers a ON a.response_id = k.id
            JOIN index_items i ON i.item_code = a.item_code
            WHERE a.value_num IS NOT NULL GROUP BY k.id, k.g, k.weight, i.dimension),
        per_response AS (
            SELECT id, g, weight, '' AS score, SUM(num) AS num, SUM(den) AS den
            FROM parts GROUP BY id, g, weight
            UNION ALL SELECT id, g, weight, dimension, num, den FROM parts)
        SELECT g, score, SUM(weight * num / den) AS sums, SUM(weight) AS totals
        FROM per_response WHERE den > 0 GROUP BY g, score""", ["g", "score", "sums", "totals"])
    counts = dict(engine.rows("SELECT g, COUNT(*) FROM kept GROUP BY g"))
    columns = ["csi", *dimensions]
    scores["score"] = scores["score"].replace("", "csi")

    def weighted_means(keys: list) -> pd.Series:
        part = scores[scores["g"].isin(keys)].groupby("score")[["sums", "totals"]].sum()
        part = part.reindex(columns)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(part["totals"].fillna(0) != 0, part["sums"] / part["totals"], np.nan)
        return pd.Series({"n": float(sum(counts.get(k, 0) for k in keys)),
                          **dict(zip(columns, means.tolist()))})

    if by is None:
        return weighted_means(["all"]).to_frame("all").T
    rows = {key: weighted_means([key]) for key in _group_order(engine, by)}
    return pd.DataFrame(rows).T.rename_axis(by)
