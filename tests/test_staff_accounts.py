"""Staff accounts as a service: the policy on every password, self-service change, and what an
admin does (list, role, deactivate, activate, reset, revoke sessions), on the test database."""

from __future__ import annotations

import threading

import pytest

from patronage import staff
from patronage.accounts import authenticate, change_password, create_user
from patronage.messages import UserError
from patronage.sessions import session_user, start_session

pytestmark = pytest.mark.db
GOOD = "Tide-Lantern-4417"
OTHER = "Quill-Meadow-8352"


@pytest.fixture
def team(engine):
    ids = {
        "admin": create_user(engine, "lin@huadong.cn", GOOD, "admin", display_name="林"),
        "analyst": create_user(engine, "wang@huadong.cn", GOOD, "analyst"),
        "agent": create_user(engine, "zhou@huadong.cn", GOOD, "agent"),
    }
    return engine, ids


@pytest.mark.parametrize("password", ["password", " " * 8, "password123", "1234567890",
                                      "lin-2026-abcxyz"])
def test_create_user_applies_the_password_policy(engine, password):
    with pytest.raises(UserError):
        create_user(engine, "lin@huadong.cn", password, "admin")
    assert staff.user_table(engine) == []


def test_create_user_explains_bad_input_in_a_translatable_message(engine):
    for args, text in [(("no-at-sign", GOOD, "admin"), "is not an e-mail address"),
                       (("a@b.cn", GOOD, "owner"), "The role must be one of")]:
        with pytest.raises(UserError, match=text) as caught:
            create_user(engine, *args)
        assert caught.value.message != str(caught.value)  # a template with values
    create_user(engine, "a@b.cn", GOOD, "admin")
    with pytest.raises(UserError, match="already exists"):
        create_user(engine, "A@B.cn ", GOOD, "agent")


def test_user_table_lists_role_status_last_login_and_sessions(team):
    engine, ids = team
    assert all(row["last_login_at"] is None for row in staff.user_table(engine))
    start_session(engine, ids["analyst"], hours=1)
    start_session(engine, ids["analyst"], hours=1)
    rows = {row["email"]: row for row in staff.user_table(engine)}
    assert list(rows) == ["lin@huadong.cn", "wang@huadong.cn", "zhou@huadong.cn"]
    assert rows["wang@huadong.cn"]["last_login_at"] is not None
    assert rows["wang@huadong.cn"]["sessions"] == 2 and rows["lin@huadong.cn"]["sessions"] == 0
    assert rows["lin@huadong.cn"]["display_name"] == "林"
    assert {r["role"] for r in rows.values()} == {"admin", "analyst", "agent"}
    assert all(r["is_active"] and not r["must_change_password"] for r in rows.values())


def test_change_password_needs_the_current_one_and_ends_other_sessions(team):
    engine, ids = team
    here = start_session(engine, ids["agent"], hours=1)
    elsewhere = start_session(engine, ids["agent"], hours=1)
    with pytest.raises(UserError, match="current password is wrong"):
        change_password(engine, ids["agent"], "not-it-at-all", OTHER, keep_session=here)
    with pytest.raises(UserError, match="must differ"):
        change_password(engine, ids["agent"], GOOD, GOOD, keep_session=here)
    with pytest.raises(UserError, match="common"):
        change_password(engine, ids["agent"], GOOD, "Password2026!", keep_session=here)
    assert session_user(engine, elsewhere) is not None
    change_password(engine, ids["agent"], GOOD, OTHER, keep_session=here)
    assert authenticate(engine, "zhou@huadong.cn", GOOD) is None
    assert authenticate(engine, "zhou@huadong.cn", OTHER)["id"] == ids["agent"]
    assert session_user(engine, here) is not None
    assert session_user(engine, elsewhere) is None


def test_reset_gives_a_one_time_password_that_must_be_changed(team):
    engine, ids = team
    session = start_session(engine, ids["analyst"], hours=1)
    one_time = staff.reset_password(engine, ids["analyst"], actor_id=ids["admin"])
    assert len(one_time) >= 16
    assert session_user(engine, session) is None  # whoever held the account is out
    assert authenticate(engine, "wang@huadong.cn", GOOD) is None
    user = authenticate(engine, "wang@huadong.cn", one_time)
    assert user["must_change_password"] is True
    change_password(engine, ids["analyst"], one_time, OTHER)
    assert authenticate(engine, "wang@huadong.cn", OTHER)["must_change_password"] is False


def test_reset_with_a_chosen_temporary_password_follows_the_policy(team):
    engine, ids = team
    with pytest.raises(UserError, match="common"):
        staff.reset_password(engine, ids["agent"], "welcome2026!", actor_id=ids["admin"])
    assert staff.reset_password(engine, ids["agent"], OTHER, actor_id=ids["admin"]) == OTHER
    assert authenticate(engine, "zhou@huadong.cn", OTHER)["must_change_password"] is True
    with pytest.raises(UserError, match="Change my password"):
        staff.reset_password(engine, ids["admin"], actor_id=ids["admin"])


