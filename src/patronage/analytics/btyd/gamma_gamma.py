"""Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV";
Fader & Hardie 2013, note 025 "The Gamma-Gamma model of monetary value").

Each transaction value is Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers.  For a
customer with ``x`` repeat transactions of mean value ``m`` (note 025, eq. 3, up to terms free of
the parameters kept as in ``lifetimes``):

    log L = log Gamma(p x + q) - log Gamma(p x) - log Gamma(q) + q log gamma
            + (p x - 1) log m + p x log x - (p x + q) log(gamma + m x).

The conditional expected mean spend is ``p (gamma + m x) / (p x + q - 1)`` (note 025, eq. 5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from patronage.analytics.btyd._base import (
    BaseFitter,
    as_array,
    check_counts,
    check_weights,
    compress,
    first_series,
    wrap_like,
    wsum,
)

__all__ = ["GammaGamma"]


@dataclass(frozen=True)
class _Data:
    x: np.ndarray
    m: np.ndarray
    w: np.ndarray
    total: float
    mean_spend: float


def _rows(mask: np.ndarray, like, shown: int = 5) -> str:
    """``3 customers: A1, B2, C3`` (the index labels of a Series) or ``rows 2, 5`` (1-based)."""
    positions = np.flatnonzero(mask)
    if isinstance(like, pd.Series):
        labels = [str(v) for v in like.index[positions]]
    else:
        labels = [str(p + 1) for p in positions]
    text = ", ".join(labels[:shown])
    if len(labels) > shown:
        text += f" and {len(labels) - shown:,} more"
    count = f"{len(labels):,} customer{'s' if len(labels) != 1 else ''}"
    return f"{count}: {text}" if isinstance(like, pd.Series) else f"{count}: rows {text}"


def _check_spend(frequency, monetary_value) -> tuple[np.ndarray, np.ndarray]:
    x = as_array(frequency, "frequency")
    check_counts(x)
    like = first_series(frequency, monetary_value)
    if np.any(x <= 0):
        raise ValueError(
            "the Gamma-Gamma model needs customers with at least one repeat purchase; "
            f"frequency is 0 for {_rows(x <= 0, like)}. Select the repeat buyers first, e.g. "
            "summary[summary['frequency'] > 0]"
        )
    with np.errstate(invalid="ignore"):
        try:  # named here: the generic check below refuses negatives without naming them
            raw = np.asarray(monetary_value, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raw = np.zeros(0)
        if raw.size == x.size and np.any(raw <= 0):
            raise ValueError(
                "monetary_value (the mean spend of the repeat purchases) must be positive; it "
                f"is 0 or less for {_rows(raw <= 0, like)}. Leave them out of the fit (they "
                "can still be scored)")
    m = as_array(monetary_value, "monetary_value")
    if x.size != m.size:
        raise ValueError(f"frequency has {x.size} entries but monetary_value has {m.size}")
    return x, m


class GammaGamma(BaseFitter):
    """Gamma-Gamma spend model (scikit-learn style); learned ``params_`` ``p``, ``q``, ``v``.

    ``v`` is the scale parameter called gamma in Fader, Hardie & Lee (2005).

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves for
    customer base analysis. Journal of Marketing Research 42(4), 415-430.
    """

    _param_names = ("p", "q", "v")

    def fit(self, frequency, monetary_value, weights=None):
        """Fit on customers with frequency > 0 and their mean repeat spend."""
        x, m = _check_spend(frequency, monetary_value)
        w = check_weights(weights, x.size)
        if w.sum() <= 0:
            raise ValueError("no customers to fit (empty data or all weights 0)")
        (x, m), w = compress(x, m, weights=w)
        mean_spend = float(np.average(m, weights=w))
        data = _Data(x=x, m=m, w=w, total=float(w.sum()), mean_spend=mean_spend)
        self._run_fit(data, data.total, data.total)
        return self

    def _start(self, data: _Data) -> np.ndarray:
        p, q = 2.0, 3.0
        return np.array([p, q, data.mean_spend * (q - 1.0) / p])

    def _loglik(self, params: np.ndarray, data: _Data) -> tuple[float, np.ndarray]:
        p, q, v = params
        x, m, w = data.x, data.m, data.w
        px = p * x
        log_xm_v = np.log(x * m + v)
        ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(v)
              + (px - 1.0) * np.log(m) + px * np.log(x) - (px + q) * log_xm_v)
        psi = special.digamma(px + q)
        d_p = x * (psi - special.digamma(px) + np.log(m) + np.log(x) - log_xm_v)
        d_q = psi - special.digamma(q) + np.log(v) - log_xm_v
        d_v = q / v - (px + q) / (x * m + v)
        grad = np.array([wsum(w, d_p), wsum(w, d_q), wsum(w, d_v)])
        return float(wsum(w, ll)), grad

    def conditional_expected_average_profit(self, frequency, monetary_value):
        """E[M | x, m] = p (v + m x) / (p x + q - 1): the spend per future transaction.

        Customers with frequency 0 get the population mean ``p v / (q - 1)`` (``lifetimes``
        convention; their ``monetary_value`` is ignored).
        """
        par = self._require_fitted()
        p, q, v = par["p"], par["q"], par["v"]
        x = as_array(frequency, "frequency")
        m = as_array(monetary_value, "monetary_value")
        if x.size != m.size:
            raise ValueError(f"frequency has {x.size} entries but monetary_value has {m.size}")
        if q <= 1:
            raise ValueError(f"q = {q:.4g} <= 1: the expected spend is infinite for this fit")
        value = p * (v + m * x) / (p * x + q - 1.0)
        return wrap_like(value, first_series(frequency, monetary_value))
