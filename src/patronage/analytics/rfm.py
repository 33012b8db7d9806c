"""RFM analysis: recency, frequency and monetary scores per customer and named RFM segments.

Each customer is scored 1..``bins`` on recency (days since the last purchase, fewer is better),
frequency (number of purchase days) and monetary value (net spend in the window), ``bins`` = 5
giving the usual quintile scores with 5 = best (Hughes 1994, "Strategic Database Marketing";
Fader, Hardie & Lee 2005, "RFM and CLV", J. Marketing Research 42:415-430, section 1).

Scores are *balanced* quantile scores: customers are ranked with ``method="first"`` (ties are
broken by the order of the rows, which is the sorted customer id for a summary from
``customer_summary``) and the ``i``-th of ``n`` ranked customers gets ``ceil(i * bins / n)``, so
every score holds ``n / bins`` customers give or take one, even when a variable has fewer
distinct values than ``bins`` (e.g. most customers bought once).

Segments come from a rules table: a list of ``{"segment", "r": (lo, hi), "fm": (lo, hi)}``
checked in order, the first matching rule wins, where ``fm`` is the mean of the F and M scores
rounded half up (F alone when there is no monetary value).  :data:`DEFAULT_RFM_RULES` are the
Patronage defaults: the eleven segment names and R x FM layout of the widely used marketing
scheme (champions at R 4-5 / FM 4-5, lost at R 1 / FM 1-2, see e.g. the churned.io "RFM model"
table), arranged so that every one of the 25 (R, FM) cells of a 5-bin scoring belongs to
exactly one segment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patronage.analytics._validation import require_columns
from patronage.analytics.btyd.summary import customer_summary

__all__ = ["DEFAULT_RFM_RULES", "rfm_scores", "rfm_segments"]

#: Patronage default RFM segments on the (R, FM) grid of 5-bin scores; first match wins.
#:
#: ====  ==============  ==============  ==================  ===========  ===========
#: R     FM 1            FM 2            FM 3                FM 4         FM 5
#: ====  ==============  ==============  ==================  ===========  ===========
#: 5     new             potential_loy.  loyal               champions    champions
#: 4     promising       potential_loy.  loyal               champions    champions
#: 3     about_to_sleep  need_attention  need_attention      loyal        loyal
#: 2     hibernating     hibernating     at_risk             at_risk      at_risk
#: 1     lost            lost            at_risk             cannot_lose  cannot_lose
#: ====  ==============  ==============  ==================  ===========  ===========
DEFAULT_RFM_RULES: tuple[dict, ...] = (
    {"segment": "champions", "r": (4, 5), "fm": (4, 5)},
    {"segment": "need_attention", "r": (3, 3), "fm": (2, 3)},
    {"segment": "loyal", "r": (3, 5), "fm": (3, 5)},
    {"segment": "new", "r": (5, 5), "fm": (1, 1)},
    {"segment": "promising", "r": (4, 4), "fm": (1, 1)},
    {"segment": "potential_loyalist", "r": (4, 5), "fm": (1, 2)},
    {"segment": "about_to_sleep", "r": (3, 3), "fm": (1, 1)},
    {"segment": "cannot_lose", "r": (1, 1), "fm": (4, 5)},
    {"segment": "at_risk", "r": (1, 2), "fm": (3, 5)},
    {"segment": "hibernating", "r": (2, 2), "fm": (1, 2)},
    {"segment": "lost", "r": (1, 1), "fm": (1, 2)},
)

_TRANSACTION_COLUMNS = ("customer_id", "occurred_at")
_DAY_NS = 86_400 * 10**9


def _check_transactions(transactions, columns=_TRANSACTION_COLUMNS) -> None:
    """Raise ``ValueError`` unless ``transactions`` is a DataFrame holding ``columns``."""
    if not isinstance(transactions, pd.DataFrame):
        raise ValueError("transactions must be a pandas DataFrame with one row per transaction "
                         "(customer_id, occurred_at, amount, ...)")
    require_columns(transactions, columns, what="transactions")


def _sales_only(transactions: pd.DataFrame) -> pd.DataFrame:
    """Rows that are purchases (``is_refund`` false or absent); refunds carry negative amounts."""
    if "is_refund" not in transactions.columns:
        return transactions
    refund = transactions["is_refund"].fillna(False).astype(bool).to_numpy()
    return transactions.loc[~refund]


def _balanced_scores(values: pd.Series, bins: int, *, higher_is_better: bool = True) -> pd.Series:
    """Scores 1..``bins`` of equal size (ranks with ``method="first"``); NaN stays NaN."""
    ranks = values.rank(method="first", ascending=higher_is_better)
    n = int(values.notna().sum())
    if n == 0:
        return pd.Series(np.nan, index=values.index)
    scores = np.ceil(ranks.to_numpy() * bins / n)
    return pd.Series(scores, index=values.index)


def _summary_from_transactions(transactions, observation_end) -> pd.DataFrame:
    _check_transactions(transactions)
    sales = _sales_only(transactions)
    if sales.empty:
        raise ValueError("transactions holds no purchases (only refunds or no rows)")
    money = "amount" if "amount" in transactions.columns else None
    end = observation_end
    if end is None:
        end = pd.to_datetime(transactions["occurred_at"]).max()
    summary = customer_summary(sales, "customer_id", "occurred_at", money,
                               observation_period_end=end, freq="D")
    if money is not None:
        # Net spend: refunds (negative amounts) reduce the customer's monetary value.
        dates = pd.to_datetime(transactions["occurred_at"])
        inside = transactions.loc[(dates <= pd.Timestamp(end)).to_numpy()]
        net = pd.to_numeric(inside["amount"], errors="coerce").groupby(
            inside["customer_id"].to_numpy()).sum()
        summary["total_spend"] = net.reindex(summary.index).to_numpy()
    return summary


def _rfm_values(data, observation_end) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ValueError("rfm_scores needs a DataFrame: transactions (customer_id, occurred_at, "
                         "amount) or a customer summary (frequency, recency, T, total_spend)")
    if {"frequency", "recency", "T"} <= set(data.columns):
        if observation_end is not None:
            if "last_purchase" not in data.columns:
                raise ValueError("observation_end with a summary needs its last_purchase column")
            end = pd.Timestamp(observation_end).floor("D").as_unit("ns")
            last = pd.to_datetime(data["last_purchase"]).dt.floor("D").astype("datetime64[ns]")
            recency_days = (end - last).dt.days.astype(float)
        else:
            recency_days = (data["T"] - data["recency"]).astype(float)
        summary = data
    else:
        summary = _summary_from_transactions(data, observation_end)
        recency_days = (summary["T"] - summary["recency"]).astype(float)
    if (recency_days < 0).any():
        raise ValueError("observation_end is before some customers' last purchase")
    monetary = (summary["total_spend"].astype(float) if "total_spend" in summary.columns
                else pd.Series(np.nan, index=summary.index))
    return pd.DataFrame({"recency_days": recency_days.to_numpy(),
                         "frequency": summary["frequency"].to_numpy(dtype=float) + 1.0,
                         "monetary": monetary.to_numpy()}, index=summary.index)


def rfm_scores(data: pd.DataFrame, *, bins: int = 5, observation_end=None,
               rules=None) -> pd.DataFrame:
    """RFM values, scores, code and segment per customer.

    Parameters
    ----------
    data : DataFrame
        Either transactions (``customer_id``, ``occurred_at``, optional ``amount`` and
        ``is_refund``) or a summary from :func:`patronage.analytics.btyd.customer_summary`
        computed with ``freq="D"`` (``frequency``, ``recency``, ``T``, optional
        ``total_spend``, ``last_purchase``).
    bins : int
        Number of score levels (5 gives quintiles); 5 = best.
    observation_end : date-like, optional
        Date recency is measured to; default the last transaction date (or the summary's T).
    rules : list of dict, optional
        Segment rules for :func:`rfm_segments`; the default rules need ``bins=5`` and the
        ``segment`` column is left missing for other ``bins`` unless rules are given.

    Returns
    -------
    DataFrame indexed by customer: ``recency_days`` (days since the last purchase),
    ``frequency`` (purchase days), ``monetary`` (net spend, NaN without amounts), scores ``R``,
    ``F``, ``M`` (``M`` NaN without amounts), ``rfm_code`` such as ``"545"`` and ``segment``.
    """
    if not (isinstance(bins, (int, np.integer)) and 2 <= bins <= 9):
        raise ValueError("bins must be a whole number from 2 to 9 (5 gives quintile scores)")
    values = _rfm_values(data, observation_end)
    out = values.copy()
    out["R"] = _balanced_scores(values["recency_days"], bins, higher_is_better=False)
    out["F"] = _balanced_scores(values["frequency"], bins)
    out["M"] = _balanced_scores(values["monetary"], bins)
    digits = out[["R", "F", "M"]].astype("Int64").astype("string").fillna("-")
    out["rfm_code"] = (digits["R"] + digits["F"] + digits["M"]).astype(object)
    for col in ("R", "F", "M"):
        out[col] = out[col].astype("Int64")
    if rules is None and bins != 5:
        out["segment"] = pd.Series(np.nan, index=out.index, dtype=object)
    else:
        out["segment"] = rfm_segments(out, rules=rules)
    return out


def _check_rules(rules) -> list[dict]:
    rules = list(rules)
    if not rules:
        raise ValueError("rules is empty; give at least one {segment, r, fm} rule")
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or not {"segment", "r", "fm"} <= set(rule):
            raise ValueError(f"rule {i} must be a dict with keys segment, r=(lo, hi), "
                             f"fm=(lo, hi); got {rule!r}")
        for key in ("r", "fm"):
            lo, hi = rule[key]
            if lo > hi:
                raise ValueError(f"rule {i} ({rule['segment']}): {key} range {lo}-{hi} is "
                                 "reversed; write (low, high)")
    return rules


def rfm_segments(scores: pd.DataFrame, rules=None) -> pd.Series:
    """Segment name per customer from R and FM = round_half_up((F + M) / 2).

    ``rules`` is a list of ``{"segment": name, "r": (lo, hi), "fm": (lo, hi)}`` (inclusive
    ranges); the first rule that matches wins, customers matched by none get NaN.  The default
    :data:`DEFAULT_RFM_RULES` expects 1..5 scores.  Without an ``M`` score (no amounts) FM = F.
    """
    if not isinstance(scores, pd.DataFrame):
        raise ValueError("scores must be the DataFrame returned by rfm_scores (R, F, M)")
    require_columns(scores, ["R", "F"], what="scores")
    r = scores["R"].astype(float).to_numpy()
    f = scores["F"].astype(float).to_numpy()
    m = (scores["M"].astype(float).to_numpy() if "M" in scores.columns
         else np.full(len(scores), np.nan))
    fm = np.where(np.isnan(m), f, np.floor((f + np.where(np.isnan(m), 0.0, m)) / 2.0 + 0.5))
    if rules is None:
        rules = DEFAULT_RFM_RULES
        if np.nanmax(np.concatenate([r, fm, [1.0]])) > 5:
            raise ValueError("the default RFM rules are for 1-5 scores; pass rules= for other "
                             "bins")
    rules = _check_rules(rules)
    conditions = [(r >= rule["r"][0]) & (r <= rule["r"][1])
                  & (fm >= rule["fm"][0]) & (fm <= rule["fm"][1]) for rule in rules]
    names = np.array([rule["segment"] for rule in rules] + [np.nan], dtype=object)
    matched = np.vstack(conditions + [np.ones(len(r), dtype=bool)])
    return pd.Series(names[matched.argmax(axis=0)], index=scores.index, name="segment")
