"""Transactions partitioned by month on PostgreSQL (migration 0019, ``storage.partitions``);
SQLite keeps its plain table, and the same imports, constraints and reads hold on both."""

from __future__ import annotations

import csv
from datetime import date, datetime

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from conftest import backend_name
from patronage.storage import make_engine, upgrade, write_transaction
from patronage.storage.importing import import_file
from patronage.storage.migrate import current_revision, downgrade
from patronage.storage.partitions import ensure_ahead, ensure_months, stored_months
from patronage.storage.schema import customers, transactions
from patronage.storage.summary import _summary_query, read_customer_summary

pytestmark = pytest.mark.db
POSTGRES = backend_name() == "postgresql"
only_postgres = pytest.mark.skipif(not POSTGRES, reason="partitions are PostgreSQL's; "
                                   "SQLite keeps a plain table (checked by the other tests)")
NOW = datetime(2026, 1, 1, 12, 0)
#: The duplicate external id error: the trigger's (PostgreSQL) or the unique index's (SQLite).
DUPLICATE = "uq_transactions_external_id|UNIQUE constraint failed: transactions.external_id"


def _csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def _customer(conn, external_id="C1"):
    return conn.execute(insert(customers).values(
        external_id=external_id, name="王芳", created_at=NOW, updated_at=NOW)
    ).inserted_primary_key[0]


def _where(engine) -> dict[str, str]:
    """Each transaction's external id -> the table its row is stored in."""
    table = "tableoid::regclass::text" if POSTGRES else "'transactions'"
    with engine.connect() as conn:
        return dict(conn.execute(text(f"SELECT external_id, {table} FROM transactions")).all())


@pytest.fixture
def imported(engine, tmp_path):
    assert import_file(engine, "customers", _csv(tmp_path / "c.csv", [
        ["customer_id", "name"], ["C1", "A"], ["C2", "B"]])).inserted == 2
    report = import_file(engine, "transactions", _csv(tmp_path / "t.csv", [
        ["order_no", "customer_id", "date", "amount"],
        ["T1", "C1", "2024-01-05", "10"], ["T2", "C1", "2024-01-31 23:59:59", "20"],
        ["T3", "C2", "2024-02-01", "30"], ["T4", "C2", "2024-04-15", "-5"]]))
    assert report.inserted == 4, report.errors
    return engine


def test_import_puts_each_row_in_its_months_partition(imported):
    where = _where(imported)
    if POSTGRES:
        assert where == {"T1": "transactions_y2024m01", "T2": "transactions_y2024m01",
                         "T3": "transactions_y2024m02", "T4": "transactions_y2024m04"}
        with imported.connect() as conn:
            assert {date(2024, 1, 1), date(2024, 2, 1), date(2024, 4, 1)} <= stored_months(conn)
            assert date(2024, 3, 1) not in stored_months(conn)  # no rows, no partition
    else:
        assert where == dict.fromkeys(["T1", "T2", "T3", "T4"], "transactions")


def test_reimport_updates_in_place_and_moves_a_row_to_its_new_month(imported, tmp_path):
    report = import_file(imported, "transactions", _csv(tmp_path / "t2.csv", [
        ["order_no", "customer_id", "date", "amount"],
        ["T1", "C1", "2024-01-05", "10"], ["T3", "C2", "2024-05-02", "35"],
        ["T5", "C1", "2024-05-20", "7"]]))
    assert (report.inserted, report.updated) == (1, 1), report.errors
    with imported.connect() as conn:
        rows = dict(conn.execute(select(transactions.c.external_id, transactions.c.amount)).all())
    assert {k: float(v) for k, v in rows.items()} == {"T1": 10, "T2": 20, "T3": 35, "T4": -5,
                                                      "T5": 7}
    if POSTGRES:
        assert _where(imported)["T3"] == "transactions_y2024m05"


def test_external_id_stays_unique(imported):
    """On PostgreSQL a trigger stands in for UNIQUE (external_id): same error class."""
    with pytest.raises(IntegrityError, match=DUPLICATE):
        with write_transaction(imported) as conn:
            pk = conn.execute(select(customers.c.id).where(customers.c.external_id == "C1")
                              ).scalar_one()
            # Another month than T1's: a unique index per partition would not see it.
            conn.execute(insert(transactions).values(
                external_id="T1", customer_id=pk, occurred_at=datetime(2025, 7, 1), amount=1))
    with pytest.raises(IntegrityError, match=DUPLICATE):
        with write_transaction(imported) as conn:
            conn.execute(text("UPDATE transactions SET external_id = 'T1' "
                              "WHERE external_id = 'T3'"))
    with pytest.raises(IntegrityError):  # one statement writing the same id twice
        with write_transaction(imported) as conn:
            pk = conn.execute(select(customers.c.id)).scalars().first()
            conn.execute(insert(transactions), [
                {"external_id": "T9", "customer_id": pk, "occurred_at": NOW, "amount": 1},
                {"external_id": "T9", "customer_id": pk, "occurred_at": NOW, "amount": 2}])
    assert len(_where(imported)) == 4


