"""The Users page (admins) and "Change my password" (everyone) through the in-process client."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from patronage.accounts import authenticate
from patronage.settings import Settings
from patronage.staff import find_user
from patronage.web import create_app

pytestmark = pytest.mark.db
NEW = "Harbour-Violet-7730"


@pytest.fixture
def site(panel, db_url):
    engine, info = panel
    app = create_app(Settings(database_url=db_url, login_attempts_per_hour=5))
    clients = []

    def client(role=None, *, lang="en", password=None):
        """A new browser; logged in as ``role`` when given."""
        c = TestClient(app)
        c.__enter__()
        clients.append(c)
        c.cookies.set("patronage_lang", lang)
        if role:
            email, right = info["logins"][role]
            response = login(c, email, password or right)
            assert response.status_code == 303, response.text
        return c

    client.engine = engine
    client.logins = info["logins"]
    yield client
    for c in clients:
        c.__exit__(None, None, None)


def csrf_of(html: str) -> str:
    return BeautifulSoup(html, "html.parser").find("input", {"name": "csrf_token"})["value"]


def login(c, email, password, next_="/customers"):
    page = c.get("/login")
    return c.post("/login", data={"email": email, "password": password, "next": next_,
                                  "csrf_token": csrf_of(page.text)}, follow_redirects=False)


def post(c, path, **data):
    token = csrf_of(c.get("/account/password").text)
    return c.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def soup(response):
    return BeautifulSoup(response.text, "html.parser")


def uid(site, role):
    return find_user(site.engine, site.logins[role][0])


def test_only_admins_see_and_use_the_users_page(site):
    analyst = site("analyst")
    assert analyst.get("/users").status_code == 403
    assert post(analyst, f"/users/{uid(site, 'agent')}/deactivate").status_code == 403
    assert not soup(analyst.get("/customers")).select('nav a[href="/users"]')
    admin = site("admin")
    page = soup(admin.get("/users"))
    assert admin.get("/users").status_code == 200
    assert soup(admin.get("/customers")).select('nav a[href="/users"]')
    rows = {r["data-email"]: r for r in page.select("table#users tbody tr")}
    assert set(rows) == {"admin@example.com", "analyst@example.com", "agent@example.com"}
    admin_row = rows["admin@example.com"]
    assert admin_row.select_one(".role").text.strip() == "admin"
    assert admin_row.select_one(".status").text.strip() == "Active"
    assert admin_row.select_one(".last-login").text.strip().startswith("20")  # just logged in
    assert rows["agent@example.com"].select_one(".last-login").text.strip() == "Never"
    assert rows["agent@example.com"].select_one(".created").text.strip().startswith("20")


def test_adding_a_user_shows_a_one_time_password_once(site):
    admin = site("admin")
    response = post(admin, "/users", email="zhou@example.com", name="周敏", role="agent",
                    password="")
    assert response.status_code == 200
    one_time = soup(response).select_one("#one-time-password").text.strip()
    assert response.text.count("Created the account zhou@example.com") == 1  # said once
    assert authenticate(site.engine, "zhou@example.com", one_time)["must_change_password"]
    assert "#one-time-password" not in admin.get("/users").text
    assert soup(admin.get("/users")).select_one("#one-time-password") is None


def test_weak_passwords_and_bad_input_are_explained_in_the_readers_language(site):
    admin = site("admin", lang="zh_Hans")
    response = post(admin, "/users", email="zhou@example.com", name="", role="agent",
                    password="password2026")
    assert response.status_code == 400
    error = soup(response).select_one("#user-error").text
    assert "最常见的密码" in error
    form = soup(response).select_one("form#add-user")
    assert form.select_one("#new-email")["value"] == "zhou@example.com"
    response = post(admin, "/users", email="not-an-address", role="agent", password="")
    assert "不是电子邮箱地址" in soup(response).select_one("#user-error").text
    assert post(admin, "/users/99999/deactivate").status_code == 404


def test_reset_password_forces_a_change_at_next_login(site):
    admin = site("admin")
    agent_before = site("agent")
    response = post(admin, f"/users/{uid(site, 'agent')}/reset-password", password="")
    one_time = soup(response).select_one("#one-time-password").text.strip()
    # the old session ended at once
    assert agent_before.get("/customers", follow_redirects=False).status_code == 303
    agent = site(lang="zh_Hans")
    response = login(agent, "agent@example.com", one_time)
    assert response.headers["location"].startswith("/account/password")
    # every other page sends the user to change the password first
    blocked = agent.get("/customers", follow_redirects=False)
    assert blocked.status_code == 303 and blocked.headers["location"].startswith(
        "/account/password")
    assert agent.get("/api/overview").status_code == 403
    page = soup(agent.get("/account/password"))
    assert page.select_one("#must-change") is not None
    bad = post(agent, "/account/password", current=one_time, new=" " * 12, repeat=" " * 12)
    assert bad.status_code == 400 and "密码不能只由空格组成" in soup(bad).select_one(
        "#password-error").text
    done = post(agent, "/account/password", current=one_time, new=NEW, repeat=NEW,
                next="/customers")
    assert done.status_code == 303 and done.headers["location"] == "/customers"
    assert agent.get("/customers").status_code == 200
    assert authenticate(site.engine, "agent@example.com", NEW)["must_change_password"] is False


def test_change_my_password_asks_the_current_one_and_keeps_this_session(site):
    analyst = site("analyst")
    elsewhere = site("analyst")
    page = analyst.get("/account/password")
    assert page.status_code == 200
    assert soup(analyst.get("/customers")).select('a[href="/account/password"]')
    wrong = post(analyst, "/account/password", current="not the password", new=NEW, repeat=NEW)
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    typo = post(analyst, "/account/password", current=site.logins["analyst"][1], new=NEW,
                repeat=NEW + "x")
    assert typo.status_code == 400 and "do not match" in typo.text
    old_cookie = analyst.cookies.get("patronage_session")
    done = post(analyst, "/account/password", current=site.logins["analyst"][1], new=NEW,
                repeat=NEW)
    assert done.status_code == 303
    assert soup(analyst.get(done.headers["location"])).select_one("#notice") is not None
    assert analyst.get("/customers").status_code == 200
    assert elsewhere.get("/customers", follow_redirects=False).status_code == 303
    # this browser got a new session id: a copy of the old cookie opens nothing
    assert analyst.cookies.get("patronage_session") != old_cookie
    thief = site()
    thief.cookies.set("patronage_session", old_cookie)
    assert thief.get("/customers", follow_redirects=False).status_code == 303


def test_wrong_current_passwords_are_rate_limited(site):
    agent = site("agent")
    for _ in range(5):
        post(agent, "/account/password", current="guess-guess-guess", new=NEW, repeat=NEW)
    blocked = post(agent, "/account/password", current=site.logins["agent"][1], new=NEW,
                   repeat=NEW)
    assert blocked.status_code == 429
    assert authenticate(site.engine, "agent@example.com", NEW) is None


def test_deactivating_ends_the_users_sessions_at_once(site):
    admin = site("admin")
    agent = site("agent")
    assert agent.get("/customers").status_code == 200
    response = post(admin, f"/users/{uid(site, 'agent')}/deactivate")
    assert response.status_code == 200
    row = soup(response).select_one('tr[data-email="agent@example.com"]')
    assert row.select_one(".status").text.strip() == "Deactivated"
    assert agent.get("/customers", follow_redirects=False).status_code == 303
    assert login(site(), *site.logins["agent"]).status_code == 400
    post(admin, f"/users/{uid(site, 'agent')}/activate")
    assert login(site(), *site.logins["agent"]).status_code == 303


def test_role_changes_and_the_last_admin_rule_on_the_page(site):
    admin = site("admin", lang="zh_Hant")
    analyst = site("analyst")
    response = post(admin, f"/users/{uid(site, 'analyst')}/role", role="agent")
    assert response.status_code == 200
    assert analyst.get("/analysis").status_code == 403  # at once, in the open session
    mine = uid(site, "admin")
    refused = post(admin, f"/users/{mine}/deactivate")
    assert refused.status_code == 400
    assert "不能停用自己的帳號" in soup(refused).select_one("#user-error").text
    refused = post(admin, f"/users/{mine}/role", role="analyst")
    assert "不能修改自己的角色" in soup(refused).select_one("#user-error").text
    assert post(admin, f"/users/{mine}/role", role="root").status_code == 400


def test_revoke_sessions_logs_the_user_out_everywhere(site):
    admin = site("admin")
    agents = [site("agent"), site("agent")]
    response = post(admin, f"/users/{uid(site, 'agent')}/revoke-sessions")
    assert response.status_code == 200 and "2" in soup(response).select_one("#notice").text
    for agent in agents:
        assert agent.get("/customers", follow_redirects=False).status_code == 303


def test_user_names_are_escaped(site):
    admin = site("admin")
    post(admin, "/users", email="x@example.com", name="<script>alert(1)</script>", role="agent",
         password="")
    page = admin.get("/users").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize("lang", ["zh_Hans", "zh_Hant"])
def test_the_account_pages_have_no_english_left_in_chinese(site, lang):
    from visible_english import english_words

    admin = site("admin", lang=lang)
    post(admin, "/users", email="zhou@example.com", name="", role="agent", password="")
    post(admin, f"/users/{find_user(site.engine, 'zhou@example.com')}/deactivate")
    pages = {"/users": admin.get("/users").text,
             "reset": post(admin, f"/users/{uid(site, 'agent')}/reset-password").text,
             "/account/password": admin.get("/account/password").text}
    left = {name: english_words(html, allowed=("UTC",)) for name, html in pages.items()}
    assert all(words == [] for words in left.values()), left
