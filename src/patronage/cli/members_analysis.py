"""``patronage analyze programme`` and ``analyze loyalty-types``: the membership programme's
analytics (members, earn and burn, liability and breakage, tier migration, incrementality) and
the loyalty types."""

from __future__ import annotations

import click

from patronage.cli.common import db_option, emit, format_option, guard, ready_engine

#: Commands of the ``analyze`` group defined here (assembled in :mod:`patronage.cli`).
@click.group()
def analysis_commands() -> None:
    """``analyze`` commands defined here."""


__all__ = ["analysis_commands"]
