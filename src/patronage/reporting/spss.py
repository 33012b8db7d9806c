"""A survey's responses for SPSS and R users: an SPSS ``.sav`` file with variable and value
labels (pyreadstat), or, without pyreadstat, a CSV with an SPSS syntax file that reads it and
sets the same labels.

One row per response: its id, wave (numbered, the wave names as value labels), customer,
channel, time, weight, every answered item and the comment. Variable names are made legal for
SPSS (letters, digits and ``_``, starting with a letter, unique); the item's code and its label
in the reader's language are the variable label. Text values in the CSV are neutralised against
formula injection like every CSV Patronage writes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from patronage.index_system import load_index_system
from patronage.messages import N_, UserError
from patronage.reporting.render import neutralise, write_csv
from patronage.satisfaction.sources import survey_data_from_db

SPSS_FORMATS = ("sav", "sps")


def spss_name(code: str, used: set) -> str:
    """A legal, unique SPSS variable name for ``code`` (``kano.speed.f`` → ``kano_speed_f``)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", str(code)).strip("_") or "v"
    if not name[0].isalpha():
        name = "v" + name
    name = name[:60]
    base, i = name, 2
    while name.lower() in used:
        name = f"{base[:56]}_{i}"
        i += 1
    used.add(name.lower())
    return name


def labelled_responses(engine: Engine, survey: str | None = None, *, language: str = "en",
                       gettext=lambda s: s) -> tuple[pd.DataFrame, dict, dict]:
    """``(frame, variable labels, value labels)`` of the survey's responses (see the module)."""
    _ = gettext
    data = survey_data_from_db(engine, survey)
    meta = data.meta
    waves = data.waves_in_order()
    codes = {w: i + 1 for i, w in enumerate(waves)}
    columns = {"response_id": (meta.index.astype(str), _("Response")),
               "wave": (meta["wave"].map(codes), _("Wave")),
               "customer_id": (meta.get("customer_id"), _("Customer")),
               "channel": (meta.get("channel"), _("Channel")),
               "submitted_at": (pd.to_datetime(meta.get("submitted_at")), _("Submitted")),
               "weight": (meta.get("weight"), _("Weight"))}
    items = load_index_system().items.set_index("item_code")
    label_column = f"label_{language}"
    for code in data.answers.columns:
        text = items.at[code, label_column] if code in items.index else None
        columns[code] = (data.answers[code], f"{code}: {text}" if text else str(code))
    if not data.comments.dropna().empty:
        columns["comment"] = (data.comments.reindex(meta.index), _("Comment"))
    used: set = set()
    frame, labels, names = pd.DataFrame(index=meta.index), {}, {}
    for code, (values, label) in columns.items():
        if values is None:
            continue
        name = spss_name(code, used)
        names[code] = name
        frame[name] = values.to_numpy() if hasattr(values, "to_numpy") else values
        labels[name] = label
    frame = frame.reset_index(drop=True)
    for name in frame.columns:  # text columns as text (SPSS strings), empty as ""
        if frame[name].dtype == object:
            frame[name] = frame[name].map(lambda v: "" if v is None or v != v else str(v))
    value_labels = {names["wave"]: {float(i): str(w) for w, i in codes.items()}} if codes else {}
    return frame, labels, value_labels


def write_sav(engine: Engine, out: str | Path, survey: str | None = None, *,
              language: str = "en", gettext=lambda s: s) -> Path:
    """Write the responses as an SPSS ``.sav`` file with its labels."""
    try:
        import pyreadstat
    except ImportError:
        raise UserError(N_("Writing .sav files needs pyreadstat (pip install pyreadstat); or use "
                           "--format sps for a CSV and an SPSS syntax file.")) from None
    frame, labels, values = labelled_responses(engine, survey, language=language,
                                               gettext=gettext)
    path = Path(out)
    pyreadstat.write_sav(frame, str(path), column_labels=[labels[c] for c in frame.columns],
                         variable_value_labels=values)
    return path


def _quoted(text: str) -> str:
    return "'" + str(text).replace("'", "''").replace("\n", " ") + "'"


def write_csv_syntax(engine: Engine, out: str | Path, survey: str | None = None, *,
                     language: str = "en", gettext=lambda s: s) -> tuple[Path, Path]:
    """Write the responses as ``out`` (a UTF-8 CSV) and ``out`` with ``.sps``: SPSS syntax that
    reads the CSV and sets the variable and value labels."""
    frame, labels, values = labelled_responses(engine, survey, language=language,
                                               gettext=gettext)
    path = Path(out).with_suffix(".csv")
    write_csv(frame, path, date_format="%Y-%m-%d %H:%M:%S")
    kinds = []
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]):
            kinds.append(f"  {name} YMDHMS19")
        elif pd.api.types.is_numeric_dtype(frame[name]):
            kinds.append(f"  {name} F8.2")
        else:
            width = max(1, int(neutralise(frame[[name]])[name].astype(str).str.len().max() or 1))
            kinds.append(f"  {name} A{min(max(width * 3, 8), 32767)}")
    lines = ["* Encoding: UTF-8.", "SET UNICODE=ON.", "GET DATA /TYPE=TXT",
             f"  /FILE={_quoted(path.name)}", "  /ENCODING='UTF8'", "  /DELIMITERS=','",
             "  /QUALIFIER='\"'", "  /FIRSTCASE=2", "  /VARIABLES=", *kinds, "."]
    lines += ["VARIABLE LABELS"] + [f"  {n} {_quoted(labels[n])}" for n in frame.columns] + ["."]
    for name, mapping in values.items():
        lines += [f"VALUE LABELS {name}"] + [f"  {int(k)} {_quoted(v)}"
                                             for k, v in mapping.items()] + ["."]
    lines.append("EXECUTE.")
    syntax = path.with_suffix(".sps")
    syntax.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path, syntax


__all__ = ["SPSS_FORMATS", "labelled_responses", "spss_name", "write_csv_syntax", "write_sav"]
