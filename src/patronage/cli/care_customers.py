"""``patronage care`` commands for the contact log and customer profiles."""

from __future__ import annotations

import click

#: Commands of the ``care`` group defined here (assembled in :mod:`patronage.cli`).
commands: list[click.Command] = []
