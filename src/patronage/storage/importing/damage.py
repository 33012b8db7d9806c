"""Damaged and hostile files: finding what is wrong and where, for :mod:`.reading`.

Each function looks for one kind of damage and returns what a message needs (a line number, a
size), or raises :class:`~patronage.messages.UserError` (a ValueError whose message a page shows
translated) with the message itself: a workbook that is not a zip of a workbook, that would
unpack to more than the bound or far more than its zipped size (a decompression bomb),
shared-string references outside the table, a text file whose lines mix UTF-8 and GB18030,
UTF-16 text without a byte-order mark, and quotes that are never closed or closed in the wrong
place.
"""

from __future__ import annotations

import re
import zipfile
from functools import cache
from pathlib import Path

from patronage.messages import N_, UserError

#: The most an XLSX file may unpack to, all parts together: Excel's own limit of 1,048,576 rows
#: of a few columns stays below it, a zip bomb (kilobytes that unpack to gigabytes) does not.
MAX_XLSX_UNZIPPED_BYTES = 1 << 30
#: A part of a workbook unpacking to more than this many times its zipped size, once over
#: :data:`_RATIO_FROM_BYTES`, is a zip bomb: a sheet of 200,000 identical rows zips 13 to 1.
MAX_XLSX_RATIO = 100
_RATIO_FROM_BYTES = 10_000_000
_EOF_IN_QUOTES = re.compile(r"EOF inside string starting at row (\d+)")


def check_xlsx_archive(path: Path, max_unzipped: int) -> None:
    """Refuse a file that is not a zip holding a workbook, or that unpacks to more than
    ``max_unzipped`` bytes. The sizes are the ones the zip states: Python's zipfile never
    unpacks more than a member states, and a member holding more is reported as damaged."""
    if path.stat().st_size == 0:
        raise UserError(N_("{file} is empty (0 bytes); save the workbook again from Excel"),
                        file=path.name)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise UserError(N_("cannot open {file}: it is not an Excel .xlsx workbook (not a zip "
                           "archive, as .xlsx files are); save it again from Excel as .xlsx, or "
                           "export it as CSV"), file=path.name) from None
    if not any(m.filename == "[Content_Types].xml" for m in members):
        raise UserError(N_("cannot open {file}: it is not an Excel .xlsx workbook (a zip "
                           "without a workbook in it); save it again from Excel as .xlsx, or "
                           "export it as CSV"), file=path.name)
    total = sum(m.file_size for m in members)
    if total > max_unzipped:
        raise UserError(N_(
            "{file} unpacks to more than {limit} ({size} from {zipped}), more than any workbook "
            "an import takes; split it or export it as CSV"), file=path.name,
            limit=_size(max_unzipped), size=_size(total), zipped=_size(path.stat().st_size))
    for member in members:
        if member.file_size > max(_RATIO_FROM_BYTES, MAX_XLSX_RATIO * member.compress_size):
            raise UserError(N_(
                "{file} is not read: its part {part} unpacks to {size} from {zipped} "
                "compressed, which no spreadsheet does (a zip bomb?); save it again from Excel, "
                "or export it as CSV"), file=path.name, part=member.filename[:80],
                size=_size(member.file_size), zipped=_size(member.compress_size))


def _size(count: int) -> str:
    return f"{count / 1e6:,.1f} MB" if count >= 100_000 else f"{count:,} bytes"


class StrictSharedStrings(list):
    """A workbook's shared-string table that refuses negative references: ``-1`` would
    otherwise silently read the last string."""

    def __getitem__(self, index):
        if isinstance(index, int) and index < 0:
            raise IndexError(f"shared string {index} does not exist")
        return super().__getitem__(index)


def damaged_sheet(file: str, sheet: str, row: int, exc: Exception) -> UserError:
    """The error for a sheet that openpyxl could not read past ``row - 1``."""
    detail = f"{type(exc).__name__}: {exc}"
    if len(detail) > 120:
        detail = detail[:120] + "…"
    return UserError(N_("{file} is damaged: row {row:,} of sheet {sheet!r} cannot be read "
                        "({detail}); open it in Excel and save it again, or export it as CSV"),
                     file=file, sheet=sheet, row=row, detail=detail)


