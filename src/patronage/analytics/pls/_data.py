"""One streaming pass over the indicator columns: complete-row counts, (weighted) means,
covariance matrix and value range, in chunks of rows so memory stays bounded at any N.

The covariance uses the shifted-data formula (Chan, Golub & LeVeque 1983, "Algorithms for
computing the sample variance", The American Statistician 37(3)): sums of ``x - K`` with ``K``
the first complete row, so no cancellation for data far from zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Moments", "complete_rows", "indicator_arrays", "stream_moments"]

CHUNK_ROWS = 8_192  # 24 indicators x 8k rows = 1.5 MB: stays in cache


@dataclass(frozen=True)
class Moments:
    n: int                   # complete rows used
    mean: np.ndarray         # (p,) weighted means
    cov: np.ndarray          # (p, p) weighted population covariance
    low: float               # smallest value over all indicators
    high: float              # largest value over all indicators
    keep: np.ndarray | None  # (N,) bool complete-row mask, None when every row is complete


def indicator_arrays(X, columns: list[str], weights_col, sample_weight) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The indicator columns of ``X`` as float arrays (views when already float) and the case
    weights (from ``weights_col`` or ``sample_weight``), with clear errors for bad input."""
    if not isinstance(X, pd.DataFrame):
        raise ValueError("X must be a pandas DataFrame with one column per indicator")
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ValueError(f"X has no column(s) {', '.join(map(repr, missing))} named in outer; "
                         f"available columns: {', '.join(map(repr, X.columns))}")
    weights = None
    if weights_col is not None:
        if sample_weight is not None:
            raise ValueError("give case weights either as weights_col or as sample_weight, not both")
        if weights_col not in X.columns:
            raise ValueError(f"weights_col {weights_col!r} is not a column of X")
        weights = X[weights_col]
    elif sample_weight is not None:
        weights = sample_weight
    try:
        arrays = [X[c].to_numpy(dtype=float) for c in columns]
        if weights is not None:
            weights = np.asarray(weights, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"indicators and case weights must be numeric: {exc}") from None
    if weights is not None:
        if weights.shape != (len(X),):
            raise ValueError(f"sample_weight has shape {weights.shape}, expected ({len(X)},)")
        if (weights < 0).any() or np.isinf(weights).any():
            raise ValueError("case weights must be finite and non-negative")
    return arrays, weights


def stream_moments(arrays: list[np.ndarray], weights: np.ndarray | None, min_rows: int) -> Moments:
    """Means and covariance of the rows without a missing indicator (listwise deletion)."""
    n_rows = arrays[0].size
    p = len(arrays)
    shift = None
    s1, s2 = np.zeros(p), np.zeros((p, p))
    total, count = 0.0, 0
    low, high = np.inf, -np.inf
    masks = []
    for start in range(0, n_rows, CHUNK_ROWS):
        block = np.stack([a[start:start + CHUNK_ROWS] for a in arrays])    # (p, chunk), rows contiguous
        ok = np.isfinite(block).all(axis=0)
        w = None if weights is None else weights[start:start + CHUNK_ROWS]
        if w is not None:
            ok &= ~np.isnan(w)
        if not ok.all():
            if np.isinf(block).any():
                raise ValueError("indicators contain infinite values")
            block = block[:, ok]
            w = None if w is None else w[ok]
        masks.append(ok)
        if not block.shape[1]:
            continue
        if shift is None:
            shift = block[:, :1].copy()
        d = block - shift
        if w is None:
            s1 += d.sum(axis=1)
            s2 += d @ d.T
            total += d.shape[1]
        else:
            dw = d * w
            s1 += dw.sum(axis=1)
            s2 += dw @ d.T
            total += w.sum()
        count += d.shape[1]
        low, high = min(low, float(block.min())), max(high, float(block.max()))
    if count < min_rows:
        raise ValueError(f"only {count} complete rows (no missing indicator); PLS needs at least {min_rows}")
    if not total > 0:
        raise ValueError("case weights of the complete rows are all zero")
    centre = s1 / total
    cov = s2 / total - np.outer(centre, centre)
    keep = np.concatenate(masks)
    return Moments(count, shift[:, 0] + centre, cov, low, high, None if keep.all() else keep)


def complete_rows(arrays: list[np.ndarray], weights: np.ndarray | None, keep: np.ndarray | None):
    """The complete rows as an (n, p) matrix and their weights normalised to sum 1 (or None);
    each column's complete rows taken first (not a copy of every row: on a million responses
    answering a few indicators, most are incomplete)."""
    if keep is not None:
        arrays = [a[keep] for a in arrays]
        weights = None if weights is None else weights[keep]
    values = np.column_stack(arrays)
    return values, None if weights is None else weights / weights.sum()
