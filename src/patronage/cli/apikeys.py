"""``patronage apikey``: keys for integrations (shown once, stored as a hash)."""

from __future__ import annotations

import click

from patronage.cli.common import db_option, emit, format_option, guard, ready_engine


@click.group("apikey")
def apikey() -> None:
    """API keys for integrations: create (shown once), list, revoke."""


@apikey.command("create")
@db_option
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True,
              help="cases:read, cases:write or customers:read; repeat for more.")
def apikey_create(db, name, scopes):
    """Create a key and print it (it cannot be shown again).

    Example: patronage apikey create hotline --scope cases:write --scope cases:read
    """
    from patronage.api_keys import create_key

    key = guard(lambda: create_key(ready_engine(db), name, list(scopes)))
    click.echo(key)
    click.echo("Store this key now: only its hash is kept, it cannot be shown again.", err=True)


@apikey.command("list")
@db_option
@format_option
def apikey_list(db, fmt):
    """The keys (never their secrets).

    Example: patronage apikey list
    """
    import pandas as pd

    from patronage.api_keys import list_keys

    rows = list_keys(ready_engine(db))
    frame = pd.DataFrame(rows, columns=["id", "name", "prefix", "scopes", "created_at",
                                        "last_used_at", "revoked_at"])
    frame["scopes"] = frame["scopes"].map(lambda s: " ".join(s) if isinstance(s, list) else s)
    emit(frame.drop(columns=["id"]), fmt)


@apikey.command("revoke")
@db_option
@click.argument("name")
def apikey_revoke(db, name):
    """Revoke a key at once.

    Example: patronage apikey revoke hotline
    """
    from patronage.api_keys import revoke_key

    guard(lambda: revoke_key(ready_engine(db), name))
    click.echo(f"Revoked {name}.")
