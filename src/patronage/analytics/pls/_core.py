"""Batched PLS path-model iteration on indicator covariance matrices (numpy only).

Every quantity of Wold's PLS algorithm with standardised latent-variable (LV) scores is a
function of the indicator covariance matrix ``S`` alone (Lohmöller 1989, ch. 2; Tenenhaus,
Esposito Vinzi, Chatelin & Lauro 2005, "PLS path modeling", CSDA 48:159-205, §2):

* LV score ``Y_j = X_j w_j`` has variance ``w_j' S_jj w_j`` (set to 1 each step, eq. 5);
* LV covariances are ``C = W' S W`` with ``W`` the block-diagonal weight matrix;
* the inner proxy ``Z_j = sum_k e_kj Y_k`` (eq. 6-8) has ``Cov(X, Z) = S W E``;
* mode A: ``w_j = Cov(X_j, Z_j)`` (eq. 9); mode B: ``w_j = S_jj^{-1} Cov(X_j, Z_j)`` (eq. 10).

So one pass over the data builds ``S`` (O(N p^2)) and the iteration costs O(p^2 L) per step,
independent of N. All functions take a stack of ``B`` covariance matrices, shape (B, p, p),
so the bootstrap runs every resample at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Estimate", "Structure", "estimate_batch"]

SCHEMES = ("centroid", "factorial", "path")


@dataclass(frozen=True)
class Structure:
    """The model as index arrays: ``block[i]`` is the LV of indicator ``i``; ``pred[k, j]`` is
    True when LV ``k`` points to LV ``j``; ``mode_b[j]`` marks formative (mode B) blocks."""

    block: np.ndarray
    pred: np.ndarray
    mode_b: np.ndarray
    scheme: str

    @cached_property
    def member(self) -> np.ndarray:
        """(p, L) 0/1 outer design matrix."""
        out = np.zeros((self.block.size, self.pred.shape[0]))
        out[np.arange(self.block.size), self.block] = 1.0
        return out

    @cached_property
    def predecessors(self) -> list[tuple[int, np.ndarray]]:
        """(j, indices of the predecessors of LV j) for every endogenous LV."""
        return [(j, np.flatnonzero(self.pred[:, j])) for j in np.flatnonzero(self.pred.any(axis=0))]

    @cached_property
    def padded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Gather arrays to regress every endogenous LV on its predecessors in one batched solve:
        target LVs (J,), padded predecessor indices (J, q), mask (J, q), and the flat
        (predecessor, target) pairs of the unmasked entries."""
        targets = np.array([j for j, _ in self.predecessors], dtype=int)
        width = max(idx.size for _, idx in self.predecessors)
        index = np.zeros((targets.size, width), dtype=int)
        mask = np.zeros((targets.size, width), dtype=bool)
        for row, (_, idx) in enumerate(self.predecessors):
            index[row, :idx.size] = idx
            mask[row, :idx.size] = True
        flat_target = np.broadcast_to(targets[:, None], index.shape)[mask]
        return targets, index, mask, index[mask], flat_target

    @cached_property
    def formative(self) -> list[tuple[int, np.ndarray]]:
        """(j, indicator indices of block j) for every mode-B block."""
        return [(j, np.flatnonzero(self.block == j)) for j in np.flatnonzero(self.mode_b)]

    @cached_property
    def adjacent(self) -> np.ndarray:
        return self.pred | self.pred.T


@dataclass(frozen=True)
class Estimate:
    """Results for a stack of B covariance matrices."""

    weights: np.ndarray      # (B, p) outer weights, LV scores of unit variance
    loadings: np.ndarray     # (B, p) corr(indicator, own LV)
    lv_corr: np.ndarray      # (B, L, L) LV score correlations
    paths: np.ndarray        # (B, L, L) path coefficient from row LV to column LV
    r2: np.ndarray           # (B, L) R² of each LV (NaN for exogenous LVs)
    total: np.ndarray        # (B, L, L) total effects from row to column
    n_iter: np.ndarray       # (B,) iterations used
    converged: np.ndarray    # (B,) bool


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched ``a^{-1} b`` for (B, q, q) and (B, q); the pseudo-inverse if some ``a`` is singular."""
    try:
        return np.linalg.solve(a, b[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        return (np.linalg.pinv(a) @ b[:, :, None])[:, :, 0]


def _regress_all(c: np.ndarray, st: Structure) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients of every endogenous LV on its predecessors from the LV correlations
    ``c``, as one batched solve of the padded normal equations (padding = identity rows).
    Returns the coefficients (B, n_paths) in the order of ``st.padded`` and the matching
    correlations with the targets (for R² = beta' r)."""
    targets, index, mask, _, _ = st.padded
    a = c[:, index[:, :, None], index[:, None, :]]   # (B, J, q, q)
    both = mask[:, :, None] & mask[:, None, :]
    a = np.where(both, a, np.eye(index.shape[1]))
    r = np.where(mask, c[:, index, targets[:, None]], 0.0)    # (B, J, q)
    flat_a = a.reshape(-1, *a.shape[2:])
    beta = _solve(flat_a, r.reshape(-1, r.shape[2])).reshape(r.shape)
    return beta[:, mask], r[:, mask]


