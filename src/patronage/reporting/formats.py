"""How numbers are written for readers: one set of rules for pages, tables and charts.

Money is yuan with thousands separators (``¥1,234``); large figures on a KPI tile are short
(``¥12.3万`` / ``¥1.2亿`` in Chinese, ``¥12.3k`` / ``¥1.2M`` in English); shares are percentages;
p-values below 0.001 read ``< 0.001``; every column of a table has one precision; quarters are
spelled one way (``2026年第3季度`` / ``2026 Q3``, worded through the catalogs), and so are ISO
weeks (``2026年第27周`` / ``Week 27, 2026`` for the data's ``2026-W27``).

The same rules are given to Plotly as d3-format strings (:data:`D3`) for chart ticks and
tooltips. Nothing here knows about the web: the page binds the language and the translations.
"""

from __future__ import annotations

import math
import re
from numbers import Number

from patronage.messages import N_

MISSING = "–"
#: Below this many answers a score is not shown as a number (see :func:`small_sample`).
DEFAULT_MIN_SAMPLE = 30

#: d3-format strings for chart ticks and tooltips, matching the functions below.
D3 = {"money": ",.0f", "percent": ".0%", "count": ",d", "score": ".1f", "share": ".0%"}
CURRENCY = "¥"

#: The wording of a quarter; the catalogs give ``{year}年第{quarter}季度``.
QUARTER = N_("{year} Q{quarter}")
_QUARTER = re.compile(r"^\s*(\d{4})\s*[-_ /]?\s*[Qq]([1-4])\s*$")
#: The wording of an ISO week; the catalogs give ``{year}年第{week}周`` (``週``).
WEEK = N_("Week {week}, {year}")
_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$")


def is_missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(isinstance(value, Number) and math.isnan(value))
    except TypeError:
        return False


def number(value, digits: int = 1) -> str:
    """``1,234.5``: thousands separators and a fixed number of decimals."""
    if is_missing(value):
        return MISSING
    text = f"{float(value):,.{digits}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text.replace(",", "")) == 0 else text


def integer(value) -> str:
    return number(value, 0)


def signed(value, digits: int = 1) -> str:
    """A change: ``+1.9`` / ``-0.4``."""
    if is_missing(value):
        return MISSING
    return ("+" if float(value) > 0 else "") + number(value, digits)


def money(value, digits: int = 0) -> str:
    """``¥1,234`` (``-¥1,234`` for a loss or refund)."""
    if is_missing(value):
        return MISSING
    sign = "-" if float(value) < 0 and round(abs(float(value)), digits) > 0 else ""
    return f"{sign}{CURRENCY}{number(abs(float(value)), digits)}"


_COMPACT = {
    "en": ((1e9, "B"), (1e6, "M"), (1e3, "k")),
    "zh_Hans": ((1e8, "亿"), (1e4, "万")),
    "zh_Hant": ((1e8, "億"), (1e4, "萬")),
}


def large_units(language: str) -> tuple[tuple[float, str], ...]:
    """The units large figures are written in, largest first: 亿/万 in Simplified Chinese,
    億/萬 in Traditional, B/M/k otherwise."""
    if language.startswith("zh"):
        return _COMPACT["zh_Hant" if language == "zh_Hant" else "zh_Hans"]
    return _COMPACT["en"]


def compact(value, language: str = "en", *, prefix: str = "") -> str:
    """A large figure made short for a KPI tile: ``12.3万`` / ``1.2亿`` in Simplified Chinese
    (``12.3萬`` / ``1.2億`` in Traditional), ``12.3k`` / ``1.2M`` in English; smaller figures are
    written in full."""
    if is_missing(value):
        return MISSING
    amount = float(value)
    units = large_units(language)
    sign = "-" if amount < 0 else ""
    for size, unit in units:
        if abs(amount) >= size:
            return f"{sign}{prefix}{abs(amount) / size:,.1f}{unit}"
    return f"{sign}{prefix}{number(abs(amount), 0)}"


def compact_money(value, language: str = "en") -> str:
    return compact(value, language, prefix=CURRENCY)


def percent(share, digits: int = 0) -> str:
    """A share (0–1) as a percentage: ``32%``."""
    if is_missing(share):
        return MISSING
    return f"{100 * float(share):.{digits}f}%"


