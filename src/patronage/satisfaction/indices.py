"""Satisfaction analyses over :class:`~patronage.satisfaction.sources.SurveyData`.

Each function returns a DataFrame ready to render; the statistics come from
:mod:`patronage.analytics`.
"""

from __future__ import annotations

import pandas as pd

from patronage.satisfaction.sources import SurveyData
from patronage.analytics import csi_scores, nps_summary
from patronage.index_system import IndexSystem, load_index_system
from patronage.messages import N_, UserError


def _group_order(data: SurveyData, by: str, groups: pd.Series) -> list:
    if by == "wave":
        return data.waves_in_order()
    return sorted(groups.dropna().unique(), key=str)


#: The row label of all responses of a survey without waves.
ALL = "all"


def per_group(data: SurveyData, item: str, by: str | None, summary) -> pd.DataFrame:
    """``summary(values, weights) -> Series`` of answer column ``item``, overall (``by`` None)
    or per group (waves in wave order, other groups sorted), one row each."""
    values, weights = data.answers[item], data.weights
    if by is None:
        return summary(values, weights).to_frame("all").T.rename_axis("group")
    groups = data.groups(by)
    order = [key for key in _group_order(data, by, groups)
             if values[(groups == key).to_numpy()].notna().any()]
    if not order:
        if by == "wave" and values.notna().any():  # a survey without waves: one row
            return summary(values, weights).to_frame(ALL).T.rename_axis(by)
        raise UserError(N_("No answers to {item!r} in any group (anonymous responses, or "
                           "customers without this attribute)."), item=item)
    rows = {key: summary(values[groups == key], weights[groups == key]) for key in order}
    return pd.DataFrame(rows).T.rename_axis(by)


def nps_table(data: SurveyData, *, by: str | None = "wave", item: str = "nps") -> pd.DataFrame:
    """NPS with shares and 95% interval, overall or per group (default: per wave, in wave order)."""
    if item not in data.answers.columns:
        raise UserError(N_("The data have no {item!r} item (0–10 likelihood to recommend)."),
                        item=item)
    return per_group(data, item, by, nps_summary)


def csi_table(data: SurveyData, *, by: str | None = "wave",
              index_system: IndexSystem | None = None) -> pd.DataFrame:
    """Weighted CSI (0–100) and dimension scores, overall or per group, with respondent counts."""
    system = index_system or load_index_system()
    per_respondent = csi_scores(data.answers, system.items)
    weights = data.weights

    def weighted_means(mask) -> pd.Series:
        part, w = per_respondent[mask], weights[mask]
        out = {"n": float(mask.sum())}
        for column in part.columns:
            valid = part[column].notna()
            total = float(w[valid].sum())
            out[column] = float((part[column][valid] * w[valid]).sum() / total) if total else float("nan")
        return pd.Series(out)

    if by is None:
        return weighted_means(pd.Series(True, index=per_respondent.index)).to_frame("all").T
    groups = data.groups(by)
    rows = {key: weighted_means(groups == key) for key in _group_order(data, by, groups)}
    return pd.DataFrame(rows).T.rename_axis(by)


__all__ = ["csi_table", "nps_table", "per_group"]
