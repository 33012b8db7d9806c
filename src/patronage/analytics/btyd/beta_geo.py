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

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import special

from patronage.analytics.btyd._base import (
    _LOG_BOUND,
    BaseFitter,
    check_fit_inputs,
    check_rft,
    compress,
    first_series,
    wrap_like,
    wsum,
)

__all__ = ["BetaGeo"]

_SAMPLE_ROWS = 20_000  # repeat-buyer rows in the sample that gives the start of a large fit


@dataclass(frozen=True)
class _Data:
    """Sufficient statistics of the BG/NBD likelihood, grouped so each term is computed once.

    Terms that depend on ``x`` only are summed per distinct ``x``, those in ``T`` per distinct
    ``T``; only ``log(1 + D)`` needs one value per repeat buyer (identical rows merged).
    """

    total: float  # sum of weights
    ux: np.ndarray  # distinct frequencies
    wx: np.ndarray  # weight per distinct frequency
    uT: np.ndarray  # distinct ages
    wT: np.ndarray  # weight per distinct age
    wxT: np.ndarray  # sum of weight * x per distinct age
    utx: np.ndarray  # distinct recencies among repeat buyers
    rx: np.ndarray  # repeat-buyer rows: index into ux
    rT: np.ndarray  # index into uT
    rtx: np.ndarray  # index into utx
    rxf: np.ndarray  # x of the row (float)
    rw: np.ndarray | None  # weight of the row (None: every row counts once)
    mean_rate: float  # weighted mean of x / T, for start values
    work: tuple[np.ndarray, ...] = ()  # scratch arrays of the row length, reused by every call

    @property
    def n_rows(self) -> int:
        return int(self.rx.size)


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) by hashing: no sort of the full column."""
    codes, uniques = pd.factorize(values)
    return codes.astype(np.intp, copy=False), np.asarray(uniques)


def _prepare(x: np.ndarray, tx: np.ndarray, age: np.ndarray, w: np.ndarray) -> _Data:
    ix, ux = _codes(x)
    iT, uT = _codes(age)
    rep = (x > 0) & (w > 0)
    itx, utx = _codes(tx[rep])
    rx, rT, rw = ix[rep], iT[rep], w[rep]
    if ux.size * uT.size * max(utx.size, 1) < 2**62:
        # Repeat buyers with the same (x, t_x, T) share their log(1 + D) term.
        group, _ = _codes((rx * uT.size + rT) * utx.size + itx)
        rw = np.bincount(group, weights=rw)
        first = np.empty(rw.size, dtype=np.intp)
        first[group] = np.arange(group.size)  # any row of the group: they are identical
        rx, rT, itx = rx[first], rT[first], itx[first]
    else:
        (rx, rT, itx), rw = compress(rx, rT, itx, weights=rw)
    wT = np.bincount(iT, weights=w, minlength=uT.size)
    wxT = np.bincount(iT, weights=w * x, minlength=uT.size)
    total = float(w.sum())
    n = rx.size
    return _Data(
        total=total,
        ux=ux,
        wx=np.bincount(ix, weights=w, minlength=ux.size),
        uT=uT,
        wT=wT,
        wxT=wxT,
        utx=utx,
        rx=rx,
        rT=rT,
        rtx=itx,
        rxf=ux[rx],
        rw=None if np.all(rw == 1.0) else rw,
        mean_rate=float(np.sum(wxT[uT > 0] / uT[uT > 0]) / total),
        work=tuple(np.empty(n) for _ in range(4)),
    )


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """``sum(a * b)`` in one pass without a temporary and without BLAS threads."""
    return float(np.einsum("i,i->", a, b))


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

    def _minimize(self, theta0: np.ndarray, data: _Data, total_weight: float):
        """Many repeat buyers: fit a systematic sample of them first (L-BFGS-B, cheap), then
        polish on all of them with Newton's method and the analytic Hessian, which converges in
        two or three steps from there (L-BFGS-B from the same start still needs a dozen).
        L-BFGS-B on all rows when the sample fit fails or runs to a bound, or Newton fails."""
        if data.n_rows <= 2 * _SAMPLE_ROWS:
            return super()._minimize(theta0, data, total_weight)
        coarse = super()._minimize(theta0, _sample(data, data.n_rows // _SAMPLE_ROWS),
                                   total_weight)
        if not (coarse.success and np.all(np.abs(coarse.x) < _LOG_BOUND - 1.0)):
            return super()._minimize(theta0, data, total_weight)
        result = self._newton(coarse.x, data, total_weight)
        return result if result.success else super()._minimize(result.x, data, total_weight)

    def _loglik(self, params: np.ndarray, data: _Data) -> tuple[float, np.ndarray]:
        r, alpha, a, b = params
        ll, grad, log_at = _common_terms(params, data)
        if data.n_rows:
            ll_d, grad_d = _log1p_d(r, alpha, a, b, data, log_at, np.log(alpha + data.utx))
            ll += ll_d
            grad += grad_d
        return float(ll), grad

    def _loglik_hessian(self, params: np.ndarray, data: _Data):
        """Log-likelihood, gradient and Hessian in the natural parameters (r, alpha, a, b)."""
        r, alpha, a, b = params
        ll, grad, _ = _common_terms(params, data)
        ux, wx, uT = data.ux, data.wx, data.uT
        coef = r * data.wT + data.wxT
        tri_ab = special.polygamma(1, a + b) - special.polygamma(1, a + b + ux)
        hess = np.zeros((4, 4))
        hess[0, 0] = wsum(wx, special.polygamma(1, r + ux) - special.polygamma(1, r))
        hess[0, 1] = hess[1, 0] = data.total / alpha - wsum(data.wT, 1.0 / (alpha + uT))
        hess[1, 1] = -data.total * r / alpha**2 + wsum(coef, (alpha + uT) ** -2.0)
        hess[2, 2] = hess[2, 3] = hess[3, 2] = wsum(wx, tri_ab)
        hess[3, 3] = wsum(wx, special.polygamma(1, b + ux) - special.polygamma(1, b) + tri_ab)
        if data.n_rows:
            ll_d, grad_d, hess_d = _log1p_d_hessian(r, alpha, a, b, data)
            ll, grad, hess = ll + ll_d, grad + grad_d, hess + hess_d
        return float(ll), grad, hess

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
        2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] / (1 + D)``: the expectation for a customer
        still alive (:meth:`expected_purchases_if_alive`) times P(alive).
        """
        self._require_fitted()
        x, tx, age = check_rft(frequency, recency, T)
        value = self._if_alive(_horizon(t), x, age) * special.expit(-self._log_d(x, tx, age))
        return wrap_like(value, first_series(frequency, recency, T, t))

    def expected_purchases_if_alive(self, t, frequency, T):
        """E[X(T, T+t) | x, T, alive at T]: the part of :meth:`expected_purchases` that does not
        depend on the recency, so an engine can tabulate it per distinct ``(x, T)`` and
        multiply by P(alive) row by row."""
        self._require_fitted()
        x = np.asarray(frequency, dtype=float)
        age = np.asarray(T, dtype=float)
        check_rft(x, np.zeros_like(x), age)
        return wrap_like(self._if_alive(_horizon(t), x, age), first_series(frequency, T, t))

    def _if_alive(self, t, x, age):
        p = self.params_
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        z = t / (alpha + age + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        bracket = 1.0 - np.exp((r + x) * (np.log(alpha + age) - np.log(alpha + age + t))) * hyp
        return (a + b + x - 1.0) / (a - 1.0) * bracket

    def expected_purchases_unconditional(self, t):
        """E[X(t)] for a new customer (FHL 2005, eq. 9):
        ``(a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``."""
        p = self._require_fitted()
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        tt = _horizon(t)
        hyp = special.hyp2f1(r, b, a + b - 1.0, tt / (alpha + tt))
        value = (a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + tt)) ** r * hyp)
        return wrap_like(value, t)


