"""Limits under concurrency (issue 10, item 14): an attempt is counted before its
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


def test_concurrent_link_guesses_get_no_more_lookups_than_the_limit(pulse, db_url,
                                                                    monkeypatch):
    """The same race on the survey-link limit: misses are counted before the look-up (made
    to take 50 ms here, like a database under load)."""
    from patronage.surveys import intake
    from patronage.web import public

    def slow(real):
        def looked_up(*args, **kwargs):
            time.sleep(0.05)
            return real(*args, **kwargs)
        return looked_up

    monkeypatch.setattr(public, "resolve_link", slow(public.resolve_link))
    monkeypatch.setattr(intake, "resolve_link", slow(intake.resolve_link))
    _engine, _code, open_token, _tokens = pulse
    app = create_app(Settings(database_url=db_url, public_link_misses_per_minute=10))

    async def run():
        transport = httpx2.ASGITransport(app=app, client=("203.0.113.7", 5000))
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as client:
            guesses = await asyncio.gather(*(client.get(f"/s/guess{i:040d}")
                                             for i in range(60)))
            posts = await asyncio.gather(*(client.post("/api/responses", json={
                "token": f"guess{i:040d}", "submission_id": f"g{i}", "answers": {}})
                for i in range(20)))
            return guesses, posts

    try:
        guesses, posts = asyncio.run(run())
    finally:
        app.state.intake.close()
        app.state.engine.dispose()
    statuses = sorted(r.status_code for r in guesses + posts)
    assert statuses == [404] * 10 + [429] * 70


def test_found_links_do_not_count_as_misses(pulse, db_url):
    _engine, _code, open_token, tokens = pulse
    app = create_app(Settings(database_url=db_url, public_link_misses_per_minute=2))

    async def run():
        transport = httpx2.ASGITransport(app=app, client=("203.0.113.8", 5000))
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as client:
            pages = [(await client.get(f"/s/{tokens[0]}")).status_code for _ in range(5)]
            bad = [(await client.post("/api/responses", json={
                "open_token": open_token, "submission_id": f"b{i}", "answers": {"nps": 99}}
            )).status_code for i in range(5)]
            return pages, bad

    try:
        pages, bad = asyncio.run(run())
    finally:
        app.state.intake.close()
        app.state.engine.dispose()
    assert pages == [200] * 5 and bad == [422] * 5
