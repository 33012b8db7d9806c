"""``patronage import transactions FILE --create-customers`` (issue 10, item 27): transactions-only
data such as a CDNOW-style purchase log needs no invented customers file; unknown customer ids
become bare customers, counted in the report, in the same transaction as the sales."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from patronage.cli import main
from patronage.storage.importing import import_file
from patronage.storage.schema import customers, transactions

pytestmark = pytest.mark.db

HEADER = "transaction_id,customer_id,date,amount\n"


def sales_file(tmp_path, lines, name="sales.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def run_import(db_url, path, *extra):
    return CliRunner().invoke(main, ["import", "transactions", str(path), "--db", db_url, *extra])


def counts(engine):
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(customers)).scalar_one(),
                conn.execute(select(func.count()).select_from(transactions)).scalar_one())


LOG = ["T1,00001,1997-01-01,11.77", "T2,00002,1997-01-12,12.00", "T3,00002,1997-01-12,77.00",
       "T4,00003,1997-01-02,20.76", "T5,00001,1997-03-05,5.00"]


def test_unknown_customers_are_refused_with_a_hint_without_the_option(engine, db_url, tmp_path):
    result = run_import(db_url, sales_file(tmp_path, LOG))
    assert result.exit_code == 1
    assert "not in the panel" in result.output and "--create-customers" in result.output
    assert counts(engine) == (0, 0)


def test_create_customers_creates_bare_customers_and_says_so(engine, db_url, tmp_path):
    path = sales_file(tmp_path, LOG)
    result = run_import(db_url, path, "--create-customers")
    assert result.exit_code == 0, result.output
    assert "Created 3 customers" in result.output and "00001, 00002, 00003" in result.output
    assert counts(engine) == (3, 5)
    with engine.connect() as conn:
        names = dict(conn.execute(select(customers.c.external_id, customers.c.name)).all())
        spend = conn.execute(
            select(func.sum(transactions.c.amount)).join(customers).where(
                customers.c.external_id == "00002")).scalar_one()
    assert names == {"00001": "00001", "00002": "00002", "00003": "00003"}
    assert float(spend) == pytest.approx(89.0)
    again = run_import(db_url, path, "--create-customers")  # re-import: nothing new
    assert again.exit_code == 0, again.output
    assert "Created" not in again.output and counts(engine) == (3, 5)


def test_known_customers_are_kept_and_only_unknown_ones_created(engine, db_url, tmp_path):
    people = tmp_path / "customers.csv"
    people.write_text("customer_id,name\n00001,上海华东精密机械有限公司\n", encoding="utf-8")
    assert CliRunner().invoke(main, ["import", "customers", str(people), "--db",
                                     db_url]).exit_code == 0
    report = import_file(engine, "transactions", sales_file(tmp_path, LOG),
                         create_customers=True)
    assert report.ok and report.customers_created == 2 and report.inserted == 5
    with engine.connect() as conn:
        name = conn.execute(select(customers.c.name).where(
            customers.c.external_id == "00001")).scalar_one()
    assert name == "上海华东精密机械有限公司"


def test_dry_run_counts_the_customers_it_would_create_and_writes_nothing(engine, db_url,
                                                                         tmp_path):
    result = run_import(db_url, sales_file(tmp_path, LOG), "--create-customers", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would create 3 customers" in result.output.lower()
    assert counts(engine) == (0, 0)


def test_a_file_with_problems_creates_no_customers(engine, db_url, tmp_path):
    path = sales_file(tmp_path, [*LOG, "T6,00009,1997-02-30,3.00"])  # no 30 February
    result = run_import(db_url, path, "--create-customers")
    assert result.exit_code == 1, result.output
    assert "line 7" in result.output
    assert counts(engine) == (0, 0)  # the customers went with the rolled-back transaction


def test_many_new_customers_are_listed_briefly(engine, db_url, tmp_path):
    lines = [f"T{i},C{i:04d},1997-01-{1 + i % 28:02d},{10 + i}.00" for i in range(40)]
    result = run_import(db_url, sales_file(tmp_path, lines), "--create-customers")
    assert result.exit_code == 0, result.output
    assert "Created 40 customers" in result.output and "and 35 more" in result.output
    assert counts(engine) == (40, 40)
