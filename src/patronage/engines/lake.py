"""Reading an exported panel back: ``patronage import panel --from parquet:DIR`` (issue 16).

The Parquet files of ``patronage export parquet`` become the cells of an import file (text, as
a spreadsheet holds them, under the import's field names) and go through the import of that
kind (:func:`patronage.storage.importing.loader.import_table`): every cell checked, all rows
written in one transaction or none, problems named by table, row and column. Customers come
first (with their custom attributes), then the transactions and the responses with their
answers (one column per item, as a wide responses file): the export names customers, surveys and
waves by their stored keys; the cells name them by customer id, survey code and wave name again.
Quality flags and touchpoint tags are not carried by an import, and say so in the report.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from patronage.engines.parquet import read_parquet_table
from patronage.engines.sql import panel_folder
from patronage.storage.importing.loader import import_table
from patronage.storage.importing.mapping import ALIASES
from patronage.storage.importing.reading import Table
from patronage.storage.importing.report import ImportReport

__all__ = ["PANEL_KINDS", "import_panel", "panel_cells"]

#: What :func:`import_panel` reads back, in this order.
PANEL_KINDS = ("customers", "transactions", "responses")
#: What a responses import cannot carry, said in its report.
RESPONSES_NOTE = ("read back without their quality flags and touchpoint tags; a survey or wave "
                  "not in the database is created as an import creates it (title = code, the "
                  "wave starting on its first answer), not with the exported definition")


def _text(values: pd.Series) -> pd.Series:
    """One column as the text of its cells (NaN for empty), as an import file gives it."""
    if pd.api.types.is_datetime64_any_dtype(values):
        whole = values.dropna().dt.microsecond.eq(0).all()
        text = values.dt.strftime("%Y-%m-%d %H:%M:%S" if whole else "%Y-%m-%d %H:%M:%S.%f")
        return text.where(values.notna(), np.nan).astype(object)
    if pd.api.types.is_bool_dtype(values):
        return values.map({True: "yes", False: "no"}).astype(object)
    return values.map(lambda v: np.nan if v is None or v != v else
                      ("yes" if v else "no") if isinstance(v, bool) else
                      repr(v) if isinstance(v, float) else str(v)).astype(object)


def _attributes(column: pd.Series, index: pd.Index) -> pd.DataFrame:
    """The customers' custom attributes (JSON text) as one column per attribute; an import
    keeps attributes as text, so a value that is not (true, 3) comes back as its JSON text."""
    records = [json.loads(v) if isinstance(v, str) else None for v in column]
    return pd.DataFrame([{key: value if isinstance(value, str) else json.dumps(value)
                          for key, value in r.items() if value is not None}
                         if isinstance(r, dict) else {} for r in records],
                        index=index, dtype=object)


def _names(folder: Path, table: str, column: str) -> pd.Series:
    """``column`` of the exported ``table`` by its stored key."""
    return read_parquet_table(folder, table).select(["id", column]).to_pandas().set_index(
        "id")[column]


def _answers(folder: Path, response_keys: pd.Series) -> pd.DataFrame:
    """The exported answers wide, one column per item, in the order of ``response_keys``: the
    number where there is one, else the text."""
    long = read_parquet_table(folder, "answers").to_pandas()
    value = long["value_num"].map(lambda v: np.nan if v != v else repr(v)).astype(object)
    long["cell"] = value.where(value.notna(), long["value_text"])
    wide = long.pivot(index="response_id", columns="item_code", values="cell")
    return wide.reindex(response_keys.to_numpy()).set_axis(response_keys.index).rename_axis(
        columns=None)


def panel_cells(folder, kind: str) -> pd.DataFrame:
    """The exported ``kind`` (customers, transactions or responses) as import cells: text,
    one column per field of the import (for responses, one per item), customers, surveys and
    waves named by their ids, codes and names."""
    folder = panel_folder(folder)
    frame = read_parquet_table(folder, kind).to_pandas()
    if kind in ("transactions", "responses"):
        frame["customer"] = frame["customer_id"].map(_names(folder, "customers", "external_id"))
    if kind == "responses":
        frame["survey"] = frame["survey_id"].map(_names(folder, "surveys", "code"))
        frame["wave"] = frame["wave_id"].map(_names(folder, "waves", "name"))
    fields = [name for name in ALIASES[kind] if name in frame.columns and name != "touchpoint"]
    cells = pd.DataFrame({name: _text(frame[name]) for name in fields if name in frame.columns})
    if kind == "responses":
        cells = cells.join(_answers(folder, frame["id"]))
    if kind == "customers" and "attributes" in frame.columns:
        extra = _attributes(frame["attributes"], cells.index)
        cells = cells.join(extra[[c for c in extra.columns if c not in cells.columns]])
    return cells.reset_index(drop=True)


def import_panel(engine: Engine, source: str, *, dry_run: bool = False) -> list[ImportReport]:
    """Import the customers, then the transactions and the responses (with their answers) of
    the export ``source`` (``parquet:DIR``); each kind is written in one transaction or not at
    all, and the next is not read when one had problems."""
    kind, _, path = (source or "").partition(":")
    if kind != "parquet" or not path:
        raise ValueError("give the export as --from parquet:DIR, a folder written by "
                         "`patronage export parquet DIR`")
    folder = panel_folder(Path(path))
    reports = []
    for name in PANEL_KINDS:
        cells = panel_cells(folder, name)
        table = Table(frame=cells, lines=np.arange(1, len(cells) + 1))
        report = import_table(engine, name, table, name=f"{name}/ of {source} (rows from 1)",
                              dry_run=dry_run)
        reports.append(report)
        if name == "responses":
            report.notes.append(RESPONSES_NOTE)
        if not report.ok:
            break
        if dry_run and report.new_rows and name == "customers":
            report.notes.append("the transactions are checked once these customers are "
                                "stored: run the import without --dry-run")
            break
    return reports
