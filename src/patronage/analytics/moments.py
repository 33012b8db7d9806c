"""Weighted moments of some columns over their complete rows: what the key drivers and the PLS
path model need of the data (issue 16).

Relative weights, Shapley regression and PLS path modelling with standardised latent variables
depend on the data only through the (weighted) means and covariance matrix of the complete rows
(listwise deletion, as :func:`patronage.analytics.driver_importance` and
:class:`patronage.analytics.PLSPathModel` treat missing answers). An analysis engine computes
them where the data live (a count, a weight total, weighted sums and centred cross-products per
column pair) and the analytics fit on them: :func:`driver_importance_from_moments`,
:meth:`PLSPathModel.fit_moments`. :func:`moments_of` computes the same from a frame in numpy
(the reference the engines are checked against).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Moments", "moments_from_sums", "moments_of"]


@dataclass(frozen=True)
class Moments:
    """Weighted moments of ``columns`` over the ``n`` complete rows with a positive weight.

    ``mean`` are the weighted means, ``cov`` the weighted population covariance (centred
    cross-products divided by the ``weight`` total), ``low`` and ``high`` the smallest and
    largest value over all columns of those rows."""

    columns: tuple[str, ...]
    n: int
    weight: float
    mean: np.ndarray
    cov: np.ndarray
    low: float
    high: float

    def select(self, columns) -> Moments:
        """The moments of some of the columns, in the order given (the bounds stay those of
        all columns)."""
        columns = list(columns)
        absent = [c for c in columns if c not in self.columns]
        if absent:
            raise ValueError(f"no moments of column(s) {', '.join(map(repr, absent))}; "
                             f"the moments are of {', '.join(map(repr, self.columns))}")
        at = np.array([self.columns.index(c) for c in columns], dtype=int)
        return Moments(tuple(columns), self.n, self.weight, self.mean[at],
                       self.cov[np.ix_(at, at)], self.low, self.high)


def moments_from_sums(columns, n: int, weight: float, mean, centred, low: float,
                      high: float) -> Moments:
    """Moments from an engine's figures: the count and weight total of the complete rows, the
    weighted means and the weighted centred cross-products ``sum w (x_i - m_i)(x_j - m_j)``
    (a full or upper-triangular matrix, as computed)."""
    columns = tuple(str(c) for c in columns)
    p = len(columns)
    centred = np.asarray(centred, dtype=float).reshape(p, p)
    upper = np.triu(centred)
    symmetric = upper + np.triu(upper, 1).T
    n = int(n or 0)
    weight = float(weight or 0.0)
    mean = np.asarray(mean, dtype=float).reshape(p)
    cov = symmetric / weight if weight > 0 else np.full((p, p), np.nan)
    return Moments(columns, n, weight, mean, cov,
                   float("nan") if low is None else float(low),
                   float("nan") if high is None else float(high))


def moments_of(frame: pd.DataFrame, weights=None) -> Moments:
    """The moments of the columns of ``frame`` over its complete rows with a positive weight
    (``weights`` one per row; None for equal weights), in numpy."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError("frame must be a pandas DataFrame with one column per variable")
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the columns must be numeric: {exc}") from None
    w = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=float).ravel()
    if len(w) != len(values):
        raise ValueError(f"{len(w)} weights for {len(values)} rows")
    keep = ~np.isnan(values).any(axis=1) & (w > 0)
    values, w = values[keep], w[keep]
    total = float(w.sum())
    if not len(values):
        p = values.shape[1]
        return Moments(tuple(map(str, frame.columns)), 0, 0.0, np.full(p, np.nan),
                       np.full((p, p), np.nan), float("nan"), float("nan"))
    mean = w @ values / total
    centred = values - mean
    return moments_from_sums(frame.columns, len(values), total, mean,
                             (centred * w[:, None]).T @ centred, float(values.min()),
                             float(values.max()))