def _common_terms(params: np.ndarray, data: _Data) -> tuple[float, np.ndarray, np.ndarray]:
    """The part of log L with no ``log(1 + D)``: (value, gradient, log(alpha + T) per distinct T).

    ``log Gamma(r+x) - log Gamma(r) + log B(a, b+x) - log B(a, b)`` per distinct x and
    ``r log(alpha) - (r+x) log(alpha+T)`` per distinct T."""
    r, alpha, a, b = params
    ux, wx = data.ux, data.wx
    lg = special.gammaln(r + ux) - special.gammaln(r)
    lb = special.betaln(a, b + ux) - special.betaln(a, b)
    ll = wsum(wx, lg + lb)
    d_r = wsum(wx, special.digamma(r + ux) - special.digamma(r))
    psi_abx = special.digamma(a + b + ux)
    d_a = wsum(wx, special.digamma(a + b) - psi_abx)
    d_b = wsum(wx, special.digamma(b + ux) - psi_abx - special.digamma(b)
                 + special.digamma(a + b))
    c = np.log(alpha + data.uT)
    coef = r * data.wT + data.wxT
    ll += data.total * r * np.log(alpha) - wsum(coef, c)
    d_r += data.total * np.log(alpha) - wsum(data.wT, c)
    d_alpha = data.total * r / alpha - wsum(coef, 1.0 / (alpha + data.uT))
    return ll, np.array([d_r, d_alpha, d_a, d_b]), c


