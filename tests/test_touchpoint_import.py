"""Importing touchpoints: kinds in Chinese or English, times or durations, all or nothing with
every problem named, and importing the same file again adds nothing."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from patronage.cli import main
from patronage.journey.importing import seconds
from patronage.labels import set_label
from patronage.storage.schema import touchpoints

pytestmark = pytest.mark.db


def _count(engine):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(touchpoints)).scalar()


def _import(db_url, path, *extra):
    return CliRunner().invoke(main, ["import", "touchpoints", str(path), "--db", db_url, *extra])


def test_a_service_log_in_chinese_imports_once(panel, db_url, tmp_path):
    engine = panel[0]
    path = tmp_path / "服务记录.csv"
    path.write_bytes("客户编号,接触点,开始时间,接通时间,结束时间,网点,班组,坐席,渠道\n"
                     "C001,咨询,2026-11-02 10:00:00,2026-11-02 10:00:25,2026-11-02 10:04:25,"
                     "上海,热线一组,王芳,phone\n"
                     "C002,维修,2026/11/3 09:00,2026/11/3 12:30,2026/11/3 14:00,北京,,,onsite\n"
                     "C003,Invoice,2026-11-04,,,上海,,,email\n".encode("gb18030"))
    before = _count(engine)
    dry = _import(db_url, path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert _count(engine) == before
    result = _import(db_url, path)
    assert result.exit_code == 0, result.output
    assert "Inserted 3" in result.output and _count(engine) == before + 3
    again = _import(db_url, path)
    assert again.exit_code == 0 and "Inserted 0" in again.output
    assert _count(engine) == before + 3
    with engine.connect() as conn:
        rows = {r.kind: r for r in conn.execute(
            select(touchpoints).where(touchpoints.c.external_id.is_not(None)))}
    call = rows["inquiry"]
    assert call.waiting_seconds == 25 and call.handling_seconds == 240
    assert (call.site, call.team, call.agent, call.channel) == ("上海", "热线一组", "王芳", "phone")
    visit = rows["maintenance"]
    assert visit.waiting_seconds == 3.5 * 3600 and visit.handling_seconds == 5400
    assert rows["invoice"].waiting_seconds is None and rows["invoice"].site == "上海"


def test_durations_ids_right_first_time_and_an_admins_label(panel, db_url, tmp_path):
    engine = panel[0]
    set_label(engine, "touchpoint", "installation", "zh_Hans", "上门安装")
    path = tmp_path / "log.csv"
    path.write_text("id,customer_id,kind,start,waiting,handling,right first time\n"
                    "T1,C001,上门安装,2026-10-01 08:00,1:30,0:45:00,是\n"
                    "T2,C002,invoice,2026-10-02 08:00,,,否\n", encoding="utf-8")
    result = _import(db_url, path)
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(
            select(touchpoints).where(touchpoints.c.external_id.in_(["T1", "T2"])))}
    assert rows["T1"].kind == "installation" and rows["T1"].waiting_seconds == 90
    assert rows["T1"].handling_seconds == 2700 and rows["T1"].right_first_time is True
    assert rows["T2"].right_first_time is False


def test_one_bad_row_writes_nothing_and_every_problem_is_named(panel, db_url, tmp_path):
    engine = panel[0]
    path = tmp_path / "bad.csv"
    path.write_text("customer,kind,start,answered_at,waiting_seconds\n"
                    "C001,quote,2026-10-01 08:00,,\n"
                    "C404,quote,2026-10-01 08:00,,\n"
                    "C002,teleport,2026-10-01 08:00,,\n"
                    "C002,order,,,\n"
                    "C003,order,2026-10-01 08:00,2026-10-01 07:00,\n"
                    "C003,order,2026-10-01 08:00,2026-10-01 08:01,5\n"
                    "C003,order,2026-10-02 08:00,,-3\n", encoding="utf-8")
    before = _count(engine)
    result = _import(db_url, path)
    assert result.exit_code == 1 and _count(engine) == before
    out = result.output
    assert "Nothing was written: 6 problems" in out, out
    for line, words in ((3, "C404"), (4, "teleport"), (5, "required"),
                        (6, "answered before it started"), (7, "60 s of waiting"),
                        (8, "between 0 seconds and a year")):
        assert f"line {line}" in out and words in out, (line, out)


def test_durations_are_read_as_seconds_minutes_or_hours():
    assert seconds("95") == (95.0, None)
    assert seconds("1:35") == (95.0, None)
    assert seconds("1:00:05") == (3605.0, None)
    assert seconds("") == (None, None)
    assert seconds("soon")[1].startswith("not a duration")
