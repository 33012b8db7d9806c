"""``patronage serve`` and ``patronage demo``."""

from __future__ import annotations

import click

from patronage.cli.common import db_option, engine_for, require_current_schema, settings_for
from patronage.settings import Settings


def serve_app(settings: Settings) -> None:
    from patronage.web import run_server, startup_notes

    for note in startup_notes(settings):
        click.echo(note)
    run_server(settings)


@click.command()
@db_option
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default 8000).")
def serve(db: str | None, host: str | None, port: int | None) -> None:
    """Serve the web application.

    Example: patronage serve --port 8080
    """
    settings = settings_for(db)
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    require_current_schema(settings)
    serve_app(settings)


@click.command()
@click.option("--db", "db", default="patronage-demo.db", show_default=True, metavar="PATH|URL",
              help="Where to build the demo company (it is rebuilt from scratch).")
@click.option("--seed", default=2026, show_default=True, type=int, help="Random seed.")
@click.option("--no-serve", is_flag=True, help="Build the database and stop.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to serve on.")
def demo(db: str, seed: int, no_serve: bool, port: int) -> None:
    """Build a realistic demo company and serve its dashboard.

    Example: patronage demo --seed 7 --port 8080
    """
    from patronage.demo import build_demo_database

    settings = settings_for(db).model_copy(update={"port": port})
    summary = build_demo_database(engine_for(settings), seed=seed,
                                  progress=lambda msg: click.echo(msg, err=True))
    click.echo(summary.describe())
    if no_serve:
        return
    click.echo(f"Dashboard: http://{settings.host}:{settings.port}/  "
               f"(log in as {summary.admin_email} / {summary.admin_password})")
    serve_app(settings)
