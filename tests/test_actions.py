"""Action plans on the selected database: making and changing actions (every bad input a
UserError), the measured effect of an action on a survey with a planted effect (the service's
numbers checked against statsmodels' OLS with HC1 errors on the same answers), the board's groups
and the worker's reminders of overdue actions, exactly once per action and due date."""

from __future__ import annotations

import threading
from datetime import date, datetime

import pandas as pd
import pytest
from sqlalchemy import func, select

from action_data import add_later_wave, plant_survey
from patronage.accounts import create_user
from patronage.actions.board import board, detail
from patronage.actions.records import action_of, create_action, list_actions, update_action
from patronage.actions.reminders import run_reminders
from patronage.cases.config import DeskConfig
from patronage.messages import UserError
from patronage.satisfaction.sources import survey_data_from_db
from patronage.storage.schema import outbox
from patronage.storage.schema_actions import action_events

pytestmark = pytest.mark.db
NOW = datetime(2026, 3, 1, 9, 0)
smf = pytest.importorskip("statsmodels.formula.api")


@pytest.fixture
def planted(engine):
    plant_survey(engine)
    owner = create_user(engine, "lin@example.com", "Harbor-Violet-7731", "analyst")
    return engine, owner


def _make(engine, **values):
    fields = {"title": "缩短服务响应时间", "due": "2026-03-31", "metric": "item:speed_timeliness",
              "survey": "planted", "source": "ipa", "source_ref": "service",
              "owner": "lin@example.com", "segment": "region=East China", "target": "0.5",
              "baseline_wave": "2026-Q1", "budget": "¥12,000", "now": NOW, **values}
    return create_action(engine, **fields)


@pytest.mark.parametrize("bad, message", [
    ({"title": "  "}, "title|subject"), ({"metric": "revenue"}, "metric"),
    ({"metric": "dimension:speed"}, "no dimension"), ({"metric": "item:nothing"}, "no answers"),
    ({"segment": "region=Mars"}, "No customer has"), ({"segment": "colour=red"}, "segment"),
    ({"owner": "nobody@example.com"}, "no active staff"), ({"budget": "-5"}, "negative"),
    ({"budget": "lots"}, "number"), ({"due": "31/03/2026"}, "date"),
    ({"baseline_wave": "2027-Q9"}, "no wave"), ({"survey": "nope"}, "no survey"),
    ({"source": "ipa", "source_ref": ""}, "came from"), ({"source": "guess"}, "source"),
])
def test_bad_input_is_refused_with_a_reason(planted, bad, message):
    engine, _owner = planted
    with pytest.raises(UserError, match=f"(?i){message}"):
        _make(engine, **bad)
    assert list_actions(engine) == []


def test_an_action_is_made_changed_and_its_history_kept(planted):
    engine, owner = planted
    number = _make(engine, by=owner)
    row = action_of(engine, number)
    assert (row["status"], row["owner_id"], row["budget"], row["target_change"]) == (
        "planned", owner, 12000.0, 0.5)
    assert (row["segment"], row["baseline_wave"], row["survey"]) == (
        "region=East+China", "2026-Q1", "planted")
    update_action(engine, number, status="in_progress", note="已培训客服", by=owner,
                  now=datetime(2026, 3, 2))
    update_action(engine, number, note="第二轮培训", by=owner, now=datetime(2026, 3, 3))
    with pytest.raises(UserError, match="Nothing to change"):
        update_action(engine, number)
    with pytest.raises(UserError, match="status"):
        update_action(engine, number, status="finished")
    with pytest.raises(UserError, match="no action"):
        update_action(engine, 999, note="x")
    history = action_of(engine, number)["history"]
    assert [(h["kind"], h["status_to"], h["note"]) for h in history] == [
        ("created", "planned", None), ("status", "in_progress", "已培训客服"),
        ("note", None, "第二轮培训")]
    assert [r["id"] for r in list_actions(engine, status="in_progress",
                                          owner="lin@example.com")] == [number]
    assert list_actions(engine, status="done") == []


def test_the_baseline_defaults_to_the_newest_wave_and_waits_for_a_later_one(engine):
    plant_survey(engine, later_wave=False)
    number = _make(engine, owner=None, baseline_wave=None)
    shown = detail(engine, number, today=date(2026, 3, 1))
    assert shown["baseline_wave"] == "2026-Q1" and shown["effect"] is None
    assert shown["sentence"] == "No later wave or answers after the baseline yet."
    add_later_wave(engine)
    shown = detail(engine, number, today=date(2026, 3, 1))
    assert shown["effect"].method == "did" and shown["measurement"].after_label == "2026-Q2"
    assert shown["effect"].change == pytest.approx(0.8, abs=0.35)


def test_the_measured_effect_is_statsmodels_difference_in_differences(planted):
    engine, _owner = planted
    number = _make(engine)
    shown = detail(engine, number, today=date(2026, 3, 1))
    effect = shown["effect"]
    data = survey_data_from_db(engine, "planted")
    frame = pd.DataFrame({"y": data.answers["speed_timeliness"],
                          "after": data.meta["wave"].eq("2026-Q2").astype(int),
                          "treated": data.meta["customer_region"].eq("East China").astype(int)})
    fit = smf.ols("y ~ after + treated + after:treated", data=frame).fit(cov_type="HC1")
    assert effect.method == "did"
    assert effect.change == pytest.approx(fit.params["after:treated"], rel=1e-9)
    assert effect.p_value == pytest.approx(fit.pvalues["after:treated"], rel=1e-6)
    assert (effect.n_before, effect.n_after, effect.n_other_before) == (120, 120, 120)
    assert shown["measurement"].achieved is True
    change = f"+{effect.change:.2f}"
    assert shown["sentence"] == (f"{shown['metric']} {change}, significant (against the other "
                                 "customers); target +0.50 reached")
    zh = detail(engine, number, language="zh_Hans", gettext=_zh(), today=date(2026, 3, 1))
    assert zh["sentence"] == f"及时性 {change}，显著（与其他客户相比）；目标 +0.50 已达成"


