"""Nonparametric bootstrap of a PLS path model, all resamples estimated at once.

A resample only changes the case counts, so its covariance matrix is ``X' diag(c) X`` with
``c`` the multinomial counts (times the case weights); the PLS iteration then runs on the stack
of resample covariance matrices (see ``_core``). Intervals are percentile intervals
(Efron & Tibshirani 1993, *An Introduction to the Bootstrap*, §13.3); the standard error is the
standard deviation of the bootstrap estimates (§6.2), as in R plspm / seminr.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patronage.analytics.pls._core import estimate_batch

__all__ = ["bootstrap_table", "replicate_table"]

_CHUNK_ELEMENTS = 4_000_000  # resamples x rows x indicators held in memory at once


def _resample_covariances(centred: np.ndarray, case_w: np.ndarray, scaled: bool) -> np.ndarray:
    """Covariance (or correlation) matrices of the resamples with case weights ``case_w`` (B, n)."""
    case_w = case_w / case_w.sum(axis=1, keepdims=True)
    mean = case_w @ centred                                         # (B, p)
    second = np.swapaxes(case_w[:, :, None] * centred[None], 1, 2) @ centred
    cov = second - mean[:, :, None] * mean[:, None, :]
    if scaled:
        with np.errstate(divide="ignore", invalid="ignore"):
            sd = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
            cov = cov / (sd[:, :, None] * sd[:, None, :])
    return cov


def _estimate(cov: np.ndarray, model, spec) -> dict:
    """The estimates of a stack of resample covariance (or correlation) matrices."""
    p = cov.shape[1]
    finite = np.isfinite(cov).all(axis=(1, 2))
    cov[~finite] = np.eye(p)
    est = estimate_batch(cov, spec.structure, tol=model.tol, max_iter=model.max_iter)
    ok = est.converged & finite & np.isfinite(est.weights).all(axis=1)
    return {"weights": est.weights, "loadings": est.loadings, "paths": est.paths, "ok": ok}


def _estimate_resamples(values: np.ndarray, weights: np.ndarray | None, model, spec):
    n, p = values.shape
    rng = np.random.default_rng(model.random_state)
    centred = values - values.mean(axis=0)
    base = np.full(n, 1.0 / n) if weights is None else weights
    chunk = max(1, _CHUNK_ELEMENTS // (n * p))
    out = {"weights": [], "loadings": [], "paths": [], "ok": []}
    done = 0
    while done < model.n_boot:
        size = min(chunk, model.n_boot - done)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=size)
        part = _estimate(_resample_covariances(centred, counts * base, model.scaled), model,
                         spec)
        for key, value in part.items():
            out[key].append(value)
        done += size
    return {k: np.concatenate(v) for k, v in out.items()}


def bootstrap_table(values: np.ndarray, weights: np.ndarray | None, spec, model, est) -> tuple[pd.DataFrame, int]:
    """Bootstrap every path, loading and outer weight of a fitted model.

    Returns a DataFrame indexed by (kind, source, target) - ``("path", from_lv, to_lv)``,
    ``("loading", lv, indicator)``, ``("weight", lv, indicator)`` - with columns original,
    mean, se, lower, upper, and the number of resamples left out (not converged or singular).
    """
    return _table(_estimate_resamples(values, weights, model, spec), spec, model, est)


def replicate_table(covariances: np.ndarray, spec, model, est) -> tuple[pd.DataFrame, int]:
    """:func:`bootstrap_table` from the indicators' covariance matrices of given replicates
    (``B x p x p``, e.g. of the Poisson bootstrap computed by an engine): each is scaled to a
    correlation matrix when the model is, and estimated."""
    cov = np.array(covariances, dtype=float)
    if model.scaled:
        with np.errstate(divide="ignore", invalid="ignore"):
            sd = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
            cov = cov / (sd[:, :, None] * sd[:, None, :])
    return _table(_estimate(cov, model, spec), spec, model, est)


def _table(res: dict, spec, model, est) -> tuple[pd.DataFrame, int]:
    ok = res["ok"]
    edges = spec.edges
    lv_pos = {lv: j for j, lv in enumerate(spec.lvs)}
    rows = [lv_pos[a] for a, _ in edges]
    cols = [lv_pos[b] for _, b in edges]
    draws = np.concatenate([res["paths"][ok][:, rows, cols], res["loadings"][ok], res["weights"][ok]], axis=1)
    original = np.concatenate([est.paths[0][rows, cols], est.loadings[0], est.weights[0]])
    index = pd.MultiIndex.from_tuples(
        [("path", a, b) for a, b in edges] + [("loading", lv, i) for lv, i in spec.pairs]
        + [("weight", lv, i) for lv, i in spec.pairs], names=["kind", "source", "target"])
    alpha = (1.0 - model.ci) / 2.0
    if ok.sum() >= 2:
        lower, upper = np.quantile(draws, [alpha, 1.0 - alpha], axis=0)
        stats = {"mean": draws.mean(axis=0), "se": draws.std(axis=0, ddof=1), "lower": lower, "upper": upper}
    else:
        stats = {k: np.full(original.size, np.nan) for k in ("mean", "se", "lower", "upper")}
    table = pd.DataFrame({"original": original, **stats}, index=index)
    return table, int((~ok).sum())
