"""SQL shared by the engines that compute scores where the data live (DuckDB, Spark SQL): the
expressions differ only in how a column name is quoted and how a double literal is written,
which each engine passes in.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from patronage.analytics.rfm import DEFAULT_RFM_RULES


def panel_folder(folder) -> Path:
    """``folder`` as a path, when it holds an exported panel (``customers/`` and
    ``transactions/``); else a ``ValueError`` saying how to make one."""
    folder = Path(folder)
    if not (folder / "customers").is_dir() or not (folder / "transactions").is_dir():
        raise ValueError(f"{folder} holds no exported panel (customers/ and transactions/ "
                         "folders): write one with `patronage export parquet DIR` and pass "
                         "--source parquet:DIR")
    return folder


def p_alive_sql(column: Callable[[str], str], number: Callable[[str], str]) -> str:
    """P(alive) = 1 / (1 + D), D = a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x) (Fader, Hardie & Lee
    2005, eq. 11), with times in weeks, over the summary ``s`` joined to the parameters ``m``;
    the two branches keep exp() from overflowing. ``column`` quotes a column name, ``number``
    writes a double literal."""
    one, week = number("1.0"), number("7.0")
    log_d = (f"(ln(m.a) - ln(m.b + s.frequency - {one}) + (m.r + s.frequency) * "
             f"(ln(m.alpha + s.{column('T')} / {week}) - ln(m.alpha + s.recency / {week})))")
    return (f"CASE WHEN s.frequency = 0 THEN {one} WHEN {log_d} > 0 "
            f"THEN exp(-{log_d}) / ({one} + exp(-{log_d})) ELSE {one} / ({one} + exp({log_d})) "
            "END")


def segment_sql(column: Callable[[str], str], text: Callable[[str], str],
                rules=DEFAULT_RFM_RULES) -> str:
    """The first matching (R, FM) rule of ``rules`` as a CASE over the columns R and fm;
    ``text`` writes a string literal."""
    whens = " ".join(
        f"WHEN {column('R')} BETWEEN {int(rule['r'][0])} AND {int(rule['r'][1])} "
        f"AND fm BETWEEN {int(rule['fm'][0])} AND {int(rule['fm'][1])} "
        f"THEN {text(rule['segment'])}" for rule in rules)
    return f"CASE {whens} END"
