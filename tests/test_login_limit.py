"""The login limit under concurrency (issue 10, item 14): an attempt is counted before its
password is hashed, so 100 wrong passwords sent at once run as many Argon2 checks as the limit
allows, and only a few hashes run at a time (each takes 64 MiB)."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx2
import pytest
from argon2 import PasswordHasher
from bs4 import BeautifulSoup

from patronage.settings import Settings
from patronage.web import create_app

pytestmark = pytest.mark.db


@pytest.fixture
def hashes(monkeypatch):
    """Counts Argon2 verifications and the most that ran at once (each made to take 50 ms)."""
    real = PasswordHasher.verify
    state = {"calls": 0, "running": 0, "peak": 0}
    lock = threading.Lock()

    def counted(self, hash_, password):
        with lock:
            state["calls"] += 1
            state["running"] += 1
            state["peak"] = max(state["peak"], state["running"])
        try:
            time.sleep(0.05)
            return real(self, hash_, password)
        finally:
            with lock:
                state["running"] -= 1

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    return state


def _app(db_url):
    return create_app(Settings(database_url=db_url, login_attempts_per_hour=10))


async def _logins(app, passwords, email):
    transport = httpx2.ASGITransport(app=app, client=("203.0.113.9", 5000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://t") as client:
        page = await client.get("/login")
        csrf = BeautifulSoup(page.text, "html.parser").find(
            "input", {"name": "csrf_token"})["value"]
        return await asyncio.gather(*(client.post(
            "/login", data={"email": email, "password": p, "csrf_token": csrf},
            follow_redirects=False) for p in passwords))


def test_concurrent_wrong_passwords_hash_no_more_than_the_limit(panel, db_url, hashes):
    email, _right = panel[1]["logins"]["admin"]
    app = _app(db_url)
    try:
        replies = asyncio.run(_logins(app, [f"wrong-{i}" for i in range(100)], email))
    finally:
        app.state.intake.close()
        app.state.engine.dispose()
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [400] * 10 + [429] * 90
    assert hashes["calls"] == 10
    assert hashes["peak"] <= 4


def test_a_locked_out_address_gets_in_only_after_the_window(panel, db_url, hashes):
    email, right = panel[1]["logins"]["admin"]
    app = _app(db_url)
    clock = {"now": 1000.0}
    app.state.login_limiter._clock = lambda: clock["now"]
    try:
        replies = asyncio.run(_logins(app, ["wrong"] * 10, email))
        assert [r.status_code for r in replies] == [400] * 10
        [reply] = asyncio.run(_logins(app, [right], email))
        assert reply.status_code == 429  # the right password, but locked out
        clock["now"] += 3601
        [reply] = asyncio.run(_logins(app, [right], email))
        assert reply.status_code == 303
        # a good login is not a failure: ten more good logins from the address all get in
        replies = asyncio.run(_logins(app, [right] * 10, email))
        assert [r.status_code for r in replies] == [303] * 10
    finally:
        app.state.intake.close()
        app.state.engine.dispose()
