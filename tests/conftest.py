"""Shared fixtures.

``db_url`` gives each test a fresh, migrated database: a SQLite file in the test's temporary
folder, or, when ``PATRONAGE_TEST_DATABASE_URL`` names a PostgreSQL server, a schema of its own
on that server that is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from patronage.storage import make_engine, upgrade

TEST_DATABASE_URL = os.environ.get("PATRONAGE_TEST_DATABASE_URL", "").strip()


def backend_name() -> str:
    return make_url(TEST_DATABASE_URL).get_backend_name() if TEST_DATABASE_URL else "sqlite"


@pytest.fixture
def empty_db_url(tmp_path):
    """URL of a fresh database with no tables."""
    if not TEST_DATABASE_URL or backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'patronage-test.db'}"
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
def db_url(empty_db_url):
    """URL of a fresh database migrated to the newest schema."""
    engine = make_engine(empty_db_url)
    upgrade(engine)
    engine.dispose()
    return empty_db_url


@pytest.fixture
def engine(db_url):
    """An engine on a fresh, migrated database."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()
