"""Shared maximum-likelihood machinery for the buy-till-you-die models.

Every model is fitted by minimising the weighted mean negative log-likelihood on log-parameters,

    f(theta) = -sum_i w_i ll_i(exp(theta)) / sum_i w_i + penalizer * sum_k exp(theta_k)^2,

with the analytic gradient supplied to ``scipy.optimize.minimize`` (L-BFGS-B).  The quadratic
penalty follows the ``lifetimes`` convention (Davidson-Pilon, lifetimes 0.11) but acts on the
parameters in the caller's own time unit (``lifetimes`` first rescales time so the oldest customer
has age 10), so a penalised fit differs slightly between the two packages.

Standard errors come from the observed information: the inverse of the Hessian of the total
negative log-likelihood in log-parameters (central differences of the analytic gradient), mapped to
the natural parameters by the delta method, se(p_k) = p_k * se(theta_k).
"""

from __future__ import annotations

import json
import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize

__all__ = ["BaseFitter", "ConvergenceWarning"]

_LOG_BOUND = 18.0  # parameters are kept within [exp(-18), exp(18)] ~ [1.5e-8, 6.6e7]


class ConvergenceWarning(UserWarning):
    """The optimiser stopped without a trustworthy maximum of the likelihood."""


def as_array(values, name: str) -> np.ndarray:
    """``values`` as a 1-D float array (a copy), checked finite and non-negative."""
    try:
        arr = np.array(values, dtype=float, copy=True).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} has missing or infinite values; drop or fill those customers first")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative")
    return arr


def check_counts(frequency: np.ndarray, name: str = "frequency") -> None:
    """Raise ``ValueError`` unless every entry is a whole number of transactions."""
    if np.any(frequency != np.round(frequency)):
        raise ValueError(f"{name} must hold whole numbers of repeat transactions")


