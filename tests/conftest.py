"""Shared fixtures.

``db_url`` gives each test a fresh, migrated database: a SQLite file in the test's temporary
folder, or, when ``PATRONAGE_TEST_DATABASE_URL`` names a PostgreSQL server, a database of its own
on that server that is dropped afterwards. Both are copies of a database migrated once per test
process (the migrations themselves are tested in ``test_storage_schema.py``); ``empty_db_url``
and the demo company use a fresh file or schema instead.

A test asking for ``panel`` (directly or through another fixture) gets a copy, made the same
way, of a database that :func:`seed_panel` filled once per test process (its three logins cost
three Argon2 hashes, about 0.4 s of processor time, and a third of the tests ask for it).

Every test on the demo company is marked ``slow`` here (building it takes about half a minute
per test process), as are Spark's: ``pytest`` leaves them out (``-m "not slow"`` in
``pyproject.toml``) and ``pytest -m slow`` runs them; CI runs both.
"""

from __future__ import annotations

import copy
import os
import queue
import shutil
import threading
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


def pytest_collection_modifyitems(config, items):
    """Mark ``slow`` the tests that use the demo company, directly or through another
    fixture."""
    for item in items:
        if "demo_company" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def _argon2_answers_remembered():
    """Each Argon2 check of a password against a hash is computed once per test process.

    A check takes about 0.13 s of processor time on purpose, and the tests log the same users
    in with the same passwords hundreds of times (the panel's hashes are copied with its
    database). The answer depends on nothing but the hash and the password, so a repeated
    check gives the answer of the first, or raises a new error of the first one's class and
    message; everything around it (the bounded number of hashes at a time, the dummy check for
    unknown e-mails) runs as it does. Hashing a password is never remembered (it is salted).
    """
    from argon2 import PasswordHasher

    check = PasswordHasher.verify
    answers: dict = {}

    def remembered(self, hash, password):  # noqa: A002 - the library's parameter name
        key = (hash, password)
        if key not in answers:
            try:
                answers[key] = (check(self, hash, password), None)
            except Exception as error:  # noqa: BLE001 - raised again below, every time
                answers[key] = (None, (type(error), error.args))
                raise
        answer, error = answers[key]
        if error is not None:
            raise error[0](*error[1])
        return answer

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PasswordHasher, "verify", remembered)
        yield


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


def _is_sqlite() -> bool:
    return not TEST_DATABASE_URL or backend_name() == "sqlite"


def _postgres_url(database: str) -> str:
    return make_url(TEST_DATABASE_URL).set(database=database).render_as_string(hide_password=False)


def _postgres_admin():
    """An engine for creating and dropping databases (outside transactions)."""
    return make_engine(TEST_DATABASE_URL).execution_options(isolation_level="AUTOCOMMIT")


def _create_database(admin, name: str, template: str | None = None) -> None:
    """A new PostgreSQL database, empty or copied from ``template`` (a file copy on the server:
    the template must have no connections)."""
    source = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{source}'))