def _zh():
    from patronage.web.i18n import load_translations
    return load_translations()["zh_Hans"].gettext


def test_no_segment_compares_before_and_after_and_nps_uses_the_z_test(planted):
    engine, _owner = planted
    mean = detail(engine, _make(engine, segment="", metric="item:price_reasonable",
                                target="0.5"), today=date(2026, 3, 1))
    assert mean["effect"].method == "welch" and mean["measurement"].achieved is False
    assert "not reached" in mean["sentence"]
    nps = detail(engine, _make(engine, segment="", metric="nps", target=""),
                 today=date(2026, 3, 1))
    assert nps["effect"].method == "z" and nps["effect"].n_before == 240
    dimension = detail(engine, _make(engine, metric="dimension:service", target="5"),
                       today=date(2026, 3, 1))
    assert dimension["effect"].method == "did" and dimension["metric"] == "Service"


def test_a_small_segment_says_so_and_gives_no_verdict(planted):
    engine, _owner = planted
    shown = detail(engine, _make(engine), today=date(2026, 3, 1), min_sample=500)
    assert shown["measurement"].small and shown["measurement"].achieved is None
    assert "small sample (n = 120)" in shown["sentence"]


def test_the_board_groups_late_open_achieved_and_not_achieved(planted):
    engine, owner = planted
    late = _make(engine, due="2026-02-01")
    _make(engine, due="2026-12-31")
    works = _make(engine)
    fails = _make(engine, metric="item:price_reasonable")
    cancelled = _make(engine)
    for number in (works, fails):
        update_action(engine, number, status="done", by=owner)
    update_action(engine, cancelled, status="cancelled")
    shown = board(engine, today=date(2026, 3, 1))
    assert shown["counts"] == {"late": 1, "open": 1, "achieved": 1, "not_achieved": 1,
                               "waiting": 0, "cancelled": 1}
    assert cancelled not in [r["id"] for r in shown["rows"]]
    assert [r["id"] for r in board(engine, group="late", today=date(2026, 3, 1))["rows"]] == [
        late]
    assert [r["id"] for r in board(engine, group="achieved",
                                   today=date(2026, 3, 1))["rows"]] == [works]


def _count(engine, table, **where) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(table)
        for key, value in where.items():
            query = query.where(table.c[key] == value)
        return conn.execute(query).scalar()


def test_an_overdue_action_reminds_its_owner_once_per_due_date(planted):
    engine, _owner = planted
    config = DeskConfig(timezone="Asia/Shanghai", language="zh_Hans")
    number = _make(engine, due="2026-03-05")
    _make(engine, due="2026-03-05", owner=None)  # nobody to remind
    done = _make(engine, due="2026-03-05")
    update_action(engine, done, status="done")
    assert run_reminders(engine, now=datetime(2026, 3, 5, 12), config=config) == 0  # due today
    later = datetime(2026, 3, 5, 16, 30)  # 00:30 on 6 March in Shanghai
    assert run_reminders(engine, now=later, config=config) == 1
    assert run_reminders(engine, now=later, config=config) == 0
    with engine.connect() as conn:
        mail = conn.execute(select(outbox)).mappings().one()
    assert mail["to_address"] == "lin@example.com" and mail["kind"] == "action_overdue"
    assert mail["subject"] == f"改进措施 #{number} 已逾期（截止 2026-03-05）：缩短服务响应时间"
    assert f"/actions/{number}" in mail["body_text"]
    update_action(engine, number, due="2026-03-10")  # a new due date: a new reminder when missed
    assert action_of(engine, number)["history"][-1]["note"] == "2026-03-10"
    assert run_reminders(engine, now=datetime(2026, 3, 8), config=config) == 0
    assert run_reminders(engine, now=datetime(2026, 3, 11), config=config) == 1
    assert _count(engine, action_events, kind="reminder") == 2


def test_two_workers_at_once_remind_once(planted):
    engine, _owner = planted
    for _ in range(5):
        _make(engine, due="2026-03-01")
    counts, errors = [], []

    def work():
        try:
            counts.append(run_reminders(engine, now=datetime(2026, 3, 9)))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == [] and sum(counts) == 5
    assert _count(engine, outbox) == 5 and _count(engine, action_events, kind="reminder") == 5


def test_the_worker_runs_the_reminders(planted, db_url, tmp_path):
    from patronage.settings import Settings
    from patronage.work import work_once

    engine, _owner = planted
    _make(engine, due="2026-03-01")
    settings = Settings(database_url=db_url, mail_sink_dir=str(tmp_path / "mail"))
    done = work_once(engine, settings, now=datetime(2026, 3, 9))
    assert done["actions reminded"] == 1 and "failed" not in done
    assert work_once(engine, settings, now=datetime(2026, 3, 10))["actions reminded"] == 0