def check_rft(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(x, t_x, T)`` float arrays of equal length for the continuous-time models."""
    x = as_array(frequency, "frequency")
    tx = as_array(recency, "recency")
    age = as_array(T, "T")
    if not x.size == tx.size == age.size:
        raise ValueError(
            "frequency, recency and T must have the same length "
            f"(got {x.size}, {tx.size}, {age.size})"
        )
    check_counts(x)
    if np.any(tx > age):
        raise ValueError(
            "recency must not exceed T (time of the last repeat purchase <= customer age)")
    if np.any((x == 0) & (tx != 0)):
        raise ValueError("recency must be 0 for customers with frequency 0 (lifetimes convention)")
    return x, tx, age


def check_fit_inputs(frequency, recency, T, weights, model: str
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``x, t_x, T`` and weights for fitting a buy-till-you-die model: clear errors
    for empty data, no repeat purchases (the model is not identified) and non-positive ``T``."""
    x, tx, age = check_rft(frequency, recency, T)
    w = check_weights(weights, x.size)
    if w.sum() <= 0:
        raise ValueError("no customers to fit (empty data or all weights 0)")
    if not np.any((x > 0) & (w > 0)):
        raise ValueError(
            f"no customer made a repeat purchase (all frequency 0): the {model} model is not "
            "identified. Use a longer observation period or more customers."
        )
    if np.any(age[w > 0] <= 0):
        raise ValueError("T must be positive for every customer (time since first purchase)")
    return x, tx, age, w


def compress(*columns: np.ndarray, weights: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of ``columns`` and the summed ``weights`` of each (identical customers)."""
    codes = np.zeros(columns[0].size, dtype=np.int64)
    for col in columns:
        col_codes, uniques = pd.factorize(col)
        k = max(len(uniques), 1)
        if codes.size and int(codes.max()) >= 2**62 // k:  # keep the combined code in int64
            codes, _ = pd.factorize(codes)
        codes = codes * k + col_codes
    inverse, uniq_codes = pd.factorize(codes)
    counts = np.bincount(inverse, weights=weights, minlength=len(uniq_codes))
    first_row = np.empty(len(uniq_codes), dtype=np.int64)
    first_row[inverse] = np.arange(columns[0].size)  # any row of a group: they are identical
    keep = counts > 0
    return [col[first_row[keep]] for col in columns], counts[keep]


def check_weights(weights, n: int) -> np.ndarray:
    """Customer counts per row (ones when ``weights`` is None), checked positive and finite."""
    if weights is None:
        return np.ones(n)
    w = as_array(weights, "weights")
    if w.size != n:
        raise ValueError(f"weights has {w.size} entries but the data has {n} customers")
    return w


def wsum(weights: np.ndarray, values) -> float:
    """``sum(weights * values)`` without BLAS (``np.dot`` spawns BLAS threads, slow on busy
    machines for the vector lengths used here)."""
    return float(np.add.reduce(weights * values))


def wrap_like(result: np.ndarray, like) -> Any:
    """``result`` shaped like the input ``like``: a Series keeps its index, a scalar a float."""
    if isinstance(like, pd.Series):
        return pd.Series(result, index=like.index, copy=False)
    if np.ndim(like) == 0 and np.size(result) == 1:
        return float(np.asarray(result).reshape(-1)[0])
    return result


def first_series(*values):
    """The first argument that is a Series (used to give predictions an index), else the first."""
    for value in values:
        if isinstance(value, pd.Series):
            return value
    return values[0]


def _newton_step(hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """``-(H + tau I)^-1 g`` with the smallest ``tau`` in 0, 1e-3 max|H|, x10, ... that makes
    the matrix positive definite (a descent direction)."""
    scale = max(float(np.max(np.abs(np.diag(hess)))), 1e-12)
    tau = 0.0
    for _ in range(40):
        try:
            chol = np.linalg.cholesky(hess + tau * np.eye(len(grad)))
        except np.linalg.LinAlgError:
            tau = max(10.0 * tau, 1e-3 * scale)
            continue
        return -np.linalg.solve(chol.T, np.linalg.solve(chol, grad))
    return -grad / scale


class BaseFitter:
    """Template for the BTYD estimators: subclasses define the likelihood and its gradient.

    Subclasses set ``_param_names`` and implement ``_prepare(*columns, weights)`` (returns a
    data object built once per fit), ``_start(data)`` (starting natural parameters) and
    ``_loglik(params, data)`` returning ``(total weighted log-likelihood, gradient with respect
    to the natural parameters)``.
    """

    _param_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, penalizer: float = 0.0, tol: float = 1e-8, max_iter: int = 500):
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter

    # -- hooks -------------------------------------------------------------------------------
    def _prepare(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def _start(self, data) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _loglik(self, params: np.ndarray, data) -> tuple[float, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    # -- fitting -----------------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        if not (np.isfinite(self.penalizer) and self.penalizer >= 0):
            raise ValueError("penalizer must be a finite number >= 0")
        if not (np.isfinite(self.tol) and self.tol > 0):
            raise ValueError("tol must be a positive number")
        if int(self.max_iter) < 1:
            raise ValueError("max_iter must be a positive integer")

    def _objective(self, theta: np.ndarray, data, total_weight: float):
        params = np.exp(theta)
        with np.errstate(all="ignore"):
            ll, grad = self._loglik(params, data)
        if not np.isfinite(ll) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(theta)
        value = -ll / total_weight + self.penalizer * np.sum(params**2)
        gradient = (-grad / total_weight + 2.0 * self.penalizer * params) * params
        return value, gradient

    def _run_fit(self, data, total_weight: float, n_customers: float) -> None:
        self._check_hyperparameters()
        self.__dict__.pop("_last_hessian", None)
        theta0 = np.log(np.clip(self._start(data), 1e-6, 1e6))
        value0, _ = self._objective(theta0, data, total_weight)
        if not np.isfinite(value0):
            theta0 = np.zeros(len(self._param_names))
        result = self._minimize(theta0, data, total_weight)
        if not np.isfinite(result.fun):
            raise ValueError(
                f"{type(self).__name__}: the likelihood could not be evaluated; check the data "
                "(recency <= T, whole-number frequencies) or add a penalizer"
            )
        theta = result.x
        params = np.exp(theta)
        ll, _ = self._loglik(params, data)
        at_bound = np.abs(np.abs(theta) - _LOG_BOUND) < 1e-3
        converged = bool(result.success) and not at_bound.any()
        natural = params
        self.params_ = dict(zip(self._param_names, map(float, natural), strict=True))
        self.log_likelihood_ = float(ll)
        self.n_customers_ = float(n_customers)
        self.converged_ = converged
        self.n_iter_ = int(result.nit)
        self.standard_errors_ = self._standard_errors(theta, data, natural)
        self.__dict__.pop("_last_hessian", None)
        flat = any(np.isnan(v) for v in self.standard_errors_.values())
        if not converged or flat:
            self.converged_ = converged = False
            where = [n for n, b in zip(self._param_names, at_bound, strict=True) if b]
            if where:
                reason = f"parameter(s) {', '.join(where)} ran to a bound"
            elif not result.success:
                reason = f"the optimiser stopped: {result.message}"
            else:
                reason = "the information matrix is singular: the likelihood is flat"
            warnings.warn(
                f"{type(self).__name__} did not converge ({reason}). The estimates are not "
                "reliable: use more customers or a longer observation period, or set a small "
                "penalizer (e.g. 0.001).",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _minimize(self, theta0: np.ndarray, data, total_weight: float) -> optimize.OptimizeResult:
        """Minimise the objective from ``theta0`` (L-BFGS-B within the parameter bounds)."""
        return optimize.minimize(
            self._objective,
            theta0,
            args=(data, total_weight),
            jac=True,
            method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(theta0),
            options={"maxiter": int(self.max_iter), "ftol": self.tol * 1e-3, "gtol": self.tol},
        )

    def _objective_hessian(self, theta: np.ndarray, data, total_weight: float):
        """Objective, gradient and Hessian in log-parameters, for models with an analytic
        Hessian ``_loglik_hessian(params, data) -> (ll, grad, hess)`` of the log-likelihood:
        with ``q = df/dp``, ``d2f/dtheta2 = P (d2f/dp2) P + diag(q p)``, ``P = diag(p)``."""
        params = np.exp(theta)
        key = (id(data), theta.tobytes())  # the standard errors reuse Newton's last Hessian
        cached = self.__dict__.get("_last_hessian")
        if cached is not None and cached[0] == key:
            ll, grad, hess = cached[1]
        else:
            with np.errstate(all="ignore"):
                ll, grad, hess = self._loglik_hessian(params, data)
            self._last_hessian = (key, (ll, grad, hess))
        q = -grad / total_weight + 2.0 * self.penalizer * params
        h_p = -hess / total_weight + 2.0 * self.penalizer * np.eye(len(theta))
        value = -ll / total_weight + self.penalizer * np.sum(params**2)
        h_theta = params[:, None] * h_p * params[None, :] + np.diag(q * params)
        return value, q * params, h_theta

    def _newton(self, theta0: np.ndarray, data, total_weight: float) -> optimize.OptimizeResult:
        """Newton's method with the analytic Hessian (plus a multiple of the identity where it
        is not positive definite; Nocedal & Wright 2006, section 3.4) and a backtracking line
        search: a few iterations from a close start, where L-BFGS-B needs many.  ``success``
        is False when no step decreases the objective or the iterations
        run out: the caller then falls back to L-BFGS-B from ``x``."""
        theta = np.asarray(theta0, dtype=float).copy()
        value, grad, hess = self._objective_hessian(theta, data, total_weight)
        for nit in range(1, int(self.max_iter) + 1):
            if not (np.isfinite(value) and np.all(np.isfinite(hess))):
                break
            step = _newton_step(hess, grad)
            for _ in range(30):
                trial = theta + step
                if np.all(np.abs(trial) < _LOG_BOUND):
                    new = self._objective_hessian(trial, data, total_weight)
                    if np.isfinite(new[0]) and new[0] <= value + 1e-4 * float(grad @ step):
                        break
                step = step / 2.0
            else:
                break
            theta, (value, grad, hess) = trial, new
            if np.max(np.abs(grad)) <= self.tol:
                return optimize.OptimizeResult(x=theta, fun=value, success=True, nit=nit,
                                               message="gradient below tolerance")
        return optimize.OptimizeResult(x=theta, fun=value, success=False, nit=0,
                                       message="Newton's method did not converge")

    def _standard_errors(self, theta: np.ndarray, data, natural: np.ndarray) -> dict[str, float]:
        """Delta-method standard errors from the inverse observed information in log-parameters."""
        k = len(theta)
        if hasattr(self, "_loglik_hessian"):  # analytic: the penalty's 4 pen p^2 taken out
            hess = self._objective_hessian(theta, data, 1.0)[2]
            hess -= 4.0 * self.penalizer * np.diag(natural**2)
        else:
            hess = self._difference_hessian(theta, data)
        se = np.full(k, np.nan)
        if np.all(np.isfinite(hess)) and np.all(np.linalg.eigvalsh(hess) > 0):
            variances = np.diag(np.linalg.inv(hess))
            se = np.sqrt(np.where(variances > 0, variances, np.nan)) * natural
        return dict(zip(self._param_names, map(float, se), strict=True))

    def _difference_hessian(self, theta: np.ndarray, data) -> np.ndarray:
        """Hessian of the total negative log-likelihood in log-parameters by central
        differences of the analytic gradient."""
        k = len(theta)
        hess = np.empty((k, k))
        for j in range(k):
            h = 1e-5 * max(1.0, abs(theta[j]))
            up, down = theta.copy(), theta.copy()
            up[j] += h
            down[j] -= h
            with np.errstate(all="ignore"):
                g_up = self._loglik(np.exp(up), data)[1] * np.exp(up)
                g_down = self._loglik(np.exp(down), data)[1] * np.exp(down)
            hess[:, j] = -(g_up - g_down) / (2 * h)
        return 0.5 * (hess + hess.T)

    # -- inspection and persistence ----------------------------------------------------------
    def _require_fitted(self) -> dict[str, float]:
        if not hasattr(self, "params_"):
            raise ValueError(f"{type(self).__name__} is not fitted yet; call fit(...) first")
        return self.params_

    def _params_array(self) -> np.ndarray:
        params = self._require_fitted()
        return np.array([params[name] for name in self._param_names])

    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and 95% Wald intervals on the log scale."""
        params = self._params_array()
        se = np.array([self.standard_errors_[n] for n in self._param_names])
        half = 1.959963984540054 * se / params
        return pd.DataFrame(
            {"estimate": params, "std_error": se,
             "lower_95": params * np.exp(-half), "upper_95": params * np.exp(half)},
            index=pd.Index(self._param_names, name="parameter"),
        )

    def to_json(self) -> str:
        """The fitted model (hyperparameters and learned values, no data) as a JSON string."""
        self._require_fitted()
        payload = {
            "model": type(self).__name__,
            "hyperparameters": {"penalizer": self.penalizer, "tol": self.tol,
                                "max_iter": int(self.max_iter)},
            "params_": self.params_,
            "standard_errors_": {k: (None if np.isnan(v) else v)
                                 for k, v in self.standard_errors_.items()},
            "log_likelihood_": self.log_likelihood_,
            "n_customers_": self.n_customers_,
            "converged_": self.converged_,
        }
        return json.dumps(payload)

    @classmethod
    def from_json(cls, text: str):
        """Rebuild a fitted model saved with :meth:`to_json`."""
        try:
            payload = json.loads(text)
        except (TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a saved model: {exc}") from None
        if not isinstance(payload, dict) or payload.get("model") != cls.__name__:
            found = payload.get("model") if isinstance(payload, dict) else None
            raise ValueError(f"the JSON holds a {found!r} model, not {cls.__name__}")
        model = cls(**payload["hyperparameters"])
        params = payload["params_"]
        if set(params) != set(cls._param_names):
            raise ValueError(
                f"{cls.__name__} needs parameters {cls._param_names}, got {sorted(params)}")
        model.params_ = {name: float(params[name]) for name in cls._param_names}
        model.standard_errors_ = {k: (np.nan if v is None else float(v))
                                  for k, v in payload["standard_errors_"].items()}
        model.log_likelihood_ = float(payload["log_likelihood_"])
        model.n_customers_ = float(payload["n_customers_"])
        model.converged_ = bool(payload["converged_"])
        return model

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            inner = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"{type(self).__name__}({inner})"
        return f"{type(self).__name__}(penalizer={self.penalizer})"
