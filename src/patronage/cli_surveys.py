"""``patronage survey`` commands: cleaning, mail and transactional triggers.

Registered on :mod:`patronage.cli`; each calls one function of :mod:`patronage.surveys`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click

from patronage.cli import _engine, _guard, _require_current_schema, _settings, db_option, main


def _survey_engine(db):
    settings = _settings(db)
    _require_current_schema(settings)
    return settings, _engine(settings)


@main.group()
def survey() -> None:
    """Survey programme: cleaning, invitation mail, transactional triggers."""


@survey.command("clean")
@db_option
@click.argument("code")
def survey_clean(db, code):
    """Flag duplicates, incomplete, out-of-range, straight-lining and speeding responses.

    Example: patronage survey clean relationship
    """
    from patronage.surveys.quality import clean_survey

    _settings_, engine = _survey_engine(db)
    counts = _guard(lambda: clean_survey(engine, code))
    for flag, n in counts.items():
        click.echo(f"{flag:>16}: {n}")


def _work_once(settings, engine) -> tuple[int, int]:
    from patronage.surveys.outbox import deliver_pending, sender_from_settings
    from patronage.surveys.triggers import run_triggers

    invited = run_triggers(engine, datetime.now(UTC).replace(tzinfo=None))
    sent = deliver_pending(engine, sender_from_settings(settings), mail_from=settings.mail_from)
    return invited, sent


@survey.command("work")
@db_option
@click.option("--loop", is_flag=True, help="Keep running (every --interval seconds).")
@click.option("--interval", default=30, show_default=True, type=int)
def survey_work(db, loop, interval):
    """Run transactional triggers and send the queued invitation mail.

    Example: patronage survey work --loop --interval 60
    """
    settings, engine = _survey_engine(db)
    while True:
        invited, sent = _guard(lambda: _work_once(settings, engine))
        click.echo(f"{datetime.now():%H:%M:%S} invited {invited}, sent {sent} message(s)")
        if not loop:
            return
        time.sleep(max(interval, 1))


@survey.command("trigger")
@db_option
@click.argument("code")
@click.option("--event", type=click.Choice(["purchase", "case_closed"]), required=True)
@click.option("--delay-hours", default=24, show_default=True, type=int,
              help="Invite this long after the event.")
def survey_trigger(db, code, event, delay_hours):
    """Invite customers to survey CODE after each purchase or closed case (transactional survey).

    Example: patronage survey trigger delivery-csat --event purchase --delay-hours 48
    """
    from patronage.surveys.triggers import add_trigger

    _settings_, engine = _survey_engine(db)
    _guard(lambda: add_trigger(engine, code, event, delay_hours))
    click.echo(f"Survey {code} now invites customers {delay_hours} h after each {event}; "
               "`patronage survey work --loop` sends the invitations.")
