"""Survey answers from a wide CSV/XLSX file, read the way the importer reads files.

The encoding is detected (UTF-8, UTF-8 with BOM, UTF-16, GB18030 as Chinese Excel saves "CSV") or
given; the delimiter is sniffed; XLSX formula cells are refused. Headers are matched in English or
Chinese (``波次`` is the wave, ``权重`` the weight, ``地区`` the region ...), so such columns are never
taken as survey items. Every other column is an item whose cells must be numbers; declared
missing-value codes (``-99``) become missing answers, and values outside an item's scale are
counted so the caller can warn about them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from patronage.index_system import COMMENT_ITEM, load_index_system
from patronage.storage.importing.mapping import ALIASES, match_columns
from patronage.storage.importing.parsing import to_halfwidth
from patronage.storage.importing.reading import read_table
from patronage.storage.importing.report import shorten

SEGMENTS = ("region", "industry", "size", "channel", "tier")

#: Non-item columns of an analysis file: field -> known header spellings.
FILE_ALIASES: dict[str, tuple[str, ...]] = {
    "response_id": ALIASES["responses"]["external_id"],
    "wave": ALIASES["responses"]["wave"],
    "weight": ALIASES["responses"]["weight"],
    "customer_id": ALIASES["responses"]["customer"],
    "survey": ALIASES["responses"]["survey"],
    "language": ALIASES["responses"]["language"],
    "submitted_at": ALIASES["responses"]["submitted_at"],
    COMMENT_ITEM: ("comment", "comments", "意见", "意見", "评论", "評論", "留言", "备注", "備註",
                   "建议", "建議", "open answer"),
    **{segment: ALIASES["customers"][segment] for segment in SEGMENTS},
}


def _codes(missing: Iterable) -> list[float]:
    out = []
    for code in missing:
        try:
            out.append(float(to_halfwidth(str(code)).strip()))
        except ValueError:
            raise ValueError(f"missing-value code {code!r} is not a number; give codes like "
                             "-99 or 999") from None
    return out


def read_answers_file(path: str | Path, *, encoding: str | None = None, sheet: str | None = None,
                      missing: Iterable = ()) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """``(answers, meta, comments)`` of a wide file, indexed by response id (``row N`` when the
    file has none). ``meta`` holds ``wave``, ``weight`` and the segment columns present."""
    path = Path(path)
    try:
        table = read_table(path, encoding=encoding, sheet=sheet)
    except ValueError as exc:
        raise ValueError(f"{path.name}: {exc}") from None
    if table.problems:
        line, column, _value, message = table.problems[0]
        where = f"line {line}" + (f", column {column}" if column else "")
        more = f" (and {len(table.problems) - 1} more problems)" if len(table.problems) > 1 else ""
        raise ValueError(f"{path.name}, {where}: {message}{more}")
    frame, lines = table.frame, np.asarray(table.lines)
    columns = match_columns(list(frame.columns), FILE_ALIASES)
    if columns.problems:
        header, message = columns.problems[0]
        raise ValueError(f"{path.name}, line 1, column {header}: {message}")
    fields = columns.fields
    if "response_id" in fields:
        ids = frame[fields["response_id"]].astype(str)
    else:
        ids = pd.Series([f"row {n}" for n in lines], index=frame.index)
    duplicated = ids.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise ValueError(f"{path.name}, line {lines[row]}, column {fields['response_id']}: "
                         f"response id {shorten(ids.iloc[row])!r} appears twice; each row is one "
                         "response")
    index = pd.Index(ids, name="response_id")
    meta = pd.DataFrame(index=index)
    meta["wave"] = (frame[fields["wave"]].astype(str).to_numpy() if "wave" in fields
                    else "all")
    meta["wave_start"] = pd.factorize(meta["wave"])[0]
    meta["weight"] = 1.0
    if "weight" in fields:
        meta["weight"] = _numbers(frame[fields["weight"]], path, lines).to_numpy()
        bad = ~(meta["weight"] > 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"{path.name}, line {lines[row]}, column {fields['weight']}: a "
                             "weight must be a positive number")
    meta["flagged"] = False
    for segment in SEGMENTS:
        if segment in fields:
            meta[f"customer_{segment}"] = frame[fields[segment]].to_numpy()
    comments = (pd.Series(frame[fields[COMMENT_ITEM]].to_numpy(), index=index, name="comment")
                if COMMENT_ITEM in fields else pd.Series(dtype=object, name="comment"))
    codes = _codes(missing)
    items = {}
    for header in columns.extra:
        values = _numbers(frame[header], path, lines)
        if codes:
            values = values.mask(values.isin(codes))
        items[header] = values.to_numpy()
    answers = pd.DataFrame(items, index=index)
    return answers, meta, comments.dropna()


def _numbers(column: pd.Series, path: Path, lines: np.ndarray) -> pd.Series:
    text = column.map(lambda v: to_halfwidth(v).strip() if isinstance(v, str) else v)
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() & text.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        shown = str(column.iloc[row])
        shown = shown if len(shown) <= 40 else shown[:40] + "…"
        raise ValueError(f"{path.name}, line {lines[row]}, column {column.name}: {shown!r} is "
                         f"not a number; answers must be numbers (leave a cell blank when "
                         f"unanswered, or declare codes such as -99 with --missing)")
    return values.astype(float)


def out_of_scale(answers: pd.DataFrame, scale: tuple[float, float] | None = None) -> pd.DataFrame:
    """Values outside each item's scale: ``item, low, high, count, examples``.

    The scale is ``scale`` when given, else the index system's for items it knows; for other
    items only negative values among otherwise non-negative answers (typical missing codes such
    as -99) are counted.
    """
    known = load_index_system().items.set_index("item_code")[["scale_min", "scale_max"]]
    rows = []
    for item in answers.columns:
        values = answers[item].dropna()
        if values.empty:
            continue
        if scale is not None:
            low, high = scale
        elif item in known.index:
            low, high = known.loc[item, "scale_min"], known.loc[item, "scale_max"]
        elif values.min() < 0 <= values.quantile(0.05):
            low, high = 0.0, np.inf
        else:
            continue
        outside = values[(values < low) | (values > high)]
        if len(outside):
            rows.append({"item": item, "low": low, "high": high, "count": int(len(outside)),
                         "examples": sorted(set(outside.tolist()))[:3]})
    return pd.DataFrame(rows, columns=["item", "low", "high", "count", "examples"])


__all__ = ["FILE_ALIASES", "out_of_scale", "read_answers_file"]
