"""The Poisson bootstrap with counts any SQL engine draws the same (issue 16).

In the Poisson bootstrap each row enters replicate ``b`` with an independent Poisson(1) count
``k_bk`` in place of the multinomial counts of the plain bootstrap (Hanley & MacGibbon 2006,
"Creating non-parametric bootstrap samples using Poisson frequencies", *Computer Methods and
Programs in Biomedicine* 83:57-62; Chamandy, Muralidharan, Najmi & Naidu 2012, "Estimating
uncertainty for massive data streams", Google technical report). The counts of different rows
are independent, so an engine sums each replicate's weighted moments in one pass over the rows
without knowing ``n``, and the replicate estimates have asymptotically the plain bootstrap's
distribution (the tests compare the two on a sample of 3,000 rows).

Here ``k_bk`` is a deterministic function of the row's integer id, ``b`` and the seed, made
of integer additions, multiplications and remainders that stay below 2**63, so SQLite,
PostgreSQL, DuckDB, Spark (:mod:`patronage.engines.bootstrap` writes the SQL) and numpy
(:func:`poisson_counts`) draw bit-identical counts:

1. ``h = id mod P`` (the non-negative residue) and ``q = id mod Q``, with the primes
   ``P = 2147483579`` (``P mod 3 = 2``) and ``Q = 2**31 - 1``;
2. three rounds of an affine step ``h = (A h + c) mod P``, the first adding ``b`` and the
   seed, the second ``q`` and ``b``, each followed by the cube ``h = h**3 + C mod P`` (computed as
   ``((h * h mod P) * h + C) mod P``). The cube is a permutation of the residues since
   ``gcd(3, P - 1) = 1``, and so is every affine step in ``h``: no step loses the spread of
   ``h`` over ``0 .. P-1``, and the cubes make the map non-linear, so that neighbouring ids and
   replicates do not lie on a lattice (the tests check uniformity and independence);
3. ``u = h / P`` is turned into a Poisson(1) count by the inverse CDF: ``k`` is the number of
   thresholds ``T_j = round(P F(j))``, ``j = 0 .. 7``, at or below ``h`` (``F`` the Poisson(1)
   CDF). Counts above :data:`MAX_COUNT` = 8 are truncated to 8: the tail mass
   ``P(K > 8) = 1.1e-6`` moves to 8, lowering the counts' mean by 1.2e-6 and their variance
   by 1.9e-5 (both 1 untruncated).

Ids congruent modulo ``P Q`` (about 4.6e18) draw the same counts.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from patronage.analytics.moments import Moments, moments_from_sums, moments_of

__all__ = ["MAX_COUNT", "MAX_REPLICATES", "MODULUS", "poisson_counts", "poisson_thresholds",
           "replicate_moments", "replicate_moments_from_sums", "seed_offsets"]

#: The prime modulus of the hash (below 2**31, so a product of two residues stays below 2**62).
MODULUS = 2147483579
#: The second prime: the id's residue modulo it is mixed in at the second round.
SECOND_MODULUS = 2147483647
#: The multipliers of the affine steps and the constants added after each cube (below P).
MULTIPLIERS = (1103515245, 1664525003, 2027708761)
CUBE_CONSTANTS = (1013904223, 1822467291, 379506229)
#: The multiplier of the replicate number in the first step (b * it stays below 2**46).
REPLICATE_MULTIPLIER = 1566083941
#: The largest count drawn (see the module docstring for the truncated tail).
MAX_COUNT = 8
#: At most this many replicates (the replicate number times its multiplier stays small).
MAX_REPLICATES = 10_000


def poisson_thresholds() -> tuple[int, ...]:
    """The integer thresholds ``round(P F(j))`` for ``j = 0 .. MAX_COUNT - 1``: a residue ``h``
    draws the count of thresholds at or below it."""
    cdf, term = 0.0, 1.0
    out = []
    for j in range(MAX_COUNT):
        term = 1.0 if j == 0 else term / j
        cdf += term
        out.append(round(MODULUS * math.exp(-1.0) * cdf))
    return tuple(out)


def seed_offsets(seed: int) -> tuple[int, int]:
    """The two residues the ``seed`` adds in the first and third affine steps."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"the seed must be a non-negative integer, not {seed!r}")
    seed = int(seed) % MODULUS
    return (seed * 48271 + 12345) % MODULUS, (seed * 69621 + 54321) % MODULUS


