"""``patronage db``: schema migrations and backups."""

from __future__ import annotations

from pathlib import Path

import click

from patronage.cli.common import db_option, engine_for, guard, settings_for


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@db_option
def db_upgrade(db: str | None) -> None:
    """Apply pending schema migrations.

    Example: patronage db upgrade --db company.db
    """
    from patronage.storage import upgrade

    settings = settings_for(db)
    revision = upgrade(engine_for(settings))
    click.echo(f"Database is at revision {revision}.")


@db.command("status")
@db_option
def db_status(db: str | None) -> None:
    """Show the database's migration revision and whether an upgrade is pending.

    Example: patronage db status
    """
    from patronage.storage import current_revision, head_revision

    engine = engine_for(settings_for(db))
    current, head = current_revision(engine), head_revision()
    click.echo(f"current: {current or 'empty database'}; newest: {head}")
    if current != head:
        click.echo("An upgrade is pending: run `patronage db upgrade`.")


@db.command("backup")
@db_option
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(db: str | None, target: Path) -> None:
    """Write a consistent copy of the SQLite database to TARGET, safe while the server runs.

    Example: patronage db backup backups/patronage-2026-11-23.db
    """
    from patronage.storage.backup import backup, check_backup

    written = guard(lambda: backup(engine_for(settings_for(db)), target))
    click.echo(f"Backed up to {written} (integrity check: {check_backup(written)}).")
