"""Survey weights: design weights from stratified samples, post-stratification and raking.

All functions return a new weight Series aligned to the input frame; inputs are not changed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patronage.analytics._validation import aligned_weights, require_columns


def _targets(target, what: str) -> pd.Series:
    target = pd.Series(target, dtype=float)
    if (target < 0).any() or target.isna().any():
        raise ValueError(f"{what}: targets must be non-negative numbers")
    return target


def design_weights(sample: pd.DataFrame, stratum: str, population: dict | pd.Series) -> pd.Series:
    """Design weight ``N_h / n_h`` of each respondent in stratum ``h`` (inverse inclusion
    probability of a stratified simple random sample; Cochran 1977, *Sampling Techniques* §5)."""
    require_columns(sample, [stratum], what="sample")
    population = _targets(population, "population sizes")
    counts = sample[stratum].value_counts()
    unknown = sorted(set(counts.index.astype(str)) - set(population.index.astype(str)))
    if unknown:
        raise ValueError(f"no population size for stratum(s) {unknown}")
    if (population.reindex(counts.index) < counts).any():
        raise ValueError("a stratum has more respondents than its population size")
    return (sample[stratum].map(population) / sample[stratum].map(counts)).rename("weight")


def poststratify(sample: pd.DataFrame, cells: str | list[str], population: pd.Series,
                 weights=None) -> pd.Series:
    """Post-stratification: scale weights so each cell's weighted total equals its population
    share (``population`` as counts or shares, indexed by the cell value or tuple of values).

    The weights are scaled to sum to the number of respondents.
    """
    cells = [cells] if isinstance(cells, str) else list(cells)
    require_columns(sample, cells, what="sample")
    target = _targets(population, "population")
    base = aligned_weights(pd.Series(index=sample.index, dtype=float), weights)
    key = sample[cells[0]] if len(cells) == 1 else pd.Series(
        list(map(tuple, sample[cells].to_numpy())), index=sample.index)
    totals = base.groupby(key).sum()
    missing = [c for c in totals.index if c not in target.index]
    if missing:
        raise ValueError(f"no population figure for cell(s) {missing}")
    empty = [c for c in target.index if target[c] > 0 and totals.get(c, 0) == 0]
    if empty:
        raise ValueError(f"cell(s) {empty} have population but no respondents; merge cells")
    share = target / target.sum()
    factor = key.map(share) / key.map(totals / totals.sum())
    out = base * factor
    return (out * len(out) / out.sum()).rename("weight")


def rake(sample: pd.DataFrame, margins: dict[str, pd.Series], weights=None, *,
         max_iter: int = 100, tol: float = 1e-10) -> pd.Series:
    """Raking (iterative proportional fitting; Deming & Stephan 1940, Ann. Math. Stat. 11:427):
    adjust weights until every variable's weighted distribution matches its target margin.

    ``margins`` maps a column to its target counts or shares by category. The result sums to the
    number of respondents. Raises ``ValueError`` when a category has no respondents or the
    margins do not converge within ``max_iter`` sweeps.
    """
    require_columns(sample, list(margins), what="sample")
    w = aligned_weights(pd.Series(index=sample.index, dtype=float), weights).to_numpy(copy=True)
    plans = []
    for column, target in margins.items():
        target = _targets(target, f"margin {column!r}")
        codes, levels = pd.factorize(sample[column])
        if (codes < 0).any():
            raise ValueError(f"column {column!r} has missing values; impute or drop them first")
        absent = [lvl for lvl in levels if lvl not in target.index]
        if absent:
            raise ValueError(f"margin {column!r} has no target for {absent}")
        empty = [lvl for lvl in target.index if target[lvl] > 0 and lvl not in set(levels)]
        if empty:
            raise ValueError(f"margin {column!r}: no respondents in {empty}; merge categories")
        share = target.reindex(levels).to_numpy() / target.sum()
        plans.append((column, codes, share))
    n = len(w)
    for _ in range(max_iter):
        worst = 0.0
        for _column, codes, share in plans:
            current = np.bincount(codes, weights=w, minlength=len(share)) / w.sum()
            worst = max(worst, float(np.max(np.abs(current - share))))
            factor = np.divide(share, current, out=np.zeros_like(share), where=current > 0)
            w = w * factor[codes]
        if worst < tol:
            return pd.Series(w * n / w.sum(), index=sample.index, name="weight")
    raise ValueError(f"raking did not converge in {max_iter} sweeps; check that the margins are "
                     "consistent, or merge sparse categories")


def design_effect(weights) -> float:
    """Kish's design effect of unequal weights, ``n Σw² / (Σw)²`` = 1 + CV² of the weights
    (Kish 1965, *Survey Sampling*, §11.7; Kish 1992, J. Official Statistics 8:183): how much the
    weighting inflates the variance of a mean against equal weights. Missing weights are dropped.
    """
    w = _present(weights)
    if len(w) == 0 or (w <= 0).any():
        raise ValueError("weights must be positive and not all missing")
    return float(len(w) * np.sum(w**2) / np.sum(w) ** 2)


def effective_sample_size(weights) -> float:
    """Kish's effective sample size ``(Σw)² / Σw²``: the n of an equally weighted sample with
    the same precision (see :func:`design_effect`)."""
    w = _present(weights)
    return float(len(w) / design_effect(w))


def _present(weights) -> np.ndarray:
    """``weights`` as floats without the missing ones, by position: a Series's labels are not
    looked at (pandas' ``dropna`` on a Series indexed by a million response ids builds their
    hash table first, 0.1 s)."""
    if isinstance(weights, pd.Series):
        values = weights.to_numpy(dtype=float, na_value=np.nan)
    else:
        values = pd.Series(weights, dtype=float).to_numpy()
    return values[~np.isnan(values)]


__all__ = ["design_effect", "design_weights", "effective_sample_size", "poststratify", "rake"]