def p_value(p) -> str:
    """``< 0.001`` or three decimals."""
    if is_missing(p):
        return MISSING
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def quarter(label, gettext=lambda s: s) -> str:
    """A quarter spelled one way (``2026-Q3``, ``2026Q3``, ``2026 q3`` -> ``2026 Q3`` /
    ``2026年第3季度``); any other label is returned as it is."""
    if is_missing(label):
        return MISSING
    match = _QUARTER.match(str(label))
    if not match:
        return str(label)
    return gettext(QUARTER).format(year=match.group(1), quarter=match.group(2))


def week_label(label, gettext=lambda s: s) -> str:
    """An ISO week as readers see it (``2026-W07`` -> ``Week 7, 2026`` / ``2026年第7周``); any
    other label is returned as it is."""
    if is_missing(label):
        return MISSING
    match = _WEEK.match(str(label))
    if not match:
        return str(label)
    return gettext(WEEK).format(year=match.group(1), week=int(match.group(2)))


#: The wave name of the responses of a survey that has no waves.
ALL_RESPONSES = N_("All responses")


def wave_label(label, gettext=lambda s: s) -> str:
    """A wave's name as readers see it: :data:`ALL_RESPONSES` translated, quarters spelled one
    way (:func:`quarter`), other names as they are."""
    if not is_missing(label) and str(label) == ALL_RESPONSES:
        return gettext(ALL_RESPONSES)
    return quarter(label, gettext)


#: How a table column is written, by its name: kind and decimals.
COLUMN_KINDS = {
    # money
    "clv": ("money", 0), "monetary": ("money", 0), "value_at_risk": ("money", 0),
    "base_value": ("money", 0), "new_value": ("money", 0), "revenue": ("money", 0),
    "amount": ("money", 2), "profit": ("money", 0),
    # shares of 0–1 shown as percentages
    "share": ("percent", 1), "share_A": ("percent", 0), "share_O": ("percent", 0),
    "share_M": ("percent", 0), "share_I": ("percent", 0), "top_box": ("percent", 1),
    "top_box_ci_low": ("percent", 1), "top_box_ci_high": ("percent", 1),
    "easy_share": ("percent", 1), "retention": ("percent", 1), "p_alive": ("percent", 1),
    "p_alive_now": ("percent", 1), "customers_share": ("percent", 1),
    "promoter": ("percent", 1), "passive": ("percent", 1), "detractor": ("percent", 1),
    "promoters": ("percent", 0), "passives": ("percent", 0), "detractors": ("percent", 0),
    # p-values
    "p_value": ("p", 3), "p_holm": ("p", 3),
    # counts
    "n": ("int", 0), "customers": ("int", 0), "respondents_n": ("int", 0), "items": ("int", 0),
    "cohort_size": ("int", 0), "count": ("int", 0), "rank": ("int", 0), "retained": ("int", 0),
    "recency_days": ("int", 0),
    # scores on 0–100 and NPS
    "nps": ("number", 1), "score": ("number", 1), "csi": ("number", 1),
    "performance": ("number", 1), "perception": ("number", 2), "expectation": ("number", 2),
    "gap": ("number", 2), "ratio": ("number", 2), "change": ("signed", 1),
    "mean": ("number", 2), "mean_satisfaction": ("number", 2),
    "importance": ("number", 3), "original": ("number", 3), "better": ("number", 2),
    "worse": ("number", 2), "cronbach_alpha": ("number", 3),
    "composite_reliability": ("number", 3), "ave": ("number", 3), "max_htmt": ("number", 3),
    "cramers_v": ("number", 3), "chi2": ("number", 2), "own": ("number", 2),
    "competitor": ("number", 2), "difference": ("signed", 2), "lower": ("number", 3),
    "upper": ("number", 3), "unweighted": ("number", 1), "weighted": ("number", 1),
    "raked": ("number", 1),
}


#: Figures listed one per row (a "value" column of mixed meaning): the kind of each row.
ROW_KINDS = {
    "customers": ("int", 0), "total_profit": ("money", 0), "base_value": ("money", 0),
    "new_value": ("money", 0), "difference": ("money", 0), "retention_now": ("percent", 1),
    "margin": ("percent", 1), "discount": ("percent", 1), "delta_points": ("number", 1),
    "value": ("money", 0),
    # shares of customers already in percent, named for what they are a share of
    "customers_pct_for_80pct_profit": ("points_pct", 1),
    "customers_pct_for_80pct_revenue": ("points_pct", 1),
}


