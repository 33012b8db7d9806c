""":func:`import_file`: read, map, validate, then write everything or nothing.

The steps: read the file (:mod:`.reading`), match its headers to fields (:mod:`.mapping`), parse
and check every cell (the kind modules, vectorised), look up what the database must already hold
(customers), and only when no problem was found upsert all rows in one write transaction. A dry
run performs every check, including the database look-ups, and writes nothing.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from patronage.messages import N_, Message, UserError
from patronage.storage.engine import write_transaction
from patronage.storage.importing import customers, responses, transactions
from patronage.storage.importing.checks import Fields
from patronage.storage.importing.mapping import REQUIRED, map_columns
from patronage.storage.importing.reading import MAX_XLSX_UNZIPPED_BYTES, Table, read_table
from patronage.storage.importing.report import ImportReport, Problems

KINDS = {"customers": customers, "transactions": transactions, "responses": responses}
#: Fields that never hold a line break (ids and codes).
ONE_LINE_FIELDS = ("external_id", "customer", "survey")
SWALLOWED = Message(N_('the value runs over several lines: a quote (") before it is probably '
                       "not closed, so the rows after it were read into this cell; close the "
                       "quote, or remove the line breaks"))


def _swallowed_rows(table, fields: dict[str, str], problems: Problems) -> None:
    """Report cells that hold rows of the file: a quote opened and closed rows later is valid
    CSV, and runs the rows between into one cell. An id or code with a line break, or a text
    cell whose later lines have as many delimiters as a row, is one."""
    width = len(table.frame.columns)
    for field_name, header in fields.items():
        for position in table.line_breaks.get(header, ()):
            value = table.frame[header].iloc[position]
            rows = table.delimiter is not None and width > 1 and any(
                line.count(table.delimiter) >= width - 1 for line in value.splitlines()[1:])
            if field_name in ONE_LINE_FIELDS or rows:
                problems.add(int(table.lines[position]), problems.label(field_name), value,
                             SWALLOWED)
#: Files with more data rows than this show a progress bar when asked to.
PROGRESS_MIN_ROWS = 50_000


@contextmanager
def _progress_bar(enabled: bool, total: int, kind: str):
    if not enabled or total <= PROGRESS_MIN_ROWS:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=f"Writing {kind}", unit=" rows", file=sys.stderr,
               unit_scale=True, leave=False)
    try:
        yield bar.update
    finally:
        bar.close()


def import_file(engine: Engine, kind: str, path, *, dry_run: bool = False,
                encoding: str | None = None, sheet: str | None = None,
                date_order: str | None = None, max_rows: int | None = None,
                progress: bool = False,
                max_unzipped_bytes: int = MAX_XLSX_UNZIPPED_BYTES,
                create_customers: bool = False) -> ImportReport:
    """Import ``customers``, ``transactions`` or ``responses`` from a CSV/TXT/TSV or XLSX file.

    Never raises for bad data: every bad cell, duplicate id, unknown customer or missing
    required column is an :class:`ImportIssue` in the returned report, and then nothing is
    written. Raises :class:`~patronage.messages.UserError` (a ValueError) only when the file
    cannot be used at all (missing, unreadable, empty, unknown ``kind``). Problems, notes and
    errors are :class:`~patronage.messages.Message` or UserError objects: English text that a
    page shows translated (:func:`~patronage.messages.translated`). Re-importing the same file
    changes nothing (``inserted`` 0, ``unchanged`` all rows); ``dry_run`` checks everything and
    writes nothing.

    ``date_order`` (``"ymd"``, ``"dmy"`` or ``"mdy"``) settles dates like 05/03/2024;
    ``max_rows`` refuses larger files; ``progress`` shows a bar on stderr for big files;
    ``max_unzipped_bytes`` refuses an XLSX file that would unpack to more (a zip bomb);
    ``create_customers`` (transactions only) creates a bare customer for every unknown
    customer id, in the same transaction, and counts them in the report.
    """
    _check_kind(kind)
    if date_order not in (None, "ymd", "dmy", "mdy"):
        raise UserError(N_("date_order must be 'ymd', 'dmy' or 'mdy', not {date_order!r}"),
                        date_order=date_order)
    if max_rows is not None and max_rows < 1:
        raise UserError(N_("max_rows must be at least 1, not {max_rows}"), max_rows=max_rows)
    if create_customers and kind != "transactions":
        raise UserError(N_("--create-customers works with transactions only"))
    path = Path(path)
    table = read_table(path, encoding=encoding, sheet=sheet, max_rows=max_rows,
                       max_unzipped_bytes=max_unzipped_bytes)
    return import_table(engine, kind, table, name=path.name, dry_run=dry_run,
                        date_order=date_order, progress=progress,
                        create_customers=create_customers)


def import_table(engine: Engine, kind: str, table: Table, *, name: str, dry_run: bool = False,
                 date_order: str | None = None, progress: bool = False,
                 create_customers: bool = False) -> ImportReport:
    """:func:`import_file` of cells already read (``table``, from a file or another source
    such as an exported panel; ``name`` says where they came from in the report)."""
    _check_kind(kind)
    module = KINDS[kind]
    create = {"create_customers": "plan"} if create_customers else {}
    report = ImportReport(kind=kind, file=name, encoding=table.encoding,
                          delimiter=table.delimiter, rows=len(table.frame), dry_run=dry_run,
                          sheet=table.sheet)
    columns = map_columns(kind, list(table.frame.columns))
    problems = Problems(table.lines, columns.labels())
    for line, column, value, message in table.problems:
        problems.add(line, column, value, message)
    for header, message in columns.problems:
        problems.add(1, header, None, message)
    _swallowed_rows(table, columns.fields, problems)
    if table.truncated or any(name not in columns.fields for name in REQUIRED[kind]):
        report.errors = problems.sorted()
        return report
    fields = Fields(table.frame, columns, problems, report.notes, date_order,
                    skip=table.formula_cells)
    typed = module.validate(fields)
    if dry_run or problems:  # no write lock needed: only look-ups, to report every problem
        with engine.connect() as conn:
            rows = module.resolve(conn, fields, typed, **create)
            if dry_run and not problems:
                report.new_rows = module.count_new(conn, rows)
                if create:
                    report.created_customer_ids = rows.attrs.get("customers_created", [])
    else:
        with _progress_bar(progress, report.rows, kind) as on_progress:
            try:
                with write_transaction(engine) as conn:
                    rows = module.resolve(conn, fields, typed,
                                          **{k: "write" for k in create})
                    if problems:
                        raise _Abort
                    report.inserted, report.updated = module.write(conn, rows, on_progress)
                    if create:
                        report.created_customer_ids = rows.attrs.get("customers_created", [])
            except _Abort:
                pass
        if not problems:
            report.unchanged = report.rows - report.inserted - report.updated
    report.errors = problems.sorted()
    return report


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise UserError(N_("unknown kind {kind!r}; use one of {kinds}"), kind=kind,
                        kinds=", ".join(sorted(KINDS)))


class _Abort(Exception):
    """Rolls the write transaction back when the database look-ups found problems."""


__all__ = ["KINDS", "PROGRESS_MIN_ROWS", "import_file", "import_table"]