@only_postgres
def test_rows_in_the_default_partition_move_to_their_month(engine):
    with write_transaction(engine) as conn:
        pk = _customer(conn)
        conn.execute(insert(transactions), [
            {"external_id": f"D{i}", "customer_id": pk, "occurred_at": datetime(2019, 3, 1 + i),
             "amount": i} for i in range(5)] + [
            {"external_id": "D9", "customer_id": pk, "occurred_at": datetime(2019, 4, 2),
             "amount": 9}])
    assert set(_where(engine).values()) == {"transactions_default"}
    with write_transaction(engine) as conn:
        assert ensure_months(conn, [date(2019, 3, 17)]) == 1
        assert ensure_months(conn, [datetime(2019, 3, 1)]) == 0  # there already
    where = _where(engine)
    assert [where[f"D{i}"] for i in range(5)] == ["transactions_y2019m03"] * 5
    assert where["D9"] == "transactions_default"
    with engine.connect() as conn:  # the split-out partition has the table's indexes
        indexes = conn.execute(text("SELECT count(*) FROM pg_indexes WHERE tablename = "
                                    "'transactions_y2019m03'")).scalar_one()
    assert indexes == 3  # primary key, customer and time, external id


@only_postgres
def test_worker_makes_this_and_the_next_months(engine):
    assert ensure_ahead(engine, now=datetime(2031, 11, 20)) == 4
    assert ensure_ahead(engine, now=datetime(2031, 12, 1)) == 1
    with engine.connect() as conn:
        months = stored_months(conn)
    assert {date(2031, 11, 1), date(2031, 12, 1), date(2032, 1, 1), date(2032, 2, 1),
            date(2032, 3, 1)} <= months


def test_the_worker_round_makes_the_months_ahead(engine, db_url):
    from patronage.settings import Settings
    from patronage.work import work_once

    done = work_once(engine, Settings(database_url=db_url), now=datetime(2033, 5, 9))
    assert "failed" not in done
    assert done["partitions made"] == (4 if POSTGRES else 0)  # May to August 2033
    again = work_once(engine, Settings(database_url=db_url), now=datetime(2033, 5, 10))
    assert again["partitions made"] == 0


@only_postgres
def test_summary_plan_reads_only_the_months_up_to_its_end(imported):
    """Partition pruning: a summary ending in February 2024 scans January's and February's
    partitions (and DEFAULT, which may hold any date), never April's."""
    query = _summary_query(imported, date(2024, 2, 29))
    sql = str(query.compile(imported, compile_kwargs={"literal_binds": True}))
    with imported.connect() as conn:
        plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {sql}").scalars())
    assert "transactions_y2024m01" in plan and "transactions_y2024m02" in plan
    assert "transactions_y2024m04" not in plan
    summary = read_customer_summary(imported, observation_end="2024-02-29")
    assert summary.loc["C1", "frequency"] == 1 and summary.loc["C2", "total_spend"] == 30


@only_postgres
def test_migration_partitions_existing_data_and_back(empty_db_url):
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0016")
        with write_transaction(engine) as conn:
            pk = _customer(conn)
            conn.execute(insert(transactions), [
                {"external_id": f"M{i}", "customer_id": pk,
                 "occurred_at": datetime(2023, 1 + i % 12, 1 + i % 27, 9), "amount": i,
                 "is_refund": False} for i in range(40)])

        def snapshot():
            with engine.connect() as conn:
                return conn.execute(select(transactions).order_by(transactions.c.id)).all()

        before = snapshot()
        upgrade(engine)
        assert snapshot() == before
        where = _where(engine)
        assert all(where[f"M{i}"] == f"transactions_y2023m{1 + i % 12:02d}" for i in range(40))
        with write_transaction(engine) as conn:  # the id sequence carries on
            new = conn.execute(insert(transactions).values(
                external_id="N", customer_id=pk, occurred_at=NOW, amount=1)
            ).inserted_primary_key[0]
        assert new == max(row.id for row in before) + 1
        downgrade(engine, "0016")
        assert current_revision(engine) == "0016"
        assert len(snapshot()) == 41 and _where(engine)["M0"] == "transactions"
        with engine.connect() as conn:
            kind = conn.execute(text("SELECT relkind FROM pg_class WHERE oid = "
                                     "'transactions'::regclass")).scalar_one()
        assert kind == "r"
        with pytest.raises(IntegrityError, match=DUPLICATE):
            with write_transaction(engine) as conn:
                conn.execute(insert(transactions).values(
                    external_id="N", customer_id=pk, occurred_at=NOW, amount=1))
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(transactions)).scalar_one() == 41
    finally:
        engine.dispose()


@only_postgres
@pytest.mark.slow
def test_the_demo_company_fills_month_partitions_not_default(demo_company):
    engine = make_engine(demo_company[0])
    try:
        where = _where(engine)
    finally:
        engine.dispose()
    assert len(where) > 1000
    assert "transactions_default" not in set(where.values())
