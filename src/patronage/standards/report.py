"""``patronage analyze standards``: compliance per period (and site, team or agent), the special
causes the control charts flag, and satisfaction within against outside the standard."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from patronage.analytics.control_charts import RULES
from patronage.messages import N_, UserError
from patronage.standards.compliance import (
    UNITS, compliance, events, judged_periods, share_chart, signals, within_vs_outside,
)
from patronage.standards.records import list_standards, standard

SHOWS = ("compliance", "signals", "satisfaction")


def _chosen(engine: Engine, code: str | None) -> list[dict]:
    if code:
        return [standard(engine, code)]
    rows = list_standards(engine, active_only=True).to_dict("records")
    if not rows:
        raise UserError(N_("No service standard is defined yet; add one with patronage "
                           "standard add."))
    return rows


def standards_table(engine: Engine, code: str | None = None, *, by: str | None = None,
                    show: str = "compliance", min_events: int = 0) -> pd.DataFrame:
    """One table for the command line; ``by`` is site, team or agent; the control charts are
    built on the periods with at least ``min_events`` events."""
    if by not in (None, "", *UNITS):
        raise UserError(N_("Group by one of {choices}; got {value!r}."),
                        choices=", ".join(UNITS), value=by)
    if show not in SHOWS:
        raise UserError(N_("Show one of {choices}; got {value!r}."), choices=", ".join(SHOWS),
                        value=show)
    parts = []
    for row in _chosen(engine, code):
        frame = events(engine, row)
        if show == "signals":
            table = signals(frame, row, min_events=min_events)
            table["rules"] = ["; ".join(RULES[r] for r in rules) for rules in table["rules"]]
        elif show == "satisfaction":
            found = within_vs_outside(engine, row, frame)
            table = pd.DataFrame([_satisfaction_row(found)] if found else [])
        else:
            table = compliance(frame, row, by or None)
            kept = [(unit, judged_periods(part, min_events))
                    for unit, part in table.groupby("unit", sort=False)]
            charts = [share_chart(part).assign(unit=unit) for unit, part in kept
                      if part is not None]
            if charts:
                limits = pd.concat(charts)[["unit", "period", "lcl", "ucl", "rules"]]
                table = table.merge(limits, on=["unit", "period"], how="left")
            table["target"] = row["target"]
        table.insert(0, "standard", row["code"])
        parts.append(table)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if "unit" in out and not by and show == "compliance":
        out = out.drop(columns="unit")
    return out


def _satisfaction_row(found: dict) -> dict:
    row = {"item": found["item"]}
    for name in ("within", "outside"):
        row[f"n_{name}"] = int(found[name].get("n", 0))
        row[f"mean_{name}"] = found[name].get("mean")
    for key in ("difference", "ci_low", "ci_high", "p_value"):
        row[key] = found.get(key)
    return row


__all__ = ["SHOWS", "standards_table"]
