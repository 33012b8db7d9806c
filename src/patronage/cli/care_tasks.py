"""``patronage care`` commands for follow-up rules, tasks and outcomes, and ``analyze care``."""

from __future__ import annotations

import click

#: Commands of the ``care`` group defined here (assembled in :mod:`patronage.cli`).
commands: list[click.Command] = []


@click.group()
def analysis_commands() -> None:
    """``analyze`` commands defined here."""
