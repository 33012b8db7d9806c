"""``patronage standard add|list|stop|start`` and ``patronage analyze standards``: service
standards and their compliance."""

from __future__ import annotations

import click

from patronage.cli.common import (
    db_option, emit, format_option, guard, ready_engine, settings_for,
)

LIST_COLUMNS = ["code", "name", "source", "touchpoint_kind", "channel", "case_category",
                "metric", "threshold_seconds", "working_hours", "target", "period",
                "owner_email", "active"]


@click.group("standard")
def standard() -> None:
    """Service standards: measurable promises on a touchpoint or the case desk."""


@standard.command("add")
@db_option
@click.argument("code")
@click.argument("name")
@click.option("--metric", required=True,
              type=click.Choice(["waiting", "handling", "total", "right_first_time",
                                 "resolution"]),
              help="waiting (until answered), handling, total, right_first_time (touchpoints) "
                   "or resolution (cases).")
@click.option("--touchpoint", default=None, help="Touchpoint kind, e.g. inquiry or 安装.")
@click.option("--threshold", default=None, help="Within this long, e.g. 20s, 4h, 48h.")
@click.option("--target", required=True, help="Share within, e.g. 80% or 0.99.")
@click.option("--period", default="month", show_default=True,
              type=click.Choice(["week", "month"]))
@click.option("--channel", default=None, help="Only touchpoints of this channel, e.g. phone.")
@click.option("--category", default=None, help="Only cases of this category code.")
@click.option("--working-hours", "working_hours", is_flag=True,
              help="Count working hours of the business calendar, not clock time.")
@click.option("--owner", default=None, help="Owner's e-mail: alerted of a breach.")
def add(db, code, name, metric, touchpoint, threshold, target, period, channel, category,
        working_hours, owner):
    """Add a standard.

    Example: patronage standard add answer-20s "80% of calls answered within 20 s"
    --touchpoint inquiry --channel phone --metric waiting --threshold 20s --target 80%
    --owner lin@example.com
    """
    from patronage.standards.records import add_standard

    guard(lambda: add_standard(
        ready_engine(db), code=code, name=name, metric=metric, touchpoint=touchpoint,
        threshold=threshold, target=target, period=period, channel=channel,
        category=category, working_hours=working_hours, owner=owner))
    click.echo(f"Added standard {code.strip().lower()}.")


@standard.command("list")
@db_option
@format_option
def list_(db, fmt):
    """Every standard with its promise, target, period and owner.

    Example: patronage standard list --format csv
    """
    from patronage.standards.records import list_standards

    emit(list_standards(ready_engine(db))[LIST_COLUMNS], fmt)


@standard.command("stop")
@db_option
@click.argument("code")
def stop(db, code):
    """Stop measuring and alerting a standard (its history stays).

    Example: patronage standard stop answer-20s
    """
    from patronage.standards.records import set_active

    guard(lambda: set_active(ready_engine(db), code, False))
    click.echo(f"Stopped standard {code}.")


@standard.command("start")
@db_option
@click.argument("code")
def start(db, code):
    """Measure and alert a stopped standard again.

    Example: patronage standard start answer-20s
    """
    from patronage.standards.records import set_active

    guard(lambda: set_active(ready_engine(db), code, True))
    click.echo(f"Started standard {code}.")


@click.group()
def analysis_commands() -> None:
    """Service standard analyses (merged into ``patronage analyze``)."""


@analysis_commands.command("standards")
@db_option
@format_option
@click.argument("code", required=False)
@click.option("--by", type=click.Choice(["site", "team", "agent"]), default=None,
              help="Compliance per site, team or agent.")
@click.option("--show", type=click.Choice(["compliance", "signals", "satisfaction"]),
              default="compliance", show_default=True,
              help="Share within per period with its p-chart limits; the special causes the "
                   "run rules flag; satisfaction after service within against outside.")
def analyze_standards(db, fmt, code, by, show):
    """Service standard compliance per period (and site, team or agent), with control-chart
    limits and the Western Electric run rules; special causes only on the periods with at least
    PATRONAGE_STANDARD_MIN_EVENTS events.

    Example: patronage analyze standards answer-20s --by site
    """
    from patronage.standards.report import standards_table

    engine = ready_engine(db)
    minimum = settings_for(db).standard_min_events
    emit(guard(lambda: standards_table(engine, code, by=by, show=show, min_events=minimum)), fmt)


@analysis_commands.command("journey")
@db_option
@format_option
def analyze_journey(db, fmt):
    """The journey view: per touchpoint kind its volume, satisfaction and effort about it with
    95% intervals, cases per 1,000 touchpoints, the share of detractors about it and its
    derived importance for overall satisfaction. An answer tagged with a touchpoint counts for
    it; an untagged one for the touchpoints of the 30 days before it (columns tagged, basis).

    Example: patronage analyze journey --format csv
    """
    from patronage.journey.view import journey

    emit(guard(lambda: journey(ready_engine(db))), fmt)
