"""``patronage care`` commands for the care calendar, greetings, outreach and opt-outs."""

from __future__ import annotations

import click

#: Commands of the ``care`` group defined here (assembled in :mod:`patronage.cli`).
commands: list[click.Command] = []
