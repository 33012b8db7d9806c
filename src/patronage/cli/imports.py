"""``patronage import``: customers, transactions, responses and cases from CSV or Excel."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from patronage.cli.common import (
    db_option, engine_for, guard, require_current_schema, settings_for)


@click.group("import")
def import_() -> None:
    """Import customers, transactions, survey responses, touchpoints, cases or members from CSV or
    Excel."""


def _file_options(func):
    """What every import takes: the database, the file, a dry run and how to read the file."""
    for option in (
        click.option("--date-order", type=click.Choice(["ymd", "dmy", "mdy"]), default=None,
                     help="How to read ambiguous dates like 05/03/2024."),
        click.option("--sheet", default=None, help="Worksheet to read from an Excel file."),
        click.option("--encoding", default=None,
                     help="Override the detected text encoding (e.g. gb18030, utf-8, utf-16)."),
        click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing."),
        click.argument("file", type=click.Path(dir_okay=False, path_type=Path)),
        db_option,
    ):
        func = option(func)
    return func


def _import_command(kind: str):
    @_file_options
    def command(db, file, dry_run, encoding, sheet, date_order, create_customers=False):
        from patronage.storage.importing import import_file

        settings = settings_for(db)
        require_current_schema(settings)
        report = guard(lambda: import_file(
            engine_for(settings), kind, file, dry_run=dry_run, encoding=encoding, sheet=sheet,
            date_order=date_order, max_rows=settings.import_max_rows, progress=sys.stderr.isatty(),
            create_customers=create_customers,
        ))
        click.echo(report.to_text())
        if not report.ok:
            sys.exit(1)

    command.__doc__ = (
        f"Import {kind} from a CSV or XLSX file. Nothing is written unless every row is valid; "
        f"re-importing the same file adds nothing.\n\nExample: patronage import {kind} {kind}.csv --dry-run"
    )
    if kind == "responses":
        command.__doc__ = command.__doc__.replace(
            "\n\nExample", " A touchpoint column (touchpoint_id, 触点编号) tags each answer with "
            "the touchpoint it is about, by the id `patronage import touchpoints` read.\n\nExample")
    if kind == "transactions":
        command = click.option(
            "--create-customers", is_flag=True,
            help="Create a bare customer (named by its id) for every customer id not in the "
                 "panel, e.g. for a purchase log without a customers file; they are counted in "
                 "the report.")(command)
    return command


for _kind in ("customers", "transactions", "responses"):
    import_.command(_kind)(_import_command(_kind))


@import_.command("contacts")
@_file_options
def import_contacts_command(db, file, dry_run, encoding, sheet, date_order):
    """Import contacts (a call centre's or CRM's log of calls, visits and messages): customer,
    time, channel and kind required; note, outcome, direction, subject, cost, user (staff
    e-mail) and id optional. Nothing is written unless every row is valid; a row whose id was
    imported before is left as it is.

    Example: patronage import contacts calls-2026-06.xlsx --dry-run
    """
    from patronage.care.contacts import import_contacts

    settings = settings_for(db)
    require_current_schema(settings)
    report = guard(lambda: import_contacts(
        engine_for(settings), file, dry_run=dry_run, encoding=encoding, sheet=sheet,
        date_order=date_order))
    click.echo(report.to_text())
    if not report.ok:
        sys.exit(1)


@import_.command("touchpoints")
@_file_options
def import_touchpoints_command(db, file, dry_run, encoding, sheet, date_order):
    """Import touchpoints (moments of truth): customer, kind (报价, 安装, 维修 … or quote,
    installation, maintenance …) and start time required; answer and end times or waiting and
    handling seconds, site, team, agent, channel, right first time (是/否) and id optional.
    Nothing is written unless every row is valid; a row imported before is left as it is.

    Example: patronage import touchpoints service-log-2026.xlsx --dry-run
    """
    from patronage.journey.importing import import_touchpoints

    settings = settings_for(db)
    require_current_schema(settings)
    report = guard(lambda: import_touchpoints(
        engine_for(settings), file, dry_run=dry_run, encoding=encoding, sheet=sheet,
        date_order=date_order))
    click.echo(report.to_text())
    if not report.ok:
        sys.exit(1)


@import_.command("cases")
@_file_options
def import_cases_command(db, file, dry_run, encoding, sheet, date_order):
    """Import cases (a hotline's or ticketing system's export): customer and subject required;
    a touchpoint column (touchpoint_id, 触点编号) names the imported touchpoint a case is about;
    each row is routed and timed like a new case. Nothing is written unless every row is valid;
    rows whose reference (工单号) is already a case are left as they are.

    Example: patronage import cases hotline-2026-11.xlsx --dry-run
    """
    from patronage.cases.config import DeskConfig
    from patronage.cases.importing import import_cases

    settings = settings_for(db)
    require_current_schema(settings)
    report = guard(lambda: import_cases(
        engine_for(settings), file, dry_run=dry_run, encoding=encoding, sheet=sheet,
        date_order=date_order, config=DeskConfig.from_settings(settings)))
    click.echo(report.to_text())
    if not report.ok:
        sys.exit(1)


@import_.command("lost")
@_file_options
def import_lost_command(db, file, dry_run, encoding, sheet, date_order):
    """Import lost customers: customer, lost_on (流失日期), reason (流失原因) and competitor
    (去向). Nothing is written unless every row is valid; a customer already marked the same
    way is left as it is.

    Example: patronage import lost lost-2026.xlsx --dry-run
    """
    from patronage.care.lost import import_lost

    settings = settings_for(db)
    require_current_schema(settings)
    report = guard(lambda: import_lost(engine_for(settings), file, dry_run=dry_run,
                                       encoding=encoding, sheet=sheet, date_order=date_order))
    click.echo(report.to_text())
    if not report.ok:
        sys.exit(1)


@import_.command("members")
@_file_options
def import_members_command(db, file, dry_run, encoding, sheet, date_order):
    """Import members of the programme: customer required; card number (会员卡号, generated
    when empty), join date (入会日期, today when empty), channel, consent (yes/no) and the
    referrer's card number optional. Nothing is written unless every row is valid; a customer
    who is a member already is left as they are.

    Example: patronage import members members-2026.xlsx --dry-run
    """
    from patronage.members.enrolment import import_members

    settings = settings_for(db)
    require_current_schema(settings)
    report = guard(lambda: import_members(engine_for(settings), file, dry_run=dry_run,
                                          encoding=encoding, sheet=sheet, date_order=date_order))
    click.echo(report.to_text())
    if not report.ok:
        sys.exit(1)


@import_.command("panel")
@db_option
@click.option("--from", "source", required=True, metavar="parquet:DIR",
              help="A folder written by `patronage export parquet DIR`, as parquet:DIR.")
@click.option("--dry-run", is_flag=True, help="Check the files and report; write nothing.")
def import_panel_command(db, source, dry_run):
    """Read an exported panel back: its customers (with their custom attributes), then its
    transactions and its survey responses with their answers, each checked like an import file
    and written in one transaction or not at all; rows imported before are left as they are
    (quality flags and touchpoint tags are not read back).

    Example: patronage import panel --from parquet:export --dry-run
    """
    from patronage.engines.lake import import_panel

    settings = settings_for(db)
    require_current_schema(settings)
    reports = guard(lambda: import_panel(engine_for(settings), source, dry_run=dry_run))
    for report in reports:
        click.echo(report.to_text())
    if not all(report.ok for report in reports):
        sys.exit(1)