def row_kind(name) -> tuple[str, int]:
    """The kind of a figure named ``name``: ``*_pct`` figures are already percentages."""
    if str(name).endswith("_pct") or str(name) == "pct_change":
        return ("points_pct", 1)
    return ROW_KINDS.get(str(name), ("number", 2))


def infer_kind(values) -> tuple[str, int]:
    """One format for a column not named in :data:`COLUMN_KINDS`: whole numbers as integers,
    otherwise as many decimals as the column's typical size needs (the same for every row)."""
    numbers = [float(v) for v in values if isinstance(v, Number) and not isinstance(v, bool)
               and not is_missing(v)]
    if not numbers:
        return ("text", 0)
    if all(float(v).is_integer() for v in numbers):
        return ("int", 0)
    typical = sorted(abs(v) for v in numbers)[len(numbers) // 2]
    digits = 0 if typical >= 1000 else 1 if typical >= 10 else 2 if typical >= 1 else 3
    return ("number", digits)


def column_kind(column, values=()) -> tuple[str, int]:
    """The (kind, decimals) of a table column: by its name, else inferred from its values."""
    return COLUMN_KINDS.get(str(column)) or infer_kind(values)


#: Interval bounds without a format of their own, and the estimates they bound (the first one the
#: table has gives the bounds its format, so "19.0 (14.2 … 23.8)" reads with one precision).
_BOUNDS = {("ci_low", "ci_high"): ("nps", "score", "csi", "mean", "performance", "weighted",
                                   "unweighted"),
           ("mean_ci_low", "mean_ci_high"): ("mean",)}


def table_kinds(columns, values_of) -> dict:
    """``{column: (kind, decimals)}`` for a table's ``columns`` (``values_of(column)`` gives a
    column's values): :func:`column_kind` per column, with a pair of interval bounds written as
    its estimate is (or, without one, both bounds with the same precision)."""
    columns = list(columns)
    kinds = {column: column_kind(column, values_of(column)) for column in columns}
    for bounds, estimates in _BOUNDS.items():
        present = [b for b in bounds if b in kinds and str(b) not in COLUMN_KINDS]
        if not present:
            continue
        estimate = next((e for e in estimates if e in kinds), None)
        if estimate is not None:
            kind, digits = kinds[estimate]
            spec = ("number" if kind == "signed" else kind, digits)
        else:
            spec = infer_kind([v for b in present for v in values_of(b)])
        kinds.update({b: spec for b in present})
    return kinds


def cell(value, kind: str, digits: int = 0) -> str:
    """One table cell written as its column's kind says; text is returned as it is."""
    if is_missing(value):
        return MISSING
    if not isinstance(value, Number) or isinstance(value, bool) or kind == "text":
        return str(value)
    writer = {"money": money, "percent": percent, "p": lambda v, _d: p_value(v),
              "points_pct": lambda v, d: f"{number(v, d)}%",
              "int": lambda v, _d: integer(v), "signed": signed}.get(kind, number)
    return writer(value, digits)


#: Columns that are estimates from a sample: not shown as numbers below the minimum n.
ESTIMATES = frozenset({"nps", "score", "csi", "mean", "mean_satisfaction", "ci_low", "ci_high",
                       "mean_ci_low", "mean_ci_high", "top_box", "top_box_ci_low",
                       "top_box_ci_high", "easy_share", "change", "p_value", "p_holm",
                       "perception", "expectation", "gap", "ratio", "retention", "own",
                       "competitor", "difference"})


def small_sample(n, minimum: int = DEFAULT_MIN_SAMPLE) -> bool:
    """Whether ``n`` answers are too few to show a score as a number."""
    return is_missing(n) or int(n) < minimum


__all__ = ["ALL_RESPONSES", "COLUMN_KINDS", "CURRENCY", "D3", "DEFAULT_MIN_SAMPLE", "ESTIMATES",
           "MISSING", "QUARTER", "cell", "column_kind", "compact", "compact_money", "infer_kind",
           "integer", "is_missing", "money", "number", "p_value", "percent", "quarter",
           "row_kind", "signed", "small_sample", "table_kinds", "wave_label"]
