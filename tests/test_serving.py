"""Serving safely (issue 10, items 8 and 22): survey links follow the serving address unless
PATRONAGE_PUBLIC_BASE_URL says otherwise, X-Forwarded-For counts only from configured proxies,
invitation tokens stay out of the access log, the language cookie is Secure in production, and
the database, backups and mail files are readable by their owner only."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import stat
import threading
import time
from email.message import EmailMessage

import httpx2
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from patronage.settings import Settings
from patronage.storage import make_engine
from patronage.web import create_app
from patronage.web.serving import server_config, startup_notes

SECRET = "s" * 40


@pytest.fixture
def no_env(monkeypatch):
    for name in ("PATRONAGE_PUBLIC_BASE_URL", "PATRONAGE_HOST", "PATRONAGE_PORT",
                 "PATRONAGE_TRUSTED_PROXIES", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)


def test_survey_links_follow_the_serving_address(no_env):
    assert Settings().survey_base_url() == "http://127.0.0.1:8000"
    moved = Settings().model_copy(update={"port": 9123})  # what `patronage serve --port` does
    assert moved.survey_base_url() == "http://127.0.0.1:9123"
    assert "http://127.0.0.1:9123" in " ".join(startup_notes(moved))
    assert "PATRONAGE_PUBLIC_BASE_URL" in " ".join(startup_notes(moved))
    everywhere = Settings(host="0.0.0.0", port=8443).survey_base_url()
    assert everywhere == f"http://{socket.gethostname()}:8443"
    given = Settings(public_base_url="https://survey.example.com/", port=9123)
    assert given.survey_base_url() == "https://survey.example.com"
    assert "https://survey.example.com" in " ".join(startup_notes(given))


@pytest.mark.db
def test_the_survey_page_shows_links_on_the_serving_port(no_env, pulse, panel, db_url):
    _engine, code, open_token, _tokens = pulse
    email, password = panel[1]["logins"]["admin"]
    settings = Settings(database_url=db_url).model_copy(update={"port": 9123})
    with TestClient(create_app(settings)) as client:
        page = client.get("/login")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/login", data={"email": email, "password": password, "csrf_token": csrf})
        text = client.get(f"/surveys/{code}").text
    assert f"http://127.0.0.1:9123/o/{open_token}" in text
    assert "127.0.0.1:8000" not in text


def _addresses_seen(settings, forwarded: list[str]) -> list[str]:
    """The client address the app sees for requests from 127.0.0.1 with ``forwarded``."""
    app = FastAPI()

    @app.get("/who")
    def who(request: Request):
        return request.client.host

    config = server_config(settings, app)
    config.load()

    async def run():
        transport = httpx2.ASGITransport(app=config.loaded_app, client=("127.0.0.1", 4000))
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as client:
            return [(await client.get("/who", headers={"x-forwarded-for": f})).json()
                    for f in forwarded]

    return asyncio.run(run())


def test_x_forwarded_for_counts_only_from_trusted_proxies(no_env):
    spoofed = ["198.51.100.1", "198.51.100.2"]
    assert _addresses_seen(Settings(), spoofed) == ["127.0.0.1", "127.0.0.1"]
    trusted = Settings(trusted_proxies="127.0.0.1")
    assert _addresses_seen(trusted, spoofed) == spoofed


@pytest.mark.db
def test_invitation_tokens_and_resume_keys_stay_out_of_the_access_log(no_env, pulse, db_url):
    import uvicorn

    _engine, _code, open_token, tokens = pulse
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(database_url=db_url, port=port)
    config = server_config(settings, create_app(settings))
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    server = uvicorn.Server(config)
    keep = Keep()
    logging.getLogger("uvicorn.access").addHandler(keep)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        assert httpx2.get(f"{base}/s/{tokens[0]}").status_code == 200
        httpx2.get(f"{base}/o/{open_token}?resume=SECRETRESUMEKEY&lang=en")
        httpx2.get(f"{base}/health")
    finally:
        server.should_exit = True
        thread.join(10)
        logging.getLogger("uvicorn.access").removeHandler(keep)
    logged = "\n".join(records)
    assert "/health" in logged and "/s/" in logged and "/o/" in logged
    for secret in (tokens[0], open_token, "SECRETRESUMEKEY"):
        assert secret not in logged


@pytest.mark.db
def test_the_language_cookie_is_secure_in_production(panel, db_url):
    settings = Settings(database_url=db_url, environment="production", secret_key=SECRET)
    with TestClient(create_app(settings), base_url="https://t") as client:
        page = client.get("/login")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        reply = client.post("/language", data={"lang": "zh_Hans", "next": "/login",
                                               "csrf_token": csrf}, follow_redirects=False)
    assert reply.status_code == 303
    cookie = reply.headers["set-cookie"]
    assert "patronage_lang=zh_Hans" in cookie and "Secure" in cookie


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_database_backup_and_mail_files_are_private(tmp_path, monkeypatch):
    from sqlalchemy import text

    from patronage.storage.backup import backup
    from patronage.surveys.outbox import SinkSender

    old = os.umask(0o022)  # the usual umask: files 0644, folders 0755 unless made private
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'company.db'}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        for name in ("company.db", "company.db-wal", "company.db-shm"):
            if (tmp_path / name).exists():
                assert _mode(tmp_path / name) == 0o600, name
        copy = backup(engine, tmp_path / "copy.db")
        assert _mode(copy) == 0o600
        engine.dispose()
        sink = SinkSender(tmp_path / "mail-sink")
        message = EmailMessage()
        message["Message-ID"] = "<m1@example.com>"
        message.set_content("hello")
        sink.send(message)
        assert _mode(tmp_path / "mail-sink") == 0o700
        assert [_mode(p) for p in (tmp_path / "mail-sink").iterdir()] == [0o600]
    finally:
        os.umask(old)


@pytest.mark.db
def test_errors_are_logged_without_the_survey_token(pulse, db_url, caplog, monkeypatch):
    from patronage.web import public

    _engine, _code, _open, tokens = pulse

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(public, "resolve_link", broken)
    with TestClient(create_app(Settings(database_url=db_url)),
                    raise_server_exceptions=False) as client:
        with caplog.at_level(logging.ERROR, logger="patronage.web"):
            assert client.get(f"/s/{tokens[0]}").status_code == 500
    assert "/s/…" in caplog.text and tokens[0] not in caplog.text
