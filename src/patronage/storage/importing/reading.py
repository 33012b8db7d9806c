"""Reading CSV/TXT/TSV and XLSX files into a frame of stripped strings.

Text files: the encoding is the one given, else found from a byte-order mark (UTF-8, UTF-16 LE/BE),
else strict UTF-8, else GB18030 (a superset of GBK, the default of Chinese Excel). The delimiter is
sniffed among ``, ; tab |`` by counting fields on the first lines with a quote-aware reader: the
delimiter giving the header several fields and the most lines with that same number of fields
wins. Cells are read as text (no type guessing); a cell starting with ``=`` is text too.

XLSX files are opened with openpyxl in read-only mode without evaluating anything: a formula cell
(``=1+1``, ``=HYPERLINK(...)``) is refused, date cells become ISO text and numbers become their
digits. Every row keeps its line number (header = line 1) or Excel row number for messages.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd

from patronage.messages import N_, Message, UserError
from patronage.storage.importing.damage import (
    MAX_XLSX_UNZIPPED_BYTES, StrictSharedStrings, check_xlsx_archive, damaged_sheet,
    eof_in_quotes_record, misplaced_closing_quote, mixed_encoding, utf16_without_bom)
from patronage.storage.importing.report import shorten

DELIMITERS = (",", ";", "\t", "|")
#: The widest header a file may have (a 1 MB line of commas made a 200,000-column frame).
MAX_COLUMNS = 1_000
_SAMPLE_BYTES = 64 * 1024
_SCAN_BLOCK = 1 << 22  # characters per block when looking for whitespace to strip
_UNICODE_SPACES = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u1680",
                   *(chr(c) for c in range(0x2000, 0x200B)), "\u2028", "\u2029", "\u202f",
                   "\u205f", "\u3000")
_BAD_LINE = re.compile(r"Skipping line (\d+): expected (\d+) fields?, saw (\d+)")
FORMULA = Message(N_("formula cells are not imported; paste values (in Excel: Copy, then Paste "
                     "Special > Values)"))
EXCEL_ERROR = Message(N_("the cell shows an Excel error, not a value; correct it in Excel and save "
                         "again"))
RIGHT_OF_HEADER = Message(N_("this row has cells to the right of the last header; give those "
                             "columns a header or delete them"))


@dataclass
class Table:
    """A file's cells: ``frame`` has one column per header (strings, NaN for blank cells) and
    ``lines`` the file line / Excel row of each frame row. ``problems`` are (line, column, value,
    message) tuples found while reading; ``formula_cells`` maps a column to the frame rows whose
    XLSX formula or error cell (``#N/A``) was refused (left blank, and already reported);
    ``line_breaks`` maps a column to the frame rows whose cell holds a line break."""

    frame: pd.DataFrame
    lines: np.ndarray
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    problems: list[tuple[int, str | None, str | None, str]] = field(default_factory=list)
    truncated: bool = False
    formula_cells: dict[str, list[int]] = field(default_factory=dict)
    line_breaks: dict[str, np.ndarray] = field(default_factory=dict)


def decode(raw: bytes, encoding: str | None) -> tuple[str, str]:
    """``(text, encoding name)`` of the bytes of a text file."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UserError(N_("unknown encoding {encoding!r}; try utf-8, gb18030 or utf-16"),
                            encoding=encoding) from None
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise UserError(N_("the file is not valid {encoding} (byte {byte}); try another "
                               "encoding or leave it out to detect it"), encoding=encoding,
                            byte=exc.start) from None
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                      (codecs.BOM_UTF16_BE, "utf-16-be")):
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(name.replace("-sig", "")), name
            except UnicodeDecodeError:
                raise UserError(N_("the file starts with a {encoding} byte-order mark but is "
                                   "not valid {encoding}; save it again as UTF-8"),
                                encoding=name) from None
    wide = utf16_without_bom(raw)
    if wide is not None:
        raise UserError(N_("the file looks like UTF-16 text without a byte-order mark; pass "
                           "--encoding {encoding}, or save it again as UTF-8"), encoding=wide)
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        not_utf8_at = exc.start
    mixed = mixed_encoding(raw, not_utf8_at)
    if mixed is not None:
        raise UserError(N_("the file mixes text encodings: line {utf8_line:,} is UTF-8 but line "
                           "{other_line:,} is not (GB18030/GBK, as Chinese Excel saves it?); save "
                           "the whole file again in one encoding (Excel: Save As > CSV UTF-8)"),
                        utf8_line=mixed[0], other_line=mixed[1])
    try:
        return raw.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise UserError(N_("cannot tell the file's text encoding (not UTF-8, UTF-16 or "
                           "GB18030); save it as UTF-8 or pass the encoding")) from None


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a text sample (its first lines); ``,`` when nothing else fits."""
    sample = sample.replace("\r\n", "\n").replace("\r", "\n")
    cut = sample.rfind("\n")
    lines = sample[: cut if cut > 0 else len(sample)]
    best, best_score = ",", (-1.0, 0)
    for delimiter in DELIMITERS:
        try:
            records = [r for r in csv.reader(io.StringIO(lines), delimiter=delimiter) if r][:50]
        except csv.Error:
            continue
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        agree = sum(len(r) == width for r in records) / len(records)
        score = (agree, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip each cell; blank or whitespace-only cells become NaN."""
    out = {}
    for name in frame.columns:
        column = frame[name].str.strip()
        out[name] = column.where(column.str.len() > 0)
    return pd.DataFrame(out, index=frame.index)


