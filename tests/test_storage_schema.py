"""The schema on the selected database: migrations, constraints, pragmas."""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from patronage.storage import make_engine, pending, upgrade, write_transaction
from patronage.storage.migrate import current_revision, downgrade, head_revision
from patronage.storage.partitions import comparable
from patronage.storage.schema import (
    customers, invitations, metadata, outbox, surveys, transactions,
)
from patronage.storage.schema_members import TRANSFER_FKS_CHECKED_BY_TRIGGER

pytestmark = pytest.mark.db
NOW = datetime(2026, 1, 1, 12, 0)


def test_migrations_match_schema_module(engine):
    assert not pending(engine)
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": comparable(conn.dialect.name)}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)
    if engine.dialect.name == "postgresql":
        # Migration 0017: the accounts and member of a transfer are checked by a statement
        # trigger (tested in test_members_ledger.py), not by the foreign keys the schema module
        # declares.
        replaced = [d for d in diff if d[0] == "add_fk"
                    and d[1].name in TRANSFER_FKS_CHECKED_BY_TRIGGER]
        assert sorted(d[1].name for d in replaced) == sorted(TRANSFER_FKS_CHECKED_BY_TRIGGER)
        diff = [d for d in diff if d not in replaced]
    assert diff == []


def test_empty_database_is_pending_until_upgraded(empty_db_url):
    engine = make_engine(empty_db_url)
    try:
        assert pending(engine)
        assert upgrade(engine) == head_revision()
        assert not pending(engine)
    finally:
        engine.dispose()


