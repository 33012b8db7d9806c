"""Survey weights for stored responses: raking to known population margins.

The margins come from a CSV file with the columns ``variable, category, share`` (or counts),
where ``variable`` is a respondent segment (region, industry, size, channel, tier) or the wave.
Raked weights multiply the responses' design weights and, once applied, every analysis uses
them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, bindparam, update

from patronage.satisfaction.sources import SurveyData, survey_data_from_db
from patronage.analytics import design_effect, effective_sample_size, nps_summary, rake
from patronage.index_system import load_index_system
from patronage.messages import N_, UserError
from patronage.storage import read_customers, read_responses, write_transaction
from patronage.storage.schema import responses


def read_margins(path: str | Path) -> dict[str, pd.Series]:
    """Population margins from a CSV file (``variable, category, share``)."""
    from patronage.storage.importing.reading import read_table
    from patronage.storage.importing.report import Problems

    path = Path(path)
    try:  # the importer's reader: encodings, XLSX, damaged and hostile files
        table = read_table(path)
    except ValueError as exc:
        raise ValueError(f"{path.name}: {exc}") from None
    if table.problems:
        problems = Problems(table.lines)
        problems.add(*table.problems[0])
        raise ValueError(f"{path.name}, {problems.issues[0].to_text()}")
    frame = table.frame
    missing = [c for c in ("variable", "category", "share") if c not in frame.columns]
    if missing:
        raise ValueError(f"{path.name}: needs the columns variable, category, share; "
                         f"missing {missing}")
    shares = pd.to_numeric(frame["share"], errors="coerce")
    bad = np.flatnonzero(shares.isna().to_numpy())
    if len(bad):
        value = frame["share"].iloc[bad[0]]
        raise ValueError(f"{path.name}, line {table.lines[bad[0]]}, column share: "
                         f"{str(value)[:80]!r} is not a number")
    frame = frame.assign(share=shares.astype(float))
    return {v: g.set_index("category")["share"] for v, g in frame.groupby("variable", sort=False)}


def raked_weights(engine: Engine, survey: str | None, margins: dict[str, pd.Series]) -> pd.DataFrame:
    """Raked weights of the survey's responses (flagged ones included, so the weights stay
    valid whichever responses an analysis keeps): ``response_id, segment columns, old, new``.

    The summary in ``attrs``: Kish's design effect of the new weights and their range.
    """
    data = survey_data_from_db(engine, survey, include_flagged=True)
    sample = pd.DataFrame(index=data.meta.index)
    for variable in margins:
        sample[variable] = data.groups(variable).astype(str)
    unknown = sample.columns[sample.isin(["nan", "None"]).any()].tolist()
    if unknown:
        raise UserError(N_("Some responses have no {variable!r} (anonymous or unknown "
                           "customers); rake on variables every respondent has, such as wave."),
                        variable=unknown[0])
    base = data.weights.to_numpy()
    new = rake(sample, margins, weights=base)
    out = sample.assign(old=base, new=new.to_numpy())
    w = out["new"].to_numpy()
    out.attrs.update({"design_effect": design_effect(w), "min": float(w.min()),
                      "max": float(w.max())})
    return out


def apply_weights(engine: Engine, weights: pd.Series) -> int:
    """Store ``weights`` (indexed by response id) as the responses' weights; returns the count."""
    stored = read_responses(engine).set_index("response_id")["response_pk"]
    rows = [{"pk": int(stored[rid]), "w": float(w)} for rid, w in weights.items() if rid in stored]
    if not rows:
        return 0
    statement = (update(responses).where(responses.c.id == bindparam("pk"))
                 .values(weight=bindparam("w")))
    with write_transaction(engine) as conn:
        conn.execute(statement, rows)
    return len(rows)


#: Segment variables compared with the customer base, in order.
BASE_VARIABLES = ("industry", "region", "size")


def customer_base_margins(engine: Engine,
                          variables=BASE_VARIABLES) -> dict[str, pd.Series]:
    """Shares of each segment among the customers on file: the population a customer survey
    samples, so the natural target when respondents over- or under-represent a segment."""
    customers = read_customers(engine)
    return {v: customers[v].dropna().astype(str).value_counts(normalize=True)
            for v in variables if v in customers.columns and customers[v].notna().any()}