def _cube(h: np.ndarray, constant: int) -> np.ndarray:
    return ((h * h % MODULUS) * h + constant) % MODULUS


def poisson_hash(ids, replicates, seed: int = 0) -> np.ndarray:
    """The residues ``h`` (``len(replicates) x len(ids)``, int64) of the module docstring."""
    ids = np.asarray(ids, dtype=np.int64).ravel()
    b = np.asarray(replicates, dtype=np.int64).ravel()[:, None]
    if len(b) and (b.min() < 0 or b.max() > MAX_REPLICATES):
        raise ValueError(f"replicate numbers must lie in 0..{MAX_REPLICATES}")
    first, third = seed_offsets(seed)
    a1, a2, a3 = MULTIPLIERS
    c1, c2, c3 = CUBE_CONSTANTS
    h = (ids % MODULUS)[None, :]  # numpy's remainder is the non-negative residue
    q = (ids % SECOND_MODULUS)[None, :]
    h = _cube((h * a1 + b * REPLICATE_MULTIPLIER + first) % MODULUS, c1)
    h = _cube((h * a2 + q + b) % MODULUS, c2)
    return _cube((h * a3 + third) % MODULUS, c3)


def poisson_counts(ids, replicates, seed: int = 0) -> np.ndarray:
    """Poisson(1) counts ``k`` (``len(replicates) x len(ids)``) of the rows with integer
    ``ids`` in the replicates numbered ``replicates`` (1 .. B), as every engine draws them."""
    h = poisson_hash(ids, replicates, seed)
    return np.searchsorted(np.array(poisson_thresholds()), h, side="right")


def replicate_moments_from_sums(columns, full: Moments, centre, rows) -> list[Moments]:
    """Each replicate's moments from an engine's one-pass sums about the fixed ``centre`` (the
    full sample's means): per replicate a row ``(n, W, s_1..s_p, S_11, S_12, .., S_pp)`` of its
    count of rows drawn, weight total ``W = sum w k``, ``s_i = sum w k (x_i - c_i)`` and the
    upper-triangular ``S_ij = sum w k (x_i - c_i)(x_j - c_j)``, row by row. The centred
    cross-products are ``S_ij - s_i s_j / W``; the bounds are those of the ``full`` sample."""
    p = len(columns)
    centre = np.asarray(centre, dtype=float)
    upper = np.triu_indices(p)
    out = []
    for row in rows:
        n, weight = int(row[0] or 0), float(row[1] or 0.0)
        shift = np.array([np.nan if v is None else v for v in row[2:2 + p]], dtype=float)
        products = np.zeros((p, p))
        products[upper] = [np.nan if v is None else v for v in row[2 + p:]]
        if weight > 0:
            mean = centre + shift / weight
            products = products - np.outer(shift, shift) / weight
        else:
            mean = np.full(p, np.nan)
        out.append(moments_from_sums(columns, n, weight, mean, products, full.low, full.high))
    return out


def replicate_moments(values: np.ndarray, weights, ids, n_boot: int, seed: int = 0,
                      columns=None) -> list[Moments]:
    """The replicates' moments in numpy (the reference of the engines): the complete rows'
    ``values`` (``n x p``) weighted by ``weights`` times their :func:`poisson_counts`."""
    values = np.asarray(values, dtype=float)
    frame = pd.DataFrame(values, columns=columns if columns is not None
                         else [f"x{j}" for j in range(values.shape[1])])
    counts = poisson_counts(ids, np.arange(1, n_boot + 1), seed)
    w = np.asarray(weights, dtype=float)
    return [moments_of(frame, w * k) for k in counts]
