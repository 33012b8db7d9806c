"""The `patronage` command, run in-process with click's CliRunner."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from patronage.accounts import authenticate
from patronage.cli import main
from patronage.storage import head_revision
from patronage.storage import make_engine, pending

pytestmark = pytest.mark.db


def test_db_upgrade_then_status(empty_db_url):
    runner = CliRunner()
    status = runner.invoke(main, ["db", "status", "--db", empty_db_url])
    assert status.exit_code == 0
    assert "empty database" in status.output and "upgrade is pending" in status.output

    result = runner.invoke(main, ["db", "upgrade", "--db", empty_db_url])
    assert result.exit_code == 0, result.output
    assert f"revision {head_revision()}" in result.output
    engine = make_engine(empty_db_url)
    assert not pending(engine)
    engine.dispose()

    status = runner.invoke(main, ["db", "status", "--db", empty_db_url])
    assert "pending" not in status.output


def test_serve_refuses_while_migrations_are_pending(empty_db_url, monkeypatch):
    started = []
    monkeypatch.setattr("patronage.cli.serving.serve_app", lambda settings: started.append(settings))
    result = CliRunner().invoke(main, ["serve", "--db", empty_db_url])
    assert result.exit_code != 0
    assert "patronage db upgrade" in result.output
    assert started == []


def test_serve_starts_when_schema_is_current(db_url, monkeypatch):
    started = []
    monkeypatch.setattr("patronage.cli.serving.serve_app", lambda settings: started.append(settings))
    result = CliRunner().invoke(main, ["serve", "--db", db_url, "--port", "8765"])
    assert result.exit_code == 0, result.output
    assert started[0].port == 8765 and started[0].database_url == db_url


def test_db_option_accepts_a_plain_sqlite_path(tmp_path):
    path = tmp_path / "company.db"
    result = CliRunner().invoke(main, ["db", "upgrade", "--db", str(path)])
    assert result.exit_code == 0, result.output
    assert path.exists()


def test_user_add_and_duplicate(db_url):
    runner = CliRunner()
    args = ["user", "add", "Lin@Example.com", "--role", "admin", "--db", db_url,
            "--password", "correct horse"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    engine = make_engine(db_url)
    assert authenticate(engine, "lin@example.com", "correct horse")["role"] == "admin"
    engine.dispose()
    again = runner.invoke(main, args)
    assert again.exit_code == 1
    assert "already exists" in again.output
    assert "Traceback" not in again.output


def test_python_dash_m_patronage_is_the_command():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "patronage", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: patronage") and "analyze" in done.stdout


def _leaf_commands(command, path=()):
    import click

    if isinstance(command, click.Group):
        context = click.Context(command)
        for name in command.list_commands(context):
            yield from _leaf_commands(command.get_command(context, name), (*path, name))
    else:
        yield " ".join(path), command


def test_every_command_says_what_it_does_with_an_example():
    """Like sqlite-utils' test that every command has help: each leaf command's help has a
    sentence and an ``Example: patronage …`` line a newcomer can copy."""
    missing = [path for path, command in _leaf_commands(main)
               if not (command.help or "").strip()
               or f"Example: patronage {path.split()[0]}" not in " ".join((command.help or "").split())]
    assert not missing
    assert len(list(_leaf_commands(main))) > 100