def _sample(data: _Data, step: int) -> _Data:
    """Every ``step``-th repeat-buyer row, weighted ``step`` times (the other terms are exact):
    a cheap approximation of the likelihood whose optimum is a close start for the full one."""
    keep = slice(0, None, step)
    weights = (np.ones(data.n_rows) if data.rw is None else data.rw)[keep] * step
    return replace(data, rx=data.rx[keep].copy(), rT=data.rT[keep].copy(),
                   rtx=data.rtx[keep].copy(), rxf=data.rxf[keep].copy(), rw=weights,
                   work=tuple(np.empty(weights.size) for _ in data.work))


def _log1p_d_hessian(r, alpha, a, b, data: _Data):
    """``log(1 + D)`` summed over repeat buyers with its gradient and Hessian.  With
    ``s = D/(1+D)``: ``H = sum s(1-s) grad(log D) grad(log D)' + s hess(log D)``, where
    ``grad log D = (g, (r+x) i, 1/a, -1/(b+x-1))``, ``g = log((alpha+T)/(alpha+t_x))``,
    ``i = 1/(alpha+T) - 1/(alpha+t_x)``; ``hess log D`` has ``d2/dr dalpha = i``,
    ``d2/dalpha2 = (r+x) (1/(alpha+t_x)^2 - 1/(alpha+T)^2)``, ``-1/a^2`` and ``1/(b+x-1)^2``."""
    rT, rtx = data.rT, data.rtx
    inv_b = (1.0 / (b + np.maximum(data.ux, 1.0) - 1.0))[data.rx]
    gap = np.log(alpha + data.uT)[rT] - np.log(alpha + data.utx)[rtx]
    xr = r + data.rxf
    e_T, e_tx = (1.0 / (alpha + data.uT))[rT], (1.0 / (alpha + data.utx))[rtx]
    log_d = xr * gap
    log_d += np.log(a) + np.log(inv_b)
    inv_d = np.exp(-log_d)
    ll = _wtotal(data.rw, log_d) + _wtotal(data.rw, np.log1p(inv_d))
    s = 1.0 / (1.0 + inv_d)
    if data.rw is not None:
        s *= data.rw  # s is now weighted
    v = s * s * inv_d  # weight * s (1 - s), as s (1-s) = s^2 / D
    if data.rw is not None:
        v /= data.rw
    g_alpha = xr * (e_T - e_tx)
    v_r, v_alpha = v * gap, v * g_alpha
    sum_v, sum_vr, sum_va = float(v.sum()), float(v_r.sum()), float(v_alpha.sum())
    hess = np.empty((4, 4))
    hess[0] = [_dot(v_r, gap), _dot(v_r, g_alpha) + _dot(s, e_T - e_tx), sum_vr / a,
               -_dot(v_r, inv_b)]
    hess[1, 1:] = [_dot(v_alpha, g_alpha) + _dot(s * xr, (e_tx - e_T) * (e_tx + e_T)),
                   sum_va / a, -_dot(v_alpha, inv_b)]
    sum_s = float(s.sum())
    hess[2, 2:] = [(sum_v - sum_s) / a**2, -_dot(v, inv_b) / a]
    hess[3, 3] = _dot(v + s, inv_b * inv_b)
    hess = np.triu(hess) + np.triu(hess, 1).T
    grad = np.array([_dot(s, gap), _dot(s, g_alpha), sum_s / a, -_dot(s, inv_b)])
    return ll, grad, hess


