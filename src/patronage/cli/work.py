"""``patronage work``: the one worker for all scheduled work."""

from __future__ import annotations

import click

from patronage.cli.common import db_option, run_worker


@click.command("work")
@db_option
@click.option("--loop", is_flag=True, help="Keep running (every --interval seconds).")
@click.option("--interval", default=30, show_default=True, type=int)
def work(db, loop, interval):
    """Run all scheduled work once (or --loop): survey triggers, alert rules on new answers,
    service-level warnings, breaches and escalations, and the mail they queue. Safe to run in
    two processes at once and to restart after a kill.

    Example: patronage work --loop --interval 60
    """
    run_worker(db, loop, interval)
