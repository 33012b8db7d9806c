"""``patronage members`` commands for earning rules and the accrual of points from transactions."""

from __future__ import annotations

import click

from patronage.cli.common import db_option, emit, format_option, guard, ready_engine

#: Commands of the ``members`` group defined here (assembled in :mod:`patronage.cli`).
commands: list[click.Command] = []

__all__ = ["commands"]
