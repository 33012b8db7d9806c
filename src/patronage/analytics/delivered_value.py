"""Customer delivered value: what a customer gets minus what it costs them.

Kotler defines **customer delivered value** as "the difference between total customer value and
total customer cost", where *total customer value* is the bundle of benefits customers expect
from a product or service — product, services, personnel and image value — and *total customer
cost* is the bundle of costs they expect to incur in evaluating, obtaining and using it —
monetary, time, energy and psychic cost (Kotler, *Marketing Management: Analysis, Planning,
Implementation and Control*, 9th ed., Prentice Hall 1997, ch. 2).

Here each of the eight parts is one rating (the CDV survey template asks 1–10 for each): a
respondent's total value is the sum of the four value ratings, the total cost the sum of the four
cost ratings, and the delivered value their difference (positive: the customer gets more than
it costs them). A respondent counts only when all eight are answered, so that a total never mixes
sums of different lengths. Means are unweighted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

#: The value parts (Kotler) and the CDV template's answer codes.
VALUE_PARTS = {"product": "cdv_product", "service": "cdv_service", "personnel": "cdv_personnel",
               "image": "cdv_image"}
#: The cost parts (Kotler) and the CDV template's answer codes.
COST_PARTS = {"money": "cdv_money", "time": "cdv_time", "energy": "cdv_energy",
              "psychic": "cdv_psychological"}
TOTALS = ("total_value", "total_cost", "delivered_value")


def _codes(prefix: str) -> dict[str, str]:
    return {part: prefix + code for part, code in {**VALUE_PARTS, **COST_PARTS}.items()}


def delivered_value(answers: pd.DataFrame, *, prefix: str = "") -> pd.DataFrame:
    """Per respondent: the eight parts, ``total_value``, ``total_cost`` and ``delivered_value``.

    ``answers`` has one row per respondent and the CDV answer codes as columns (with ``prefix``
    before each, e.g. ``competitor.hengtai.`` for the ratings of a competitor). Respondents who
    did not answer all eight parts are left out.
    """
    codes = _codes(prefix)
    absent = [c for c in codes.values() if c not in answers.columns]
    if absent:
        raise ValueError(f"customer delivered value needs the columns {', '.join(absent)}")
    parts = answers[list(codes.values())].astype(float).set_axis(list(codes), axis=1)
    parts = parts.dropna()
    total_value = parts[list(VALUE_PARTS)].sum(axis=1)
    total_cost = parts[list(COST_PARTS)].sum(axis=1)
    return parts.assign(total_value=total_value, total_cost=total_cost,
                        delivered_value=total_value - total_cost)


def _mean_interval(values: pd.Series, level: float = 0.95) -> tuple[float, float, float]:
    n = len(values)
    mean = float(values.mean()) if n else np.nan
    if n < 2:
        return mean, np.nan, np.nan
    half = stats.t.ppf((1 + level) / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def cdv_summary(answers: pd.DataFrame, groups: pd.Series | None = None, *,
                prefix: str = "") -> pd.DataFrame:
    """Mean parts and totals per group (``groups`` aligned on ``answers``; ``None``: everyone,
    as the row ``all``), with ``n`` and the t interval of the mean delivered value
    (``ci_low``, ``ci_high``). The overall row ``all`` comes first."""
    scores = delivered_value(answers, prefix=prefix)
    keys = pd.Series("all", index=scores.index, dtype=object)
    frames = [("all", scores)]
    if groups is not None:
        keys = groups.reindex(scores.index)
        frames += [(str(k), scores[keys == k]) for k in sorted(keys.dropna().unique(), key=str)]
    rows = {}
    for name, part in frames:
        mean, low, high = _mean_interval(part["delivered_value"])
        rows[name] = {"n": len(part), **part.drop(columns="delivered_value").mean().to_dict(),
                      "delivered_value": mean, "ci_low": low, "ci_high": high}
    return pd.DataFrame.from_dict(rows, orient="index")


def cdv_against(answers: pd.DataFrame, competitor_prefix: str) -> pd.DataFrame:
    """The same respondents' delivered value of us and of a competitor (answer codes
    ``<competitor_prefix><cdv code>``): per part and total, ``own``, ``competitor``, the
    difference ``own − competitor``, the paired t test's p and ``n`` (respondents who rated all
    eight parts for both)."""
    own = delivered_value(answers)
    theirs = delivered_value(answers, prefix=competitor_prefix)
    both = own.index.intersection(theirs.index)
    own, theirs = own.loc[both], theirs.loc[both]
    rows = {}
    for column in own.columns:
        a, b = own[column], theirs[column]
        p = (float(stats.ttest_rel(a, b).pvalue) if len(both) >= 2 and (a - b).std() > 0
             else np.nan)
        rows[column] = {"n": len(both), "own": a.mean(), "competitor": b.mean(),
                        "difference": (a - b).mean(), "p_value": p}
    return pd.DataFrame.from_dict(rows, orient="index")


__all__ = ["COST_PARTS", "TOTALS", "VALUE_PARTS", "cdv_against", "cdv_summary",
           "delivered_value"]
