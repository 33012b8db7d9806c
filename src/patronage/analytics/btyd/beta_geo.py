"""BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While active, a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after each
purchase she drops out with probability p ~ Beta(a, b).  For a customer with ``x`` repeat purchases,
the last at ``t_x``, observed for ``T`` time units since the first purchase (FHL 2005, eq. 6):

    L = B(a, b+x)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+t_x)^(r+x)),

written here as ``log L = A + log(1 + D)`` with
``D = [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)`` so that nothing overflows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from patronage.analytics.btyd._base import (
    BaseFitter,
    check_fit_inputs,
    check_rft,
    compress,
    first_series,
    wrap_like,
    wsum,
)

__all__ = ["BetaGeo"]


@dataclass(frozen=True)
class _Data:
    """Sufficient statistics of the BG/NBD likelihood, grouped so each term is computed once."""

    total: float  # sum of weights
    ux: np.ndarray  # unique frequencies
    wx: np.ndarray  # weight per unique frequency
    uT: np.ndarray  # unique ages
    wT: np.ndarray  # weight per unique age
    wxT: np.ndarray  # sum of weight * x per unique age
    utx: np.ndarray  # unique recencies among repeat buyers
    rx: np.ndarray  # repeat-buyer rows: index into ux
    rT: np.ndarray  # index into uT
    rtx: np.ndarray  # index into utx
    rw: np.ndarray  # weight
    mean_rate: float  # weighted mean of x / T, for start values


def _prepare(x: np.ndarray, tx: np.ndarray, age: np.ndarray, w: np.ndarray) -> _Data:
    (x, tx, age), w = compress(x, tx, age, weights=w)
    ux, ix = np.unique(x, return_inverse=True)
    uT, iT = np.unique(age, return_inverse=True)
    rep = x > 0
    utx, itx = np.unique(tx[rep], return_inverse=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(age > 0, x / np.where(age > 0, age, 1.0), 0.0)
    return _Data(
        total=float(w.sum()),
        ux=ux,
        wx=np.bincount(ix, weights=w, minlength=ux.size),
        uT=uT,
        wT=np.bincount(iT, weights=w, minlength=uT.size),
        wxT=np.bincount(iT, weights=w * x, minlength=uT.size),
        utx=utx,
        rx=ix[rep],
        rT=iT[rep],
        rtx=itx,
        rw=w[rep],
        mean_rate=float(np.sum(w * rate) / w.sum()),
    )


class BetaGeo(BaseFitter):
    """BG/NBD model of repeat purchasing in non-contractual settings (scikit-learn style).

    Parameters
    ----------
    penalizer : float
        Coefficient of the L2 penalty on the parameters (``lifetimes`` convention); 0 gives
        the maximum-likelihood estimate.
    tol : float
        Gradient tolerance of the optimiser.
    max_iter : int
        Maximum number of optimiser iterations.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha`` (in the time unit of ``T``), ``a``, ``b``.
    log_likelihood_ : float
        Maximised log-likelihood (without the penalty).
    standard_errors_ : dict
        Delta-method standard errors from the observed information (NaN when singular).
    n_customers_ : float
        Number of customers (sum of the weights).
    converged_ : bool
        False when the optimiser failed, a parameter hit a bound or the information matrix
        was singular (a ``ConvergenceWarning`` is then issued).
    n_iter_ : int
        Optimiser iterations.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy way:
    an alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.
    """

    _param_names = ("r", "alpha", "a", "b")

    def fit(self, frequency, recency, T, weights=None):
        """Fit by maximum likelihood; ``weights`` counts customers sharing the same row."""
        x, tx, age, w = check_fit_inputs(frequency, recency, T, weights, "BG/NBD")
        data = _prepare(x, tx, age, w)
        self._run_fit(data, data.total, data.total)
        return self

    def _start(self, data: _Data) -> np.ndarray:
        r = 1.0
        alpha = r / max(data.mean_rate, 1e-3 / float(data.uT.max()))
        return np.array([r, alpha, 1.0, 3.0])

    def _loglik(self, params: np.ndarray, data: _Data) -> tuple[float, np.ndarray]:
        r, alpha, a, b = params
        ux, wx = data.ux, data.wx
        # Terms depending on x only.
        lg = special.gammaln(r + ux) - special.gammaln(r)
        lb = special.betaln(a, b + ux) - special.betaln(a, b)
        ll = wsum(wx, lg + lb)
        d_r = wsum(wx, special.digamma(r + ux) - special.digamma(r))
        psi_abx = special.digamma(a + b + ux)
        d_a = wsum(wx, special.digamma(a + b) - psi_abx)
        d_b = wsum(wx, special.digamma(b + ux) - psi_abx - special.digamma(b)
                     + special.digamma(a + b))
        # r log(alpha) - (r+x) log(alpha+T), aggregated by unique T.
        c = np.log(alpha + data.uT)
        coef = r * data.wT + data.wxT
        ll += data.total * r * np.log(alpha) - wsum(coef, c)
        d_r += data.total * np.log(alpha) - wsum(data.wT, c)
        d_alpha = data.total * r / alpha - wsum(coef, 1.0 / (alpha + data.uT))
        # log(1 + D) for repeat buyers.
        if data.rw.size:
            d = np.log(alpha + data.utx)
            rx = r + ux
            xr = rx[data.rx]
            gap = c[data.rT] - d[data.rtx]
            b_x1 = b + np.maximum(ux, 1.0) - 1.0  # only repeat buyers (x >= 1) use it
            log_d = (np.log(a) - np.log(b_x1))[data.rx] + xr * gap
            small = np.exp(-np.abs(log_d))  # log(1+D) and D/(1+D) from one exponential
            ll += wsum(data.rw, np.maximum(log_d, 0.0) + np.log1p(small))
            g = data.rw * np.where(log_d > 0, 1.0, small) / (1.0 + small)
            d_r += wsum(g, gap)
            inv_gap = (1.0 / (alpha + data.uT))[data.rT] - (1.0 / (alpha + data.utx))[data.rtx]
            d_alpha += wsum(g, xr * inv_gap)
            d_a += g.sum() / a
            d_b -= wsum(g, (1.0 / b_x1)[data.rx])
        return float(ll), np.array([d_r, d_alpha, d_a, d_b])

    # -- predictions ---------------------------------------------------------------------------
    def _log_d(self, x, tx, age):
        p = self.params_
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_d = (np.log(a) - np.log(np.where(x > 0, b + x - 1.0, 1.0))
                     + (r + x) * (np.log(alpha + age) - np.log(alpha + tx)))
        return np.where(x > 0, log_d, -np.inf)

    def probability_alive(self, frequency, recency, T):
        """P(active at T | x, t_x, T) = 1 / (1 + D) (FHL 2005, eq. 11; Fader & Hardie note 021)."""
        self._require_fitted()
        x, tx, age = check_rft(frequency, recency, T)
        prob = special.expit(-self._log_d(x, tx, age))
        return wrap_like(prob, first_series(frequency, recency, T))

    def expected_purchases(self, t, frequency, recency, T):
        """Conditional expectation E[X(T, T+t) | x, t_x, T] (FHL 2005, eq. 10).

        ``(a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x)
        2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] / (1 + D)``.
        """
        p = self._require_fitted()
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        x, tx, age = check_rft(frequency, recency, T)
        t = _horizon(t)
        z = t / (alpha + age + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        bracket = 1.0 - np.exp((r + x) * (np.log(alpha + age) - np.log(alpha + age + t))) * hyp
        value = (a + b + x - 1.0) / (a - 1.0) * bracket * special.expit(-self._log_d(x, tx, age))
        return wrap_like(value, first_series(frequency, recency, T, t))

    def expected_purchases_unconditional(self, t):
        """E[X(t)] for a new customer (FHL 2005, eq. 9):
        ``(a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``."""
        p = self._require_fitted()
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        tt = _horizon(t)
        hyp = special.hyp2f1(r, b, a + b - 1.0, tt / (alpha + tt))
        value = (a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + tt)) ** r * hyp)
        return wrap_like(value, t)


def _horizon(t) -> np.ndarray:
    """Forecast horizon(s) as a float array, checked non-negative and finite."""
    arr = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("the forecast horizon t must be finite and >= 0")
    return arr
