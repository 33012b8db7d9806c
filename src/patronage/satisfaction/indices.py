"""Satisfaction analyses over :class:`~patronage.satisfaction.sources.SurveyData`.

Each function returns a DataFrame ready to render; the statistics come from
:mod:`patronage.analytics`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patronage.satisfaction.sources import SurveyData
from patronage.analytics import nps_summary
from patronage.index_system import IndexSystem, load_index_system
from patronage.messages import N_, UserError


def _group_order(data: SurveyData, by: str, groups: pd.Series) -> list:
    if by == "wave":
        return data.waves_in_order()
    # The distinct values, then their missing one left out (not a mask over every response).
    return sorted((v for v in groups.unique() if not pd.isna(v)), key=str)


#: The row label of all responses of a survey without waves.
ALL = "all"


def per_group(data: SurveyData, item: str, by: str | None, summary) -> pd.DataFrame:
    """``summary(values, weights) -> Series`` of answer column ``item``, overall (``by`` None)
    or per group (waves in wave order, other groups sorted), one row each."""
    values, weights = data.answers[item], data.weights
    if by is None:
        return summary(values, weights).to_frame("all").T.rename_axis("group")
    groups = data.groups(by)
    masks = _masks(groups, _group_order(data, by, groups))
    answered = values.notna().to_numpy()
    order = [key for key, mask in masks.items() if (answered & mask).any()]
    if not order:
        if by == "wave" and values.notna().any():  # a survey without waves: one row
            return summary(values, weights).to_frame(ALL).T.rename_axis(by)
        raise UserError(N_("No answers to {item!r} in any group (anonymous responses, or "
                           "customers without this attribute)."), item=item)
    rows = {key: summary(values[masks[key]], weights[masks[key]]) for key in order}
    return pd.DataFrame(rows).T.rename_axis(by)


def _masks(groups: pd.Series, order: list) -> dict:
    """Per group in ``order``: the boolean array of its rows (the column compared once, by its
    codes, not once per group: a million responses)."""
    codes, uniques = pd.factorize(groups, use_na_sentinel=True)  # no str per row
    position = {key: i for i, key in enumerate(uniques)}
    empty = np.zeros(len(groups), dtype=bool)
    return {key: codes == position[key] if key in position else empty for key in order}


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
    per_respondent = data.scores(system.items)  # computed once per data (shared)
    weights = data.weights

    scores = per_respondent.to_numpy(dtype=float)
    if not weights.index.equals(per_respondent.index):  # answers and meta in another order
        weights = weights.reindex(per_respondent.index)
    w_all = np.nan_to_num(weights.to_numpy(dtype=float), nan=0.0)  # as pandas' sums skip NaN

    def weighted_means(mask: np.ndarray) -> pd.Series:
        part, w = scores[mask], w_all[mask]
        valid = ~np.isnan(part)
        totals = np.where(valid, w[:, None], 0.0).sum(axis=0)
        sums = np.where(valid, part * w[:, None], 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(totals != 0, sums / np.where(totals != 0, totals, 1.0), np.nan)
        return pd.Series({"n": float(mask.sum()), **dict(zip(per_respondent.columns,
                                                            means.tolist()))})

    if by is None:
        return weighted_means(np.ones(len(scores), dtype=bool)).to_frame("all").T
    groups = data.groups(by)
    masks = _masks(groups.reindex(per_respondent.index), _group_order(data, by, groups))
    rows = {key: weighted_means(mask) for key, mask in masks.items()}
    return pd.DataFrame(rows).T.rename_axis(by)


__all__ = ["csi_table", "nps_table", "per_group"]
