"""``patronage report``: the whole report of a survey wave as PDF, Excel or HTML, and reports
mailed on a schedule. Each command calls :mod:`patronage.reporting.report_build` and its writers."""

from __future__ import annotations

from pathlib import Path

import click

from patronage.catalogs import gettext_for
from patronage.cli.common import db_option, ready_engine

LANGUAGES = ("zh_Hans", "zh_Hant", "en")


def _message(exc: ValueError, gettext) -> click.ClickException:
    from patronage.messages import translated

    return click.ClickException(translated(exc, gettext))


@click.group()
def report() -> None:
    """Whole reports (management summary, satisfaction, loyalty, cases, comments) as files."""


@report.command("build")
@db_option
@click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx", "html"]), required=True,
              help="The file's format.")
@click.option("--survey", default=None, help="Survey code (default: the one with most responses).")
@click.option("--wave", default=None, help="Report up to this wave (default: the latest).")
@click.option("--lang", "language", type=click.Choice(LANGUAGES), default="zh_Hans",
              show_default=True, help="The reader's language.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="The file to write.")
def report_build(db, fmt, survey, wave, language, out):
    """Build the report of a survey wave as one file: PDF (Chinese font embedded), Excel (a
    sheet per section, real number formats) or a self-contained HTML page.

    Example: patronage report build --format pdf --wave 2026-Q2 --lang zh_Hans --out report.pdf
    """
    from patronage.reporting.report_files import build_file

    engine = ready_engine(db)
    gettext = gettext_for(language)
    try:
        data = build_file(engine, fmt, survey=survey, wave=wave, language=language,
                          gettext=gettext)
    except ValueError as exc:
        raise _message(exc, gettext) from None
    Path(out).write_bytes(data)
    click.echo(f"Wrote {out} ({len(data):,} bytes).")


commands = [report]

__all__ = ["commands", "report"]
