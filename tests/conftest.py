"""Shared fixtures.

``db_url`` gives each test a fresh, migrated database: a SQLite file in the test's temporary
folder, or, when ``PATRONAGE_TEST_DATABASE_URL`` names a PostgreSQL server, a database of its own
on that server that is dropped afterwards. Both are copies of a database migrated once per test
process (the migrations themselves are tested in ``test_storage_schema.py``); ``empty_db_url``
and the demo company use a fresh file or schema instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from patronage.storage import make_engine, upgrade

TEST_DATABASE_URL = os.environ.get("PATRONAGE_TEST_DATABASE_URL", "").strip()

# A visit waits for its page to be computed, and nothing is prepared in the background before it
# is asked for, so tests see (and count) exactly what they ask for. The tests of background
# preparation (test_page_cache.py) set these themselves.
os.environ.setdefault("PATRONAGE_PAGE_WAIT_SECONDS", "600")
os.environ.setdefault("PATRONAGE_WARM_PAGES_SECONDS", "0")


def backend_name() -> str:
    return make_url(TEST_DATABASE_URL).get_backend_name() if TEST_DATABASE_URL else "sqlite"


@contextmanager
def _fresh_database(folder):
    if not TEST_DATABASE_URL or backend_name() == "sqlite":
        yield f"sqlite:///{folder / 'patronage-test.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = make_engine(TEST_DATABASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(TEST_DATABASE_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def empty_db_url(tmp_path):
    """URL of a fresh database with no tables."""
    with _fresh_database(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def demo_company(tmp_path_factory):
    """The demo company (default seed) built once per test session: ``(url, summary, company)``.

    Tests must only read it.
    """
    from patronage.demo import build_demo_database, generate

    with _fresh_database(tmp_path_factory.mktemp("demo")) as url:
        engine = make_engine(url)
        try:
            summary = build_demo_database(engine)
        finally:
            engine.dispose()
        yield url, summary, generate()


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory):
    """A SQLite file migrated once per session (and test worker): each test gets a copy of it,
    byte for byte what ``upgrade`` makes, without running the migrations again."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:  # fold the write-ahead log into the file before copying it
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _migrated_postgres():
    """A PostgreSQL database migrated once per session (and test worker): each test gets a
    database copied from it (``CREATE DATABASE ... TEMPLATE``, a file copy on the server)."""
    name = f"tpl_{uuid.uuid4().hex[:16]}"
    admin = make_engine(TEST_DATABASE_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(TEST_DATABASE_URL).set(database=name)
                         .render_as_string(hide_password=False))
    upgrade(engine)
    engine.dispose()  # a template database must have no connections when it is copied
    try:
        yield admin, name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def db_url(request, tmp_path):
    """URL of a fresh database migrated to the newest schema."""
    if not TEST_DATABASE_URL or backend_name() == "sqlite":
        path = tmp_path / "patronage-test.db"
        shutil.copyfile(request.getfixturevalue("_migrated_sqlite"), path)
        yield f"sqlite:///{path}"
        return
    admin, template = request.getfixturevalue("_migrated_postgres")
    name = f"t_{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def engine(db_url):
    """An engine on a fresh, migrated database."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


SCRIPT_COMMENT = "<script>alert('xss')</script> 交货太慢"


def seed_panel(engine) -> dict:
    """A small panel: 3 customers, purchases, one survey with two waves, answers and a case.

    One customer's name and one comment carry markup, to prove pages escape respondent text.
    Returns the customer keys and the users' logins.
    """
    from datetime import date, datetime

    from patronage.accounts import create_user
    from patronage.storage import insert_rows, write_transaction
    from patronage.storage.schema import (
        answers, cases, customers, responses, surveys, transactions, waves,
    )

    now = datetime(2026, 6, 1, 9, 0)
    people = [("C001", "上海华东精密机械有限公司"), ("C002", "<b>Northwind</b> Traders"),
              ("C003", "王伟")]
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [
            {"id": i + 1, "external_id": ext, "name": name, "region": "East China",
             "phone": f"+86 1380000000{i}", "tier": "gold", "created_at": now, "updated_at": now}
            for i, (ext, name) in enumerate(people)])
        insert_rows(conn, transactions, [
            {"external_id": f"T{i}", "customer_id": 1 + i % 3,
             "occurred_at": datetime(2025, 1 + i % 12, 1 + i % 27), "amount": 100.0 + i,
             "is_refund": False} for i in range(30)])
        insert_rows(conn, surveys, [{"id": 1, "code": "relationship", "title": "Relationship",
                                     "status": "closed", "definition": {}, "created_at": now}])
        insert_rows(conn, waves, [
            {"id": 1, "survey_id": 1, "name": "2026-Q1", "starts_on": date(2026, 1, 1)},
            {"id": 2, "survey_id": 1, "name": "2026-Q2", "starts_on": date(2026, 4, 1)}])
        rows, items = [], []
        for i in range(60):
            wave = 1 if i < 30 else 2
            rows.append({"id": i + 1, "external_id": f"R{i}", "survey_id": 1, "wave_id": wave,
                         "customer_id": 1 + i % 3, "channel": "web",
                         "submitted_at": datetime(2026, 3 * wave - 1, 1 + i % 28), "weight": 1.0})
            score = (i * 7) % 11
            items += [{"response_id": i + 1, "item_code": "nps", "value_num": float(score),
                       "value_text": None},
                      {"response_id": i + 1, "item_code": "overall_satisfaction",
                       "value_num": float(1 + score % 10), "value_text": None}]
        items.append({"response_id": 60, "item_code": "comment", "value_num": None,
                      "value_text": SCRIPT_COMMENT})
        insert_rows(conn, responses, rows)
        insert_rows(conn, answers, items)
        insert_rows(conn, cases, [{"customer_id": 2, "type": "complaint", "status": "new",
                                   "subject": "<img src=x onerror=alert(1)>", "opened_at": now}])
        if conn.dialect.name == "postgresql":  # explicit ids above: move the sequences past them
            for table in ("customers", "surveys", "waves", "responses"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT MAX(id) FROM {table}))"))
    logins = {"admin": ("admin@example.com", "Tide-Lantern-4417"),
              "analyst": ("analyst@example.com", "Quill-Meadow-8352"),
              "agent": ("agent@example.com", "Ferry-Cobalt-2961")}
    for role, (email, password) in logins.items():
        create_user(engine, email, password, role)
    return {"logins": logins}


@pytest.fixture
def panel(engine):
    """The engine of a fresh database holding :func:`seed_panel`'s small panel."""
    return engine, seed_panel(engine)


