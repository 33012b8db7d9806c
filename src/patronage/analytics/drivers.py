"""Key driver analysis: how much of the explained variance (R²) each predictor carries.

Two decompositions of the R² of an ordinary least-squares regression of ``y`` on ``X``:

* Johnson's relative weights (Johnson 2000, "A heuristic method for estimating the relative
  weight of predictor variables in multiple regression", Multivariate Behavioral Research
  35(1):1-19).
* Shapley-value regression (Lipovetsky & Conklin 2001, "Analysis of regression in game theory
  approach", Applied Stochastic Models in Business and Industry 17:319-330), the exact average over
  all orders of entry of each predictor's increment in R² (the LMG decomposition).

Both work from the (weighted) correlation matrix, so everything can be vectorised over bootstrap
replicates: a replicate is a vector of resampling counts, i.e. a set of case weights.
``X`` and ``y`` are matched by position (one outcome per row of ``X``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from math import factorial

import numpy as np
import pandas as pd
from scipy import stats

from patronage.analytics.moments import Moments

MAX_SHAPLEY_PREDICTORS = 15
_METHODS = ("relative_weights", "shapley")
_SINGULAR_TOL = 1e-10
#: A column whose standard deviation is below this times its mean's size (at least 1) is
#: constant: rounding in the sums of an engine leaves no exact zero.
_CONSTANT_TOL = 1e-12
#: From this many complete rows on, the intervals come from the Bag of Little Bootstraps
#: (Kleiner, Talwalkar, Sarkar & Jordan 2014, "A scalable bootstrap for massive data", JRSS-B
#: 76(4):795-816): ``BLB_SUBSETS`` subsets of ``b = n ** BLB_GAMMA`` rows, each resampled to
#: size about n, the percentile bounds averaged over the subsets. Below it, the plain
#: bootstrap of all rows. Each subset takes at most ``BLB_RESAMPLES`` resamples (the paper's
#: experiments use r = 100 per subset; the bounds are averaged over the subsets, so the
#: interval rests on ``BLB_SUBSETS * BLB_RESAMPLES`` resamples). A resample's counts are
#: independent Poisson(n / b) draws, the Poisson bootstrap's (Hanley & MacGibbon 2006; see
#: :mod:`patronage.analytics.poisson_bootstrap`), not the paper's Multinomial(n, 1/b): given
#: their sum N they are multinomial, and N is n ± √n, a resample size off by a relative
#: 1/√n (0.2 % at 300,000 rows), which changes the interval by far less than its Monte-Carlo
#: error. Drawing them takes about half the multinomial's time, which was most of the method's
#: time on a million responses (tests/test_drivers.py compares the two).
BLB_MIN_ROWS = 50_000
BLB_SUBSETS, BLB_GAMMA, BLB_RESAMPLES = 10, 0.6, 100
# Bootstrap replicates are processed in chunks of about this many matrix entries.
_CHUNK_ENTRIES = 4_000_000


# --------------------------------------------------------------------------- preparation
def _prepare(X, y, sample_weight) -> tuple[np.ndarray, np.ndarray, list, int]:
    """Listwise-deleted data as one array with ``y`` last, the weights, the names and ``n``."""
    if not isinstance(X, pd.DataFrame):
        raise ValueError("X must be a pandas DataFrame with one column per predictor")
    if X.shape[1] == 0:
        raise ValueError("X has no predictor columns")
    y = pd.Series(y)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}; pass one outcome per row")
    try:
        data = np.column_stack([X.to_numpy(dtype=float), y.to_numpy(dtype=float)])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X and y must be numeric: {exc}") from None
    if sample_weight is None:
        w = np.ones(len(data))
    else:
        w = np.asarray(sample_weight, dtype=float).ravel()
        if len(w) != len(data):
            raise ValueError(f"sample_weight has {len(w)} entries but X has {len(data)} rows")
        if np.isnan(w).any() or (w < 0).any():
            raise ValueError("sample_weight must be non-negative numbers")
    keep = ~np.isnan(data).any(axis=1) & (w > 0)
    data, w = data[keep], w[keep]
    n, q = data.shape
    if n < q + 1:
        raise ValueError(f"only {n} complete rows (with positive weight) for {q - 1} predictors; "
                         f"need at least {q + 1} after dropping rows with missing values")
    sd = data.std(axis=0)
    constant = [name for name, s in zip([*X.columns, "y"], sd) if not s > 0]
    if constant:
        raise ValueError(f"constant column(s) {constant}: drop them, they explain nothing")
    # Standardise once for numerical stability; correlations are unchanged.
    data = (data - data.mean(axis=0)) / sd
    return data, w, list(X.columns), n


def _correlations(data: np.ndarray, case_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted correlation matrices, one per row of ``case_weights`` (shape ``B x n``).

    Returns the stack ``(B, q, q)`` and a mask of replicates whose columns all vary.
    """
    n, q = data.shape
    total = case_weights.sum(axis=1)
    means = case_weights @ data / total[:, None]
    # einsum's plain loop, not BLAS: a threaded GEMM of this thin shape stalls on busy machines.
    if n * q * q <= _CHUNK_ENTRIES:
        products = (data[:, :, None] * data[:, None, :]).reshape(n, q * q)
        cov = np.einsum("bn,nk->bk", case_weights, products).reshape(-1, q, q)
    else:  # many rows (the estimate on a million responses): the products of one column
        # with the others at a time, not all n * q * q of them at once (the same sums)
        cov = np.empty((len(case_weights), q, q))
        for i in range(q):
            cov[:, i, :] = np.einsum("bn,nk->bk", case_weights, data[:, i:i + 1] * data)
    cov /= total[:, None, None]
    cov -= means[:, :, None] * means[:, None, :]
    var = np.diagonal(cov, axis1=1, axis2=2)
    valid = (var > 1e-12).all(axis=1)
    sd = np.sqrt(np.where(var > 1e-12, var, 1.0))
    return cov / (sd[:, :, None] * sd[:, None, :]), valid