def _headers(raw: list[str], problems: list) -> tuple[list[str], list[int]]:
    """Clean header names and the positions of the columns to keep (first of duplicates)."""
    seen: dict[str, int] = {}
    names, keep = [], []
    for position, header in enumerate(raw):
        name = (header or "").strip().lstrip("\ufeff") or f"column {position + 1}"
        if name in seen:
            problems.append((1, name, None, Message(N_(
                "column {column!r} appears twice (columns {first} and {second}); keep one of "
                "them"), column=shorten(name), first=seen[name] + 1, second=position + 1)))
            continue
        seen[name] = position
        names.append(name)
        keep.append(position)
    return names, keep


def read_text(path: Path, *, encoding: str | None, max_rows: int | None) -> Table:
    raw = path.read_bytes()
    if not raw.strip():
        raise _empty(path)
    text, encoding_name = decode(raw, encoding)
    # pandas' parser reads UTF-8 bytes: give it the file's own bytes rather than the text to
    # encode again.
    source = io.BytesIO(raw[len(codecs.BOM_UTF8):] if encoding_name == "utf-8-sig" else raw) \
        if encoding_name in ("utf-8", "utf-8-sig") else io.StringIO(text)
    del raw
    if not text or text.isspace():
        raise _empty(path)
    if "\r" in text and "\n" not in text:  # old Mac line ends: a CR alone ends each line
        text = text.replace("\r", "\n")
        source = io.StringIO(text)
    delimiter = sniff_delimiter(text[:_SAMPLE_BYTES])
    end = text.find("\n")  # the whole header line, however long
    head = text if end < 0 else text[: max(_SAMPLE_BYTES, end + 1)]
    try:
        first_record = next(csv.reader(io.StringIO(head), delimiter=delimiter), [])
    except csv.Error:  # a header cell over csv's field size limit
        first_record = head.splitlines()[0].split(delimiter)
    if not any(cell.strip() for cell in first_record):
        raise UserError(N_("the first line is blank; the file needs a header line"))
    if len(first_record) > MAX_COLUMNS:
        raise UserError(N_("the header line has {count:,} columns; a file may have at most "
                           "{limit:,}"), count=len(first_record), limit=MAX_COLUMNS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame = pd.read_csv(
                source, sep=delimiter, header=None, names=list(range(len(first_record))),
                dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True,
                skip_blank_lines=False, index_col=False, on_bad_lines="warn",
                nrows=None if max_rows is None else max_rows + 2, engine="c",
            )
        except pd.errors.ParserError as exc:
            raise _unreadable_text(exc, source, delimiter) from None
    physical_lines = text.count("\n") + (not text.endswith("\n"))
    needs_strip = _needs_strip(text, delimiter)
    has_nul = "\x00" in text
    multiline = physical_lines != len(frame)
    physical = text.split("\n") if multiline else None
    del text, source
    problems: list = []
    names, keep = _headers([str(v) for v in frame.iloc[0].fillna("")], problems)
    bad = []
    for warning in caught:
        bad.extend(tuple(int(g) for g in m.groups())
                   for m in _BAD_LINE.finditer(str(warning.message)))
    multiline = physical_lines != len(frame) + len(bad)
    lines, bad_lines = _line_numbers(frame, [record for record, _, _ in bad], multiline)
    if multiline and physical is not None:
        problems.extend(_quote_problems(frame, lines, physical, delimiter))
    del physical
    for line, (_, expected, saw) in zip(bad_lines, bad):
        problems.append((line, None, None, _wrong_width(saw, expected, delimiter)))
    lines = lines[1:]
    frame = frame.iloc[1:, keep]
    frame.columns = names
    if needs_strip:
        frame = _clean(frame)
    frame, lines = _drop_blank_rows(frame, lines)
    if has_nul:
        problems.extend(_nul_problems(frame, lines))
    table = Table(frame, lines, encoding=encoding_name, delimiter=delimiter, problems=problems,
                  line_breaks=_line_break_cells(frame) if multiline else {})
    return _limit(table, max_rows)


def _line_break_cells(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Column -> the rows whose cell holds a line break (only columns that have one)."""
    found = {}
    for name in frame.columns:
        hit = frame[name].str.contains("[\r\n]", regex=True, na=False).to_numpy(dtype=bool)
        if hit.any():
            found[name] = np.flatnonzero(hit)
    return found


_NUL = Message(N_("the cell holds a NUL character (an invisible control character a broken "
                  "export leaves); delete it, or export the file again"))


def _nul_problems(frame: pd.DataFrame, lines: np.ndarray) -> list:
    """A problem for every header and cell holding a NUL character, which no database stores
    as text (PostgreSQL refuses it; SQLite would cut the text short)."""
    problems = [(1, name, name, _NUL) for name in frame.columns if "\x00" in name]
    for name in frame.columns:
        column = frame[name]
        hit = column.str.contains("\x00", regex=False, na=False).to_numpy(dtype=bool)
        problems.extend((int(lines[pos]), name, column.iloc[pos], _NUL)
                        for pos in np.flatnonzero(hit))
    return problems


def _unreadable_text(exc: Exception, source, delimiter: str) -> UserError:
    """The error for a text file pandas cannot tokenise: a quote never closed names its line."""
    record = eof_in_quotes_record(str(exc))
    if record is None:
        return UserError(N_("the file cannot be read as delimited text ({detail}); save it "
                            "again as CSV"), detail=str(exc)[:200])
    line = record + 1
    if record > 0:  # the records before it may hold quoted line breaks
        source.seek(0)
        before = pd.read_csv(source, sep=delimiter, header=None, dtype=str, nrows=record,
                             keep_default_na=False, skip_blank_lines=False, index_col=False,
                             on_bad_lines="skip", engine="c")
        line += int(sum(before[c].str.count("\n").sum() for c in before.columns))
    return UserError(N_('line {line:,}: a quote (") opens a value that is never closed, so the '
                        "rest of the file would be read into one cell; close the quote, or "
                        'write a quote inside a value as two ("")'), line=line)


def _quote_problems(frame: pd.DataFrame, lines: np.ndarray, physical: list[str],
                    delimiter: str) -> list:
    """Records spanning lines whose closing quote is followed by more text: a quote left open
    that a later quote closed, running the lines between into one cell."""
    problems = []
    spans = np.zeros(len(frame), dtype=np.int64)
    for name in frame.columns:
        spans += frame[name].str.count("\n").fillna(0).to_numpy(dtype=np.int64)
    for pos in np.flatnonzero(spans):
        first = int(lines[pos])
        record = "\n".join(physical[first - 1: first + int(spans[pos])])
        offset = misplaced_closing_quote(record, delimiter)
        if offset is not None:
            last = first + record.count("\n", 0, offset)
            problems.append((first, None, None, Message(N_(
                'a quote (") opened on line {first:,} closes only on line {last:,}, and text '
                "follows it there, so lines {first:,}-{last:,} were read as one cell; close the "
                'quote on its own line, or write a quote inside a value as two ("")'),
                first=first, last=last)))
    return problems


def _wrong_width(saw: int, expected: int, delimiter: str) -> Message:
    if delimiter == "\t":
        return Message(N_("this line has {saw} cells but the header has {expected}; check for an "
                          "unquoted tab in a value"), saw=saw, expected=expected)
    return Message(N_("this line has {saw} cells but the header has {expected}; check for an "
                      "unquoted {delimiter!r} in a value"), saw=saw, expected=expected,
                   delimiter=delimiter)


def _empty(path: Path) -> UserError:
    return UserError(N_("{file} is empty; it needs a header line and data rows"), file=path.name)


def _needs_strip(text: str, delimiter: str) -> bool:
    """Whether any cell may keep whitespace after pandas' ``skipinitialspace``: a space or tab
    before a delimiter, line end or quote, a space after a quote, a tab starting a cell, a
    blank at either end of the file, or Unicode spaces. Looks only at the characters next to
    each blank (numpy over the UTF-8 bytes).
    """
    if text[:1] in (" ", "\t") or text[-1:] in (" ", "\t"):
        return True
    if not text.isascii() and any(space in text for space in _UNICODE_SPACES):
        return True
    delim, space, tab, quote = (ord(c) for c in (delimiter, " ", "\t", '"'))
    # Blocks of characters overlapping by one, so that every pair of neighbours is seen.
    for start in range(0, len(text), _SCAN_BLOCK):
        data = np.frombuffer(text[start: start + _SCAN_BLOCK + 1].encode("utf-8"), np.uint8)
        blank = data == space
        if delim != tab:
            blank |= data == tab
        blanks = np.flatnonzero(blank)
        after = blanks[blanks + 1 < len(data)]  # the last one is the next block's first
        if np.isin(data[after + 1], (delim, 10, 13, quote)).any():
            return True
        if (data[blanks[blanks > 0] - 1] == quote).any():
            return True
        if delim != tab:
            tabs = np.flatnonzero(data == tab)
            if np.isin(data[tabs[tabs > 0] - 1], (delim, 10)).any():
                return True
    return False


def _line_numbers(frame: pd.DataFrame, skipped: list[int], multiline: bool
                  ) -> tuple[np.ndarray, list[int]]:
    """Physical line numbers of the frame's rows and of the skipped records.

    pandas numbers records; a quoted cell spanning lines makes later records start further down
    the file, so the newlines inside cells are added back (only looked for when the file has
    more lines than records).
    """
    n = len(frame)
    records = np.arange(1, 1 + n + len(skipped))
    if skipped:
        records = records[~np.isin(records, skipped)]
    records = records[:n]
    newlines = np.zeros(n, dtype=np.int64)
    for name in frame.columns if multiline else ():
        column = frame[name]
        if column.str.contains("\n", regex=False).any():
            newlines += column.str.count("\n").fillna(0).to_numpy(dtype=np.int64)
    if not newlines.any():
        return records, skipped
    before = np.concatenate([[0], np.cumsum(newlines)])
    skipped_lines = [int(s + before[np.searchsorted(records, s)]) for s in skipped]
    return records + before[:-1], skipped_lines


def _drop_blank_rows(frame: pd.DataFrame, lines: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    if not len(frame.columns):
        return frame.iloc[0:0], lines[:0]
    # Only a row blank in the first column can be blank; look at the others for those rows only.
    filled = frame.iloc[:, 0].notna().to_numpy(copy=True)
    if not filled.all():
        suspects = np.flatnonzero(~filled)
        filled[suspects] = frame.iloc[suspects].notna().any(axis=1).to_numpy()
    if filled.all():
        return frame.reset_index(drop=True), lines
    return frame[filled].reset_index(drop=True), lines[filled]


def _limit(table: Table, max_rows: int | None) -> Table:
    if max_rows is not None and len(table.frame) > max_rows:
        line = int(table.lines[max_rows])
        table.frame = table.frame.iloc[:max_rows]
        table.lines = table.lines[:max_rows]
        table.truncated = True
        table.problems.append((line, None, None, Message(N_(
            "the file has more than {max_rows:,} data rows, the most one import takes; split "
            "the file into smaller files or raise PATRONAGE_IMPORT_MAX_ROWS"),
            max_rows=max_rows)))
    return table


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds") if value.time() != time() \
            else value.date().isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def read_xlsx(path: Path, *, sheet: str | None, max_rows: int | None,
              max_unzipped_bytes: int = MAX_XLSX_UNZIPPED_BYTES) -> Table:
    import openpyxl

    check_xlsx_archive(path, max_unzipped_bytes)
    # Opened here so that the file is closed however openpyxl fails.
    with open(path, "rb") as handle:
        try:
            workbook = openpyxl.load_workbook(handle, read_only=True, data_only=False)
        except Exception as exc:  # zipfile.BadZipFile, KeyError, XML errors, entity bombs...
            detail = f"{type(exc).__name__}: {str(exc)[:120]}"
            raise UserError(N_("cannot open {file} as an Excel .xlsx workbook ({detail}); save "
                               "it again from Excel as .xlsx or export it as CSV"),
                            file=path.name, detail=detail) from None
        return _read_workbook(workbook, sheet, max_rows, path.name)


def _read_workbook(workbook, sheet: str | None, max_rows: int | None, file: str) -> Table:
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            names = workbook.sheetnames
            shown = ", ".join(repr(shorten(s, 40)) for s in names[:10])
            if len(names) > 10:
                raise UserError(N_("no sheet named {sheet!r}; the workbook has {sheets} and "
                                   "{more:,} more"), sheet=shorten(sheet), sheets=shown,
                                more=len(names) - 10)
            raise UserError(N_("no sheet named {sheet!r}; the workbook has {sheets}"),
                            sheet=shorten(sheet), sheets=shown)
        worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
        if isinstance(getattr(worksheet, "_shared_strings", None), list):
            # openpyxl's read-only sheet reads cells through this private table.
            worksheet._shared_strings = StrictSharedStrings(worksheet._shared_strings)
        return _read_sheet(worksheet, max_rows, file)
    finally:
        workbook.close()


#: Excel's last row; a sheet claiming rows beyond it is damaged or made to be slow (openpyxl
#: fills every missing row up to the next one it finds).
EXCEL_ROWS = 1_048_576
#: How far down the sheet the header may start.
HEADER_SEARCH_ROWS = 100
#: Cells this many columns right of the last header are still looked at (and refused); further
#: right they are not read, so that one far cell (XFD1) does not make every row 16,384 wide.
_EXTRA_COLUMNS = 16


def _checked_rows(worksheet, file: str, first: int = 1, **bounds):
    """The sheet's rows from row ``first`` (``iter_rows`` ``bounds``: ``max_row``,
    ``max_col``); a row openpyxl cannot read (a shared string that does not exist, XML that
    breaks off) is a UserError naming the row."""
    rows = worksheet.iter_rows(min_row=first, **bounds)
    number = first - 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as exc:
            raise damaged_sheet(file, worksheet.title, number + 1, exc) from None
        number += 1
        yield row


def _watch_far_cells(worksheet, max_col: int) -> set[int]:
    """The rows (filled in as the sheet is read) holding a value right of ``max_col``, which
    ``iter_rows(max_col=...)`` leaves out: openpyxl's read-only sheet builds each row with its
    private ``_get_row``, which sees the row's cells before they are cut."""
    far: set[int] = set()
    build = getattr(worksheet, "_get_row", None)
    if build is None:
        return far

    def watched(row, min_col=1, max_col=None, values_only=False):
        if max_col is not None:
            for cell in row:
                if cell["column"] > max_col and cell["value"] not in (None, ""):
                    far.add(cell["row"])
                    break
        return build(row, min_col, max_col, values_only)

    worksheet._get_row = watched
    return far


def _trimmed(row: tuple) -> tuple:
    """``row`` without its trailing empty cells."""
    end = len(row)
    while end and row[end - 1].value in (None, ""):
        end -= 1
    return row[:end]


def _read_sheet(worksheet, max_rows: int | None, file: str = "the workbook") -> Table:
    from openpyxl.cell.read_only import EMPTY_CELL

    problems: list = []
    formulas: dict[str, list[int]] = {}
    header, header_row = None, 0
    for number, row in enumerate(_checked_rows(worksheet, file, max_row=HEADER_SEARCH_ROWS,
                                               max_col=MAX_COLUMNS + 1), start=1):
        if any(cell.value not in (None, "") for cell in row):
            header, header_row = row, number
            break
    if header is None:
        raise UserError(N_("sheet {sheet!r} has no header in its first {rows} rows; it needs "
                           "a header row at the top"), sheet=worksheet.title,
                        rows=HEADER_SEARCH_ROWS)
    header = _trimmed(header)
    if len(header) > MAX_COLUMNS:
        raise UserError(N_("sheet {sheet!r} has more than {limit:,} columns in its header "
                           "(row {row}); a file may have at most {limit:,}"),
                        sheet=worksheet.title, limit=MAX_COLUMNS, row=header_row)
    names, keep = _headers([_cell_text(c.value) or "" for c in header], problems)
    # Header positions are relative to the header row; shift line numbers to the sheet's rows.
    problems = [(header_row, col, val, msg) for _, col, val, msg in problems]
    data, lines = [], []
    limit = None if max_rows is None else max_rows + 1
    width = len(header) + _EXTRA_COLUMNS
    far = _watch_far_cells(worksheet, width)
    rows = _checked_rows(worksheet, file, header_row + 1, max_row=EXCEL_ROWS + 1,
                         max_col=width)
    blank = None
    for number, row in enumerate(rows, start=header_row + 1):
        if number > EXCEL_ROWS:
            raise UserError(N_("{file} is damaged: sheet {sheet!r} has rows beyond Excel's "
                               "last row ({rows:,}); save it again from Excel, or export it as "
                               "CSV"), file=file, sheet=worksheet.title, rows=EXCEL_ROWS)
        if number in far:
            problems.append((number, None, None, RIGHT_OF_HEADER))
        if row is blank:  # openpyxl fills each missing row with one same tuple: skip fast
            continue
        if all(cell is EMPTY_CELL for cell in row):
            blank = row
            continue
        cells = []
        for position in keep:
            cell = row[position] if position < len(row) else None
            if cell is None or cell.value is None:
                cells.append(None)
            elif cell.data_type in ("f", "e"):
                name = names[keep.index(position)]
                problems.append((number, name, str(cell.value),
                                 FORMULA if cell.data_type == "f" else EXCEL_ERROR))
                formulas.setdefault(name, []).append(len(data))
                cells.append(None)
            else:
                cells.append(_cell_text(cell.value))
        if any(c is not None for c in cells):
            data.append(cells)
            lines.append(number)
        if number not in far and any(c.value not in (None, "") for c in row[len(header):]):
            problems.append((number, None, None, RIGHT_OF_HEADER))
        if limit is not None and len(data) >= limit:
            break
    frame = pd.DataFrame(data, columns=names, dtype=object) if data else \
        pd.DataFrame({n: pd.Series([], dtype=object) for n in names})
    frame = _clean(frame.astype("str").where(frame.notna())) if data else frame
    table = Table(frame, np.asarray(lines, dtype=np.int64), sheet=worksheet.title,
                  problems=problems, formula_cells=formulas,
                  line_breaks=_line_break_cells(frame) if data else {})
    return _limit(table, max_rows)


def read_table(path, *, encoding: str | None = None, sheet: str | None = None,
               max_rows: int | None = None,
               max_unzipped_bytes: int = MAX_XLSX_UNZIPPED_BYTES) -> Table:
    """Read ``path`` (CSV/TXT/TSV or XLSX); :class:`~patronage.messages.UserError` (a
    ValueError) for files that cannot be read at all.

    ``max_unzipped_bytes`` bounds what an XLSX file may unpack to (a zip bomb is refused
    before anything is unpacked)."""
    path = Path(path)
    if not path.exists():
        raise UserError(N_("file not found: {path}"), path=str(path))
    if not path.is_file():
        raise UserError(N_("not a file: {path}"), path=str(path))
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path, sheet=sheet, max_rows=max_rows,
                         max_unzipped_bytes=max_unzipped_bytes)
    if suffix == ".xls":
        raise UserError(N_("old .xls workbooks are not supported; save the file as .xlsx or "
                           "CSV"))
    return read_text(path, encoding=encoding, max_rows=max_rows)


__all__ = ["DELIMITERS", "EXCEL_ERROR", "FORMULA", "MAX_COLUMNS", "MAX_XLSX_UNZIPPED_BYTES",
           "Table", "decode", "read_table", "read_text", "read_xlsx",
           "sniff_delimiter"]