def _known(data: SurveyData, margins: dict[str, pd.Series]) -> pd.DataFrame:
    sample = pd.DataFrame({v: data.groups(v) for v in margins}, index=data.meta.index)
    return sample.dropna().astype(str)


def composition_table(data: SurveyData, margins: dict[str, pd.Series]) -> pd.DataFrame:
    """Respondents against the customer base, per segment: ``customers`` (share of the base),
    ``respondents`` (share, unweighted), ``weighted`` (share under the stored weights) and
    ``difference`` (weighted minus customers, in percentage points)."""
    sample = _known(data, margins)
    if sample.empty:
        raise UserError(N_("No respondent is linked to a customer with segments (anonymous "
                           "responses only): nothing to compare with the customer base."))
    weights = data.weights.reindex(sample.index)
    rows = []
    for variable, base in margins.items():
        unweighted = sample[variable].value_counts(normalize=True)
        weighted = weights.groupby(sample[variable]).sum() / weights.sum()
        for category in base.index.union(unweighted.index):
            rows.append({"variable": variable, "category": category,
                         "customers": float(base.get(category, 0.0)),
                         "respondents": float(unweighted.get(category, 0.0)),
                         "weighted": float(weighted.get(category, 0.0))})
    table = pd.DataFrame(rows).set_index(["variable", "category"])
    return table.assign(difference=100 * (table["weighted"] - table["customers"]))


def weighting_effect(data: SurveyData, margins: dict[str, pd.Series]) -> pd.DataFrame:
    """NPS and CSI unweighted, under the stored weights and raked to the customer base
    (:func:`~patronage.analytics.rake`, starting from the stored weights), with Kish's
    effective sample size and design effect of each weighting (rows ``n_effective``,
    ``design_effect``). Respondents without segments are left out of the raked column.
    """
    sample = _known(data, margins)
    if len(sample) < 2:
        raise UserError(N_("Fewer than two respondents are linked to customers with "
                           "segments."))
    usable = {v: m for v, m in margins.items() if set(sample[v].unique()) <= set(m.index)}
    raked = rake(sample, usable, weights=data.weights.reindex(sample.index))
    versions = {"unweighted": pd.Series(1.0, index=data.meta.index),
                "weighted": data.weights, "raked": raked}
    # Each respondent's NPS answer and CSI once, weighted three ways (not three copies of the
    # answers: a million responses).
    nps_answers = data.answers["nps"] if "nps" in data.answers.columns else None
    try:
        scores = data.scores(load_index_system().items)["csi"]  # as the drivers and IPA
    except (ValueError, KeyError):
        scores = None
    out = {}
    for name, weights in versions.items():
        column = {"n": float(len(weights)), "n_effective": effective_sample_size(weights),
                  "design_effect": design_effect(weights)}
        if nps_answers is not None:
            column["NPS"] = float(nps_summary(nps_answers.loc[weights.index], weights)["nps"])
        if scores is not None:
            column["CSI"] = _weighted_mean(scores.loc[weights.index], weights)
        out[name] = column
    table = pd.DataFrame(out)
    return table.reindex(pd.Index([r for r in ("NPS", "CSI", "n", "n_effective", "design_effect")
                                   if r in table.index], name="measure"))


def _weighted_mean(values: pd.Series, weights: pd.Series) -> float:
    """The ``weights``-weighted mean of the answered ``values`` (NaN when no weight is left),
    as :func:`~patronage.satisfaction.indices.csi_table` takes it."""
    valid = values.notna().to_numpy()
    w = np.nan_to_num(weights.to_numpy(dtype=float)[valid], nan=0.0)
    total = float(w.sum())
    return float((values.to_numpy()[valid] * w).sum() / total) if total else float("nan")


__all__ = ["BASE_VARIABLES", "apply_weights", "composition_table", "customer_base_margins",
           "raked_weights", "read_margins", "weighting_effect"]