def _inner_weights(c: np.ndarray, st: Structure) -> np.ndarray:
    """Inner weights ``E[k, j]`` of LV ``k`` in the proxy of LV ``j`` (Tenenhaus et al. 2005,
    §2.2: centroid = sign of correlation, factorial = correlation, path = correlation for
    followers and multiple-regression coefficients for predecessors)."""
    if st.scheme == "centroid":
        return np.sign(c) * st.adjacent
    if st.scheme == "factorial":
        return c * st.adjacent
    e = c * st.pred.T                                # followers k of j (j -> k): corr(Y_k, Y_j)
    _, _, _, src, dst = st.padded
    e[:, src, dst] = _regress_all(c, st)[0]          # predecessors: regression coefficients
    return e


def _outer_update(s: np.ndarray, target: np.ndarray, st: Structure) -> np.ndarray:
    """New outer weights: mode A keeps the covariances, mode B regresses the proxy on the block."""
    w = target.copy()
    for _, idx in st.formative:
        w[:, idx] = _solve(s[:, idx][:, :, idx], target[:, idx])
    return w


def _project(w: np.ndarray, s: np.ndarray, st: Structure) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rescale ``w`` to unit-variance LV scores; return it with ``S W`` and the LV correlations."""
    wm = w[:, :, None] * st.member                   # (B, p, L) block-diagonal weights
    sw = s @ wm                                      # (B, p, L) Cov(x_i, Y_l)
    c = np.swapaxes(wm, 1, 2) @ sw                   # (B, L, L) Cov(Y_k, Y_l)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = 1.0 / np.sqrt(np.diagonal(c, axis1=1, axis2=2))
    return w * d[:, st.block], sw * d[:, None, :], c * d[:, :, None] * d[:, None, :]


def estimate_batch(s: np.ndarray, st: Structure, *, tol: float, max_iter: int) -> Estimate:
    """Run the PLS iteration on every covariance matrix of ``s`` (B, p, p) at once.

    Starts from unit weights; stops a matrix when ``max |(|w_new| - |w_old|)| < tol`` (the
    absolute values as in R plspm, since the sign of a score is arbitrary). Signs are then fixed
    so that most indicators of a block correlate positively with its LV (as R/Python plspm).
    """
    n_b, p, _ = s.shape
    rows = np.arange(p)
    w, sw, c = _project(np.ones((n_b, p)), s, st)
    n_iter = np.full(n_b, max_iter)
    converged = np.zeros(n_b, dtype=bool)
    for it in range(1, max_iter + 1):
        cov_xz = sw @ _inner_weights(c, st)          # (B, p, L): Cov(x_i, Z_l)
        w_new, sw_new, c_new = _project(_outer_update(s, cov_xz[:, rows, st.block], st), s, st)
        delta = np.max(np.abs(np.abs(w_new) - np.abs(w)), axis=1)
        if converged.any():
            keep = converged[:, None]
            w_new = np.where(keep, w, w_new)
            sw_new = np.where(keep[:, :, None], sw, sw_new)
            c_new = np.where(keep[:, :, None], c, c_new)
        w, sw, c = w_new, sw_new, c_new
        newly = ~converged & (delta < tol)
        n_iter[newly] = it
        converged |= newly
        if converged.all():
            break
    sd = np.sqrt(np.diagonal(s, axis1=1, axis2=2))
    loadings = sw[:, rows, st.block] / sd
    sign = np.sign(np.sign(loadings) @ st.member)    # (B, L): majority sign of each block
    sign[sign == 0] = 1.0
    w = w * sign[:, st.block]
    loadings = loadings * sign[:, st.block]
    c = c * sign[:, :, None] * sign[:, None, :]
    paths, r2 = _paths(c, st)
    eye = np.eye(c.shape[1])
    total = np.linalg.solve(eye - paths, np.broadcast_to(eye, paths.shape)) - eye  # sum_k B^k (acyclic)
    return Estimate(w, loadings, c, paths, r2, total, n_iter, converged)


def _paths(c: np.ndarray, st: Structure) -> tuple[np.ndarray, np.ndarray]:
    """OLS path coefficients and R² of every endogenous LV (Tenenhaus et al. 2005, §2.4)."""
    n_b, n_lv, _ = c.shape
    paths = np.zeros((n_b, n_lv, n_lv))
    r2 = np.full((n_b, n_lv), np.nan)
    targets, index, mask, src, dst = st.padded
    beta, r = _regress_all(c, st)
    paths[:, src, dst] = beta
    contrib = np.zeros((n_b,) + mask.shape)
    contrib[:, mask] = beta * r
    r2[:, targets] = contrib.sum(axis=2)
    return paths, r2
