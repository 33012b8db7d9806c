"""What an import did, in words a spreadsheet user can act on.

:class:`ImportReport` is returned by :func:`patronage.storage.importing.import_file`; its
:meth:`ImportReport.to_text` is what the ``patronage import`` command prints. :class:`Problems`
collects :class:`ImportIssue` objects from whole columns at once (boolean masks), so that checking
a million rows costs a few vectorised passes and only the bad rows become Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from patronage.messages import Message

#: How many problems :meth:`ImportReport.to_text` prints before summarising the rest.
MAX_PRINTED_PROBLEMS = 50
#: How much of a cell or header a problem shows; longer ones are cut, with their length.
MAX_SHOWN_CHARACTERS = 80
_MAX_MESSAGE_CHARACTERS = 600


def shorten(text: str, limit: int = MAX_SHOWN_CHARACTERS) -> str:
    """``text``, or its start and its length when longer than ``limit`` characters: a message
    names a 300 kB cell, it does not print it."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


@dataclass(frozen=True)
class ImportIssue:
    """One problem in the file.

    ``line`` is the line of the text file (the header is line 1) or the Excel row number;
    ``column`` names the column as written in the file, with the field it maps to in brackets
    when the two differ; ``value`` is the cell as read (``None`` when the problem is not about a
    cell, such as a missing column), cut to its first :data:`MAX_SHOWN_CHARACTERS` characters
    when longer, and then ``value_length`` is its whole length. ``message`` is a
    :class:`~patronage.messages.Message` (English text that a page shows translated) or plain
    English text.
    """

    line: int | None
    column: str | None
    value: str | None
    message: str
    value_length: int | None = None

    def to_text(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        head = ", ".join(where)
        if self.value is not None:
            shown = repr(self.value) if self.value_length is None else \
                f"{self.value!r}… ({self.value_length:,} characters)"
            head = f"{head}: {shown}" if head else shown
        return f"{head} — {self.message}" if head else self.message


@dataclass
class ImportReport:
    """The outcome of one import.

    ``rows`` is the number of data rows read (blank lines excluded); ``inserted``, ``updated``
    and ``unchanged`` count rows of the main table (customers, transactions or responses) and are
    all zero when nothing was written (a dry run or a file with problems). ``notes`` are
    conversions the user should know about (e.g. Excel serial dates) that are not errors.
    """

    kind: str
    file: str
    encoding: str | None = None
    delimiter: str | None = None
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[ImportIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    sheet: str | None = None
    new_rows: int | None = None
    created_customer_ids: list[str] = field(default_factory=list)

    @property
    def customers_created(self) -> int:
        """Bare customers created (``--create-customers``; would be created, on a dry run)."""
        return len(self.created_customer_ids)

    def _created_text(self) -> str | None:
        ids = self.created_customer_ids
        if not ids:
            return None
        shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5:,} more" if len(ids) > 5 else "")
        noun = "customer" if len(ids) == 1 else "customers"
        verb = "Would create" if self.dry_run else "Created"
        return (f"{verb} {len(ids):,} {noun} for customer ids not in the panel: {shown} (named "
                "by their id; add their profiles with patronage import customers).")

    @property
    def ok(self) -> bool:
        """True when the file had no problems."""
        return not self.errors

    def _source_text(self) -> str:
        if self.sheet is not None:
            return f"sheet {self.sheet!r}"
        parts = []
        if self.encoding is not None:
            parts.append(f"encoding {self.encoding}")
        if self.delimiter is not None:
            shown = "tab" if self.delimiter == "\t" else repr(self.delimiter)
            parts.append(f"delimiter {shown}")
        return ", ".join(parts)

    def to_text(self) -> str:
        """The report as printed by ``patronage import``."""
        source = self._source_text()
        noun = "row" if self.rows == 1 else "rows"
        lines = [f"Read {self.rows:,} {noun} from {self.file}"
                 + (f" ({source})." if source else ".")]
        lines.extend(f"Note: {note}" for note in self.notes)
        if self.errors:
            count = len(self.errors)
            lines.append(f"Nothing was written: {count:,} problem{'s' if count != 1 else ''}.")
            lines.extend(issue.to_text() for issue in self.errors[:MAX_PRINTED_PROBLEMS])
            if count > MAX_PRINTED_PROBLEMS:
                lines.append(f"... and {count - MAX_PRINTED_PROBLEMS:,} more")
        elif self.dry_run:
            detail = ""
            if self.new_rows is not None:
                detail = (f" {self.new_rows:,} new, {self.rows - self.new_rows:,} already in the "
                          "database.")
            lines.append(f"The file is valid; dry run: nothing written.{detail}")
        else:
            lines.append(f"Inserted {self.inserted:,}, updated {self.updated:,}, "
                         f"unchanged {self.unchanged:,}.")
        created = None if self.errors else self._created_text()
        if created:
            lines.append(created)
        return "\n".join(lines)


class Problems:
    """Collects issues for one file; ``lines`` maps row positions to file line numbers."""

    def __init__(self, lines: np.ndarray, labels: dict[str, str] | None = None) -> None:
        self.lines = np.asarray(lines)
        self.labels = dict(labels or {})
        self.issues: list[ImportIssue] = []

    def label(self, field_name: str) -> str:
        """The column as the user knows it: ``手机 (phone)``, or the field when they agree."""
        return shorten(self.labels.get(field_name, field_name))

    def add(self, line: int | None, column: str | None, value: object, message: str) -> None:
        shown = None if value is None or (isinstance(value, float) and np.isnan(value)) \
            else str(value)
        length = None
        if shown is not None and len(shown) > MAX_SHOWN_CHARACTERS:
            shown, length = shown[:MAX_SHOWN_CHARACTERS], len(shown)
        column = None if column is None else shorten(column)
        if not isinstance(message, Message) or len(message) > _MAX_MESSAGE_CHARACTERS:
            message = shorten(str(message), _MAX_MESSAGE_CHARACTERS)  # a translation is lost
        self.issues.append(ImportIssue(line, column, shown, message, length))

    def flag(self, mask, field_name: str | None, values, message) -> None:
        """Report every row where ``mask`` is true.

        ``values`` is the raw column (the cell shown to the user) and ``message`` a string or a
        Series of per-row messages (:class:`~patronage.messages.Message` objects are kept).
        """
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        positions = np.flatnonzero(mask)
        raw = np.asarray(values, dtype=object)[positions] if values is not None else None
        texts = (np.asarray(message, dtype=object)[positions]
                 if isinstance(message, (pd.Series, np.ndarray)) else None)
        column = self.label(field_name) if field_name is not None else None
        for k, pos in enumerate(positions):
            text = texts[k] if texts is not None else message
            self.add(int(self.lines[pos]), column, None if raw is None else raw[k], text)

    def sorted(self) -> list[ImportIssue]:
        return sorted(self.issues, key=lambda i: (i.line if i.line is not None else 0))

    def __bool__(self) -> bool:
        return bool(self.issues)


__all__ = ["ImportIssue", "ImportReport", "MAX_PRINTED_PROBLEMS", "MAX_SHOWN_CHARACTERS",
           "Problems", "shorten"]