def _t(en, hans, hant):
    return {"en": en, "zh_Hans": hans, "zh_Hant": hant}


PULSE_DEFINITION = {
    "format": 1, "code": "pulse", "version": 1, "languages": ["zh_Hans", "en", "zh_Hant"],
    "title": _t("Pulse", "脉搏调查", "脈搏調查"),
    "sections": [
        {"code": "first", "title": _t("Overall", "总体", "總體"), "items": [
            {"code": "nps", "type": "nps", "text": _t("Recommend?", "您会推荐吗？", "您會推薦嗎？")},
            {"code": "delivery", "type": "pair", "scale": [1, 10],
             "text": _t("Delivery", "交付", "交付")},
        ]},
        {"code": "second", "title": _t("More", "更多", "更多"), "items": [
            {"code": "why_low", "type": "text", "required": True,
             "text": _t("Why so low?", "为什么打分低？", "為什麼打分低？"),
             "show_if": {"item": "nps", "lte": 6}},
            {"code": "channels", "type": "multiple",
             "text": _t("Channels", "渠道", "通路"),
             "options": [{"code": "web", "text": _t("Web", "网站", "網站")},
                         {"code": "phone", "text": _t("Phone", "电话", "電話")}]},
            {"code": "comment", "type": "text", "required": False,
             "text": _t("Comment", "意见", "意見")},
        ]},
    ],
}


@pytest.fixture
def pulse(panel):
    """The pulse survey, open with an anonymous link, wave 2026-Q3 and 3 invitations:
    ``(engine, code, open_token, invitation tokens)``."""
    from datetime import date

    from sqlalchemy import select

    from patronage.storage.schema import invitations
    from patronage.surveys.program import add_wave, create_survey, draw_sample, set_status

    engine, _info = panel
    code = create_survey(engine, PULSE_DEFINITION)
    open_token = set_status(engine, code, "open", open_link=True)
    add_wave(engine, code, "2026-Q3", date(2026, 7, 1))
    draw_sample(engine, code, "2026-Q3", method="simple", n=3, seed=1, channel="link",
                today=date(2026, 7, 2))
    with engine.connect() as conn:
        tokens = conn.execute(select(invitations.c.token).order_by(invitations.c.id)).scalars().all()
    return engine, code, open_token, tokens
