"""The importer: customers, transactions and survey responses from CSV/TXT/TSV or XLSX files.

``import_file(engine, kind, path)`` reads a file as a spreadsheet user made it (GB18030 or UTF-8,
any of ``, ; tab |``, Chinese or English headers, Excel quirks), checks every cell and writes all
rows in one transaction, or nothing with a list of problems naming line, column, value and what
to do. See :func:`import_file` and :class:`ImportReport`.
"""

from patronage.storage.importing.loader import import_file
from patronage.storage.importing.report import ImportIssue, ImportReport

__all__ = ["ImportIssue", "ImportReport", "import_file"]
