"""Validation of a PLS path-model specification (inner and outer model, modes, scheme)."""

from __future__ import annotations

import numpy as np

from patronage.analytics.pls._core import SCHEMES, Structure

__all__ = ["ModelSpec", "build_spec"]


class ModelSpec:
    """A checked model: LV names in the order of ``outer``, indicator names block by block."""

    def __init__(self, lvs: list[str], indicators: list[str], structure: Structure) -> None:
        self.lvs = lvs
        self.indicators = indicators
        self.structure = structure

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """(lv, indicator) for every indicator, in column order."""
        return [(self.lvs[b], name) for b, name in zip(self.structure.block, self.indicators)]

    @property
    def edges(self) -> list[tuple[str, str]]:
        """(from, to) for every path of the inner model."""
        rows, cols = np.nonzero(self.structure.pred)
        return [(self.lvs[r], self.lvs[c]) for r, c in zip(rows, cols)]


def _check_outer(outer) -> tuple[list[str], list[str], list[int]]:
    if not isinstance(outer, dict) or not outer:
        raise ValueError("outer must be a non-empty dict mapping each latent variable to its indicator columns")
    lvs, indicators, block = [], [], []
    owner: dict[str, str] = {}
    for j, (lv, cols) in enumerate(outer.items()):
        if isinstance(cols, str):
            raise ValueError(f"outer[{lv!r}] must be a list of column names, not the string {cols!r}")
        cols = list(cols)
        if not cols:
            raise ValueError(f"latent variable {lv!r} has no indicators; give at least one column in outer")
        for col in cols:
            if col in owner:
                raise ValueError(f"indicator {col!r} is used by both {owner[col]!r} and {lv!r}; "
                                 "each column may measure one latent variable only")
            owner[col] = lv
            indicators.append(col)
            block.append(j)
        lvs.append(lv)
    return lvs, indicators, block


def _check_inner(inner, lvs: list[str]) -> np.ndarray:
    if not isinstance(inner, dict) or not inner:
        raise ValueError("inner must be a non-empty dict mapping each endogenous latent variable to its predecessors")
    pos = {lv: j for j, lv in enumerate(lvs)}
    pred = np.zeros((len(lvs), len(lvs)), dtype=bool)
    for target, sources in inner.items():
        if isinstance(sources, str):
            raise ValueError(f"inner[{target!r}] must be a list of latent variables, not the string {sources!r}")
        for lv in [target, *sources]:
            if lv not in pos:
                raise ValueError(f"latent variable {lv!r} of the inner model has no indicators; add it to outer")
        for source in sources:
            if source == target:
                raise ValueError(f"inner model is cyclic: {target!r} points to itself")
            pred[pos[source], pos[target]] = True
    _check_acyclic(pred, lvs)
    lonely = [lv for j, lv in enumerate(lvs) if not (pred[j].any() or pred[:, j].any())]
    if lonely:
        raise ValueError(f"latent variable(s) {', '.join(map(repr, lonely))} have no path in the inner model; "
                         "connect them or remove them from outer")
    return pred


def _check_acyclic(pred: np.ndarray, lvs: list[str]) -> None:
    """Kahn's algorithm: repeatedly remove LVs without remaining predecessors."""
    alive = np.ones(len(lvs), dtype=bool)
    while alive.any():
        free = alive & ~(pred & alive[:, None]).any(axis=0)
        if not free.any():
            cycle = [lv for lv, a in zip(lvs, alive) if a]
            raise ValueError(f"inner model is cyclic: the paths among {', '.join(map(repr, cycle))} form a loop; "
                             "PLS path models must be recursive")
        alive &= ~free


def build_spec(inner, outer, modes, scheme: str) -> ModelSpec:
    """Check the specification and turn it into index arrays; raise ``ValueError`` on any problem."""
    lvs, indicators, block = _check_outer(outer)
    pred = _check_inner(inner, lvs)
    modes = {} if modes is None else dict(modes)
    unknown = [lv for lv in modes if lv not in lvs]
    if unknown:
        raise ValueError(f"modes names unknown latent variable(s) {', '.join(map(repr, unknown))}")
    bad = {lv: m for lv, m in modes.items() if m not in ("A", "B")}
    if bad:
        raise ValueError(f"modes must be 'A' (reflective) or 'B' (formative), got {bad}")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    mode_b = np.array([modes.get(lv, "A") == "B" for lv in lvs])
    return ModelSpec(lvs, indicators, Structure(np.array(block), pred, mode_b, scheme))
