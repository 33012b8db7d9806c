"""The journey view: per touchpoint kind (moment of truth), its volume, the satisfaction and
effort answered by customers after it (with 95% intervals), the cases about it per 1,000
touchpoints, the share of detractors whose comments mention it (Wilson interval), and its
derived importance for overall satisfaction.

A response is "after" a touchpoint when its customer had one of that kind in the
:data:`AFTER_DAYS` days before answering, as the dashboards' touchpoint filter counts it. The
derived importance is the relative weight (Johnson 2000, :mod:`patronage.analytics.drivers`) of
having had each kind in that window, in the regression of overall satisfaction on all of them,
with the sign of its correlation: it says which moments move the score, not how well they go.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from patronage.analytics.drivers import driver_importance
from patronage.analytics.ratings import mean_summary, wilson_interval
from patronage.analytics.scores import DETRACTOR_MAX
from patronage.journey.importing import KIND_WORDS
from patronage.storage.schema import (
    TOUCHPOINT_KINDS, answers, cases, category_labels, responses, touchpoints,
)

AFTER_DAYS = 30
SATISFACTION_ITEMS = ("overall_satisfaction", "csat", "satisfaction")
EFFORT_ITEMS = ("ces", "effort", "customer_effort")
COLUMNS = ["kind", "touchpoints", "customers", "sat_n", "sat_mean", "sat_low", "sat_high",
           "effort_n", "effort_mean", "effort_low", "effort_high", "cases",
           "cases_per_1000", "detractors", "mentions", "mention_share", "mention_low",
           "mention_high", "importance", "direction"]


def _answers(engine: Engine) -> pd.DataFrame:
    """Numeric answers of the satisfaction, effort and NPS items and every text answer, one row
    per response and item: ``response_id, customer_id, submitted_at, item_code, value_num,
    value_text``."""
    items = (*SATISFACTION_ITEMS, *EFFORT_ITEMS, "nps")
    r, a = responses.c, answers.c
    query = (select(r.id.label("response_id"), r.customer_id, r.submitted_at, a.item_code,
                    a.value_num, a.value_text)
             .join(answers, a.response_id == r.id)
             .where(r.customer_id.is_not(None),
                    a.item_code.in_(items) | a.value_text.is_not(None)))
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(),
                             columns=["response_id", "customer_id", "submitted_at", "item_code",
                                      "value_num", "value_text"])
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"]).astype("datetime64[ns]")
    return frame


def _exposure(engine: Engine, answered: pd.DataFrame) -> pd.DataFrame:
    """Per response (index) and kind (columns): whether its customer had that touchpoint in
    the :data:`AFTER_DAYS` days before answering."""
    done = answered.drop_duplicates("response_id")[["response_id", "customer_id",
                                                    "submitted_at"]]
    t = touchpoints.c
    with engine.connect() as conn:
        points = pd.DataFrame(conn.execute(select(t.customer_id, t.kind, t.occurred_at)).all(),
                              columns=["customer_id", "kind", "occurred_at"])
    out = pd.DataFrame(False, index=pd.Index(done["response_id"], name="response_id"),
                       columns=list(TOUCHPOINT_KINDS))
    if points.empty or done.empty:
        return out
    points["occurred_at"] = pd.to_datetime(points["occurred_at"]).astype("datetime64[ns]")
    left = done.sort_values("submitted_at").assign(
        customer_id=lambda f: f["customer_id"].astype("int64"))
    for kind, part in points.groupby("kind"):
        right = part[["customer_id", "occurred_at"]].sort_values("occurred_at").assign(
            customer_id=lambda f: f["customer_id"].astype("int64"))
        matched = pd.merge_asof(left, right, left_on="submitted_at", right_on="occurred_at",
                                by="customer_id", direction="backward",
                                tolerance=pd.Timedelta(days=AFTER_DAYS))
        hit = matched.loc[matched["occurred_at"].notna(), "response_id"]
        if kind in out.columns:
            out.loc[out.index.isin(hit), kind] = True
    return out


def _first_item(answered: pd.DataFrame, items) -> pd.Series:
    """Per response, the value of the first of ``items`` it was asked."""
    numeric = answered[answered["value_num"].notna()]
    present = set(numeric["item_code"])
    item = next((i for i in items if i in present), None)
    if item is None:
        return pd.Series(dtype=float)
    chosen = numeric[numeric["item_code"] == item]
    return chosen.groupby("response_id")["value_num"].first().astype(float)


def _words(engine: Engine) -> dict[str, re.Pattern]:
    """Per kind, the words that mention it in a comment (its names and an admin's labels)."""
    words = {kind: {w.lower() for w in KIND_WORDS.get(kind, ())} for kind in TOUCHPOINT_KINDS}
    with engine.connect() as conn:
        for value, label in conn.execute(select(category_labels.c.value, category_labels.c.label)
                                         .where(category_labels.c.kind == "touchpoint")):
            if value in words:
                words[value].add(label.lower())
    return {kind: re.compile("|".join(re.escape(w) if not w.isascii() else rf"\b{re.escape(w)}"
                                      for w in sorted(found, key=len, reverse=True)))
            for kind, found in words.items() if found}


def journey(engine: Engine) -> pd.DataFrame:
    """One row per touchpoint kind with touchpoints, cases or mentions (see the module)."""
    t = touchpoints.c
    with engine.connect() as conn:
        volume = dict(conn.execute(select(t.kind, func.count()).group_by(t.kind)).all())
        reach = dict(conn.execute(select(t.kind, func.count(t.customer_id.distinct()))
                                  .group_by(t.kind)).all())
        about = dict(conn.execute(select(cases.c.touchpoint_kind, func.count())
                                  .where(cases.c.touchpoint_kind.is_not(None))
                                  .group_by(cases.c.touchpoint_kind)).all())
    answered = _answers(engine)
    exposure = _exposure(engine, answered)
    satisfaction = _first_item(answered, SATISFACTION_ITEMS)
    effort = _first_item(answered, EFFORT_ITEMS)
    nps = _first_item(answered, ("nps",))
    detractors = nps.index[nps <= DETRACTOR_MAX]
    texts = (answered[answered["value_text"].notna()
                      & answered["response_id"].isin(detractors)]
             .groupby("response_id")["value_text"].agg(" ".join).str.lower())
    patterns = _words(engine)
    importance = _importance(exposure, satisfaction)
    rows = []
    for kind in TOUCHPOINT_KINDS:
        exposed = exposure.index[exposure[kind]] if kind in exposure else []
        sat = mean_summary(satisfaction.reindex(exposed).dropna())
        eff = mean_summary(effort.reindex(exposed).dropna())
        mentions = int(texts.str.contains(patterns[kind]).sum()) if kind in patterns and \
            len(texts) else 0
        share = mentions / len(texts) if len(texts) else np.nan
        low, high = wilson_interval(share, len(texts))
        n = int(volume.get(kind, 0))
        if not n and not about.get(kind) and not mentions:
            continue
        rows.append({
            "kind": kind, "touchpoints": n, "customers": int(reach.get(kind, 0)),
            "sat_n": int(sat["n"]), "sat_mean": sat["mean"], "sat_low": sat["ci_low"],
            "sat_high": sat["ci_high"], "effort_n": int(eff["n"]), "effort_mean": eff["mean"],
            "effort_low": eff["ci_low"], "effort_high": eff["ci_high"],
            "cases": int(about.get(kind, 0)),
            "cases_per_1000": 1000 * about.get(kind, 0) / n if n else np.nan,
            "detractors": int(len(texts)), "mentions": mentions, "mention_share": share,
            "mention_low": low, "mention_high": high,
            "importance": importance.get(kind, (np.nan, 0))[0],
            "direction": importance.get(kind, (np.nan, 0))[1]})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.attrs["r_squared"] = importance.get("_r2", (np.nan, 0))[0]
    frame.attrs["n_importance"] = int(importance.get("_n", (0, 0))[0])
    frame.attrs["detractors"] = int(len(texts))
    return frame


def _importance(exposure: pd.DataFrame, satisfaction: pd.Series) -> dict:
    """Per kind: (share of R² carried, sign of the correlation); kinds every or no respondent
    had are left out."""
    data = exposure.reindex(satisfaction.index).dropna()
    y = satisfaction.reindex(data.index)
    varying = [k for k in data.columns if 0 < data[k].sum() < len(data)]
    if len(varying) < 1 or len(data) < max(30, 5 * len(varying)):
        return {}
    X = data[varying].astype(float)
    result = driver_importance(X, y.to_numpy(), method="relative_weights")
    out = {kind: (float(result.loc[kind, "share"]),
                  int(np.sign(np.corrcoef(X[kind], y)[0, 1]))) for kind in varying}
    out["_r2"] = (float(result.attrs["r_squared"]), 0)
    out["_n"] = (float(result.attrs["n_used"]), 0)
    return out


__all__ = ["AFTER_DAYS", "COLUMNS", "journey"]
