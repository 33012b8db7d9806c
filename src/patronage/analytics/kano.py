"""Kano model: classify attributes from paired functional / dysfunctional questions.

Answers are coded 1 = "I like it", 2 = "it must be that way", 3 = "I am neutral",
4 = "I can live with it", 5 = "I dislike it", both for the functional question (the attribute is
present) and the dysfunctional one (it is absent). Each pair maps to one category through the Kano
evaluation table (Berger et al. 1993, "Kano's methods for understanding customer-defined quality",
Center for Quality Management Journal 2(4):3-36):

=================  ====  =======  =======  ====  =======
functional \\ dys   like  must-be  neutral  live  dislike
=================  ====  =======  =======  ====  =======
like               Q     A        A        A     O
must-be            R     I        I        I     M
neutral            R     I        I        I     M
live with          R     I        I        I     M
dislike            R     R        R        R     Q
=================  ====  =======  =======  ====  =======

A = attractive, O = one-dimensional, M = must-be, I = indifferent, R = reverse, Q = questionable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patronage.analytics._validation import aligned_weights, as_float_series

CATEGORIES = ("A", "O", "M", "I", "R", "Q")
#: Precedence used to break ties between most-frequent categories ("M > O > A > I", then R, Q).
TIE_PRECEDENCE = ("M", "O", "A", "I", "R", "Q")

_TABLE = (
    ("Q", "A", "A", "A", "O"),
    ("R", "I", "I", "I", "M"),
    ("R", "I", "I", "I", "M"),
    ("R", "I", "I", "I", "M"),
    ("R", "R", "R", "R", "Q"),
)
KANO_TABLE = pd.DataFrame(
    list(_TABLE), index=pd.Index(range(1, 6), name="functional"),
    columns=pd.Index(range(1, 6), name="dysfunctional"),
)


def _answers(values, name: str) -> pd.Series:
    series = as_float_series(values, name=name)
    valid = series.isna() | series.isin([1.0, 2.0, 3.0, 4.0, 5.0])
    if not valid.all():
        bad = sorted(set(series[~valid].tolist()))[:5]
        raise ValueError(f"{name} answers must be coded 1..5 (or missing); found {bad}")
    return series


def kano_category(functional, dysfunctional) -> pd.Series:
    """Kano category (A, O, M, I, R or Q) of each answer pair; NaN if either answer is missing.

    ``functional`` and ``dysfunctional`` are aligned by position and must have the same length; the
    result carries the index of ``functional``.
    """
    f = _answers(functional, "functional")
    d = _answers(dysfunctional, "dysfunctional")
    if len(f) != len(d):
        raise ValueError(f"functional has {len(f)} answers but dysfunctional has {len(d)}; "
                         "pass one pair per respondent")
    fv, dv = f.to_numpy(), d.to_numpy()
    ok = ~(np.isnan(fv) | np.isnan(dv))
    out = np.full(len(fv), np.nan, dtype=object)
    table = np.array(_TABLE, dtype=object)
    out[ok] = table[fv[ok].astype(int) - 1, dv[ok].astype(int) - 1]
    return pd.Series(out, index=f.index, name="kano_category", dtype=object)


def _weighted_counts(functional, dysfunctional, weights) -> tuple[pd.Series, int]:
    category = kano_category(functional, dysfunctional)
    w = aligned_weights(category, weights)
    keep = category.notna().to_numpy()  # an array: a mask Series looks its labels up
    counts = w[keep].groupby(category[keep]).sum().reindex(list(CATEGORIES), fill_value=0.0)
    return counts.astype(float), int(keep.sum())


def kano_table(functional, dysfunctional, weights=None) -> pd.Series:
    """Shares (fractions summing to 1) of the categories A, O, M, I, R, Q among answered pairs.

    Pairs with a missing answer are excluded; with ``weights`` each respondent counts by its weight.
    All shares are NaN when no pair is complete.
    """
    counts, _ = _weighted_counts(functional, dysfunctional, weights)
    total = counts.sum()
    if total == 0:
        return pd.Series(np.nan, index=list(CATEGORIES), name="share")
    return (counts / total).rename("share")


def _better_worse(counts: pd.Series) -> tuple[float, float]:
    """Customer-satisfaction coefficients (Berger et al. 1993; Timko 1993 in the same issue).

    Better = (A + O) / (A + O + M + I); Worse = -(O + M) / (A + O + M + I).
    """
    base = counts["A"] + counts["O"] + counts["M"] + counts["I"]
    if base == 0:
        return np.nan, np.nan
    return (counts["A"] + counts["O"]) / base, -(counts["O"] + counts["M"]) / base


def _dominant(counts: pd.Series) -> tuple[object, str]:
    if counts.sum() == 0:
        return np.nan, "no complete answer pairs"
    top = counts.max()
    tied = [c for c in TIE_PRECEDENCE if np.isclose(counts[c], top)]
    if len(tied) == 1:
        return tied[0], ""
    return tied[0], (f"tie between {', '.join(tied)}; {tied[0]} chosen by precedence "
                     f"{' > '.join(TIE_PRECEDENCE[:4])}")


def kano_result(pairs: dict, weights=None) -> pd.DataFrame:
    """Per-attribute Kano evaluation.

    Parameters
    ----------
    pairs : dict
        ``{attribute: (functional_answers, dysfunctional_answers)}``.
    weights : array-like, optional
        Respondent weights, aligned by position with every answer series.

    Returns
    -------
    DataFrame indexed by attribute with ``n`` (complete pairs), the weighted counts ``A..Q``, the
    shares ``share_A..share_Q``, ``category`` (most frequent; ties broken by M > O > A > I and
    explained in ``note``), ``better`` and ``worse`` (Berger et al. 1993).
    """
    if not pairs:
        raise ValueError("pairs is empty: pass {attribute: (functional, dysfunctional)}")
    rows = {}
    for attribute, pair in pairs.items():
        try:
            functional, dysfunctional = pair
        except (TypeError, ValueError):
            raise ValueError(f"pairs[{attribute!r}] must be a (functional, dysfunctional) "
                             "pair of answer series") from None
        counts, n = _weighted_counts(functional, dysfunctional, weights)
        total = counts.sum()
        row: dict[str, object] = {"n": n}
        row.update({c: float(counts[c]) for c in CATEGORIES})
        row.update({f"share_{c}": (float(counts[c] / total) if total > 0 else np.nan)
                    for c in CATEGORIES})
        row["category"], row["note"] = _dominant(counts)
        row["better"], row["worse"] = _better_worse(counts)
        rows[attribute] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "attribute"
    return out


__all__ = ["CATEGORIES", "KANO_TABLE", "TIE_PRECEDENCE", "kano_category", "kano_result",
           "kano_table"]
