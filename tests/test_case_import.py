"""Importing cases: all or nothing, problems by line and column, re-import adds nothing."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from patronage.cli import main
from patronage.storage.schema import cases

pytestmark = pytest.mark.db


def _count(engine):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(cases)).scalar()


def _import(db_url, path, *extra):
    return CliRunner().invoke(main, ["import", "cases", str(path), "--db", db_url, *extra])


def test_a_hotline_export_in_chinese_imports_once(panel, db_url, tmp_path):
    engine = panel[0]
    path = tmp_path / "热线.csv"
    path.write_bytes("工单号,客户编号,主题,描述,优先级,受理时间\n"
                     "HL-1,C001,送货延误,三天未到,high,2026-11-02 10:00\n"
                     "HL-2,C002,发票错误,,normal,2026/11/3\n".encode("gb18030"))
    before = _count(engine)
    dry = _import(db_url, path, "--dry-run")
    assert dry.exit_code == 0 and "dry run" in dry.output and _count(engine) == before
    result = _import(db_url, path)
    assert result.exit_code == 0, result.output
    assert "Inserted 2" in result.output and _count(engine) == before + 2
    again = _import(db_url, path)
    assert "Inserted 0" in again.output and "unchanged 2" in again.output
    assert _count(engine) == before + 2
    with engine.connect() as conn:
        row = conn.execute(select(cases.c.channel, cases.c.severity, cases.c.opened_at)
                           .where(cases.c.external_ref == "HL-1")).one()
    assert row.channel == "import" and row.severity == "high" and row.opened_at.day == 2


def test_one_bad_row_writes_nothing_and_every_problem_is_named(panel, db_url, tmp_path):
    engine = panel[0]
    path = tmp_path / "cases.csv"
    path.write_text("ref,customer_id,subject,severity,category\n"
                    "A,C001,ok,normal,\n"
                    "B,C404,unknown customer,normal,\n"
                    "C,C002,,normal,\n"
                    "D,C003,bad severity,huge,\n"
                    "E,C003,bad category,normal,nope\n", encoding="utf-8")
    before = _count(engine)
    result = _import(db_url, path)
    assert result.exit_code == 1 and _count(engine) == before
    out = result.output
    assert "Nothing was written: 4 problems" in out
    for line, words in ((3, "C404"), (4, "subject is required"), (5, "huge"), (6, "nope")):
        assert f"line {line}" in out and words in out


def test_a_file_without_the_required_columns(panel, db_url, tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text("ref,title\nA,x\n", encoding="utf-8")
    result = _import(db_url, path)
    assert result.exit_code == 1 and "required column missing" in result.output
