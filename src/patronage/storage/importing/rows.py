"""Row-by-row imports written by a service (cases, contacts, lost customers): the file is read
and its columns matched like every import, then each row is written by the service's own
function inside one write transaction, all or nothing.

:func:`open_rows` reads and checks the headers; :func:`write_rows` runs the rows and rolls the
whole file back when any row has a problem, or on a dry run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine

from patronage.storage.engine import write_transaction
from patronage.storage.importing.mapping import match_columns
from patronage.storage.importing.reading import read_table
from patronage.storage.importing.report import ImportReport, Problems


@dataclass
class Rows:
    """A file whose headers matched: its cells under field names, their file lines, the report
    to fill and the problems found so far."""

    frame: pd.DataFrame
    lines: list[int]
    labels: dict
    report: ImportReport
    problems: Problems


class _Abort(Exception):
    """Rolls the write transaction back: a row had a problem, or it is a dry run."""


def open_rows(source, *, kind: str, aliases: dict, required: tuple[str, ...],
              dry_run: bool = False, encoding: str | None = None,
              sheet: str | None = None) -> Rows | ImportReport:
    """Read ``source`` (a file path, or a DataFrame of its cells) and match its headers to the
    fields of ``aliases``. Returns the :class:`Rows` to write, or the report with its errors
    when the file cannot be read or a required column is missing."""
    if isinstance(source, pd.DataFrame):
        frame = source.astype(object).where(source.notna(), None)
        frame = frame.map(lambda v: None if v is None else str(v))
        lines, found = [i + 2 for i in range(len(frame))], []
        report = ImportReport(kind=kind, file="the table", rows=len(frame), dry_run=dry_run)
    else:
        path = Path(source)
        table = read_table(path, encoding=encoding, sheet=sheet)
        frame, lines, found = table.frame, list(table.lines), table.problems
        report = ImportReport(kind=kind, file=path.name, encoding=table.encoding,
                              delimiter=table.delimiter, rows=len(frame), dry_run=dry_run,
                              sheet=table.sheet)
    columns = match_columns(list(frame.columns), aliases, required)
    problems = Problems(lines, columns.labels())
    for line, column, value, message in found:
        problems.add(line, column, value, message)
    for header, message in columns.problems:
        problems.add(1, header, None, message)
    if problems.issues:
        report.errors = problems.sorted()
        return report
    frame = frame.rename(columns={v: k for k, v in columns.fields.items()}).reset_index(drop=True)
    return Rows(frame=frame, lines=[int(line) for line in lines], labels=columns.labels(),
                report=report, problems=problems)


def write_rows(engine: Engine, rows: Rows, write: Callable[[Connection, int, int], int], *,
               dry_run: bool = False,
               prepare: Callable[[Connection], None] | None = None) -> ImportReport:
    """Call ``write(conn, position, line)`` for every row in one write transaction (it returns
    how many rows it wrote and records its problems on ``rows.problems``); ``prepare(conn)``
    runs first in the same transaction. Nothing is kept when a row has a problem or on a dry
    run; the report says what was (or would have been) written."""
    report, problems = rows.report, rows.problems
    try:
        with write_transaction(engine) as conn:
            if prepare is not None:
                prepare(conn)
            for position, line in enumerate(rows.lines):
                report.inserted += write(conn, position, line)
            if problems.issues or dry_run:
                raise _Abort
    except _Abort:
        report.new_rows = report.inserted if dry_run else None
        report.inserted = 0
    report.unchanged = 0 if problems.issues or dry_run else report.rows - report.inserted
    report.errors = problems.sorted()
    return report


__all__ = ["Rows", "open_rows", "write_rows"]
