"""The panel as Parquet files: the exchange format of the analysis engines (issue 16).

``export_parquet`` writes the tables the analyses read (customers, transactions, surveys,
waves, responses, answers, touchpoints, cases) with their stored columns, one folder per table; transactions are partitioned by the
year and month of ``occurred_at`` (hive layout, ``transactions/year=2025/month=3/part-0.parquet``)
so an engine reads only the months it needs. Rows are streamed from the database in chunks and
written as they come: the export never holds a table in memory. JSON columns are written as
their JSON text; money is written as a double (the database keeps cents).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import JSON, Boolean, Date, DateTime, Engine, Float, Integer, Numeric, select

from patronage.storage.schema import (
    answers, cases, customers, responses, surveys, touchpoints, transactions, waves,
)

__all__ = ["EXPORTED_TABLES", "ExportReport", "arrow_schema", "export_parquet", "footer_max",
           "read_parquet_table"]

#: The tables written by :func:`export_parquet`, in that order.
EXPORTED_TABLES = (customers, transactions, surveys, waves, responses, answers, touchpoints,
                   cases)
_CHUNK_ROWS = 50_000


@dataclass
class ExportReport:
    """What an export wrote: rows and files per table."""

    folder: Path
    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [f"{name}: {self.rows[name]:,} rows in {self.files[name]} file(s)"
                for name in self.rows]


def _arrow_type(column) -> pa.DataType:
    kind = column.type
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Integer):
        return pa.int64()
    if isinstance(kind, (Numeric, Float)):
        return pa.float64()
    if isinstance(kind, DateTime):
        return pa.timestamp("us")
    if isinstance(kind, Date):
        return pa.date32()
    return pa.string()  # String, Text, JSON (as its text)


def arrow_schema(table) -> pa.Schema:
    """The Arrow schema of a stored table: one field per column, nullable as in the database."""
    return pa.schema([pa.field(c.name, _arrow_type(c), nullable=c.nullable)
                      for c in table.columns])


def _batch(table, schema: pa.Schema, rows) -> pa.RecordBatch:
    columns = []
    for index, column in enumerate(table.columns):
        values = [row[index] for row in rows]
        if isinstance(column.type, JSON):
            values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
        elif isinstance(column.type, (Numeric, Float)):
            values = [None if v is None else float(v) for v in values]
        columns.append(pa.array(values, type=schema.field(index).type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _chunks(engine: Engine, table, order_by, chunk_rows: int):
    query = select(*table.columns).order_by(*order_by)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(query)
        yield from result.partitions(chunk_rows)


def _export_flat(engine: Engine, table, folder: Path, chunk_rows: int) -> tuple[int, int]:
    schema = arrow_schema(table)
    folder.mkdir(parents=True, exist_ok=True)
    rows = 0
    with pq.ParquetWriter(folder / "part-0.parquet", schema) as writer:
        for chunk in _chunks(engine, table, list(table.primary_key.columns), chunk_rows):
            writer.write_batch(_batch(table, schema, chunk))
            rows += len(chunk)
        if rows == 0:
            writer.write_table(schema.empty_table())
    return rows, 1


def _export_by_month(engine: Engine, folder: Path, chunk_rows: int) -> tuple[int, int]:
    """Transactions in occurred_at order: one open file at a time, one per (year, month)."""
    table = transactions
    schema = arrow_schema(table)
    at = list(table.columns).index(table.c.occurred_at)
    folder.mkdir(parents=True, exist_ok=True)
    writer, current, rows, files = None, None, 0, 0
    try:
        for chunk in _chunks(engine, table, [table.c.occurred_at, table.c.id], chunk_rows):
            start = 0
            while start < len(chunk):
                month = (chunk[start][at].year, chunk[start][at].month)
                stop = start
                while stop < len(chunk) and (chunk[stop][at].year,
                                             chunk[stop][at].month) == month:
                    stop += 1
                if month != current:
                    if writer is not None:
                        writer.close()
                    part = folder / f"year={month[0]}" / f"month={month[1]}"
                    part.mkdir(parents=True, exist_ok=True)
                    writer, current, files = pq.ParquetWriter(part / "part-0.parquet",
                                                              schema), month, files + 1
                writer.write_batch(_batch(table, schema, chunk[start:stop]))
                rows += stop - start
                start = stop
    finally:
        if writer is not None:
            writer.close()
    return rows, files


def export_parquet(engine: Engine, folder, *, chunk_rows: int = _CHUNK_ROWS) -> ExportReport:
    """Write customers, transactions (by year/month), surveys, waves, responses, answers,
    touchpoints and cases under ``folder``.

    ``folder`` must be empty or not exist yet, so an export never mixes with an older one.
    """
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValueError(f"{folder} is not an empty folder: choose a new folder for the export "
                         "(an export never mixes with older files)")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be a positive number of rows")
    report = ExportReport(folder=folder)
    for table in EXPORTED_TABLES:
        if table is transactions:
            rows, files = _export_by_month(engine, folder / table.name, chunk_rows)
        else:
            rows, files = _export_flat(engine, table, folder / table.name, chunk_rows)
        report.rows[table.name], report.files[table.name] = rows, files
    return report


def read_parquet_table(folder, name: str) -> pa.Table:
    """One exported table read back whole (for checks and small panels), partition columns
    of the transactions dropped so the columns are the stored ones."""
    path = Path(folder) / name
    if not path.is_dir():
        raise ValueError(f"{path} does not exist: is {folder} a folder written by "
                         "`patronage export parquet`?")
    table = next(t for t in EXPORTED_TABLES if t.name == name)
    files = sorted(path.rglob("*.parquet"))
    return pa.concat_tables([pq.read_table(f, schema=arrow_schema(table)) for f in files]) \
        if files else arrow_schema(table).empty_table()


def footer_max(files, column: str):
    """The largest value of the timestamp ``column`` (without time zone) in the Parquet
    ``files`` (paths or ``file:`` URIs), from the statistics in their footers: no data is read;
    None when there are no values. A ``LookupError`` when that cannot be known so (a file not
    on this machine, a row group without statistics, a time zone): then ask an engine."""
    latest = None
    for name in files:
        text = str(name)
        if "://" in text or text.startswith("file:"):
            parts = urlparse(text)
            if parts.scheme != "file":
                raise LookupError(f"{text} is not a local file")
            text = unquote(parts.path)
        try:
            metadata = pq.ParquetFile(text).metadata
        except (OSError, pa.ArrowException) as error:
            raise LookupError(str(error)) from error
        names = [metadata.schema.column(i).path for i in range(metadata.num_columns)]
        if column not in names:
            raise LookupError(f"{text} has no column {column}")
        index = names.index(column)
        for group in range(metadata.num_row_groups):
            chunk = metadata.row_group(group).column(index)
            stats = chunk.statistics
            if stats is not None and stats.has_min_max:
                value = stats.max
                if not isinstance(value, datetime) or value.tzinfo is not None:
                    raise LookupError(f"{column} of {text} is not a timestamp without time zone")
                latest = value if latest is None else max(latest, value)
            elif chunk.num_values and (stats is None or stats.null_count != chunk.num_values):
                raise LookupError(f"{column} of {text} has no statistics")
    return latest
