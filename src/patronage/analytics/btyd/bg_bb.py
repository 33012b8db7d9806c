"""BG/BB model for discrete-time non-contractual settings (Fader, Hardie & Shang 2010,
"Customer-base analysis in a discrete-time noncontractual setting", Marketing Science 29(6)).

In each of ``n`` transaction opportunities an active customer buys with probability
p ~ Beta(alpha, beta) and, before the next opportunity, drops out with probability
theta ~ Beta(gamma, delta).  With ``x`` purchases, the last at opportunity ``t_x`` (eq. 5):

    L = B(alpha+x, beta+n-x)/B(alpha, beta) * B(gamma, delta+n)/B(gamma, delta)
        + sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha, beta)
                              * B(gamma+1, delta+t_x+i)/B(gamma, delta).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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

__all__ = ["BetaGeoBetaBinom"]


@dataclass(frozen=True)
class _Data:
    x: np.ndarray
    tx: np.ndarray
    n: np.ndarray
    w: np.ndarray
    total: float


def _check_xtn(frequency, recency, n_periods):
    x = as_array(frequency, "frequency")
    tx = as_array(recency, "recency")
    n = as_array(n_periods, "n_periods")
    if not x.size == tx.size == n.size:
        raise ValueError("frequency, recency and n_periods must have the same length")
    for arr, name in ((x, "frequency"), (tx, "recency"), (n, "n_periods")):
        check_counts(arr, name)
    if np.any(x > tx) or np.any(tx > n):
        raise ValueError("need frequency <= recency <= n_periods (recency is the opportunity of "
                         "the last transaction)")
    if np.any((x == 0) != (tx == 0)):
        raise ValueError("recency must be 0 exactly when frequency is 0")
    return x, tx, n


def _beta_terms(a1, b1, a0, b0):
    """log B(a1, b1) - log B(a0, b0) and its derivatives in a0 and b0 when a1 = a0 + c,
    b1 = b0 + k with c, k free of the parameters."""
    value = special.betaln(a1, b1) - special.betaln(a0, b0)
    psi_sum1 = special.digamma(a1 + b1)
    psi_sum0 = special.digamma(a0 + b0)
    d_a = special.digamma(a1) - psi_sum1 - special.digamma(a0) + psi_sum0
    d_b = special.digamma(b1) - psi_sum1 - special.digamma(b0) + psi_sum0
    return value, d_a, d_b


def _terms(params, x, tx, n):
    """Log of every likelihood term (rows x terms, -inf where absent) and their gradients."""
    alpha, beta, gamma, delta = params
    width = int(np.max(n - tx)) if x.size else 0
    i = np.arange(width)[None, :]
    valid = i < (n - tx)[:, None]
    xx, txx = x[:, None], tx[:, None]
    # Column 0: alive throughout; columns 1..: dropped out after opportunity t_x + i.
    a_pur = np.concatenate([xx, np.broadcast_to(xx, (x.size, width))], axis=1)
    b_pur = np.concatenate([(n - x)[:, None], txx - xx + i], axis=1)
    c_drop = np.concatenate([np.zeros((x.size, 1)), np.ones((x.size, width))], axis=1)
    k_drop = np.concatenate([n[:, None], txx + i], axis=1)
    v1, g_alpha, g_beta = _beta_terms(alpha + a_pur, beta + b_pur, alpha, beta)
    v2, g_gamma, g_delta = _beta_terms(gamma + c_drop, delta + k_drop, gamma, delta)
    mask = np.concatenate([np.ones((x.size, 1), dtype=bool), valid], axis=1)
    log_terms = np.where(mask, v1 + v2, -np.inf)
    return log_terms, (g_alpha, g_beta, g_gamma, g_delta)


class BetaGeoBetaBinom(BaseFitter):
    """BG/BB model (scikit-learn style); learned ``params_`` ``alpha``, ``beta``, ``gamma``,
    ``delta``.  ``fit(frequency, recency, n_periods, weights=None)`` takes whole-number counts;
    ``weights`` counts customers sharing the same (x, t_x, n), as in the FHS (2010) data.
    """

    _param_names = ("alpha", "beta", "gamma", "delta")

    def fit(self, frequency, recency, n_periods, weights=None):
        """Fit by maximum likelihood (FHS 2010, eq. 5)."""
        x, tx, n = _check_xtn(frequency, recency, n_periods)
        w = check_weights(weights, x.size)
        if w.sum() <= 0:
            raise ValueError("no customers to fit (empty data or all weights 0)")
        if not np.any((x > 0) & (w > 0)):
            raise ValueError("no customer made a transaction (all frequency 0): the BG/BB model "
                             "is not identified; use more customers or more periods")
        (x, tx, n), w = compress(x, tx, n, weights=w)
        self._run_fit(_Data(x=x, tx=tx, n=n, w=w, total=float(w.sum())), float(w.sum()),
                      float(w.sum()))
        return self

    def _start(self, data: _Data) -> np.ndarray:
        return np.ones(4)

    def _loglik(self, params: np.ndarray, data: _Data) -> tuple[float, np.ndarray]:
        log_terms, grads = _terms(params, data.x, data.tx, data.n)
        ll = special.logsumexp(log_terms, axis=1)
        share = np.exp(log_terms - ll[:, None])
        grad = np.array([wsum(data.w, np.sum(share * np.where(share > 0, g, 0.0), axis=1))
                         for g in grads])
        return float(wsum(data.w, ll)), grad

    def _row_loglik(self, x, tx, n):
        log_terms, _ = _terms(self._params_array(), x, tx, n)
        return special.logsumexp(log_terms, axis=1)

    def probability_alive(self, frequency, recency, n_periods, m_periods_in_future=0):
        """P(alive at opportunity n + m | x, t_x, n) (FHS 2010, eq. 11 is m = 1):
        ``B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n+m)/B(gamma, delta) / L``."""
        par = self._require_fitted()
        x, tx, n = _check_xtn(frequency, recency, n_periods)
        m = _future(m_periods_in_future)
        log_alive = (special.betaln(par["alpha"] + x, par["beta"] + n - x)
                     - special.betaln(par["alpha"], par["beta"])
                     + special.betaln(par["gamma"], par["delta"] + n + m)
                     - special.betaln(par["gamma"], par["delta"]))
        value = np.exp(log_alive - self._row_loglik(x, tx, n))
        return wrap_like(value, first_series(frequency, recency, n_periods))

    def expected_purchases(self, m_periods_in_future, frequency, recency, n_periods):
        """E[X(n, n+m) | x, t_x, n] over the next m opportunities (FHS 2010, eq. 13)."""
        par = self._require_fitted()
        alpha, beta, gamma, delta = (par[k] for k in self._param_names)
        x, tx, n = _check_xtn(frequency, recency, n_periods)
        m = _future(m_periods_in_future)
        log_front = (special.betaln(alpha + x + 1.0, beta + n - x) - special.betaln(alpha, beta)
                     + special.gammaln(gamma + delta) - special.gammaln(1.0 + delta)
                     - self._row_loglik(x, tx, n))
        now = np.exp(special.gammaln(1.0 + delta + n) - special.gammaln(gamma + delta + n))
        later = np.exp(special.gammaln(1.0 + delta + n + m)
                       - special.gammaln(gamma + delta + n + m))
        value = np.exp(log_front) * delta / (gamma - 1.0) * (now - later)
        return wrap_like(value, first_series(frequency, recency, n_periods, m_periods_in_future))

    def expected_purchases_unconditional(self, n_periods):
        """E[X(n)] over the first n opportunities (FHS 2010, eq. 8):
        ``alpha/(alpha+beta) delta/(gamma-1) [1 - Gamma(gamma+delta) Gamma(1+delta+n)
        / (Gamma(gamma+delta+n) Gamma(1+delta))]``."""
        par = self._require_fitted()
        alpha, beta, gamma, delta = (par[k] for k in self._param_names)
        n = _future(n_periods)
        ratio = np.exp(special.gammaln(gamma + delta) - special.gammaln(gamma + delta + n)
                       + special.gammaln(1.0 + delta + n) - special.gammaln(1.0 + delta))
        value = alpha / (alpha + beta) * delta / (gamma - 1.0) * (1.0 - ratio)
        return wrap_like(value, n_periods)


def _future(m) -> np.ndarray:
    arr = np.asarray(m, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("the number of future periods must be finite and >= 0")
    return arr
