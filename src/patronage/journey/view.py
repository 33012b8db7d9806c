"""The journey view: per touchpoint kind (moment of truth), its volume, the satisfaction and
effort answered by customers about it (with 95% intervals), the cases about it per 1,000
touchpoints, the share of detractors about it (Wilson interval), and its derived importance for
overall satisfaction.

Which touchpoint an answer is about: the one it is tagged with (``responses.touchpoint_id``: a
transactional survey's invitation or the import's touchpoint column) when it has one; otherwise
every kind its customer had in the :data:`AFTER_DAYS` days before answering, as the dashboards'
touchpoint filter counts it. Each row says how many of its answers came by the tag
(``tagged``) and which rule its figures use (``basis``: ``tag``, ``window`` or ``both``). A
case is about its tagged touchpoint's kind, else its ``touchpoint_kind``. A detractor is about
the kind of its tagged touchpoint, else the kinds its comment mentions. The derived importance
is the relative weight (Johnson 2000, :mod:`patronage.analytics.drivers`) of being about each
kind, in the regression of overall satisfaction on all of them, with the sign of its
correlation: it says which moments move the score, not how well they go.
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
COLUMNS = ["kind", "touchpoints", "customers", "responses", "tagged", "basis", "sat_n",
           "sat_mean", "sat_low", "sat_high", "effort_n", "effort_mean", "effort_low",
           "effort_high", "cases", "cases_tagged", "cases_per_1000", "detractors", "mentions",
           "mention_share", "mention_low", "mention_high", "importance", "direction"]


def _answers(engine: Engine) -> pd.DataFrame:
    """Numeric answers of the satisfaction, effort and NPS items and every text answer, one row
    per response and item: ``response_id, customer_id, submitted_at, tagged`` (the kind of the
    touchpoint the response is tagged with, or None) ``, item_code, value_num, value_text``."""
    items = (*SATISFACTION_ITEMS, *EFFORT_ITEMS, "nps")
    r, a, t = responses.c, answers.c, touchpoints.c
    query = (select(r.id.label("response_id"), r.customer_id, r.submitted_at,
                    t.kind.label("tagged"), a.item_code, a.value_num, a.value_text)
             .join(answers, a.response_id == r.id)
             .outerjoin(touchpoints, t.id == r.touchpoint_id)
             .where(r.customer_id.is_not(None) | r.touchpoint_id.is_not(None),
                    a.item_code.in_(items) | a.value_text.is_not(None)))
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(),
                             columns=["response_id", "customer_id", "submitted_at", "tagged",
                                      "item_code", "value_num", "value_text"])
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"]).astype("datetime64[ns]")
    return frame


def _exposure(engine: Engine, answered: pd.DataFrame) -> pd.DataFrame:
    """Per response (index) and kind (columns): whether the response is about that kind: the
    kind of its tagged touchpoint, else whether its customer had one in the
    :data:`AFTER_DAYS` days before answering."""
    done = answered.drop_duplicates("response_id")[["response_id", "customer_id",
                                                    "submitted_at", "tagged"]]
    out = pd.DataFrame(False, index=pd.Index(done["response_id"], name="response_id"),
                       columns=list(TOUCHPOINT_KINDS))
    tagged = done[done["tagged"].notna()]
    for kind, part in tagged.groupby("tagged"):
        if kind in out.columns:
            out.loc[out.index.isin(part["response_id"]), kind] = True
    untagged = done[done["tagged"].isna() & done["customer_id"].notna()]
    t = touchpoints.c
    with engine.connect() as conn:
        points = pd.DataFrame(conn.execute(select(t.customer_id, t.kind, t.occurred_at)).all(),
                              columns=["customer_id", "kind", "occurred_at"])
    if points.empty or untagged.empty:
        return out
    points["occurred_at"] = pd.to_datetime(points["occurred_at"]).astype("datetime64[ns]")
    left = untagged.drop(columns="tagged").sort_values("submitted_at").assign(
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


def _basis(tagged: int, total: int) -> str:
    """Which rule a row's answers came by: all by the tag, all by the window, or both."""
    if tagged and tagged == total:
        return "tag"
    return "both" if tagged else "window"


