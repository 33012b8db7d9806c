"""Render result frames as a text table, JSON or CSV.

CSV output is safe to open in Excel: text cells beginning with ``= + - @``, a tab or a carriage
return get a leading apostrophe so they are never run as formulas (numbers stay numbers), and the
file starts with a UTF-8 byte-order mark so Excel reads Chinese text correctly.
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


def _records(frame: pd.DataFrame) -> list[dict]:
    clean = frame.reset_index() if frame.index.name or isinstance(frame.index, pd.MultiIndex) else frame
    clean = clean.astype(object).where(clean.notna(), None)
    return clean.to_dict(orient="records")


def render(result: pd.DataFrame | pd.Series, fmt: str = "table", *, digits: int = 3,
           about: dict | None = None) -> str:
    """``result`` as text in ``fmt`` (``table``, ``json`` or ``csv``). With ``about`` (JSON
    only), the output is an object: the entries of ``about`` and the records under ``rows``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    frame = result.to_frame() if isinstance(result, pd.Series) else result
    if fmt == "json":
        records = _records(frame)
        payload = records if about is None else {**about, "rows": records}
        return json.dumps(payload, ensure_ascii=False, default=_json_default, indent=1)
    if fmt == "csv":
        out = io.StringIO()
        safe = frame.copy()
        safe.columns = [escape_formula(str(c)) for c in safe.columns]
        for column in safe.columns:
            if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
                safe[column] = safe[column].map(escape_formula)
        if safe.index.dtype == object:
            safe.index = safe.index.map(escape_formula)
        safe.to_csv(out, index=bool(frame.index.name) or isinstance(frame.index, pd.MultiIndex))
        return "\ufeff" + out.getvalue()
    with pd.option_context("display.max_rows", 500, "display.max_columns", 50,
                           "display.width", 160, "display.precision", digits):
        return frame.to_string()