def test_migrations_upgrade_step_by_step_and_back(empty_db_url):
    """Each migration applies on top of the previous one and its downgrade undoes it."""
    engine = make_engine(empty_db_url)
    try:
        assert upgrade(engine, "0001") == "0001"
        assert upgrade(engine) == head_revision()
        downgrade(engine, "0001")
        assert current_revision(engine) == "0001"
        assert upgrade(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrading_keeps_the_data(empty_db_url):
    """Table rebuilds during a migration (SQLite) must not cascade-delete referring rows."""
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0001")
        with write_transaction(engine) as conn:
            pk = _customer(conn)
            survey = conn.execute(insert(surveys).values(
                code="s", title="t", definition={}, created_at=NOW)).inserted_primary_key[0]
            conn.execute(insert(invitations).values(survey_id=survey, customer_id=pk,
                                                    token="tok", created_at=NOW))
            conn.execute(text("INSERT INTO responses (external_id, survey_id, customer_id, "
                              "channel, submitted_at, weight) "
                              "VALUES ('R1', :s, :c, 'web', :t, 1)"),
                         {"s": survey, "c": pk, "t": NOW})
        upgrade(engine)
        with engine.connect() as conn:
            counts = [conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                      for t in ("customers", "surveys", "invitations", "responses")]
        assert counts == [1, 1, 1, 1]
    finally:
        engine.dispose()


def _customer(conn, external_id="C1"):
    return conn.execute(insert(customers).values(
        external_id=external_id, name="王芳", created_at=NOW, updated_at=NOW)).inserted_primary_key[0]


def test_unique_external_id_is_enforced_by_the_database(engine):
    with write_transaction(engine) as conn:
        _customer(conn)
    with pytest.raises(IntegrityError):
        with write_transaction(engine) as conn:
            _customer(conn)


def test_foreign_keys_are_enforced(engine):
    with pytest.raises(IntegrityError):
        with write_transaction(engine) as conn:
            conn.execute(insert(transactions).values(
                external_id="T1", customer_id=999, occurred_at=NOW, amount=10))


def test_negative_amount_needs_refund_flag(engine):
    with write_transaction(engine) as conn:
        pk = _customer(conn)
        conn.execute(insert(transactions).values(
            external_id="R1", customer_id=pk, occurred_at=NOW, amount=-5, is_refund=True))
    with pytest.raises(IntegrityError):
        with write_transaction(engine) as conn:
            conn.execute(insert(transactions).values(
                external_id="T2", customer_id=pk, occurred_at=NOW, amount=-5))


def test_invitation_tokens_are_unique(engine):
    with write_transaction(engine) as conn:
        survey = conn.execute(insert(surveys).values(
            code="s", title="t", definition={}, created_at=NOW)).inserted_primary_key[0]
        conn.execute(insert(invitations).values(survey_id=survey, token="abc", created_at=NOW))
    with pytest.raises(IntegrityError):
        with write_transaction(engine) as conn:
            conn.execute(insert(invitations).values(survey_id=survey, token="abc", created_at=NOW))

    for bad in ({"channel": "pigeon"}, {"design_weight": 0}):
        with pytest.raises(IntegrityError):
            with write_transaction(engine) as conn:
                conn.execute(insert(invitations).values(survey_id=survey, token="new",
                                                        created_at=NOW, **bad))
    with pytest.raises(IntegrityError):
        with write_transaction(engine) as conn:
            conn.execute(insert(outbox).values(kind="invitation", to_address="a@b.c",
                                               subject="s", body_text="b", message_id="<1@x>",
                                               status="lost", created_at=NOW))


def test_sqlite_pragmas(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas apply to SQLite only; this run uses " + engine.dialect.name)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def test_insert_rows_reads_back_exactly(engine):
    """insert_rows goes through COPY on PostgreSQL: awkward text, JSON, NULLs, timestamps and
    booleans must read back exactly as written (and the same on SQLite's INSERT path)."""
    from datetime import date, datetime

    from sqlalchemy import select

    from patronage.storage import insert_rows, write_transaction
    from patronage.storage.schema import customers

    awkward = ["tab\there", "line\nbreak", "back\\slash", "\\N", "\\.", "客户 “引号”", "😀",
               "=1+1", "", "O'Brien"]
    rows = [{"external_id": f"X{i}", "name": text, "email": None if i % 2 else f"x{i}@e.cn",
             "birthday": date(1980, 1, 1 + i), "consent_survey": bool(i % 3),
             "attributes": {"note": text, "n": i, "list": [1, None]},
             "created_at": datetime(2026, 1, 2, 3, 4, 5, 678_901),
             "updated_at": datetime(2026, 1, 2, 3, 4, 5)} for i, text in enumerate(awkward)]
    with write_transaction(engine) as conn:
        assert insert_rows(conn, customers, rows) == len(rows)
        assert insert_rows(conn, customers, []) == 0
    with engine.connect() as conn:
        stored = conn.execute(select(*(customers.c[k] for k in rows[0]))
                              .order_by(customers.c.id)).mappings().all()
    assert [dict(r) for r in stored] == rows


def test_staff_accounts_migration_keeps_users_and_sessions(empty_db_url):
    """0003 adds last login / forced password change to users; up and down keep the accounts
    and their sessions (a SQLite table rebuild must not cascade-delete the sessions)."""
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0002")
        with write_transaction(engine) as conn:
            conn.execute(text("INSERT INTO users (email, password_hash, role, is_active, "
                              "created_at) VALUES ('a@x.cn', 'h', 'admin', :t, :n)"),
                         {"t": True, "n": NOW})
            conn.execute(text("INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, "
                              "expires_at) SELECT 'h1', id, 'c', :n, :n FROM users"), {"n": NOW})
        assert upgrade(engine, "0003") == "0003"
        with engine.connect() as conn:
            row = conn.execute(text("SELECT must_change_password, last_login_at FROM users")).one()
            assert (bool(row[0]), row[1]) == (False, None)
            assert conn.execute(text("SELECT COUNT(*) FROM sessions")).scalar_one() == 1
        downgrade(engine, "0002")
        assert current_revision(engine) == "0002"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM users")).scalar_one() == 1
            assert conn.execute(text("SELECT COUNT(*) FROM sessions")).scalar_one() == 1
        assert upgrade(engine) == head_revision()
    finally:
        engine.dispose()


def test_point_accounts_leave_room_for_balance_updates_on_postgresql(engine):
    """Migration 0016: half of each page of ``point_accounts`` is kept free on PostgreSQL, so
    balance updates stay on their page (heap-only tuples)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL storage parameter")
    with engine.connect() as conn:
        options = conn.exec_driver_sql(
            "SELECT reloptions FROM pg_class WHERE relname = 'point_accounts' "
            "AND relnamespace = to_regnamespace(current_schema())").scalar_one()
    assert "fillfactor=50" in (options or [])