def test_deactivated_users_lose_their_sessions_and_cannot_log_in(team):
    engine, ids = team
    session = start_session(engine, ids["agent"], hours=1)
    assert staff.deactivate(engine, ids["agent"], actor_id=ids["admin"]) == 1
    assert session_user(engine, session) is None
    assert authenticate(engine, "zhou@huadong.cn", GOOD) is None
    row = {r["email"]: r for r in staff.user_table(engine)}["zhou@huadong.cn"]
    assert not row["is_active"] and row["deactivated_at"] is not None and row["sessions"] == 0
    staff.activate(engine, ids["agent"])
    assert authenticate(engine, "zhou@huadong.cn", GOOD)["id"] == ids["agent"]


def test_the_last_active_admin_cannot_be_deactivated_or_demoted(team):
    engine, ids = team
    for action in (lambda: staff.deactivate(engine, ids["admin"]),
                   lambda: staff.set_role(engine, ids["admin"], "analyst")):
        with pytest.raises(UserError, match="last active admin"):
            action()
    staff.set_role(engine, ids["analyst"], "admin")
    staff.set_role(engine, ids["admin"], "agent")  # another admin is left
    with pytest.raises(UserError, match="last active admin"):
        staff.deactivate(engine, ids["analyst"])
    # an inactive admin does not count
    staff.set_role(engine, ids["agent"], "admin")
    staff.deactivate(engine, ids["agent"])
    with pytest.raises(UserError, match="last active admin"):
        staff.set_role(engine, ids["analyst"], "agent")


def test_admins_cannot_lock_themselves_out(team):
    engine, ids = team
    staff.set_role(engine, ids["analyst"], "admin")
    with pytest.raises(UserError, match="your own account"):
        staff.deactivate(engine, ids["admin"], actor_id=ids["admin"])
    with pytest.raises(UserError, match="your own role"):
        staff.set_role(engine, ids["admin"], "agent", actor_id=ids["admin"])


def test_two_admins_demoting_each_other_at_once_leave_one_admin(team):
    engine, ids = team
    staff.set_role(engine, ids["analyst"], "admin")
    admins = [ids["admin"], ids["analyst"]]
    barrier = threading.Barrier(2)
    outcomes = []

    def demote(target):
        barrier.wait()
        try:
            staff.set_role(engine, target, "agent")
            outcomes.append("done")
        except UserError:
            outcomes.append("refused")

    threads = [threading.Thread(target=demote, args=(t,)) for t in admins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["done", "refused"]
    assert [r["role"] for r in staff.user_table(engine)].count("admin") == 1


def test_revoke_sessions_ends_every_session_of_the_user(team):
    engine, ids = team
    sessions = [start_session(engine, ids["analyst"], hours=1) for _ in range(3)]
    mine = start_session(engine, ids["admin"], hours=1)
    assert staff.revoke_sessions(engine, ids["analyst"]) == 3
    assert all(session_user(engine, s) is None for s in sessions)
    assert session_user(engine, mine) is not None


def test_role_changes_apply_to_open_sessions_at_once(team):
    engine, ids = team
    session = start_session(engine, ids["analyst"], hours=1)
    staff.set_role(engine, ids["analyst"], "agent")
    assert session_user(engine, session)["role"] == "agent"
    with pytest.raises(UserError, match="The role must be one of"):
        staff.set_role(engine, ids["analyst"], "root")


def test_users_are_found_by_e_mail_in_any_case(team):
    engine, ids = team
    assert staff.find_user(engine, " WANG@huadong.cn ") == ids["analyst"]
    with pytest.raises(UserError, match="no user with the e-mail"):
        staff.find_user(engine, "nobody@huadong.cn")
    with pytest.raises(UserError, match="no such user"):
        staff.deactivate(engine, 9999)


def test_admin_actions_are_logged_without_passwords(team, caplog):
    engine, ids = team
    caplog.set_level("INFO", logger="patronage.staff")
    staff.set_role(engine, ids["agent"], "analyst", actor_id=ids["admin"])
    one_time = staff.reset_password(engine, ids["agent"], actor_id=ids["admin"])
    staff.deactivate(engine, ids["agent"], actor_id=ids["admin"])
    staff.activate(engine, ids["agent"], actor_id=ids["admin"])
    staff.revoke_sessions(engine, ids["agent"], actor_id=ids["admin"])
    lines = [r.getMessage() for r in caplog.records if r.name == "patronage.staff"]
    assert len(lines) == 5
    assert all("zhou@huadong.cn" in line and "by lin@huadong.cn" in line for line in lines)
    assert "agent -> analyst" in lines[0]
    assert not any(one_time in line for line in caplog.text.splitlines())