# --- text -----------------------------------------------------------------------------------

def _utf8_text_line(line: bytes) -> bool:
    """Whether ``line`` (not ASCII) is UTF-8 Chinese text rather than GB18030 that happens to
    be valid UTF-8: it decodes as UTF-8 to CJK ideographs and punctuation only, and read as
    GB18030 it is not plain GB2312 (which the common characters of GB18030 files are)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if not all(c.isascii() or "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f"
               or "\uff00" <= c <= "\uffef" for c in text):
        return False
    try:
        line.decode("gb18030").encode("gb2312")
    except UnicodeError:
        return True
    return False


@cache
def _byte_classes() -> bytes:
    """A ``bytes.translate`` table: ASCII -> ``a``, UTF-8 continuation bytes -> ``c``, leads
    of CJK characters and punctuation (U+3000-U+9FFF, U+FF00-U+FFFF) -> ``L``, others ``x``."""
    table = bytearray(b"x" * 256)
    table[:0x80] = b"a" * 0x80
    table[0x0A] = 0x0A
    table[0x80:0xC0] = b"c" * 0x40
    for lead in (0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEF):
        table[lead] = ord("L")
    return bytes(table)


_CANDIDATE_LINE = re.compile(rb"^a*L[acL]*$", re.MULTILINE)


def mixed_encoding(raw: bytes, not_utf8_at: int) -> tuple[int, int] | None:
    """``(utf8_line, other_line)`` when a file that is not UTF-8 (the first offending byte at
    ``not_utf8_at``) still has lines of UTF-8 Chinese text; None when it does not. Lines are
    picked by their byte classes first (a regular expression, 0.5 s a million lines), then
    checked one by one."""
    other = raw.count(b"\n", 0, not_utf8_at) + 1
    for found in _CANDIDATE_LINE.finditer(raw.translate(_byte_classes())):
        if _utf8_text_line(raw[found.start(): found.end()]):
            return raw.count(b"\n", 0, found.start()) + 1, other
    return None


def utf16_without_bom(raw: bytes) -> str | None:
    """``"utf-16-le"`` or ``"utf-16-be"`` when ``raw`` looks like UTF-16 text without a
    byte-order mark (a NUL next to most ASCII characters), else None."""
    sample = raw[:4096]
    if len(sample) < 4 or sample.count(0) < len(sample) // 4:
        return None
    odd, even = sample[1::2].count(0), sample[0::2].count(0)
    return "utf-16-le" if odd > even else "utf-16-be"


def eof_in_quotes_record(message: str) -> int | None:
    """The record (0 = header) pandas names in an "EOF inside string" error, else None."""
    found = _EOF_IN_QUOTES.search(message)
    return int(found.group(1)) if found else None


def misplaced_closing_quote(record: str, delimiter: str) -> int | None:
    """Offset in ``record`` (the physical lines of one CSV record) of a closing quote followed
    by more text before the next delimiter (``"a"b``), which happens when an opening quote was
    never closed and a later quote closes it; None when the quotes are in order."""
    n, i, at_start = len(record), 0, True
    while i < n:
        c = record[i]
        if c == '"' and at_start:
            end = i + 1
            while True:
                end = record.find('"', end)
                if end < 0:
                    return None  # runs to the end of the record: pandas reports it itself
                if record.startswith('""', end):
                    end += 2
                    continue
                break
            after = end + 1
            while after < n and record[after] == " ":
                after += 1
            if after < n and record[after] not in (delimiter, "\n", "\r"):
                return end
            i, at_start = after, False
            continue
        if c == delimiter or c == "\n":
            at_start = True
        elif not (c == " " and at_start):
            at_start = False
        i += 1
    return None


__all__ = ["MAX_XLSX_UNZIPPED_BYTES", "StrictSharedStrings", "check_xlsx_archive",
           "damaged_sheet", "eof_in_quotes_record", "misplaced_closing_quote", "mixed_encoding",
           "utf16_without_bom"]
