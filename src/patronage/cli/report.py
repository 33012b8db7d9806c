"""``patronage report``: the whole report of a survey wave as PDF, Excel or HTML, and reports
mailed on a schedule. Each command calls :mod:`patronage.reporting.report_build` and its writers."""

from __future__ import annotations

from pathlib import Path

import click

from patronage.catalogs import gettext_for
from patronage.cli.common import db_option, emit, format_option, guard, ready_engine

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


@report.command("schedule")
@db_option
@click.option("--every", required=True, help="day, month, or a weekday (monday … sunday).")
@click.option("--to", "to", required=True, help="Addresses, separated by commas.")
@click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx", "html"]), default="pdf",
              show_default=True, help="The attached file's format.")
@click.option("--survey", default=None, help="Survey code (default: the one with most responses).")
@click.option("--lang", "language", type=click.Choice(LANGUAGES), default="zh_Hans",
              show_default=True, help="The readers' language.")
def report_schedule(db, every, to, fmt, survey, language):
    """Mail the report of the latest wave every day, week or month (in the company's time zone)
    through the outbox; the worker ('patronage work') sends each period exactly once.

    Example: patronage report schedule --every monday --to lin@example.com,wang@example.com
    """
    from patronage.reporting.report_mail import add_schedule

    engine = ready_engine(db)
    gettext = gettext_for(language)
    try:
        number = add_schedule(engine, every=every, to=to, fmt=fmt, survey=survey,
                              language=language)
    except ValueError as exc:
        raise _message(exc, gettext) from None
    click.echo(f"Report schedule {number} stored; 'patronage work' sends it.")


@report.command("schedules")
@db_option
@format_option
def report_schedules(db, fmt):
    """The report schedules, with the last period each sent.

    Example: patronage report schedules
    """
    from patronage.reporting.report_mail import schedule_table

    emit(schedule_table(ready_engine(db)), fmt)


@report.command("unschedule")
@db_option
@click.argument("number", type=int)
def report_unschedule(db, number):
    """Stop a report schedule (its number is in 'patronage report schedules').

    Example: patronage report unschedule 3
    """
    from patronage.reporting.report_mail import remove_schedule

    guard(lambda: remove_schedule(ready_engine(db), number))
    click.echo(f"Report schedule {number} removed.")


analysis_commands = click.Group()


@analysis_commands.command("responses")
@db_option
@click.option("--survey", default=None, help="Survey code (default: the one with most responses).")
@click.option("--format", "fmt", type=click.Choice(["sav", "sps"]), default="sav",
              show_default=True, help="sav: an SPSS file with labels; sps: a CSV and the SPSS "
                                      "syntax that reads it with the same labels.")
@click.option("--lang", "language", type=click.Choice(LANGUAGES), default="zh_Hans",
              show_default=True, help="The language of the labels.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="The file to write (.sav, or the CSV beside which the .sps goes).")
def analyze_responses(db, survey, fmt, language, out):
    """The survey's responses for SPSS or R: one row per response, variable labels from the
    index system, the waves as value labels.

    Example: patronage analyze responses --survey relationship --format sav --out answers.sav
    """
    from patronage.reporting.spss import write_csv_syntax, write_sav

    engine = ready_engine(db)
    gettext = gettext_for(language)
    try:
        if fmt == "sav":
            written = [write_sav(engine, out, survey, language=language, gettext=gettext)]
        else:
            written = list(write_csv_syntax(engine, out, survey, language=language,
                                            gettext=gettext))
    except ValueError as exc:
        raise _message(exc, gettext) from None
    click.echo("Wrote " + " and ".join(str(p) for p in written) + ".")


commands = [report]

__all__ = ["analysis_commands", "commands", "report"]
