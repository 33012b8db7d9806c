"""Customer results per site or team: which unit serves a customer, and the customers' CSI, NPS,
complaint rate, retention and revenue per unit.

A customer belongs to the site (team) of most of their touchpoints — the service log of
``patronage import touchpoints`` — the latest one deciding a tie. Survey figures use the
customer survey's responses of the customers of each unit; complaints, retention and revenue
count the 12 months up to the last sale (``end``):

* complaint rate: complaint cases opened in those 12 months per 100 customers of the unit;
* retention: of the unit's customers who bought in the 12 months before, the share who bought
  again in the last 12 months;
* revenue: net sales per customer of the unit in the last 12 months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from patronage.analytics import csi_scores, nps
from patronage.index_system import load_index_system
from patronage.storage.schema import cases, customers, touchpoints, transactions

YEAR = pd.Timedelta(days=365)


def customer_units(engine: Engine, unit: str) -> pd.Series:
    """Customer external id → the unit (``site`` or ``team``) of most of their touchpoints."""
    tp = touchpoints.c
    column = tp.site if unit == "site" else tp.team
    query = (select(customers.c.external_id, column, func.count(), func.max(tp.occurred_at))
             .join(customers, customers.c.id == tp.customer_id)
             .where(column.is_not(None)).group_by(customers.c.external_id, column))
    with engine.connect() as conn:
        rows = pd.DataFrame([tuple(r) for r in conn.execute(query)],
                            columns=["customer", "unit", "count", "last"])
    if rows.empty:
        return pd.Series(dtype=object)
    rows = rows.sort_values(["customer", "count", "last"])
    return rows.groupby("customer")["unit"].last().astype(str)


def _sales(engine: Engine) -> pd.DataFrame:
    t = transactions.c
    query = (select(customers.c.external_id, t.occurred_at, t.amount)
             .join(customers, customers.c.id == t.customer_id))
    with engine.connect() as conn:
        frame = pd.DataFrame([tuple(r) for r in conn.execute(query)],
                             columns=["customer", "at", "amount"])
    frame["at"] = pd.to_datetime(frame["at"])
    frame["amount"] = frame["amount"].astype(float)
    return frame


def _complaints(engine: Engine, since) -> pd.Series:
    k = cases.c
    query = (select(customers.c.external_id, func.count())
             .join(customers, customers.c.id == k.customer_id)
             .where(k.type == "complaint", k.opened_at >= since.to_pydatetime())
             .group_by(customers.c.external_id))
    with engine.connect() as conn:
        return pd.Series(dict(tuple(r) for r in conn.execute(query)), dtype=float)


def business_by_unit(engine: Engine, units: pd.Series) -> pd.DataFrame:
    """Per unit: ``customers_n``, ``complaint_rate``, ``retention`` and ``revenue`` (see the
    module); empty when there are no sales."""
    sales = _sales(engine)
    if sales.empty or units.empty:
        return pd.DataFrame(columns=["customers_n", "complaint_rate", "retention", "revenue"])
    end = sales["at"].max()
    last = sales[sales["at"] > end - YEAR]
    before = sales[(sales["at"] <= end - YEAR) & (sales["at"] > end - 2 * YEAR)]
    complaints = _complaints(engine, end - YEAR)
    revenue = last.groupby("customer")["amount"].sum()
    earlier, recent = set(before["customer"]), set(last["customer"])
    rows = {}
    for name, members in units.groupby(units):
        people = list(members.index)
        base = [c for c in people if c in earlier]
        rows[name] = {
            "customers_n": len(people),
            "complaint_rate": 100 * float(complaints.reindex(people).fillna(0).sum())
            / len(people),
            "retention": (sum(c in recent for c in base) / len(base)) if base else np.nan,
            "revenue": float(revenue.reindex(people).fillna(0).sum()) / len(people)}
    return pd.DataFrame.from_dict(rows, orient="index")


def survey_by_unit(answers: pd.DataFrame, customer_ids: pd.Series, weights: pd.Series,
                   units: pd.Series) -> pd.DataFrame:
    """Per unit: ``respondents_n``, the weighted ``csi`` (0–100) and the ``nps`` of the customer
    survey's responses (``answers`` one row per response, ``customer_ids`` and ``weights``
    aligned on it)."""
    unit_of = customer_ids.map(units)
    items = load_index_system().items
    scores = (csi_scores(answers, items)["csi"]
              if items["item_code"].isin(answers.columns).any()
              else pd.Series(np.nan, index=answers.index))
    recommend = answers["nps"] if "nps" in answers else pd.Series(np.nan, index=answers.index)
    rows = {}
    for name in sorted(unit_of.dropna().unique()):
        mask = (unit_of == name).to_numpy()
        csi, said = scores[mask], recommend[mask]
        valid, answered = csi.notna().to_numpy(), said.notna().to_numpy()
        w = weights[mask].to_numpy()
        rows[name] = {
            "respondents_n": int(mask.sum()),
            "csi": float(np.average(csi[valid], weights=w[valid])) if valid.any() else np.nan,
            "nps": float(nps(said[answered], w[answered])) if answered.any() else np.nan}
    return pd.DataFrame.from_dict(rows, orient="index")


def compliance_by_unit(engine: Engine, unit: str) -> pd.Series:
    """Per unit: the share of the active service standards' events (touchpoints or cases) in
    the 12 months up to the latest one that met their standard, all standards pooled; empty
    without standards (see :mod:`patronage.standards.compliance`)."""
    from patronage.standards.compliance import events
    from patronage.standards.records import list_standards

    frames = [events(engine, row) for row in
              list_standards(engine, active_only=True).to_dict(orient="records")]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.Series(dtype=float, name="compliance")
    pooled = pd.concat(frames, ignore_index=True)
    pooled["at"] = pd.to_datetime(pooled["at"])
    pooled = pooled[(pooled["at"] > pooled["at"].max() - YEAR) & pooled[unit].notna()]
    return pooled.groupby(pooled[unit].astype(str))["within"].mean().astype(float) \
        .rename("compliance")


__all__ = ["business_by_unit", "compliance_by_unit", "customer_units", "survey_by_unit"]
