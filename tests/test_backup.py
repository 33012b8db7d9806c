"""patronage db backup: a consistent copy while the server writes (reliability.md F4)."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from conftest import backend_name
from patronage.cli import main
from patronage.storage import insert_rows, make_engine, write_transaction
from patronage.storage.schema import transactions

pytestmark = pytest.mark.db


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(transactions)).scalar_one()


def test_backup_under_writes_is_consistent(panel, db_url, tmp_path):
    engine, _info = panel
    target = tmp_path / "copy.db"
    if backend_name() != "sqlite":
        result = CliRunner().invoke(main, ["db", "backup", str(target), "--db", db_url])
        assert result.exit_code != 0 and "pg_dump" in result.output
        assert "Traceback" not in result.output and not target.exists()
        return
    stop, written = threading.Event(), [0]

    def writer():  # a steady stream of commits while the backup runs
        while not stop.is_set():
            with write_transaction(engine) as conn:
                insert_rows(conn, transactions, [
                    {"external_id": f"W{written[0]}-{k}", "customer_id": 1,
                     "occurred_at": datetime(2026, 5, 1), "amount": 1.0, "is_refund": False}
                    for k in range(50)])
            written[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 5:
            stop.wait(0.01)
        result = CliRunner().invoke(main, ["db", "backup", str(target), "--db", db_url])
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    assert "integrity check: ok" in result.output
    copy = make_engine(f"sqlite:///{target}")
    try:
        copied = _count(copy)
    finally:
        copy.dispose()
    # Whole transactions only: the 30 panel rows plus a multiple of 50, never a torn batch.
    assert 30 + 5 * 50 <= copied <= _count(engine) and (copied - 30) % 50 == 0
    again = CliRunner().invoke(main, ["db", "backup", str(target), "--db", db_url])
    assert again.exit_code != 0 and "exists already" in again.output
