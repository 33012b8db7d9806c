"""Input checks shared by the analytics: clear messages naming what is missing."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, what: str = "data") -> None:
    """Raise ``ValueError`` naming every column of ``columns`` missing from ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} is missing the column(s) {', '.join(map(repr, missing))}; "
            f"it has {', '.join(map(repr, frame.columns))}"
        )


def as_float_series(values, *, name: str = "values") -> pd.Series:
    """``values`` as a float Series (a copy); non-numeric entries raise a clear error."""
    series = pd.Series(values, copy=True)
    try:
        return series.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None


def aligned_weights(values: pd.Series, weights) -> pd.Series:
    """Weights aligned to ``values`` (ones when ``weights`` is None), checked to be >= 0."""
    if weights is None:
        return pd.Series(np.ones(len(values)), index=values.index)
    w = pd.Series(weights, copy=True).astype(float)
    if len(w) != len(values):
        raise ValueError(f"weights has {len(w)} entries but the data has {len(values)}")
    w.index = values.index
    if (w < 0).any() or w.isna().any():
        raise ValueError("weights must be non-negative numbers")
    return w
