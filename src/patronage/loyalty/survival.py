"""Survival and retention of contractual customers: a customer table with a tenure column (how
long each customer has stayed, e.g. months) and an event column (churned yes/no), optionally
split by a column such as the contract type — telco-style data — or customer relationships from
the stored sales (:func:`patronage.loyalty.retention.survival_table`).

The results are readable tables (survival at selected times, in a stated time unit) that carry
their notes (medians, the log-rank test) for the CLI: ``attrs["notes"]`` and ``attrs["about"]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from patronage.analytics import wilson_interval
from patronage.analytics.retention import (
    kaplan_meier,
    logrank_test,
    median_survival,
    survival_at,
)
from patronage.storage.importing.parsing import parse_bool, parse_number, to_halfwidth
from patronage.storage.importing.reading import read_table

UNITS = ("day", "week", "month", "year")
#: Times shown by default per unit (those up to the longest tenure).
POINTS = {"day": (30, 90, 180, 365, 730, 1095, 1460, 1825, 2555, 3650),
          "week": (4, 13, 26, 52, 104, 156, 208, 260),
          "month": (1, 3, 6, 12, 24, 36, 48, 60, 72, 84, 96, 120),
          "year": (1, 2, 3, 4, 5, 7, 10, 15, 20)}
#: The horizon of the survival column of the retention table (a year).
YEAR = {"day": 365, "week": 52, "month": 12, "year": 1}
BLANK_GROUP = "(blank)"


@dataclass(frozen=True)
class Lifetimes:
    """One row per customer: ``tenure`` (in ``unit``), ``ended`` (churned) and, when split,
    ``group`` (named ``group_name``)."""

    tenure: pd.Series
    ended: pd.Series
    unit: str
    group: pd.Series | None = None
    group_name: str | None = None

    @property
    def groups(self) -> list[tuple[str, pd.Index]]:
        if self.group is None:
            return [("all", self.tenure.index)]
        return [(str(name), part.index) for name, part in self.group.groupby(self.group,
                                                                              sort=True)]


def _fold(text: str) -> str:
    return to_halfwidth(str(text)).strip().casefold()


def _column(frame: pd.DataFrame, name: str, option: str, source: str) -> str:
    if name in frame.columns:
        return name
    matches = [c for c in frame.columns if _fold(c) == _fold(name)]
    if len(matches) == 1:
        return matches[0]
    raise ValueError(f"{source} has no column {name!r} ({option}); its columns are "
                     f"{', '.join(map(str, frame.columns))}")


def _refuse(source: str, lines, column: str, raw: pd.Series, mask, message) -> None:
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        pos = int(np.flatnonzero(mask)[0])
        text = message if isinstance(message, str) else message.iloc[pos]
        more = int(mask.sum()) - 1
        raise ValueError(f"{source}, line {int(lines[pos])}, column {column}: "
                         f"{raw.iloc[pos]!r} — {text}"
                         + (f" ({more:,} more rows like it)" if more else ""))


def read_lifetimes(path, *, tenure: str, event: str, by: str | None = None,
                   unit: str = "month", encoding: str | None = None,
                   sheet: str | None = None) -> Lifetimes:
    """Read a customer table (CSV/TXT/XLSX, read like an import: encoding detected or given).

    ``tenure`` names the column of lifetimes (numbers >= 0 in ``unit``), ``event`` the column
    saying whether the customer churned (yes/no, 1/0, true/false, 是/否), ``by`` an optional
    grouping column. Every bad cell is refused with its line.
    """
    if unit not in UNITS:
        raise ValueError(f"the time unit must be one of {', '.join(UNITS)}, not {unit!r}")
    path = Path(path)
    table = read_table(path, encoding=encoding, sheet=sheet)
    source = path.name
    if table.problems:
        line, column, value, message = table.problems[0]
        raise ValueError(f"{source}, line {line}" + (f", column {column}" if column else "")
                         + (f": {value!r}" if value is not None else "") + f" — {message}")
    frame = table.frame
    if frame.empty:
        raise ValueError(f"{source} has no rows")
    tcol = _column(frame, tenure, "--tenure", source)
    ecol = _column(frame, event, "--event", source)
    raw_t, raw_e = frame[tcol], frame[ecol]
    values, errors = parse_number(raw_t)
    _refuse(source, table.lines, tcol, raw_t, errors.notna(), errors)
    _refuse(source, table.lines, tcol, raw_t, values.isna(), "missing tenure; every row needs one")
    _refuse(source, table.lines, tcol, raw_t, values < 0, "a tenure cannot be negative")
    flags, errors = parse_bool(raw_e)
    _refuse(source, table.lines, ecol, raw_e, errors.notna(),
            "not a churn flag; write yes/no, 1/0, true/false or 是/否")
    _refuse(source, table.lines, ecol, raw_e, raw_e.isna(),
            "missing churn flag; every row needs yes/no")
    group = None
    if by is not None:
        bcol = _column(frame, by, "--by", source)
        group = frame[bcol].map(lambda v: BLANK_GROUP if pd.isna(v) or not str(v).strip()
                                else str(v).strip())
        by = bcol
    return Lifetimes(tenure=values.astype(float), ended=flags.astype(bool), unit=unit,
                     group=group, group_name=by)


def _points(data: Lifetimes, at) -> list[float]:
    longest = float(data.tenure.max())
    if at:
        return sorted({float(t) for t in at})
    chosen = [p for p in POINTS[data.unit] if p <= longest]
    if len(chosen) < 3:
        chosen = sorted({float(q) for q in np.quantile(data.tenure, [0.25, 0.5, 0.75, 1.0])})
    return [float(p) for p in chosen]


def _median_text(value: float, unit: str) -> str:
    return f"{value:g} {unit}s" if math.isfinite(value) else "not reached"


def _number(value: float):
    return int(value) if float(value).is_integer() else float(value)


def survival_summary(data: Lifetimes, *, at=None, all_times: bool = False) -> pd.DataFrame:
    """Kaplan-Meier survival per group at selected times (``at``, default: 1, 3, 6, 12, 24 ...
    months up to the longest tenure, or the tenure quartiles), with the log-rank test across
    groups; ``all_times`` gives every distinct time instead (long format with the confidence
    interval). Notes and the same facts as data are in ``attrs``."""
    unit = data.unit
    points = _points(data, at)
    curves, about_groups = {}, {}
    for name, index in data.groups:
        km = kaplan_meier(data.tenure[index], data.ended[index])
        curves[name] = km
        median = median_survival(km)
        about_groups[name] = {"customers": int(len(index)),
                              "churned": int(data.ended[index].sum()),
                              "median": median if math.isfinite(median) else None}
    label = f"{unit}s"
    if all_times:
        table = pd.concat([km.assign(group=name) for name, km in curves.items()],
                          ignore_index=True).rename(columns={"time": label})
        table = table.set_index(["group", label]) if data.group is not None \
            else table.drop(columns="group").set_index(label)
    elif data.group is None:
        km = curves["all"]
        low = survival_at(km.assign(survival=km["ci_low"].fillna(0.0)), points)
        high = survival_at(km.assign(survival=km["ci_high"].fillna(0.0)), points)
        table = pd.DataFrame({"survival": survival_at(km, points), "ci_low": low,
                              "ci_high": high,
                              "at_risk": [int((data.tenure >= p).sum()) for p in points]},
                             index=pd.Index([_number(p) for p in points], name=label))
    else:
        table = pd.DataFrame({name: survival_at(km, points) for name, km in curves.items()},
                             index=pd.Index([_number(p) for p in points], name=label))
    about = {"time_unit": unit, "customers": int(len(data.tenure)),
             "churned": int(data.ended.sum()), "groups": about_groups}
    notes = [f"Kaplan–Meier survival: the share of customers still active after each time "
             f"(time unit: {unit}s); {len(data.tenure):,} customers, "
             f"{int(data.ended.sum()):,} churned."]
    for name, facts in about_groups.items():
        median = facts["median"] if facts["median"] is not None else float("inf")
        notes.append(f"  {name}: {facts['customers']:,} customers, {facts['churned']:,} "
                     f"churned, median lifetime {_median_text(median, unit)}")
    if data.group is not None and len(curves) > 1:
        test = logrank_test(data.tenure, data.ended, data.group)
        about["logrank"] = {k: test[k] for k in ("chi2", "df", "p_value")}
        notes.append(f"Log-rank test of equal survival across the {len(curves)} groups of "
                     f"{data.group_name}: chi-square {test['chi2']:.2f}, df {test['df']}, "
                     f"p = {test['p_value']:.3g}.")
    if not all_times and table.isna().to_numpy().any():
        notes.append("NaN (empty in JSON): after the longest tenure seen in that group, where "
                     "the survival cannot be estimated.")
    table.attrs.update({"notes": notes, "about": about})
    return table


def retention_summary(data: Lifetimes) -> pd.DataFrame:
    """Per group: customers, retained (not churned), the retained share with a Wilson 95%
    interval, and the Kaplan-Meier survival at one year, which unlike the share accounts for
    customers who have not been customers for a year yet."""
    horizon = YEAR[data.unit]
    rows = {}
    for name, index in data.groups:
        kept = ~data.ended[index]
        share = float(kept.mean())
        low, high = wilson_interval(share, len(index))
        km = kaplan_meier(data.tenure[index], data.ended[index])
        rows[name] = {"n": len(index), "retained": int(kept.sum()), "retention": share,
                      "ci_low": low, "ci_high": high,
                      f"survival_{horizon}_{data.unit}s": float(survival_at(km, [horizon])[0])}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = data.group_name or "customers"
    table.attrs["about"] = {"time_unit": data.unit, "survival_horizon": horizon}
    table.attrs["notes"] = [
        f"retention: share of the customers who have not churned (Wilson 95% interval); "
        f"survival_{horizon}_{data.unit}s: Kaplan–Meier share still active after "
        f"{horizon} {data.unit}s (accounts for customers with shorter tenures)."]
    return table


def lifetimes_from_sales(durations: pd.Series, ended: pd.Series) -> Lifetimes:
    """Relationship lifetimes in days from the stored sales (see ``survival_table``)."""
    return Lifetimes(tenure=durations.astype(float), ended=ended.astype(bool), unit="day")


__all__ = ["Lifetimes", "POINTS", "UNITS", "lifetimes_from_sales", "read_lifetimes",
           "retention_summary", "survival_summary"]
