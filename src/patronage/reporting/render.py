"""Render result frames as a text table, JSON or CSV.

CSV output is safe to open in Excel: text cells beginning with ``= + - @``, a tab or a carriage
return get a leading apostrophe so they are never run as formulas (numbers stay numbers), and the
file starts with a UTF-8 byte-order mark so Excel reads Chinese text correctly; lines end in
CRLF, so that a cell holding a carriage return is quoted rather than split. That holds for
values, index labels (a wave or region named ``=HYPERLINK(...)``), index names and column labels
of any dtype (object, string, categorical, MultiIndex): :func:`neutralise` is the one place that
does it, and no other module writes CSV or spreadsheets.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd

FORMATS = ("table", "json", "csv")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value):
    """``value`` with a leading apostrophe when a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _neutral_values(values) -> pd.Index | pd.Series:
    """A Series or Index with every text value escaped; numbers, dates and booleans as they are."""
    if isinstance(values, pd.MultiIndex):
        return pd.MultiIndex.from_arrays(
            [_neutral_values(values.get_level_values(i)) for i in range(values.nlevels)],
            names=[escape_formula(n) for n in values.names])
    if (pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)
            or pd.api.types.is_datetime64_any_dtype(values.dtype)) \
            and not isinstance(values.dtype, pd.CategoricalDtype):
        out = values.copy()
    else:
        out = values.astype(object).map(escape_formula)
    if isinstance(values, pd.Index):
        return pd.Index(out, name=escape_formula(values.name), tupleize_cols=False)
    return out


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` that a spreadsheet can open without running anything: values, index
    labels, index names and column labels escaped with :func:`escape_formula`."""
    columns = {position: _neutral_values(frame.iloc[:, position])
               for position in range(frame.shape[1])}
    safe = pd.DataFrame(columns, index=frame.index)
    safe.columns = _neutral_values(frame.columns if isinstance(frame.columns, pd.MultiIndex)
                                   else pd.Index([str(c) for c in frame.columns],
                                                 name=frame.columns.name, dtype=object))
    safe.index = _neutral_values(frame.index)
    return safe


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if isinstance(value, np.bool_):
        return bool(value)
    return str(value)


#: Columns (or, in a one-column figure table, rows) holding counts: whole numbers stored as
#: floats there are written as integers (``"n": 12``, not ``12.0``).
COUNT_NAMES = frozenset({
    "n", "count", "customers", "at_risk", "events", "censored", "retained", "observed",
    "frequency", "frequency_cal", "repeat_customers", "cohort_size", "buyers", "purchases",
    "purchases_window", "respondents", "responses", "decile", "n_categories"})


def is_count(name) -> bool:
    return isinstance(name, str) and (name in COUNT_NAMES or name.endswith("_count"))


def _whole(values) -> bool:
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def integer_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its count columns (:data:`COUNT_NAMES`) as integers when every value is
    a whole number (missing values stay missing)."""
    if not frame.columns.is_unique:
        return frame
    counts = {column: "Int64" for column in frame.columns
              if is_count(column) and pd.api.types.is_float_dtype(frame[column])
              and _whole(frame[column])}
    return frame.astype(counts) if counts else frame


def _records(frame: pd.DataFrame) -> list[dict]:
    clean = frame.reset_index() if frame.index.name or isinstance(frame.index, pd.MultiIndex) else frame
    clean = clean.astype(object).where(clean.notna(), None)
    records = clean.to_dict(orient="records")
    if frame.index.name and len(frame.columns) == 1:  # a figure table: counts are rows
        label, column = frame.index.name, frame.columns[0]
        for record in records:
            value = record.get(column)
            if (is_count(record.get(label)) and isinstance(value, float)
                    and value.is_integer()):
                record[column] = int(value)
    return records


def _finite(value):
    """``value`` (nested dicts and lists) with NaN and infinities as None: valid JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return None
    return value


def write_csv(frame: pd.DataFrame, path, *, date_format: str | None = None) -> None:
    """Write ``frame`` to the file ``path`` as UTF-8 CSV, neutralised like :func:`render`'s
    CSV (CRLF line ends, no index): for files that other tools read back (SPSS syntax, R)."""
    neutralise(frame).to_csv(path, index=False, encoding="utf-8", lineterminator="\r\n",
                             date_format=date_format)


def render(result: pd.DataFrame | pd.Series, fmt: str = "table", *, digits: int = 3,
           about: dict | None = None) -> str:
    """``result`` as text in ``fmt`` (``table``, ``json`` or ``csv``). With ``about`` (JSON
    only), the output is an object: the entries of ``about`` and the records under ``rows``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    frame = integer_counts(result.to_frame() if isinstance(result, pd.Series) else result)
    if fmt == "json":
        records = _records(frame)
        payload = records if about is None else {**_finite(about), "rows": records}
        return json.dumps(payload, ensure_ascii=False, default=_json_default, indent=1)
    if fmt == "csv":
        out = io.StringIO()
        # CRLF line ends (RFC 4180, Excel's own) also make the writer quote a cell holding a
        # lone CR, which a spreadsheet would otherwise take for the start of a new row.
        neutralise(frame).to_csv(
            out, index=bool(frame.index.name) or isinstance(frame.index, pd.MultiIndex),
            lineterminator="\r\n")
        return "\ufeff" + out.getvalue()
    # A plain 0, 1, 2 ... row number means nothing to a reader: such an index is left out.
    numbered = (isinstance(frame.index, pd.RangeIndex) and frame.index.name is None
                and frame.index.start == 0 and frame.index.step == 1)
    with pd.option_context("display.max_rows", 500, "display.max_columns", 50,
                           "display.width", 160, "display.precision", digits):
        return frame.to_string(index=not numbered or frame.empty)