def _drop_database(admin, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class _Databases:
    """Creates a test process's PostgreSQL databases and drops them on threads of their own:
    ``DROP DATABASE`` waits for a checkpoint of the whole server (a second or more while the
    other test process writes), which the next test need not wait for. Drops requested while
    a checkpoint runs are served by the next one together, so ``droppers`` threads drop about
    as many databases in the time of one (8 drops: 34 s one after the other, 1.4 s on 4
    threads, on a busy machine). At most ``backlog`` databases wait to be dropped, so the disk
    fills no further (about 11 MB each)."""

    def __init__(self, backlog: int = 32, droppers: int = 8):
        self.admin = _postgres_admin()
        self._waiting: queue.Queue = queue.Queue(maxsize=backlog)
        self._failures: list[BaseException] = []
        self._threads = [threading.Thread(target=self._drop_waiting, daemon=True,
                                          name=f"drop-test-databases-{number}")
                         for number in range(droppers)]
        for thread in self._threads:
            thread.start()

    def create(self, name: str, template: str | None = None) -> str:
        _create_database(self.admin, name, template)
        return _postgres_url(name)

    def drop(self, name: str) -> None:
        """The database goes, on a dropping thread (this waits while the backlog is full)."""
        self._waiting.put(name)

    def _drop_waiting(self) -> None:
        while (name := self._waiting.get()) is not None:
            try:
                _drop_database(self.admin, name)
            except Exception as exc:  # noqa: BLE001 - raised when the session ends
                self._failures.append(exc)

    def close(self) -> None:
        """Drops what is left; raises the first failure to drop a database."""
        for _thread in self._threads:
            self._waiting.put(None)
        for thread in self._threads:
            thread.join()
        self.admin.dispose()
        if self._failures:
            raise self._failures[0]


def _close_for_copying(engine) -> None:
    """Dispose of ``engine``, its SQLite write-ahead log folded into the file first, so that
    the database can be copied (a file copy, or a PostgreSQL template with no connections)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


@pytest.fixture(scope="session")
def _postgres_databases():
    databases = _Databases()
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory):
    """A SQLite file migrated once per session (and test worker): each test gets a copy of it,
    byte for byte what ``upgrade`` makes, without running the migrations again."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    _close_for_copying(engine)
    return path


@pytest.fixture(scope="session")
def _migrated_postgres(_postgres_databases):
    """A PostgreSQL database migrated once per session (and test worker): each test gets a
    database copied from it (``CREATE DATABASE ... TEMPLATE``, a file copy on the server)."""
    name = f"tpl_{uuid.uuid4().hex[:16]}"
    engine = make_engine(_postgres_databases.create(name))
    upgrade(engine)
    engine.dispose()  # a template database must have no connections when it is copied
    yield _postgres_databases.admin, name
    _postgres_databases.drop(name)


@pytest.fixture(scope="session")
def _panel_template(request, tmp_path_factory):
    """The migrated database holding :func:`seed_panel`'s panel, made once per session (and
    test worker): ``(SQLite file or PostgreSQL database, seed_panel's answer)``."""
    if _is_sqlite():
        path = tmp_path_factory.mktemp("panel") / "panel.db"
        shutil.copyfile(request.getfixturevalue("_migrated_sqlite"), path)
        engine = make_engine(f"sqlite:///{path}")
        info = seed_panel(engine)
        _close_for_copying(engine)
        yield path, info
        return
    databases = request.getfixturevalue("_postgres_databases")
    name = f"tpl_{uuid.uuid4().hex[:16]}"
    engine = make_engine(databases.create(name, request.getfixturevalue("_migrated_postgres")[1]))
    info = seed_panel(engine)
    _close_for_copying(engine)
    yield name, info
    databases.drop(name)


#: The answer of seed_panel for each database ``db_url`` copied from the panel's template.
_PANEL_COPIES: dict[str, dict] = {}


@pytest.fixture
def db_url(request, tmp_path):
    """URL of a fresh database migrated to the newest schema (already holding
    :func:`seed_panel`'s panel when the test asks for ``panel``)."""
    seeded = "_panel_copy" in request.fixturenames
    template = request.getfixturevalue("_panel_template") if seeded else None
    if _is_sqlite():
        path = tmp_path / "patronage-test.db"
        shutil.copyfile(template[0] if seeded else request.getfixturevalue("_migrated_sqlite"),
                        path)
        url = f"sqlite:///{path}"
        if seeded:
            _PANEL_COPIES[url] = copy.deepcopy(template[1])
        yield url
        _PANEL_COPIES.pop(url, None)
        return
    databases = request.getfixturevalue("_postgres_databases")
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = databases.create(name, template[0] if seeded else
                           request.getfixturevalue("_migrated_postgres")[1])
    if seeded:
        _PANEL_COPIES[url] = copy.deepcopy(template[1])
    yield url
    _PANEL_COPIES.pop(url, None)
    databases.drop(name)


@pytest.fixture
def engine(db_url):
    """An engine on a fresh, migrated database."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def demo_company(tmp_path_factory):
    """The demo company (default seed) built once per test process: ``(url, summary, company)``.

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
def demo_export(demo_company, tmp_path_factory):
    """The demo company exported by ``patronage export parquet``, once per test process:
    ``(url, folder, the command's output)``. Tests must only read it."""
    from click.testing import CliRunner

    from patronage.cli import main

    url = demo_company[0]
    folder = tmp_path_factory.mktemp("export") / "panel"
    result = CliRunner().invoke(main, ["export", "parquet", str(folder), "--db", url])
    assert result.exit_code == 0, result.output
    return url, folder, result.output


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
def _panel_copy():
    """Tells ``db_url`` that the test asks for :func:`seed_panel`'s panel (see ``panel``)."""


@pytest.fixture
def panel(_panel_copy, db_url, engine):
    """The engine of a fresh database holding :func:`seed_panel`'s small panel: a copy of a
    database seeded once per test process (seeded here when ``db_url`` was made before
    ``panel`` was asked for)."""
    info = _PANEL_COPIES.pop(db_url, None)
    return engine, info if info is not None else seed_panel(engine)


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


@pytest.fixture
def spark():
    """The test process's one local Spark session (see ``spark_support.shared_spark``); the
    Spark test modules require Spark before asking for it."""
    from spark_support import shared_spark

    return shared_spark()
