"""``patronage labels``: display labels of category values (regions, tiers, products …) per
language. Each command calls :mod:`patronage.labels`."""

from __future__ import annotations

import click

from patronage.cli.common import db_option, emit, format_option, guard, ready_engine


@click.group()
def labels() -> None:
    """How category values read in each language (regions, industries, tiers, products …)."""


@labels.command("import")
@db_option
@click.argument("file", type=click.Path(dir_okay=False))
def labels_import(db: str | None, file: str) -> None:
    """Store the labels of FILE (CSV in UTF-8, or XLSX), all or nothing.

    Columns: kind, value, language, label (one label a row), or kind, value and a column per
    language (en, zh_Hans, zh_Hant). A blank label removes that label.

    Example: patronage labels import labels.csv
    """
    from patronage.labels import import_labels

    engine = ready_engine(db)
    count = guard(lambda: import_labels(engine, file))
    click.echo(f"Stored {count} labels.")


@labels.command("list")
@db_option
@click.option("--kind", default=None, help="Only this kind (region, industry, size, channel, "
                                           "tier, product, category, churn_reason, competitor, "
                                           "case_subject).")
@format_option
def labels_list(db: str | None, kind: str | None, fmt: str) -> None:
    """Every category value in use or labelled, with its label per language (blank: none).

    Example: patronage labels list --kind region
    """
    from patronage.labels import label_table

    engine = ready_engine(db)
    emit(guard(lambda: label_table(engine, kind)).set_index(["kind", "value"]), fmt)
