"""``patronage user``: staff accounts (add, list, role, deactivate, activate, reset-password,
revoke-sessions). Each command calls :mod:`patronage.accounts` or :mod:`patronage.staff`."""

from __future__ import annotations

import click

from patronage.cli.common import db_option, emit, format_option, guard, ready_engine

ROLES = click.Choice(["admin", "analyst", "agent"])


@click.group()
def user() -> None:
    """Staff accounts."""


@user.command("add")
@db_option
@click.argument("email")
@click.option("--role", type=ROLES, default="analyst", show_default=True)
@click.option("--name", default=None, help="Display name (for example 林乔).")
@click.option("--must-change", is_flag=True,
              help="The user must choose a new password at the first login.")
@click.password_option(help="Password (asked for when not given).")
def user_add(db: str | None, email: str, role: str, name: str | None, must_change: bool,
             password: str) -> None:
    """Create a staff account.

    Example: patronage user add lin@example.com --role admin
    """
    from patronage.accounts import create_user

    engine = ready_engine(db)
    guard(lambda: create_user(engine, email, password, role, display_name=name,
                              must_change_password=must_change))
    click.echo(f"Created {role} {email.strip().lower()}.")


@user.command("list")
@db_option
@format_option
def user_list(db: str | None, fmt: str) -> None:
    """Staff accounts with role, status, last login, creation and open sessions.

    Example: patronage user list
    """
    import pandas as pd

    from patronage.staff import user_table

    def when(moment):
        return None if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"

    rows = [{"email": r["email"], "name": r["display_name"] or "", "role": r["role"],
             "status": "active" if r["is_active"] else "deactivated",
             "must_change_password": r["must_change_password"],
             "last_login": when(r["last_login_at"]), "created": when(r["created_at"]),
             "sessions": r["sessions"]} for r in user_table(ready_engine(db))]
    emit(pd.DataFrame(rows, columns=["email", "name", "role", "status", "must_change_password",
                                     "last_login", "created", "sessions"]).set_index("email"), fmt)


@user.command("role")
@db_option
@click.argument("email")
@click.argument("role", type=ROLES)
def user_role(db: str | None, email: str, role: str) -> None:
    """Change a user's role (open sessions get it at once).

    Example: patronage user role lin@example.com analyst
    """
    from patronage.staff import find_user, set_role, user_table

    engine = ready_engine(db)
    user_id = guard(lambda: find_user(engine, email))
    before = next(r["role"] for r in user_table(engine) if r["id"] == user_id)
    address = guard(lambda: set_role(engine, user_id, role))
    click.echo(f"{address}: {before} → {role}.")


@user.command("deactivate")
@db_option
@click.argument("email")
def user_deactivate(db: str | None, email: str) -> None:
    """Deactivate an account: it cannot log in and its sessions end at once.

    Example: patronage user deactivate lin@example.com
    """
    from patronage.staff import deactivate, find_user

    engine = ready_engine(db)
    ended = guard(lambda: deactivate(engine, find_user(engine, email)))
    click.echo(f"Deactivated {email.strip().lower()}; ended {ended} session(s).")


@user.command("activate")
@db_option
@click.argument("email")
def user_activate(db: str | None, email: str) -> None:
    """Let a deactivated account log in again.

    Example: patronage user activate lin@example.com
    """
    from patronage.staff import activate, find_user

    engine = ready_engine(db)
    click.echo(f"Activated {guard(lambda: activate(engine, find_user(engine, email)))}.")


@user.command("reset-password")
@db_option
@click.argument("email")
@click.option("--password", default=None,
              help="Temporary password to set (default: generate a one-time password).")
def user_reset_password(db: str | None, email: str, password: str | None) -> None:
    """Reset a password; the user must change it at the next login. Their sessions end.

    Example: patronage user reset-password lin@example.com
    """
    from patronage.staff import find_user, reset_password

    engine = ready_engine(db)
    temporary = guard(lambda: reset_password(engine, find_user(engine, email), password))
    if password is None:
        click.echo(f"One-time password: {temporary}")
        click.echo("It is shown only this once; hand it over in person or by phone.")
    click.echo(f"{email.strip().lower()} must change it at the next login; "
               "their sessions have ended.")


@user.command("revoke-sessions")
@db_option
@click.argument("email")
def user_revoke_sessions(db: str | None, email: str) -> None:
    """Log a user out everywhere (the account stays active).

    Example: patronage user revoke-sessions lin@example.com
    """
    from patronage.staff import find_user, revoke_sessions

    engine = ready_engine(db)
    ended = guard(lambda: revoke_sessions(engine, find_user(engine, email)))
    click.echo(f"Ended {ended} sessions of {email.strip().lower()}.")
