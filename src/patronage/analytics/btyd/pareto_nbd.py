"""Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987) in the integral form.

Purchase rate lambda ~ Gamma(r, alpha) and dropout rate mu ~ Gamma(s, beta) (exponential lifetime).
Integrating the individual likelihood ``lambda^x e^{-(lambda+mu)T} + lambda^x mu
int_{t_x}^T e^{-(lambda+mu)tau} dtau`` over both gamma mixing distributions gives
(Fader, Hardie & Shang 2005, "A note on deriving the Pareto/NBD model and related expressions";
Fader, Hardie & Lee 2005, note 008, eq. 2 writes I with the Gaussian hypergeometric 2F1):

    L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [ (alpha+T)^-(r+x) (beta+T)^-s + s I ],
    I = int_{t_x}^{T} (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau.

``I`` is computed by Gauss-Legendre quadrature in ``u = log(min(alpha, beta) + tau)``, where the
log-integrand is concave; the interval is cut where the integrand has fallen by e^-40 from its
maximum (found in closed form), so the rule stays accurate when ``r + x`` is large.  Differentiating
under the integral gives the analytic gradient with the same nodes.
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
from patronage.analytics.btyd.beta_geo import _horizon

__all__ = ["ParetoNBD"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(48)
_DROP = 40.0  # the integrand is ignored below exp(-40) times its maximum
_NEWTON_STEPS = 10
_CHUNK = 16_384  # rows per block of the quadrature (48 nodes each)


@dataclass(frozen=True)
class _Data:
    x: np.ndarray
    tx: np.ndarray
    T: np.ndarray
    w: np.ndarray
    total: float
    mean_rate: float


def _phi(u, gamma, alpha, beta, p, q):
    """Log-integrand in u and its derivative: u - p log(alpha+tau) - q log(beta+tau)."""
    e = np.exp(u)
    a_tau = e + (alpha - gamma)
    b_tau = e + (beta - gamma)
    value = u - p * np.log(a_tau) - q * np.log(b_tau)
    slope = 1.0 - p * e / a_tau - q * e / b_tau
    return value, slope


def _newton_cut(u_start, target, gamma, alpha, beta, p, q):
    """Point where the concave log-integrand falls to ``target``, approached from ``u_start``.

    Newton steps from the outer side of a concave function never overshoot the root, so the cut
    only ever keeps more of the interval than necessary.
    """
    u = u_start.copy()
    value, slope = _phi(u, gamma, alpha, beta, p, q)
    active = value < target
    for _ in range(_NEWTON_STEPS):
        if not active.any():
            break
        step = np.where(active, (value - target) / np.where(active, slope, 1.0), 0.0)
        u = u - step
        value, slope = _phi(u, gamma, alpha, beta, p, q)
        active = value < target - 1e-9
    return u


def log_integral(r, alpha, s, beta, x, tx, T):
    """``log I`` and the I-weighted means of log(alpha+tau), log(beta+tau), 1/(alpha+tau),
    1/(beta+tau) over tau in [t_x, T] (rows with t_x = T give log I = -inf and zero means).

    Rows are processed in chunks so the node matrices stay small."""
    x, tx, T = (np.asarray(v, dtype=float).reshape(-1) for v in (x, tx, T))
    if x.size <= _CHUNK:
        return _log_integral(r, alpha, s, beta, x, tx, T)
    parts = [_log_integral(r, alpha, s, beta, x[i:i + _CHUNK], tx[i:i + _CHUNK], T[i:i + _CHUNK])
             for i in range(0, x.size, _CHUNK)]
    return tuple(np.concatenate(items) for items in zip(*parts, strict=True))


def _log_integral(r, alpha, s, beta, x, tx, T):
    p = r + x
    q = s + 1.0
    gamma = min(alpha, beta)
    empty = T <= tx
    u_lo = np.log(gamma + tx)
    u_hi = np.log(gamma + np.where(empty, tx + 1.0, T))
    # Mode of the concave log-integrand: interior only if alpha <= beta and r + x < 1.
    u_mode = u_lo.copy()
    if alpha <= beta:
        k = (1.0 - p) / q
        inner = (p < 1.0) & (k < 1.0)
        tau_star = np.where(inner, (k * beta - alpha) / np.where(inner, 1.0 - k, 1.0), tx)
        tau_star = np.clip(tau_star, tx, np.where(empty, tx, T))
        u_mode = np.log(gamma + tau_star)
    peak, _ = _phi(u_mode, gamma, alpha, beta, p, q)
    target = peak - _DROP
    right = _newton_cut(u_hi, target, gamma, alpha, beta, p, q)
    left = _newton_cut(u_lo, target, gamma, alpha, beta, p, q) if alpha <= beta else u_lo
    right = np.clip(right, u_mode, u_hi)
    left = np.clip(left, u_lo, u_mode)
    half = 0.5 * (right - left)
    mid = 0.5 * (right + left)
    u = mid[:, None] + half[:, None] * _NODES[None, :]
    e = np.exp(u)
    inv_a = 1.0 / (e + (alpha - gamma))
    inv_b = 1.0 / (e + (beta - gamma))
    log_a = -np.log(inv_a)
    log_b = -np.log(inv_b)
    phi = u - p[:, None] * log_a - q * log_b
    top = phi.max(axis=1)
    omega = _WEIGHTS[None, :] * np.exp(phi - top[:, None])
    total = omega.sum(axis=1)
    with np.errstate(divide="ignore"):
        log_i = np.where(empty, -np.inf, top + np.log(total) + np.log(np.where(empty, 1.0, half)))
    omega = omega / total[:, None]

    def mean(values):
        return np.where(empty, 0.0, np.einsum("ij,ij->i", omega, values))

    return log_i, mean(log_a), mean(log_b), mean(inv_a), mean(inv_b)


class ParetoNBD(BaseFitter):
    """Pareto/NBD model of repeat purchasing (scikit-learn style).

    Parameters
    ----------
    penalizer, tol, max_iter : see :class:`~patronage.analytics.btyd.BetaGeo`.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``s``, ``beta`` (alpha and beta in the time unit of ``T``).

    References
    ----------
    Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: who are
    they and what will they do next? Management Science 33(1), 1-24.
    Fader, P. S., Hardie, B. G. S. & Shang, J. (2005). A note on deriving the Pareto/NBD model and
    related expressions. http://brucehardie.com/notes/009/
    """

    _param_names = ("r", "alpha", "s", "beta")

    def fit(self, frequency, recency, T, weights=None):
        """Fit by maximum likelihood; ``weights`` counts customers sharing the same row."""
        x, tx, age, w = check_fit_inputs(frequency, recency, T, weights, "Pareto/NBD")
        (x, tx, age), w = compress(x, tx, age, weights=w)
        rate = float(np.sum(w * x / age) / w.sum())
        data = _Data(x=x, tx=tx, T=age, w=w, total=float(w.sum()), mean_rate=rate)
        self._run_fit(data, data.total, data.total)
        return self

    def _start(self, data: _Data) -> np.ndarray:
        r = 0.5
        alpha = r / max(data.mean_rate, 1e-3 / float(data.T.max()))
        return np.array([r, alpha, 0.5, float(np.average(data.T, weights=data.w))])

    def _pieces(self, params, x, tx, age):
        """Log of the two likelihood terms and the pieces of their derivatives."""
        r, alpha, s, beta = params
        log_i, m_la, m_lb, m_ia, m_ib = log_integral(r, alpha, s, beta, x, tx, age)
        la_T = np.log(alpha + age)
        lb_T = np.log(beta + age)
        log_a = -(r + x) * la_T - s * lb_T
        log_b = np.log(s) + log_i
        return log_a, log_b, la_T, lb_T, m_la, m_lb, m_ia, m_ib

    def _loglik(self, params: np.ndarray, data: _Data) -> tuple[float, np.ndarray]:
        r, alpha, s, beta = params
        x, age, w = data.x, data.T, data.w
        log_a, log_b, la_T, lb_T, m_la, m_lb, m_ia, m_ib = self._pieces(params, x, data.tx, age)
        mix = np.logaddexp(log_a, log_b)
        pa = np.exp(log_a - mix)
        pb = 1.0 - pa
        ll = (special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
              + s * np.log(beta) + mix)
        d_r = special.digamma(r + x) - special.digamma(r) + np.log(alpha) - pa * la_T - pb * m_la
        d_alpha = r / alpha - (r + x) * (pa / (alpha + age) + pb * m_ia)
        d_s = np.log(beta) - pa * lb_T + pb * (1.0 / s - m_lb)
        d_beta = s / beta - pa * s / (beta + age) - pb * (s + 1.0) * m_ib
        grad = np.array([wsum(w, d_r), wsum(w, d_alpha), wsum(w, d_s), wsum(w, d_beta)])
        return float(wsum(w, ll)), grad

    # -- predictions ---------------------------------------------------------------------------
    def _alive(self, x, tx, age):
        log_a, log_b = self._pieces(self._params_array(), x, tx, age)[:2]
        return np.exp(log_a - np.logaddexp(log_a, log_b))

    def probability_alive(self, frequency, recency, T):
        """P(active at T | x, t_x, T) = first likelihood term / (both terms) (FHS 2005, eq. 18)."""
        self._require_fitted()
        x, tx, age = check_rft(frequency, recency, T)
        return wrap_like(self._alive(x, tx, age), first_series(frequency, recency, T))

    def expected_purchases(self, t, frequency, recency, T):
        """E[X(T, T+t) | x, t_x, T] (Schmittlein et al. 1987; FHS 2005, eq. 22):
        ``(r+x)(beta+T)/((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)] P(alive)``."""
        p = self._require_fitted()
        r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
        x, tx, age = check_rft(frequency, recency, T)
        t = _horizon(t)
        rate = (r + x) * (beta + age) / (alpha + age)
        value = rate * _dropout_integral(s, beta + age, t) * self._alive(x, tx, age)
        return wrap_like(value, first_series(frequency, recency, T, t))

    def expected_purchases_unconditional(self, t):
        """E[X(t)] for a new customer: ``r beta/(alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]``."""
        p = self._require_fitted()
        tt = _horizon(t)
        value = p["r"] * p["beta"] / p["alpha"] * _dropout_integral(p["s"], p["beta"], tt)
        return wrap_like(value, t)


def _dropout_integral(s: float, base, t):
    """``[1 - (base/(base+t))^(s-1)] / (s-1)``, with its limit ``log(1 + t/base)`` at s = 1."""
    log_ratio = np.log1p(t / base)
    if abs(s - 1.0) < 1e-10:
        return log_ratio
    return -np.expm1(-(s - 1.0) * log_ratio) / (s - 1.0)
