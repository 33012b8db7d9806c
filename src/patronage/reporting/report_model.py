"""What a report is made of, whatever writes it: sections of key figures, tables and bar charts,
each table column saying how its raw values are written (:func:`cell_text`).

:mod:`patronage.reporting.report_sections` fills the sections, :mod:`patronage.reporting.report_build`
assembles the report, and the writers (:mod:`~patronage.reporting.report_files`,
:mod:`~patronage.reporting.report_pdf`, the page exports) read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from patronage.reporting import formats

#: How a column is written: kind and decimals (see :func:`cell_text`).
KINDS = ("text", "integer", "percent", "score", "signed", "money")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"
    digits: int = 0


@dataclass(frozen=True)
class Table:
    """``frame`` holds raw values in ``columns`` order; ``columns`` say how to write them."""
    title: str
    frame: pd.DataFrame
    columns: list[Column]


@dataclass(frozen=True)
class Bars:
    """A horizontal bar chart drawn by each writer itself (vector in HTML and PDF)."""
    title: str
    labels: list[str]
    values: list[float]
    kind: str = "score"
    digits: int = 1


@dataclass(frozen=True)
class Kpi:
    label: str
    value: float
    kind: str
    digits: int
    n: int | None
    change: float | None = None


@dataclass
class Section:
    key: str
    title: str
    kpis: list[Kpi] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Bars] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    title: str
    survey: str
    wave: str | None
    language: str
    generated_at: datetime
    sections: list[Section]
    labels: dict = field(default_factory=dict)


def cell_text(value, kind: str, digits: int = 0, language: str = "en") -> str:
    """A value as the report writes it in text (HTML, PDF): ``45.0%``, ``¥12,300``, ``+1.9``."""
    if formats.is_missing(value):
        return formats.MISSING
    if kind == "text":
        return str(value)
    if kind == "integer":
        return formats.integer(value)
    if kind == "percent":
        return formats.percent(value, digits)
    if kind == "money":
        return formats.money(value, digits) if abs(float(value)) < 1e5 \
            else formats.compact_money(value, language)
    if kind == "signed":
        return formats.signed(value, digits)
    return formats.number(value, digits)


def finite(value) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


__all__ = ["KINDS", "Bars", "Column", "Kpi", "Report", "Section", "Table", "cell_text", "finite"]
