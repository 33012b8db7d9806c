"""``patronage user``: the admin's account commands on the command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from patronage.accounts import authenticate
from patronage.cli import main
from patronage.sessions import session_user, start_session
from patronage.staff import find_user
from patronage.storage import make_engine

pytestmark = pytest.mark.db
GOOD = "Tide-Lantern-4417"


@pytest.fixture
def cli(db_url):
    runner = CliRunner()

    def run(*args, ok=True, input=None):
        result = runner.invoke(main, ["user", *args, "--db", db_url], input=input)
        assert (result.exit_code == 0) == ok, result.output
        assert "Traceback" not in result.output
        return result.output

    engine = make_engine(db_url)
    run("add", "lin@huadong.cn", "--role", "admin", "--password", GOOD, "--name", "林 乔")
    run("add", "wang@huadong.cn", "--role", "analyst", "--password", GOOD)
    run.engine = engine
    yield run
    engine.dispose()


def test_add_refuses_weak_passwords_with_the_reason(cli):
    for weak, reason in [("password", "at least 10"), ("          ", "only spaces"),
                         ("password2026", "common"), ("zhou.min-2026", "e-mail address (zhou")]:
        output = cli("add", "zhou.min@huadong.cn", "--password", weak, ok=False)
        assert reason in output, output
    assert "zhou.min@huadong.cn" not in cli("list")


def test_list_shows_role_status_last_login_and_created(cli):
    start_session(cli.engine, find_user(cli.engine, "wang@huadong.cn"), hours=1)
    rows = json.loads(cli("list", "--format", "json"))
    assert [r["email"] for r in rows] == ["lin@huadong.cn", "wang@huadong.cn"]
    wang = rows[1]
    assert wang["role"] == "analyst" and wang["status"] == "active" and wang["sessions"] == 1
    assert wang["last_login"] and wang["created"] and rows[0]["last_login"] is None
    assert rows[0]["name"] == "林 乔"
    table = cli("list")
    assert "wang@huadong.cn" in table and "last_login" in table


def test_role_deactivate_activate_and_the_last_admin(cli):
    assert "analyst → admin" in cli("role", "WANG@huadong.cn", "admin")
    session = start_session(cli.engine, find_user(cli.engine, "lin@huadong.cn"), hours=1)
    output = cli("deactivate", "lin@huadong.cn")
    assert "Deactivated lin@huadong.cn" in output and "1 session" in output
    assert session_user(cli.engine, session) is None
    assert authenticate(cli.engine, "lin@huadong.cn", GOOD) is None
    refused = cli("deactivate", "wang@huadong.cn", ok=False)
    assert "last active admin" in refused
    assert "last active admin" in cli("role", "wang@huadong.cn", "agent", ok=False)
    cli("activate", "lin@huadong.cn")
    assert authenticate(cli.engine, "lin@huadong.cn", GOOD)["role"] == "admin"
    assert "no user with the e-mail nobody@huadong.cn" in cli("deactivate", "nobody@huadong.cn",
                                                             ok=False)
    assert "Invalid value" in cli("role", "wang@huadong.cn", "owner", ok=False)


def test_reset_password_prints_a_one_time_password_once(cli):
    output = cli("reset-password", "wang@huadong.cn")
    one_time = output.split("One-time password: ")[1].split()[0]
    user = authenticate(cli.engine, "wang@huadong.cn", one_time)
    assert user is not None and user["must_change_password"] is True
    assert "must change it" in output
    cli("reset-password", "wang@huadong.cn", "--password", "Quill-Meadow-8352")
    assert authenticate(cli.engine, "wang@huadong.cn", "Quill-Meadow-8352")
    assert "common" in cli("reset-password", "wang@huadong.cn", "--password", "welcome123456",
                           ok=False)


def test_revoke_sessions_counts_what_ended(cli):
    wang = find_user(cli.engine, "wang@huadong.cn")
    sessions = [start_session(cli.engine, wang, hours=1) for _ in range(2)]
    assert "Ended 2 sessions of wang@huadong.cn" in cli("revoke-sessions", "wang@huadong.cn")
    assert all(session_user(cli.engine, s) is None for s in sessions)


def test_the_readme_shows_every_user_command():
    from pathlib import Path

    from patronage.cli.users import user

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    missing = [name for name in user.commands if f"patronage user {name}" not in readme]
    assert missing == []
