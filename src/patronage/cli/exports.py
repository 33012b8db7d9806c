"""``patronage export``: the panel written out for other engines."""

from __future__ import annotations

from pathlib import Path

import click

from patronage.cli.common import db_option, guard, ready_engine


@click.group("export")
def export() -> None:
    """Write the panel out for analysis elsewhere (DuckDB, Spark)."""


@export.command("parquet")
@db_option
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--chunk-rows", default=50_000, show_default=True, type=click.IntRange(min=1),
              help="Rows read from the database at a time.")
def export_parquet(db, folder, chunk_rows):
    """Write customers, transactions (by year and month), responses and answers as Parquet
    files under FOLDER (a new or empty folder).

    Example: patronage export parquet export/ ; then: patronage analyze clv --engine duckdb
    --source parquet:export
    """
    from patronage.engines.parquet import export_parquet as write

    report = guard(lambda: write(ready_engine(db), folder, chunk_rows=chunk_rows))
    for line in report.lines():
        click.echo(line)
    click.echo(f"Wrote the panel to {folder}.")
