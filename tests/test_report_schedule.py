"""Scheduled reports: mailed through the outbox with the file attached, exactly once per period
(two workers at once, a second round), periods in the company's time zone."""

from __future__ import annotations

import email
import threading
from datetime import date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from patronage.cli import main
from patronage.reporting.report_mail import (
    add_schedule, period_of, recipients_of, run_schedules, schedule_table,
)
from patronage.settings import Settings
from patronage.storage.schema import outbox
from patronage.storage.schema_reports import outbox_attachments, report_deliveries
from patronage.surveys.outbox import SinkSender, deliver_pending
from patronage.work import work_once


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture
def weekly(panel, db_url, tmp_path):
    engine = panel[0]
    add_schedule(engine, every="monday", to="lin@example.com, wang@example.com", fmt="html",
                 survey="relationship", language="zh_Hans", now=datetime(2026, 12, 1))
    settings = Settings(database_url=db_url, timezone="Asia/Shanghai",
                        mail_sink_dir=str(tmp_path / "mail"), sms_sink_dir=str(tmp_path / "sms"))
    return engine, settings


def test_periods():
    assert period_of("monday", date(2026, 12, 9)) == ("2026-12-07", date(2026, 12, 7))
    assert period_of("monday", date(2026, 12, 7))[0] == "2026-12-07"
    assert period_of("monday", date(2026, 12, 6))[0] == "2026-11-30"
    assert period_of("friday", date(2026, 12, 7))[0] == "2026-12-04"
    assert period_of("day", date(2026, 12, 9))[0] == "2026-12-09"
    assert period_of("month", date(2026, 12, 31))[0] == "2026-12"


def test_bad_schedules_are_refused_with_a_message(panel):
    engine = panel[0]
    with pytest.raises(ValueError, match="weekday"):
        add_schedule(engine, every="fortnight", to="a@b.cn")
    with pytest.raises(ValueError, match="not-an-address"):
        add_schedule(engine, every="day", to="a@b.cn,not-an-address")
    with pytest.raises(ValueError, match="relationship"):
        add_schedule(engine, every="day", to="a@b.cn", survey="nope")
    assert recipients_of("a@b.cn; c@d.cn a@b.cn") == ["a@b.cn", "c@d.cn"]


def test_worker_sends_once_per_period_with_the_report_attached(weekly, tmp_path):
    engine, settings = weekly
    wednesday = datetime(2026, 12, 9, 2, 0)
    first = work_once(engine, settings, now=wednesday)
    assert first["reports queued"] == 2 and first["mail sent"] == 2 and "failed" not in first
    again = work_once(engine, settings, now=datetime(2026, 12, 10, 2, 0))
    assert again["reports queued"] == 0 and _count(engine, outbox) == 2
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2
    message = email.message_from_bytes(files[0].read_bytes())
    parts = [p for p in message.walk() if p.get_filename()]
    assert [p.get_filename() for p in parts] == ["report-relationship-2026-12-07.html"]
    page = parts[0].get_payload(decode=True).decode("utf-8")
    assert "管理摘要" in page and "&lt;script&gt;" in page and "<script>" not in page
    assert schedule_table(engine).loc[1, "last_period"] == "2026-12-07"
    assert work_once(engine, settings, now=datetime(2026, 12, 14, 2, 0))["reports queued"] == 2


def test_the_week_turns_at_midnight_in_the_company_time_zone(weekly):
    engine, settings = weekly
    # Sunday 2026-12-13 23:30 in Shanghai is 15:30 UTC: still the week of 7 December.
    assert run_schedules(engine, settings, now=datetime(2026, 12, 13, 15, 30)) == 2
    assert run_schedules(engine, settings, now=datetime(2026, 12, 13, 15, 59)) == 0
    # 16:30 UTC is Monday 00:30 in Shanghai: the new week's report goes out.
    assert run_schedules(engine, settings, now=datetime(2026, 12, 13, 16, 30)) == 2
    with engine.connect() as conn:
        periods = conn.execute(select(report_deliveries.c.period).order_by(
            report_deliveries.c.id)).scalars().all()
    assert periods == ["2026-12-07", "2026-12-14"]


def test_two_workers_at_once_queue_one_period_once(weekly):
    engine, settings = weekly
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(run_schedules(engine, settings, now=datetime(2026, 12, 9, 2, 0)))
        except Exception as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(results) == [0, 2]
    assert _count(engine, report_deliveries) == 1 and _count(engine, outbox) == 2
    assert _count(engine, outbox_attachments) == 2


def test_outbox_sends_attachments(panel, tmp_path):
    from patronage.storage import write_transaction
    from patronage.surveys.outbox import enqueue

    engine = panel[0]
    with write_transaction(engine) as conn:
        enqueue(conn, kind="report", to_address="a@b.cn", subject="s", body_text="b",
                attachments=[("r.pdf", "application/pdf", b"%PDF-1.4 x")])
    assert deliver_pending(engine, SinkSender(tmp_path), mail_from="p@example.com") == 1
    message = email.message_from_bytes(next(tmp_path.glob("*.eml")).read_bytes())
    part = next(p for p in message.walk() if p.get_filename() == "r.pdf")
    assert part.get_content_type() == "application/pdf"
    assert part.get_payload(decode=True) == b"%PDF-1.4 x"


def test_cli_schedules_lists_and_unschedules(panel, db_url):
    runner = CliRunner()
    result = runner.invoke(main, ["report", "schedule", "--db", db_url, "--every", "month",
                                  "--to", "lin@example.com", "--format", "xlsx", "--lang", "en"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(main, ["report", "schedules", "--db", db_url, "--format", "csv"])
    assert "month" in listed.output and "lin@example.com" in listed.output
    assert runner.invoke(main, ["report", "unschedule", "--db", db_url, "1"]).exit_code == 0
    missing = runner.invoke(main, ["report", "unschedule", "--db", db_url, "1"])
    assert missing.exit_code == 1 and "report schedules" in missing.output
    bad = runner.invoke(main, ["report", "schedule", "--db", db_url, "--every", "monday",
                               "--to", "nobody", "--lang", "zh_Hans"])
    assert bad.exit_code == 1 and "nobody" in bad.output and "Traceback" not in bad.output


def test_a_report_that_cannot_be_built_holds_up_no_other(weekly, monkeypatch, tmp_path):
    engine, settings = weekly
    add_schedule(engine, every="day", to="chen@example.com", fmt="pdf", survey="relationship",
                 language="en", now=datetime(2026, 12, 1))
    monkeypatch.setenv("PATRONAGE_REPORT_FONT", str(tmp_path / "missing.ttf"))
    done = work_once(engine, settings, now=datetime(2026, 12, 9, 2, 0))
    assert done["failed"] == 1 and done["reports queued"] == 0
    assert _count(engine, outbox) == 2  # the weekly HTML report went out
    monkeypatch.delenv("PATRONAGE_REPORT_FONT")
    assert run_schedules(engine, settings, now=datetime(2026, 12, 9, 3, 0)) == 1