# --------------------------------------------------------------------------- the two methods
def _relative_weights_batch(corr: np.ndarray) -> np.ndarray:
    """Johnson's raw weights for a stack of correlation matrices (predictors first, y last).

    With ``Rxx = V diag(λ) Vᵀ`` the correlations between the predictors and their closest
    orthonormal counterparts ``Z`` are ``Λ = V diag(√λ) Vᵀ``; ``y`` is regressed on ``Z`` giving
    ``β = Λ⁻¹ r_xy`` and the raw weight of predictor j is ``ε_j = Σ_k Λ_jk² β_k²`` (Johnson 2000).
    The weights sum to R².
    """
    rxx, rxy = corr[:, :-1, :-1], corr[:, :-1, -1]
    vals, vecs = np.linalg.eigh(rxx)
    root = np.sqrt(vals)
    lam = (vecs * root[:, None, :]) @ np.swapaxes(vecs, 1, 2)
    beta = np.einsum("bij,bj->bi", vecs, np.einsum("bji,bj->bi", vecs, rxy) / root)
    return np.einsum("bjk,bk->bj", lam**2, beta**2)


@lru_cache(maxsize=16)
def _subsets(p: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """For each size k = 1..p: the subsets as index arrays ``(C, k)`` and their bit masks."""
    out = []
    for k in range(1, p + 1):
        idx = np.array(list(combinations(range(p), k)), dtype=np.intp)
        out.append((idx, (1 << idx).sum(axis=1)))
    return tuple(out)


def _subset_r2(corr: np.ndarray) -> np.ndarray:
    """R² of every subset of predictors, ``(B, 2**p)`` indexed by bit mask: ``r_Sᵀ R_SS⁻¹ r_S``.

    ``Rxx`` must be positive definite, so every principal submatrix ``R_SS`` is too.
    """
    b, q, _ = corr.shape
    r2 = np.zeros((b, 1 << (q - 1)))
    for idx, masks in _subsets(q - 1):
        sub = corr[:, idx[:, :, None], idx[:, None, :]]
        rhs = corr[:, idx, -1]
        sol = np.linalg.solve(sub, rhs[..., None])[..., 0]
        r2[:, masks] = (rhs * sol).sum(axis=2)
    return r2


@lru_cache(maxsize=16)
def _shapley_plan(p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks without j, the same masks with j, and the Shapley weights ``|S|!(p-|S|-1)!/p!``."""
    masks = np.arange(1 << p)
    size = np.array([bin(m).count("1") for m in masks])
    weight_of_size = np.array([factorial(s) * factorial(p - s - 1) / factorial(p)
                               for s in range(p)])
    without, with_j, weights = [], [], []
    for j in range(p):
        m = masks[(masks >> j) & 1 == 0]
        without.append(m)
        with_j.append(m | (1 << j))
        weights.append(weight_of_size[size[m]])
    return np.array(without), np.array(with_j), np.array(weights)


def _shapley_batch(corr: np.ndarray) -> np.ndarray:
    """Exact Shapley values of R² for a stack of correlation matrices (predictors first, y last).

    ``φ_j = Σ_{S ⊆ P∖{j}} |S|!(p−|S|−1)!/p! · (R²(S ∪ {j}) − R²(S))`` (Lipovetsky & Conklin 2001);
    the values sum to the full-model R².
    """
    r2 = _subset_r2(corr)
    without, with_j, weights = _shapley_plan(corr.shape[1] - 1)
    return ((r2[:, with_j] - r2[:, without]) * weights).sum(axis=2)


def _importance_batch(corr: np.ndarray, valid: np.ndarray, method: str) -> np.ndarray:
    """Importances ``(B, p)``; replicates with a constant column or a singular Rxx are NaN."""
    out = np.full((corr.shape[0], corr.shape[1] - 1), np.nan)
    if valid.any():
        vals = np.linalg.eigvalsh(corr[valid][:, :-1, :-1])
        good = np.flatnonzero(valid)[vals[:, 0] > _SINGULAR_TOL * vals[:, -1]]
        if len(good):
            fn = _relative_weights_batch if method == "relative_weights" else _shapley_batch
            out[good] = fn(corr[good])
    return out


def _fit(data: np.ndarray, w: np.ndarray, method: str) -> np.ndarray:
    values = _importance_batch(*_correlations(data, w[None, :]), method)[0]
    if np.isnan(values).any():
        raise ValueError("the predictors are perfectly collinear (singular correlation matrix); "
                         "drop or combine redundant predictors")
    return values


def _decomposition(values: np.ndarray, columns: list, n: int, name: str) -> pd.DataFrame:
    r2 = float(values.sum())
    out = pd.DataFrame({name: values, "percent": 100.0 * values / r2 if r2 > 0 else np.nan},
                       index=pd.Index(columns, name="predictor"))
    out.attrs.update({"r_squared": r2, "n_used": n})
    return out


def relative_weights(X: pd.DataFrame, y, sample_weight=None) -> pd.DataFrame:
    """Johnson's (2000) relative weights of the predictors ``X`` for the outcome ``y``.

    Rows with a missing value in ``X`` or ``y`` are dropped (listwise); ``sample_weight`` gives
    case weights (a weighted correlation matrix is used).

    Returns a frame indexed by predictor with ``raw_weight`` (summing to the model R²) and
    ``percent`` (raw weight as % of R²); ``attrs`` holds ``r_squared`` and ``n_used``.
    """
    data, w, columns, n = _prepare(X, y, sample_weight)
    return _decomposition(_fit(data, w, "relative_weights"), columns, n, "raw_weight")


def shapley_regression(X: pd.DataFrame, y, sample_weight=None) -> pd.DataFrame:
    """Exact Shapley decomposition of the regression R² (Lipovetsky & Conklin 2001).

    R² of all ``2**p`` predictor subsets is computed from the correlation matrix; at most
    15 predictors. Returns ``shapley_value`` (summing to R²) and ``percent`` per predictor;
    ``attrs`` holds ``r_squared`` and ``n_used``. Missing values: listwise deletion.
    """
    _check_p(X)
    data, w, columns, n = _prepare(X, y, sample_weight)
    return _decomposition(_fit(data, w, "shapley"), columns, n, "shapley_value")


def _check_p(X) -> None:
    if isinstance(X, pd.DataFrame) and X.shape[1] > MAX_SHAPLEY_PREDICTORS:
        raise ValueError(f"Shapley regression needs 2**p subset regressions; {X.shape[1]} "
                         f"predictors is above the limit of {MAX_SHAPLEY_PREDICTORS}: use "
                         "method='relative_weights' or fewer predictors")


def _bootstrap(data: np.ndarray, w: np.ndarray, method: str, n_boot: int,
               rng: np.random.Generator) -> np.ndarray:
    """Importances of ``n_boot`` resamples of the rows, as resampling counts times weights."""
    n, q = data.shape
    # Memory per replicate: its counts, plus the subset matrices for Shapley.
    per_replicate = n + ((1 << (q - 1)) * q * q if method == "shapley" else q * q)
    chunk = max(1, _CHUNK_ENTRIES // per_replicate)
    out = []
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        draws = rng.integers(0, n, size=(size, n)) + n * np.arange(size)[:, None]
        counts = np.bincount(draws.ravel(), minlength=size * n).reshape(size, n)
        out.append(_importance_batch(*_correlations(data, counts * w[None, :]), method))
    return np.vstack(out)


def _little_bootstraps(data: np.ndarray, w: np.ndarray, estimate: np.ndarray, method: str,
                        n_boot: int, ci: float,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """Percentile bounds by the Bag of Little Bootstraps (see :data:`BLB_MIN_ROWS`): per subset
    of ``b`` rows drawn without replacement, ``n_boot`` resamples (at most
    :data:`BLB_RESAMPLES`) of size about ``n`` as Poisson counts on its rows; each subset's
    bounds taken relative to its own estimate, averaged, and placed around the ``estimate``
    of all rows (the interval's quality measure, as in the paper). Returns lower, upper and
    the number of valid resamples."""
    n = len(data)
    b = min(n, int(np.ceil(n ** BLB_GAMMA)))
    alpha = (1 - ci) / 2
    bounds, n_valid = [], 0
    resamples = min(n_boot, BLB_RESAMPLES)
    for _ in range(BLB_SUBSETS):
        rows = rng.choice(n, size=b, replace=False)
        counts = rng.poisson(n / b, size=(resamples, b))
        part, weights = data[rows], w[rows]
        centre = _importance_batch(*_correlations(part, weights[None, :]), method)[0]
        reps = _importance_batch(*_correlations(part, counts * weights[None, :]), method)
        good = ~np.isnan(reps).any(axis=1)
        n_valid += int(good.sum())
        if good.any() and not np.isnan(centre).any():
            bounds.append(np.quantile(reps[good], [alpha, 1 - alpha], axis=0) - centre)
    if not bounds:
        nan = np.full(data.shape[1] - 1, np.nan)
        return nan, nan, 0
    below, above = np.mean(bounds, axis=0)
    return estimate + below, estimate + above, n_valid


@dataclass(frozen=True)
class DriverFit:
    """The point estimate of :func:`driver_importance`, with the listwise-deleted standardised
    data it came from (what its intervals resample): made once by :func:`fit_drivers`, it
    gives the table without intervals and with them (the key drivers and the
    importance–performance analysis of one set of responses share it)."""

    data: np.ndarray
    weights: np.ndarray
    columns: list
    n: int
    method: str
    values: np.ndarray


def fit_drivers(X: pd.DataFrame, y, method: str = "relative_weights",
                sample_weight=None) -> DriverFit:
    """The point estimate of :func:`driver_importance` (its checks included), for
    :func:`driver_importance` ``fit=``."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, not {method!r}")
    if method == "shapley":
        _check_p(X)
    data, w, columns, n = _prepare(X, y, sample_weight)
    return DriverFit(data, w, columns, n, method, _fit(data, w, method))


def driver_importance(X: pd.DataFrame | None, y=None, method: str = "relative_weights",
                      n_boot: int = 0, ci: float = 0.95, random_state=None, sample_weight=None,
                      *, fit: DriverFit | None = None) -> pd.DataFrame:
    """Driver importance with optional percentile-bootstrap intervals.

    Parameters
    ----------
    method : {"relative_weights", "shapley"}
        :func:`relative_weights` (Johnson 2000) or :func:`shapley_regression`.
    n_boot : int
        Number of bootstrap resamples of the rows (0 = no intervals). The interval is the
        percentile interval (Efron & Tibshirani 1993, ch. 13) of the replicates; from
        :data:`BLB_MIN_ROWS` complete rows on, the Bag of Little Bootstraps' (``n_boot``
        resamples per subset, at most :data:`BLB_RESAMPLES`; ``attrs["interval"]`` says
        which).
    ci : float
        Confidence level of the interval.

    Returns
    -------
    DataFrame indexed by predictor with ``importance`` (share of R² carried, on the R² scale),
    ``share`` (importance / R²), ``lower``, ``upper`` (NaN without bootstrap), ``rank`` (1 = most
    important) and ``n`` (rows used after listwise deletion); ``attrs`` holds ``r_squared``,
    ``n_used``, ``method``, ``n_boot`` and ``n_boot_valid`` (resamples left after dropping those
    with a constant column or singular correlation matrix, which are excluded).

    ``fit`` (from :func:`fit_drivers`) stands for ``X``, ``y``, ``method`` and
    ``sample_weight``: the same table without fitting again.
    """
    if fit is None and method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, not {method!r}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must lie strictly between 0 and 1, not {ci!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ValueError(f"n_boot must be a non-negative integer, not {n_boot!r}")
    if fit is None:
        fit = fit_drivers(X, y, method, sample_weight)
    data, w, columns, n, method, values = (fit.data, fit.weights, fit.columns, fit.n, fit.method,
                                           fit.values)
    lower = upper = np.full(len(values), np.nan)
    n_valid = 0
    interval = "bootstrap"
    if n_boot and n >= BLB_MIN_ROWS:
        interval = "little bootstraps"
        lower, upper, n_valid = _little_bootstraps(data, w, values, method, int(n_boot), ci,
                                                   np.random.default_rng(random_state))
    elif n_boot:
        reps = _bootstrap(data, w, method, int(n_boot), np.random.default_rng(random_state))
        good = ~np.isnan(reps).any(axis=1)
        n_valid = int(good.sum())
        if n_valid:
            alpha = (1 - ci) / 2
            lower, upper = np.quantile(reps[good], [alpha, 1 - alpha], axis=0)
    return _importance_table(values, columns, n, method, lower, upper, int(n_boot), n_valid,
                             interval)


def _importance_table(values: np.ndarray, columns: list, n: int, method: str, lower, upper,
                      n_boot: int, n_valid: int, interval: str) -> pd.DataFrame:
    r2 = float(values.sum())
    out = pd.DataFrame({
        "importance": values,
        "share": values / r2 if r2 > 0 else np.nan,
        "lower": lower,
        "upper": upper,
    }, index=pd.Index(columns, name="predictor"))
    out["rank"] = stats.rankdata(-values, method="min").astype(int)
    out["n"] = n
    out.attrs.update({"r_squared": r2, "n_used": n, "method": method, "n_boot": n_boot,
                      "n_boot_valid": n_valid, "interval": interval})
    return out


def driver_importance_from_moments(moments: Moments, target: str,
                                   method: str = "relative_weights", replicates=None,
                                   ci: float = 0.95) -> pd.DataFrame:
    """:func:`driver_importance` from the weighted moments of the complete rows
    (:class:`patronage.analytics.moments.Moments`) of the predictors and ``target``: the
    predictors are the other columns, in their order. Both methods only need the correlation
    matrix, so an engine that computes the moments where the data live gives the same table.
    ``replicates`` (moments of bootstrap replicates, e.g. the Poisson bootstrap's of
    :mod:`patronage.analytics.poisson_bootstrap`) give the percentile intervals
    (``attrs["interval"]`` is ``"Poisson bootstrap"``); replicates with a constant column or
    a singular correlation matrix are left out, as in :func:`driver_importance`."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, not {method!r}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must lie strictly between 0 and 1, not {ci!r}")
    if target not in moments.columns:
        raise ValueError(f"no moments of the outcome {target!r}")
    columns = [c for c in moments.columns if c != target]
    if not columns:
        raise ValueError("X has no predictor columns")
    if method == "shapley" and len(columns) > MAX_SHAPLEY_PREDICTORS:
        raise ValueError(f"Shapley regression needs 2**p subset regressions; {len(columns)} "
                         f"predictors is above the limit of {MAX_SHAPLEY_PREDICTORS}: use "
                         "method='relative_weights' or fewer predictors")
    ordered = moments.select([*columns, target])
    n, q = ordered.n, len(columns) + 1
    if n < q + 1:
        raise ValueError(f"only {n} complete rows (with positive weight) for {q - 1} predictors; "
                         f"need at least {q + 1} after dropping rows with missing values")
    corr, valid = _moment_correlations([ordered])
    if not valid[0]:
        var = np.diag(ordered.cov)
        scale = np.maximum(1.0, np.abs(ordered.mean))
        constant = [name for name, v, s in zip([*columns, "y"], var, scale)
                    if not v > (_CONSTANT_TOL * s) ** 2]
        raise ValueError(f"constant column(s) {constant}: drop them, they explain nothing")
    values = _importance_batch(corr, valid, method)[0]
    if np.isnan(values).any():
        raise ValueError("the predictors are perfectly collinear (singular correlation matrix); "
                         "drop or combine redundant predictors")
    lower = upper = np.full(len(values), np.nan)
    n_boot, n_valid = len(replicates or ()), 0
    if n_boot:
        corr, valid = _moment_correlations([r.select([*columns, target]) for r in replicates])
        reps = _importance_batch(corr, valid, method)
        good = ~np.isnan(reps).any(axis=1)
        n_valid = int(good.sum())
        if n_valid:
            alpha = (1 - ci) / 2
            lower, upper = np.quantile(reps[good], [alpha, 1 - alpha], axis=0)
    return _importance_table(values, columns, n, method, lower, upper, n_boot, n_valid,
                             "Poisson bootstrap" if n_boot else "bootstrap")


def _moment_correlations(moments: list[Moments]) -> tuple[np.ndarray, np.ndarray]:
    """The correlation matrices of the ``moments`` and a mask of those whose columns all vary
    (beyond an engine's rounding, :data:`_CONSTANT_TOL`) with a positive weight."""
    cov = np.stack([m.cov for m in moments])
    mean = np.stack([m.mean for m in moments])
    var = np.diagonal(cov, axis1=1, axis2=2)
    scale = np.maximum(1.0, np.abs(np.nan_to_num(mean)))
    weight = np.array([m.weight for m in moments])
    varies = np.isfinite(var) & (var > (_CONSTANT_TOL * scale) ** 2)
    valid = varies.all(axis=1) & (weight > 0) & np.isfinite(cov).all(axis=(1, 2))
    sd = np.sqrt(np.where(varies, var, 1.0))
    corr = np.where(valid[:, None, None], cov, 0.0) / (sd[:, :, None] * sd[:, None, :])
    corr[~valid] = np.eye(cov.shape[1])
    return corr, valid


__all__ = ["MAX_SHAPLEY_PREDICTORS", "DriverFit", "driver_importance",
           "driver_importance_from_moments", "fit_drivers",
           "relative_weights", "shapley_regression"]
