"""The service-profit chain across units: employee answers kept only for groups large enough to
stay anonymous, and the correlation of unit figures.

Heskett, Jones, Loveman, Sasser & Schlesinger, "Putting the service-profit chain to work",
*Harvard Business Review* 72(2), 1994: employee satisfaction drives service value, customer
satisfaction and loyalty, and these drive revenue growth and profitability. With one row per
unit (a site or a team) the links are measured across units.

**Anonymity.** Employee answers are grouped into the finest cells their attributes make (e.g.
wave × site × team); a cell with fewer than the minimum answers is dropped *before* anything is
aggregated. Every figure shown is then a sum over kept cells, and so is the difference of any two
figures: no filter, grouping or subtraction can isolate a group below the minimum.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def keep_large_cells(frame: pd.DataFrame, cells: list[str], minimum: int) -> tuple[pd.DataFrame,
                                                                                   int]:
    """The rows of ``frame`` whose cell (the combination of the ``cells`` columns; a missing
    value is a value of its own) holds at least ``minimum`` rows, and how many cells were
    dropped."""
    if minimum < 1:
        raise ValueError("the minimum group size must be at least 1")
    keys = frame[cells].astype(object).where(frame[cells].notna(), "\0missing")
    sizes = keys.groupby(cells, dropna=False)[cells[0]].transform("size")
    kept = sizes >= minimum
    dropped = int(keys[~kept].drop_duplicates().shape[0])
    return frame[kept.to_numpy()], dropped


def correlation(x: pd.Series, y: pd.Series, level: float = 0.95) -> dict:
    """Pearson's r of two unit figures over the units that have both: ``n``, ``r``, the Fisher-z
    interval (``ci_low``, ``ci_high``; for 4 units or more) and the two-sided ``p_value``."""
    both = pd.concat([x, y], axis=1).dropna()
    n = len(both)
    out = {"n": n, "r": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    if n < 3 or both.iloc[:, 0].std() == 0 or both.iloc[:, 1].std() == 0:
        return out
    result = stats.pearsonr(both.iloc[:, 0], both.iloc[:, 1])
    r = float(result.statistic)
    out.update(r=r, p_value=float(result.pvalue))
    if n >= 4:
        z, half = np.arctanh(np.clip(r, -0.999999, 0.999999)), \
            stats.norm.ppf((1 + level) / 2) / np.sqrt(n - 3)
        out.update(ci_low=float(np.tanh(z - half)), ci_high=float(np.tanh(z + half)))
    return out


def correlation_table(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """:func:`correlation` of every column of ``left`` with every column of ``right`` (both
    indexed by unit), one row per pair indexed ``(left column, right column)``."""
    rows = {(a, b): correlation(left[a], right[b]) for a in left.columns for b in right.columns}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index) if len(table) else table.index
    return table


__all__ = ["correlation", "correlation_table", "keep_large_cells"]
