"""``patronage user``: staff accounts."""

from __future__ import annotations

import click

from patronage.cli.common import db_option, engine_for, require_current_schema, settings_for


@click.group()
def user() -> None:
    """Staff accounts."""


@user.command("add")
@db_option
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "analyst", "agent"]), default="analyst",
              show_default=True)
@click.password_option(help="Password (asked for when not given).")
def user_add(db: str | None, email: str, role: str, password: str) -> None:
    """Create a staff account.

    Example: patronage user add lin@example.com --role admin
    """
    from patronage.accounts import create_user

    settings = settings_for(db)
    require_current_schema(settings)
    try:
        create_user(engine_for(settings), email, password, role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {role} {email}.")