def _log1p_d(r, alpha, a, b, data: _Data, log_at: np.ndarray, log_atx: np.ndarray):
    """Sum over repeat buyers of ``log(1 + D)`` and its gradient in (r, alpha, a, b), where

        log D = log(a) - log(b + x - 1) + (r + x) (log(alpha + T) - log(alpha + t_x)).

    This is the only part of the likelihood with one term per customer, so it runs in place
    on preallocated arrays: ``log(1 + D) = log D + log1p(1/D)`` and ``D/(1+D) = 1/(1 + 1/D)``
    share one exponential.  ``1/D`` cannot overflow: ``T >= t_x`` makes the second term of
    ``log D`` non-negative and the parameters are bounded.
    """
    gap, tmp, xr, log_d = data.work
    np.take(log_at, data.rT, out=gap, mode="clip")
    np.take(log_atx, data.rtx, out=tmp, mode="clip")
    gap -= tmp  # log((alpha + T) / (alpha + t_x)) >= 0
    np.add(data.rxf, r, out=xr)
    np.multiply(xr, gap, out=log_d)
    b_x1 = b + np.maximum(data.ux, 1.0) - 1.0  # only repeat buyers (x >= 1) use it
    np.take(np.log(a) - np.log(b_x1), data.rx, out=tmp, mode="clip")
    log_d += tmp
    inv_d = np.exp(np.negative(log_d, out=tmp), out=tmp)
    ll = _wtotal(data.rw, log_d) + _wtotal(data.rw, np.log1p(inv_d, out=log_d))
    inv_d += 1.0
    g = np.reciprocal(inv_d, out=inv_d)  # D / (1 + D), times the row weight:
    if data.rw is not None:
        g *= data.rw
    d_r = _dot(g, gap)
    xr *= g
    d_alpha = _dot(xr, np.take(1.0 / (alpha + data.uT), data.rT, out=gap, mode="clip"))
    d_alpha -= _dot(xr, np.take(1.0 / (alpha + data.utx), data.rtx, out=gap, mode="clip"))
    d_a = float(g.sum()) / a
    d_b = -_dot(g, np.take(1.0 / b_x1, data.rx, out=gap, mode="clip"))
    return ll, np.array([d_r, d_alpha, d_a, d_b])


def _wtotal(weights: np.ndarray | None, values: np.ndarray) -> float:
    return float(values.sum()) if weights is None else _dot(weights, values)


def _horizon(t) -> np.ndarray:
    """Forecast horizon(s) as a float array, checked non-negative and finite."""
    arr = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("the forecast horizon t must be finite and >= 0")
    return arr
