"""Imports from a file uploaded on the import page: what the page offers, the columns it
explains, a header-only template to fill in, and :func:`import_upload`, which keeps the upload
in a temporary file of bounded size and runs :func:`patronage.storage.importing.import_file` on
it (the same checks, the same one transaction, the same report as ``patronage import``).

The columns are named on the page and in the template by labels in the reader's language
(:data:`FIELD_LABELS`, marked for the catalogs); each label, in every language, is one of the
header names the importer knows (:mod:`patronage.storage.importing.mapping`), so a template
filled in and uploaded again is read without any mapping.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine

from patronage.messages import N_, Term, UserError
from patronage.storage.importing.loader import import_file
from patronage.storage.importing.mapping import ALIASES, REQUIRED
from patronage.storage.importing.report import ImportIssue, ImportReport

#: What the import page imports (contacts, touchpoints, cases and members: the command line).
KINDS = ("customers", "transactions", "responses")
KIND_NAMES = {"customers": N_("Customers"), "transactions": N_("Transactions"),
              "responses": N_("Survey responses")}
#: File types the importer reads.
SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx")
#: The largest upload kept (a million rows of transactions is about 60 MB of CSV).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
_COPY_BLOCK = 1024 * 1024

#: Each field's name on the page and in the template, in the order of the template's columns.
#: Every label, translated, is a header the importer knows for the field (a test checks it).
FIELD_LABELS: dict[str, dict[str, str]] = {
    "customers": {
        "external_id": N_("Customer id"), "name": N_("Name"), "phone": N_("Phone"),
        "email": N_("E-mail"), "birthday": N_("Birthday"), "region": N_("Region"),
        "industry": N_("Industry"), "size": N_("Size"), "channel": N_("Channel"),
        "tier": N_("Tier"), "consent_survey": N_("Survey consent"),
        "consent_marketing": N_("Marketing consent"), "consent_care": N_("Care consent"),
    },
    "transactions": {
        "external_id": N_("Order number"), "customer": N_("Customer id"),
        "occurred_at": N_("Transaction date"), "amount": N_("Amount"), "cost": N_("Cost"),
        "product": N_("Product"), "category": N_("Category"), "channel": N_("Channel"),
        "is_refund": N_("Refund"), "refund_of": N_("Original order"),
    },
    "responses": {
        "external_id": N_("Response id"), "survey": N_("Survey code"), "wave": N_("Wave"),
        "customer": N_("Customer id"), "channel": N_("Channel"), "language": N_("Language"),
        "started_at": N_("Started at"), "submitted_at": N_("Submission time"),
        "weight": N_("Weight"),
    },
}


def fields_of(kind: str, gettext: Callable[[str], str]) -> list[tuple[str, bool]]:
    """``(label, required)`` of each column of ``kind``, labels in the language of
    ``gettext``."""
    return [(gettext(label), name in REQUIRED[kind])
            for name, label in FIELD_LABELS[kind].items()]


def template_csv(kind: str, gettext: Callable[[str], str]) -> bytes:
    """A CSV file with only the header line of ``kind``, in the language of ``gettext``: UTF-8
    with a byte-order mark, so that Excel opens Chinese headers as they are."""
    if kind not in KINDS:
        raise UserError(N_("Nothing to import as {kind!r}."), kind=kind)
    return ("\ufeff" + ",".join(gettext(label) for label in FIELD_LABELS[kind].values())
            + "\r\n").encode("utf-8")


def import_upload(engine: Engine, kind: str, name: str, stream: BinaryIO, *,
                  dry_run: bool = False, encoding: str | None = None,
                  sheet: str | None = None, date_order: str | None = None,
                  max_rows: int | None = None, create_customers: bool = False,
                  max_bytes: int = MAX_UPLOAD_BYTES) -> ImportReport:
    """Import ``kind`` from the uploaded file ``name`` read from ``stream`` (see
    :func:`patronage.storage.importing.import_file`; the report names the file as uploaded).
    Raises :class:`UserError` for an upload that cannot be imported: no file, a type the
    importer does not read, more than ``max_bytes``."""
    if kind not in KINDS:
        raise UserError(N_("Nothing to import as {kind!r}."), kind=kind)
    shown = Path(name or "").name
    if not shown:
        raise UserError(N_("Choose a file to import."))
    suffix = Path(shown).suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(N_("{name} is not a file the import reads: save it as .xlsx or .csv "
                           "and upload it again."), name=shown)
    # Kept under its own name (in a folder of its own), which the importer's messages quote.
    folder = Path(tempfile.mkdtemp(prefix="patronage-upload-"))
    path = folder / (shown if len(shown) <= 200 else f"upload{suffix}")
    try:
        with path.open("wb") as out:
            copied = _copy(stream, out, max_bytes)
        if copied == 0:
            raise UserError(N_("{name} is empty."), name=shown)
        report = import_file(engine, kind, path, dry_run=dry_run, encoding=encoding or None,
                             sheet=sheet or None, date_order=date_order or None,
                             max_rows=max_rows,
                             create_customers=create_customers and kind == "transactions")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report.file = shown
    report.errors = [_as_written(issue, kind) for issue in report.errors]
    return report


def _as_written(issue: ImportIssue, kind: str) -> ImportIssue:
    """The problem with its column as the file heads it: the importer adds the field a header
    maps to in brackets (``客户编号 (customer)``), a name the page does not use; a column the
    file lacks is named by the field's label (a :class:`Term`, shown in the reader's
    language)."""
    column = issue.column or ""
    if column in FIELD_LABELS[kind]:
        return replace(issue, column=Term(FIELD_LABELS[kind][column]))
    for name in ALIASES[kind]:
        if column.endswith(f" ({name})"):
            return replace(issue, column=column[: -len(name) - 3])
    return issue


def _copy(stream: BinaryIO, out: BinaryIO, max_bytes: int) -> int:
    copied = 0
    while block := stream.read(_COPY_BLOCK):
        copied += len(block)
        if copied > max_bytes:
            raise UserError(N_("The file is larger than {megabytes:,} MB, the most an upload "
                               "takes: split it, or import it with the command patronage "
                               "import."), megabytes=max_bytes // (1024 * 1024))
        out.write(block)
    return copied


__all__ = ["FIELD_LABELS", "KINDS", "KIND_NAMES", "MAX_UPLOAD_BYTES", "SUFFIXES", "fields_of",
           "import_upload", "template_csv"]