def _cases(engine: Engine) -> tuple[dict, dict]:
    """Cases per kind (the tagged touchpoint's kind, else ``touchpoint_kind``), and how many
    of them by the tag."""
    k, t = cases.c, touchpoints.c
    kind = func.coalesce(t.kind, k.touchpoint_kind)
    query = (select(kind, func.count(), func.count(k.touchpoint_id))
             .select_from(cases).outerjoin(touchpoints, t.id == k.touchpoint_id)
             .where(kind.is_not(None)).group_by(kind))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return {r[0]: int(r[1]) for r in rows}, {r[0]: int(r[2]) for r in rows}


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
    """One row per touchpoint kind with touchpoints, cases or detractors (see the module)."""
    t = touchpoints.c
    with engine.connect() as conn:
        volume = dict(conn.execute(select(t.kind, func.count()).group_by(t.kind)).all())
        reach = dict(conn.execute(select(t.kind, func.count(t.customer_id.distinct()))
                                  .group_by(t.kind)).all())
    about, about_tagged = _cases(engine)
    answered = _answers(engine)
    exposure = _exposure(engine, answered)
    tag_of = answered.drop_duplicates("response_id").set_index("response_id")["tagged"]
    satisfaction = _first_item(answered, SATISFACTION_ITEMS)
    effort = _first_item(answered, EFFORT_ITEMS)
    nps = _first_item(answered, ("nps",))
    detractors = nps.index[nps <= DETRACTOR_MAX]
    texts = (answered[answered["value_text"].notna()
                      & answered["response_id"].isin(detractors)]
             .groupby("response_id")["value_text"].agg(" ".join).str.lower())
    detractor_tags = tag_of.reindex(detractors).dropna()
    texts = texts[~texts.index.isin(detractor_tags.index)]  # the tag says what they are about
    pool = len(texts) + len(detractor_tags)
    patterns = _words(engine)
    importance = _importance(exposure, satisfaction)
    rows = []
    for kind in TOUCHPOINT_KINDS:
        exposed = exposure.index[exposure[kind]] if kind in exposure else pd.Index([])
        rated = exposed[exposed.isin(satisfaction.index) | exposed.isin(effort.index)]
        by_tag = int(tag_of.reindex(rated).notna().sum())
        sat = mean_summary(satisfaction.reindex(exposed).dropna())
        eff = mean_summary(effort.reindex(exposed).dropna())
        mentions = int((detractor_tags == kind).sum())
        if kind in patterns and len(texts):
            mentions += int(texts.str.contains(patterns[kind]).sum())
        share = mentions / pool if pool else np.nan
        low, high = wilson_interval(share, pool)
        n = int(volume.get(kind, 0))
        if not n and not about.get(kind) and not mentions:
            continue
        rows.append({
            "kind": kind, "touchpoints": n, "customers": int(reach.get(kind, 0)),
            "responses": len(rated), "tagged": by_tag, "basis": _basis(by_tag, len(rated)),
            "sat_n": int(sat["n"]), "sat_mean": sat["mean"], "sat_low": sat["ci_low"],
            "sat_high": sat["ci_high"], "effort_n": int(eff["n"]), "effort_mean": eff["mean"],
            "effort_low": eff["ci_low"], "effort_high": eff["ci_high"],
            "cases": int(about.get(kind, 0)), "cases_tagged": int(about_tagged.get(kind, 0)),
            "cases_per_1000": 1000 * about.get(kind, 0) / n if n else np.nan,
            "detractors": pool, "mentions": mentions, "mention_share": share,
            "mention_low": low, "mention_high": high,
            "importance": importance.get(kind, (np.nan, 0))[0],
            "direction": importance.get(kind, (np.nan, 0))[1]})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.attrs["r_squared"] = importance.get("_r2", (np.nan, 0))[0]
    frame.attrs["n_importance"] = int(importance.get("_n", (0, 0))[0])
    frame.attrs["detractors"] = pool
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
