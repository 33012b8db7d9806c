"""Checks shared by the three kinds of import: required values, duplicate ids, known customers.

Each kind module (``customers``, ``transactions``, ``responses``) turns the raw frame into typed
columns with :class:`Fields`, which records every bad cell in the report's problem list.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from patronage.messages import N_, Message
from patronage.storage.importing.mapping import ColumnMap
from patronage.storage.importing.parsing import parse_date, parse_datetime
from patronage.storage.importing.report import Problems, shorten


SERIAL_DATE = N_("{count:,} value in column {column} looked like Excel serial day numbers and "
                 "were read as dates (1900 date system: 45352 is 2024-03-01); check a few of "
                 "them.")
SERIAL_DATES = N_("{count:,} values in column {column} looked like Excel serial day numbers and "
                  "were read as dates (1900 date system: 45352 is 2024-03-01); check a few of "
                  "them.")
UNKNOWN_CUSTOMER = N_("customer {customer!r} is not in the panel; import customers first")


class Fields:
    """Typed access to the mapped columns of one file, reporting problems as it parses."""

    def __init__(self, frame: pd.DataFrame, columns: ColumnMap, problems: Problems,
                 notes: list[str], date_order: str | None,
                 skip: dict[str, list[int]] | None = None) -> None:
        self.frame = frame
        self.columns = columns
        self.problems = problems
        self.notes = notes
        self.date_order = date_order
        self.bad = np.zeros(len(frame), dtype=bool)
        self.skip = skip or {}

    def __contains__(self, name: str) -> bool:
        return name in self.columns.fields

    def raw(self, name: str) -> pd.Series:
        """The cells of field ``name`` as read (all missing when the column is absent)."""
        if name in self.columns.fields:
            return self.frame[self.columns.fields[name]]
        return pd.Series(np.nan, index=self.frame.index, dtype=object)

    def parse(self, name: str, parser: Callable, *args) -> pd.Series:
        """Parse field ``name`` with ``parser(values, *args) -> (values, errors)``."""
        raw = self.raw(name)
        values, errors = parser(raw, *args)
        self.record(name, raw, errors)
        return values

    def record(self, name: str, raw: pd.Series, errors: pd.Series) -> None:
        mask = errors.notna().to_numpy()
        self.bad |= mask
        self.problems.flag(mask, name, raw, errors)

    def dates(self, name: str, *, keep_time: bool = True) -> pd.Series:
        raw = self.raw(name)
        parser = parse_datetime if keep_time else parse_date
        values, errors, serials = parser(raw, self.date_order)
        self.record(name, raw, errors)
        if serials:
            template = SERIAL_DATE if serials == 1 else SERIAL_DATES
            self.notes.append(Message(template, count=serials, column=self.problems.label(name)))
        return values

    def require(self, name: str, message: str) -> None:
        """Every row needs a value in ``name``; ``message`` (marked with ``N_``) says so."""
        if name not in self.columns.fields:
            return  # reported once as a missing column
        missing = self.raw(name).isna().to_numpy(copy=True)
        missing[self.skip.get(self.columns.fields[name], [])] = False  # refused formula cells
        self.bad |= missing
        self.problems.flag(missing, name, None, Message(message))

    def unique(self, name: str, values: pd.Series, message: str) -> None:
        """Ids must not repeat within the file; each repeat names both lines: ``message`` (marked
        with ``N_``) takes the ``value`` and the lines ``first`` and ``line``."""
        present = values.notna()
        repeated = values.duplicated(keep="first") & present
        if not repeated.any():
            return
        lines = pd.Series(self.problems.lines, index=values.index)
        first_line = lines[present].groupby(values[present], sort=False).transform("first")
        positions = np.flatnonzero(repeated.to_numpy())
        raw = self.raw(name)
        for pos in positions:
            line = int(self.problems.lines[pos])
            self.problems.add(line, self.problems.label(name), raw.iloc[pos], Message(
                message, value=shorten(values.iloc[pos]), first=int(first_line.iloc[pos]),
                line=line))
        self.bad[positions] = True


def customer_keys(fields: Fields, name: str, refs: pd.Series, known: dict,
                  message: str = UNKNOWN_CUSTOMER) -> pd.Series:
    """Map customer external ids to database ids; unknown ones are problems (``message``, marked
    with ``N_``, takes the ``customer`` and says what to do)."""
    table = pd.Index(list(known.keys()), dtype=object)
    positions = table.get_indexer(refs.to_numpy(dtype=object))
    ids = np.fromiter(known.values(), dtype=np.float64, count=len(known))
    keys = pd.Series(np.where(positions >= 0, ids[positions] if len(ids) else np.nan, np.nan),
                     index=refs.index)
    unknown = (refs.notna() & keys.isna()).to_numpy()
    if unknown.any():
        messages = pd.Series(None, index=refs.index, dtype=object)
        messages.iloc[np.flatnonzero(unknown)] = [  # by position: keeps Message objects
            Message(message, customer=shorten(r)) for r in refs[unknown]]
        fields.record(name, fields.raw(name), messages)
    return keys


__all__ = ["Fields", "customer_keys"]
