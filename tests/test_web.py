"""The web app through an in-process client on a fresh database (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from conftest import SCRIPT_COMMENT
from patronage.settings import Settings
from patronage.web import create_app


@pytest.fixture
def client(panel, db_url):
    engine, info = panel
    app = create_app(Settings(database_url=db_url, login_attempts_per_hour=3))
    with TestClient(app) as test_client:
        test_client.info = info
        test_client.fastapi_app = app
        yield test_client


def csrf_of(html: str) -> str:
    return BeautifulSoup(html, "html.parser").find("input", {"name": "csrf_token"})["value"]


def login(client, role="admin", password=None):
    email, right = client.info["logins"][role]
    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password or right,
                                       "csrf_token": csrf_of(page.text), "next": "/"},
                       follow_redirects=False)


def test_pages_need_login(client):
    response = client.get("/customers", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcustomers"
    assert client.get("/api/overview").status_code == 401


def test_login_sets_a_hardened_session_cookie(client):
    response = login(client)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "patronage_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_then_rate_limited(client):
    for _ in range(3):
        response = login(client, password="wrong-password")
        assert response.status_code == 400
        assert "The e-mail or the password is wrong." in response.text
    # The limit (3 per hour in this app) now holds even for the right password.
    response = login(client)
    assert response.status_code == 429
    assert "Too many failed logins" in response.text


def test_state_changing_requests_need_the_csrf_token(client):
    email, password = client.info["logins"]["admin"]
    client.get("/login")
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 403 and "The form has expired" in response.text
    login(client)
    changing = {"post", "put", "patch", "delete"}
    paths = client.fastapi_app.openapi()["paths"]
    posts = sorted(path for path, methods in paths.items() if changing & set(methods))
    assert {"/language", "/login", "/logout", "/s/{token}", "/o/{token}"} <= set(posts)
    # The JSON submission API uses no cookie: the survey token in the body authorizes it; the
    # SMS gateway's replies need its API key, whatever session cookie comes along.
    exempt = {"/api/responses", "/api/sms/inbound"}
    assert client.post("/api/sms/inbound", json={"from": "1", "body": "TD"}).status_code == 401
    for path in posts:
        if path in exempt:
            continue
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        forged = client.post(concrete, data={"lang": "en", "csrf_token": "forged"},
                             follow_redirects=False)
        assert forged.status_code == 403, path
    assert client.get("/").status_code == 200  # the forged logout did not end the session


def test_overview_shows_nps_with_interval_per_wave(client):
    login(client)
    page = BeautifulSoup(client.get("/").text, "html.parser")
    rows = page.select("table#waves tbody tr")
    assert [r.find("td").text for r in rows] == ["2026 Q1", "2026 Q2"]  # quarters spelled one way
    api = client.get("/api/overview").json()
    first = api["waves"][0]
    assert first["n"] == 30
    assert first["ci_low"] < first["nps"] < first["ci_high"]
    # scores 0..10 cycle as (7 i) mod 11 for i < 30: count promoters (9, 10) and detractors (0-6)
    scores = [(7 * i) % 11 for i in range(30)]
    expected = 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / 30
    assert first["nps"] == pytest.approx(expected)
    # worst-case margin of error of a share from 30 answers: 1.96 * sqrt(0.25 / 30)
    assert first["margin_of_error"] == pytest.approx(100 * 1.959964 * (0.25 / 30) ** 0.5, abs=1e-3)
    assert page.select_one("#kpi-nps .value").text.strip() == f"{api['waves'][1]['nps']:.1f}"
    figure = page.select_one("#chart-trend")["data-figure"]
    assert '"error_y"' in figure


def test_respondent_and_customer_text_is_escaped(client):
    login(client)
    overview = client.get("/").text
    assert "<script>alert('xss')</script>" not in overview
    assert "&lt;script&gt;" in overview
    assert SCRIPT_COMMENT in BeautifulSoup(overview, "html.parser").select_one("#comments").text
    customers = client.get("/customers?q=northwind").text
    assert "<b>Northwind</b>" not in customers and "&lt;b&gt;Northwind&lt;/b&gt;" in customers
    profile = client.get("/customers/2").text
    assert "<img src=x" not in profile and "&lt;img src=x onerror=alert(1)&gt;" in profile


def test_security_headers_forbid_foreign_scripts(client):
    response = client.get("/login")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"


def test_charts_come_from_the_installed_plotly_package(client):
    login(client)
    page = client.get("/").text
    sources = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert sources and all(src.startswith("/") for src in sources)
    bundle = client.get("/vendor/plotly.min.js")
    assert bundle.status_code == 200 and "plotly" in bundle.text[:2000].lower()


def test_customer_search_and_profile(client):
    login(client, "agent")
    page = BeautifulSoup(client.get("/customers", params={"q": "华东"}).text, "html.parser")
    links = page.select("table#customers tbody a")
    assert [a.text for a in links] == ["C001", "上海华东精密机械有限公司"]  # id and name link
    assert len({a["href"] for a in links}) == 1
    profile = client.get(links[0]["href"])
    soup = BeautifulSoup(profile.text, "html.parser")
    assert soup.h1.text.startswith("上海华东精密机械有限公司")
    assert len(soup.select("table#transactions tbody tr")) == 10
    assert client.get("/customers/999").status_code == 404
    data = client.get("/api/customers/1").json()
    assert data["stats"]["transactions"] == 10 and data["stats"]["responses"] == 20


def test_roles_limit_what_a_user_sees(client):
    login(client, "agent")
    assert client.get("/", follow_redirects=False).headers["location"] == "/my"
    assert client.get("/api/overview").status_code == 403


def test_logout_ends_the_session(client):
    login(client)
    token = csrf_of(client.get("/customers").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert client.get("/customers", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("lang, title", [("zh_Hans", "总览"), ("zh_Hant", "總覽"), ("en", "Overview")])
def test_language_switch(client, lang, title):
    login(client)
    token = csrf_of(client.get("/").text)
    client.post("/language", data={"lang": lang, "next": "/", "csrf_token": token})
    page = BeautifulSoup(client.get("/").text, "html.parser")
    assert page.h1.text == title
    assert page.html["lang"] == {"en": "en", "zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant"}[lang]


def test_browser_language_is_the_default(client):
    page = client.get("/login", headers={"Accept-Language": "zh-TW,zh;q=0.9"})
    assert "登入" in page.text


def test_health_and_errors_never_show_tracebacks(client):
    assert client.get("/health").json() == {"status": "ok", "database": "ok"}
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "There is no such page." in missing.text
    login(client)
    assert client.get("/customers/not-a-number").status_code == 422
    assert "Traceback" not in client.get("/customers?page=abc").text


def test_analysis_page_explains_what_it_cannot_compute(client):
    login(client, "analyst")
    page = BeautifulSoup(client.get("/analysis").text, "html.parser")
    trend = page.select("#section-trend tbody tr")
    assert [row.find("td").text for row in trend] == ["2026 Q1", "2026 Q2"]
    assert "Kano answer pairs" in page.select_one("#section-kano").text
    login(client, "agent")
    assert client.get("/analysis").status_code == 403
