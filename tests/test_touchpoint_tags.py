"""Survey answers and cases tagged with the touchpoint they concern (migration 0015): the
responses import's touchpoint column, a case's touchpoint reference, transactional surveys that
carry their touchpoint to the answer, and the journey view and touchpoint filter that read the
tag before the 30-day window."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select, update

from patronage.cases.desk import NewCase, open_case
from patronage.cli import main
from patronage.journey.importing import import_touchpoints
from patronage.messages import UserError
from patronage.storage import write_transaction
from patronage.storage.importing import import_file
from patronage.storage.schema import (
    answers, cases, customers, invitations, responses, survey_triggers, surveys, touchpoints,
)

pytestmark = pytest.mark.db
T0 = datetime(2026, 6, 1, 9, 0)


def _csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _points(engine, tmp_path):
    """Touchpoints TP1 (C001's delivery) and TP2 (C002's installation), imported."""
    report = import_touchpoints(engine, _csv(tmp_path / "tp.csv", (
        "id,customer_id,kind,start\n"
        "TP1,C001,delivery,2026-05-20 10:00\n"
        "TP2,C002,installation,2026-05-21 10:00\n")))
    assert report.ok
    with engine.connect() as conn:
        return dict(conn.execute(select(touchpoints.c.external_id, touchpoints.c.id)
                                 .where(touchpoints.c.external_id.is_not(None))).all())


def _tags(engine, *external_ids):
    with engine.connect() as conn:
        found = dict(conn.execute(select(responses.c.external_id, responses.c.touchpoint_id)
                                  .where(responses.c.external_id.in_(external_ids))).all())
    return [found[e] for e in external_ids]


def test_migration_0015_up_and_down_keeps_the_answers(empty_db_url):
    """0014 → 0015: stored answers and cases stay, untagged; a tag is a foreign key that a
    deleted touchpoint clears; a trigger's kind needs the event 'touchpoint'; back to 0014
    drops the tags and the after-touchpoint triggers."""
    from sqlalchemy import delete, inspect, text
    from sqlalchemy.exc import IntegrityError

    from patronage.storage import make_engine
    from patronage.storage.migrate import current_revision, downgrade, upgrade

    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0014")
        with write_transaction(engine) as conn:
            conn.execute(text("INSERT INTO customers (id, external_id, name, created_at, "
                              "updated_at) VALUES (1, 'C1', '王芳', :t, :t)"), {"t": T0})
            conn.execute(text("INSERT INTO surveys (id, code, title, definition, created_at) "
                              "VALUES (1, 's', 't', '{}', :t)"), {"t": T0})
            conn.execute(text("INSERT INTO responses (external_id, survey_id, customer_id, "
                              "channel, submitted_at, weight) VALUES ('R1', 1, 1, 'web', :t, "
                              "1)"), {"t": T0})
            conn.execute(text("INSERT INTO cases (customer_id, type, status, subject, "
                              "opened_at, channel, severity, round) VALUES (1, 'complaint', "
                              "'new', 's', :t, 'agent', 'normal', 1)"), {"t": T0})
        assert upgrade(engine, "0015") == "0015"
        with engine.connect() as conn:
            assert conn.execute(select(responses.c.touchpoint_id)).scalar_one() is None
            assert conn.execute(select(cases.c.touchpoint_id)).scalar_one() is None
        names = {ix["name"] for table in ("responses", "cases")
                 for ix in inspect(engine).get_indexes(table)}
        assert {"ix_responses_touchpoint", "ix_cases_touchpoint"} <= names
        with write_transaction(engine) as conn:
            point = conn.execute(insert(touchpoints).values(
                customer_id=1, kind="delivery", occurred_at=T0)).inserted_primary_key[0]
            conn.execute(update(responses).values(touchpoint_id=point))
            conn.execute(update(cases).values(touchpoint_id=point))
            conn.execute(insert(survey_triggers).values(survey_id=1, event="touchpoint",
                                                        touchpoint_kind="delivery"))
        with pytest.raises(IntegrityError):
            with write_transaction(engine) as conn:
                conn.execute(update(responses).values(touchpoint_id=point + 99))
        with pytest.raises(IntegrityError):
            with write_transaction(engine) as conn:
                conn.execute(insert(survey_triggers).values(survey_id=1, event="purchase",
                                                            touchpoint_kind="delivery"))
        with write_transaction(engine) as conn:
            conn.execute(delete(touchpoints).where(touchpoints.c.id == point))
        with engine.connect() as conn:
            assert conn.execute(select(responses.c.touchpoint_id)).scalar_one() is None
            assert conn.execute(select(cases.c.touchpoint_id)).scalar_one() is None
        downgrade(engine, "0014")
        assert current_revision(engine) == "0014"
        columns = {c["name"] for c in inspect(engine).get_columns("responses")}
        assert "touchpoint_id" not in columns
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM responses")).scalar_one() == 1
            assert conn.execute(text("SELECT COUNT(*) FROM survey_triggers")).scalar_one() == 0
        assert upgrade(engine, "0015") == "0015"
    finally:
        engine.dispose()


def test_the_responses_import_tags_answers_by_the_touchpoints_id(panel, tmp_path):
    engine = panel[0]
    ids = _points(engine, tmp_path)
    path = _csv(tmp_path / "答卷.csv", (
        "答卷编号,问卷,客户编号,提交时间,触点编号,csat\n"
        "X1,after-delivery,C001,2026-05-22 09:00,TP1,4\n"
        "X2,after-delivery,C002,2026-05-22 09:00,TP2,2\n"
        "X3,after-delivery,C003,2026-05-22 09:00,,5\n"))
    report = import_file(engine, "responses", path)
    assert report.ok and report.inserted == 3
    assert _tags(engine, "X1", "X2", "X3") == [ids["TP1"], ids["TP2"], None]
    again = import_file(engine, "responses", path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    # A file without the column leaves the tags as they are.
    plain = _csv(tmp_path / "plain.csv", "response_id,survey,customer_id,submitted_at,csat\n"
                                        "X1,after-delivery,C001,2026-05-22 09:00,5\n")
    assert import_file(engine, "responses", plain).updated == 1
    assert _tags(engine, "X1") == [ids["TP1"]]


def test_an_unknown_or_foreign_touchpoint_is_named_and_nothing_is_written(panel, db_url,
                                                                          tmp_path):
    engine = panel[0]
    _points(engine, tmp_path)
    path = _csv(tmp_path / "r.csv", (
        "response_id,survey,customer_id,submitted_at,touchpoint_id,csat\n"
        "Y1,s,C001,2026-05-22 09:00,TP9,4\n"
        "Y2,s,C001,2026-05-22 09:00,TP2,4\n"
        "Y3,s,C001,2026-05-22 09:00,TP1,4\n"))
    result = CliRunner().invoke(main, ["import", "responses", str(path), "--db", db_url])
    assert result.exit_code != 0
    assert "r.csv" in result.output and "Nothing was written: 2 problems" in result.output
    assert "line 2, column touchpoint_id (touchpoint): 'TP9' — touchpoint 'TP9' is not among " \
        "the imported touchpoints" in result.output
    assert "line 3, column touchpoint_id (touchpoint): 'TP2' — touchpoint 'TP2' belongs to " \
        "another customer" in result.output
    assert "Traceback" not in result.output
    with engine.connect() as conn:
        assert conn.execute(select(responses.c.id)
                            .where(responses.c.external_id.like("Y%"))).first() is None


# --- cases ---------------------------------------------------------------------------------------

def _case(engine, number):
    from patronage.cases.records import case_id_of
    with engine.connect() as conn:
        return conn.execute(select(cases.c.touchpoint_id, cases.c.touchpoint_kind)
                            .where(cases.c.id == case_id_of(number))).one()


def test_a_case_names_its_touchpoint_and_takes_its_kind(panel, tmp_path):
    engine = panel[0]
    ids = _points(engine, tmp_path)
    number = open_case(engine, NewCase(customer="C001", subject="送货晚了", touchpoint="TP1"))
    assert tuple(_case(engine, number)) == (ids["TP1"], "delivery")
    plain = open_case(engine, NewCase(customer="C001", subject="发票", touchpoint_kind="invoice"))
    assert tuple(_case(engine, plain)) == (None, "invoice")
    with pytest.raises(UserError, match="no touchpoint 'TP9'"):
        open_case(engine, NewCase(customer="C001", subject="x", touchpoint="TP9"))
    with pytest.raises(UserError, match="'TP2' belongs to another customer"):
        open_case(engine, NewCase(customer="C001", subject="x", touchpoint="TP2"))


def test_the_cases_import_reads_the_touchpoint_column(panel, db_url, tmp_path):
    engine = panel[0]
    ids = _points(engine, tmp_path)
    path = _csv(tmp_path / "热线.csv", "工单号,客户编号,主题,触点编号\n"
                                        "HL-1,C002,安装不到位,TP2\n"
                                        "HL-2,C001,别的,\n")
    result = CliRunner().invoke(main, ["import", "cases", str(path), "--db", db_url])
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        got = dict(conn.execute(select(cases.c.external_ref, cases.c.touchpoint_id)
                                .where(cases.c.external_ref.like("HL-%"))).all())
    assert got == {"HL-1": ids["TP2"], "HL-2": None}
    bad = _csv(tmp_path / "bad.csv", "ref,customer_id,subject,touchpoint_id\n"
                                     "B1,C001,ok,TP1\nB2,C001,unknown,TP9\n")
    result = CliRunner().invoke(main, ["import", "cases", str(bad), "--db", db_url])
    assert result.exit_code == 1 and "Nothing was written: 1 problem" in result.output
    assert "line 3, column touchpoint_id (touchpoint): 'TP9'" in result.output
    assert "There is no touchpoint 'TP9'" in result.output


def test_the_cases_api_and_the_case_form_take_a_touchpoint_id(panel, db_url, tmp_path):
    from bs4 import BeautifulSoup
    from fastapi.testclient import TestClient

    from patronage.api_keys import create_key
    from patronage.settings import Settings
    from patronage.web import create_app
    from staff_login import log_in
    from test_web import csrf_of

    engine, info = panel
    ids = _points(engine, tmp_path)
    key = create_key(engine, "hotline", ["cases:write", "cases:read"])
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        client.info = info
        made = client.post("/api/cases", headers={"Authorization": f"Bearer {key}"},
                           json={"customer": "C002", "subject": "安装", "touchpoint": "TP2"})
        assert made.status_code == 201, made.text
        assert tuple(_case(engine, made.json()["number"])) == (ids["TP2"], "installation")
        refused = client.post("/api/cases", headers={"Authorization": f"Bearer {key}"},
                              json={"customer": "C002", "subject": "x", "touchpoint": "TP9"})
        assert refused.status_code == 422 and "TP9" in refused.json()["error"]
        log_in(client, "agent")
        page = client.get("/cases/new")
        assert 'name="touchpoint"' in page.text and "触点编号" in page.text
        form = {"csrf_token": csrf_of(page.text), "customer": "C001", "subject": "送货",
                "type": "complaint", "severity": "normal", "channel": "phone",
                "touchpoint": "TP2"}
        wrong = client.post("/cases/new", data=form)
        assert wrong.status_code == 400 and "属于另一位客户" in wrong.text
        form["touchpoint"] = "TP1"
        opened = client.post("/cases/new", data=form, follow_redirects=False)
        assert opened.status_code in (302, 303), opened.text
        number = opened.headers["location"].split("/cases/")[1].split("?")[0]
        assert tuple(_case(engine, number)) == (ids["TP1"], "delivery")
        log_in(client, "admin")  # the agent sees only the cases routed to them
        shown = BeautifulSoup(client.get(f"/cases/{number}").text, "html.parser")
        assert shown.select_one("#case-touchpoint").get_text(" ", strip=True).startswith(
            "交付 · 2026-05-20") and "TP1" in shown.select_one("#case-touchpoint").text


def test_an_alert_rule_opens_the_case_of_a_tagged_answer_about_its_touchpoint(panel, tmp_path):
    from patronage.cases import rules

    engine = panel[0]
    ids = _points(engine, tmp_path)
    # R1 (customer 2, nps 7) and R4 (customer 2, nps 6): R4 is tagged with the installation.
    with write_transaction(engine) as conn:
        conn.execute(update(responses).where(responses.c.external_id == "R4")
                     .values(touchpoint_id=ids["TP2"]))
    rules.add_rule(engine, "detractor", "差评预警", "nps <= 6", from_start=True)
    assert rules.apply_rules(engine, now=datetime(2026, 6, 2, 9, 0)) > 1
    with engine.connect() as conn:
        made = {e: (t, k) for e, t, k in conn.execute(
            select(responses.c.external_id, cases.c.touchpoint_id, cases.c.touchpoint_kind)
            .join(cases, cases.c.response_id == responses.c.id))}
    assert made.pop("R4") == (ids["TP2"], "installation")
    assert made and set(made.values()) == {(None, "survey")}


def test_the_command_line_takes_a_touchpoint_for_a_case_and_a_trigger(panel, db_url,
                                                                      tmp_path):
    from patronage.surveys import program
    from patronage.surveys.templates import load_template

    engine = panel[0]
    ids = _points(engine, tmp_path)
    runner = CliRunner()
    opened = runner.invoke(main, ["case", "open", "--db", db_url, "--customer", "C001",
                                  "--subject", "送货晚了", "--touchpoint", "TP1"])
    assert opened.exit_code == 0, opened.output
    assert tuple(_case(engine, opened.output.strip())) == (ids["TP1"], "delivery")
    wrong = runner.invoke(main, ["case", "open", "--db", db_url, "--customer", "C001",
                                 "--subject", "x", "--touchpoint", "TP2"])
    assert wrong.exit_code != 0 and "'TP2' belongs to another customer" in wrong.output
    assert "Traceback" not in wrong.output
    code = program.create_survey(engine, load_template("ces"), now=T0)
    program.set_status(engine, code, "open")
    made = runner.invoke(main, ["survey", "trigger", code, "--db", db_url, "--event",
                                "touchpoint", "--kind", "installation", "--delay-hours", "2"])
    assert made.exit_code == 0 and "after each installation" in made.output, made.output
    with engine.connect() as conn:
        assert conn.execute(select(survey_triggers.c.event, survey_triggers.c.touchpoint_kind)
                            ).one() == ("touchpoint", "installation")
    bad = runner.invoke(main, ["survey", "trigger", code, "--db", db_url, "--event",
                               "purchase", "--kind", "installation"])
    assert bad.exit_code != 0 and "a touchpoint kind goes only with the event" in bad.output


def test_a_case_from_a_follow_up_call_after_a_touchpoint_records_it():
    from patronage.care.tasks import _touchpoint_of
    assert _touchpoint_of("rule:3:touchpoint:41") == 41
    assert _touchpoint_of("rule:3:transaction:41") is None
    assert _touchpoint_of(None) is None


# --- transactional surveys -----------------------------------------------------------------------

def test_answers_to_a_trigger_made_invitation_carry_its_touchpoint(engine):
    from patronage.surveys import program
    from patronage.surveys.links import resolve_token
    from patronage.surveys.submissions import submit
    from patronage.surveys.templates import load_template
    from patronage.surveys.triggers import add_trigger, run_triggers

    with write_transaction(engine) as conn:
        people = [conn.execute(insert(customers).values(
            external_id=f"K{i}", name=f"客户{i}", email=f"k{i}@example.com", created_at=T0,
            updated_at=T0)).inserted_primary_key[0] for i in range(3)]
        point = [conn.execute(insert(touchpoints).values(
            customer_id=people[i], kind=kind, occurred_at=T0 + timedelta(hours=1 + i)))
            .inserted_primary_key[0] for i, kind in enumerate(("delivery", "installation",
                                                               "survey"))]
        conn.execute(insert(cases).values(
            customer_id=people[1], type="complaint", status="closed", subject="装坏了",
            opened_at=T0, closed_at=T0 + timedelta(hours=2), touchpoint_id=point[1],
            touchpoint_kind="installation"))
    codes = []
    for event, template, kind in (("touchpoint", "nps", None), ("case_closed", "csat", None),
                                  ("touchpoint", "ces", "installation")):
        # No quiet period: one customer is asked by three surveys here.
        code = program.create_survey(engine, load_template(template), now=T0, quiet_days=0)
        program.set_status(engine, code, "open")
        add_trigger(engine, code, event, delay_hours=0, now=T0, touchpoint_kind=kind)
        codes.append(code)
    with pytest.raises(ValueError, match="a touchpoint kind goes only with the event 'touchpoint'"):
        add_trigger(engine, codes[1], "case_closed", touchpoint_kind="delivery")
    with pytest.raises(ValueError, match="got 'teleport'"):
        add_trigger(engine, codes[0], "touchpoint", touchpoint_kind="teleport")
    assert run_triggers(engine, T0 + timedelta(hours=5)) == 4  # the "survey" touchpoint: none
    with engine.connect() as conn:
        made = conn.execute(select(invitations.c.token, invitations.c.customer_id,
                                   invitations.c.touchpoint_id, surveys.c.code)
                            .join(surveys, surveys.c.id == invitations.c.survey_id)).all()
    assert sorted((c, t, s) for _, c, t, s in made) == sorted([
        (people[0], point[0], codes[0]), (people[1], point[1], codes[0]),
        (people[1], point[1], codes[1]), (people[1], point[1], codes[2])])
    item = dict(zip(codes, ({"nps": 9.0}, {"csat": 4.0}, {"ces": 2.0})))
    for n, (token, customer, tagged, code) in enumerate(made):
        assert resolve_token(engine, token).touchpoint_id == tagged
        submit(engine, survey_code=code, answers=item[code], submission_id=f"t-{n}",
               invitation_token=token, now=T0 + timedelta(hours=6))
    with engine.connect() as conn:
        stored = conn.execute(select(responses.c.customer_id, responses.c.touchpoint_id)
                              .where(responses.c.external_id.like("t-%"))).all()
    assert sorted(stored) == sorted((c, t) for _, c, t, _ in made)


# --- the journey view and the touchpoint filter --------------------------------------------------
# The seeded panel (conftest.seed_panel): response R{i} (i = 0..59) is customer 1 + i % 3's,
# submitted on 2026-02-(1 + i % 28) for i < 30, with nps (7 i) mod 11 and overall satisfaction
# 1 + nps mod 10; R59, a detractor's, comments "交货太慢" (a delivery).

def _seed_score(i):
    nps = (i * 7) % 11
    return nps, 1 + nps % 10


def _tagged_panel(engine):
    """Customer 1 had a delivery on 2026-02-10 and a training on 2026-01-03; R15 (customer 1,
    2026-02-16, a detractor) is tagged with the training, which the window would not give it;
    one case names the training's touchpoint, another says "delivery" without one."""
    with write_transaction(engine) as conn:
        delivery, training = (conn.execute(insert(touchpoints).values(
            customer_id=1, kind=kind, occurred_at=at)).inserted_primary_key[0]
            for kind, at in (("delivery", datetime(2026, 2, 10)),
                             ("training", datetime(2026, 1, 3))))
        conn.execute(update(responses).where(responses.c.external_id == "R15")
                     .values(touchpoint_id=training))
        conn.execute(insert(cases).values(customer_id=1, type="complaint", subject="培训",
                                          opened_at=datetime(2026, 2, 20),
                                          touchpoint_id=training))
        conn.execute(insert(cases).values(customer_id=1, type="complaint", subject="送货",
                                          opened_at=datetime(2026, 2, 20),
                                          touchpoint_kind="delivery"))
    window = {i for i in range(30) if i % 3 == 0 and 1 + i % 28 >= 10}  # after the delivery
    return {"delivery": window - {15}, "training": {0, 15}}  # R0: 29 days after the training


def test_the_journey_view_counts_tagged_answers_for_their_touchpoint(panel):
    from scipy import stats
    from statsmodels.stats.proportion import proportion_confint

    from patronage.journey.view import journey

    engine = panel[0]
    about = _tagged_panel(engine)
    table = journey(engine).set_index("kind")
    for kind, basis, tagged in (("delivery", "window", 0), ("training", "both", 1)):
        row = table.loc[kind]
        sat = np.array([_seed_score(i)[1] for i in sorted(about[kind])], dtype=float)
        assert (row["responses"], row["tagged"], row["basis"]) == (len(sat), tagged, basis)
        assert row["sat_n"] == len(sat) and row["sat_mean"] == pytest.approx(sat.mean())
        # The 95% t interval of the mean, as scipy gives it.
        low, high = stats.t.interval(0.95, len(sat) - 1, loc=sat.mean(), scale=stats.sem(sat))
        assert (row["sat_low"], row["sat_high"]) == pytest.approx((low, high))
    # What the importance regression is fed: R15 is about the training only (its tag), R12
    # (untagged, 3 days after the delivery) about the delivery by the window.
    from patronage.journey.view import _answers, _exposure
    exposure = _exposure(engine, _answers(engine))
    with engine.connect() as conn:
        pk = dict(conn.execute(select(responses.c.external_id, responses.c.id)).all())
    assert exposure.loc[pk["R15"]][lambda row: row].index.tolist() == ["training"]
    assert exposure.loc[pk["R12"]][lambda row: row].index.tolist() == ["delivery"]
    assert (table.loc["training", "cases"], table.loc["training", "cases_tagged"]) == (1, 1)
    assert table.loc["training", "cases_per_1000"] == pytest.approx(1000.0)
    assert (table.loc["delivery", "cases"], table.loc["delivery", "cases_tagged"]) == (1, 0)
    # Detractors: R15 by its tag (training), R59 by its comment (delivery): 1 of 2 each, with
    # the Wilson interval statsmodels gives.
    assert table.attrs["detractors"] == 2
    for kind in ("training", "delivery"):
        row = table.loc[kind]
        assert (row["mentions"], row["mention_share"]) == (1, 0.5)
        assert (row["mention_low"], row["mention_high"]) == pytest.approx(
            proportion_confint(1, 2, alpha=0.05, method="wilson"))


def test_without_tags_the_journey_view_keeps_the_window_rule(panel):
    from patronage.journey.view import journey

    engine = panel[0]
    about = _tagged_panel(engine)
    with write_transaction(engine) as conn:
        conn.execute(update(responses).values(touchpoint_id=None))
    table = journey(engine).set_index("kind")
    assert table.loc["delivery", "sat_n"] == len(about["delivery"]) + 1  # R15 is back
    assert (table.loc["training", "sat_n"], table.loc["training", "basis"]) == (1, "window")
    assert table.loc["delivery", "mentions"] == 1 and table.attrs["detractors"] == 1


def test_the_touchpoint_filter_takes_the_tag_before_the_window(panel):
    from patronage.reporting.filters import Filters
    from patronage.satisfaction.sources import survey_data_from_db

    engine = panel[0]
    about = _tagged_panel(engine)
    data = survey_data_from_db(engine, "relationship")
    for kind in ("delivery", "training"):
        kept = Filters(touchpoint=kind).apply(data)
        assert set(kept.meta.index) == {f"R{i}" for i in about[kind]}


def test_the_journey_page_says_which_rule_each_row_uses(panel, db_url):
    from bs4 import BeautifulSoup
    from fastapi.testclient import TestClient

    from patronage.settings import Settings
    from patronage.web import create_app
    from staff_login import log_in
    from visible_english import english_words

    engine, info = panel
    _tagged_panel(engine)
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        client.info = info
        log_in(client, "analyst")
        response = client.get("/journey")
    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    assert page.select_one("#kind-delivery td.basis").get_text(strip=True) == "按30天内的触点推断"
    assert page.select_one("#kind-training td.basis").get_text(strip=True) == \
        "1 份按关联触点，其余 1 份按30天内的触点推断"
    assert "1 件已关联" in page.select_one("#kind-training").get_text()
    assert not english_words(response.text), english_words(response.text)


# --- the demo ------------------------------------------------------------------------------------

def test_the_demo_tags_its_effort_answers_and_inquiry_cases(demo_company):
    from sqlalchemy import func

    from patronage.demo.extra_surveys import CES_CODE
    from patronage.journey.view import journey
    from patronage.storage import make_engine

    engine = make_engine(demo_company[0])
    try:
        r, t, k = responses.c, touchpoints.c, cases.c
        with engine.connect() as conn:
            ces = conn.execute(select(r.customer_id, r.submitted_at, t.customer_id, t.kind,
                                      t.occurred_at, answers.c.value_num)
                               .join(surveys, surveys.c.id == r.survey_id)
                               .outerjoin(touchpoints, t.id == r.touchpoint_id)
                               .outerjoin(answers, (answers.c.response_id == r.id)
                                          & (answers.c.item_code == "ces"))
                               .where(surveys.c.code == CES_CODE)).all()
            by_type = dict(conn.execute(select(k.type, func.count(k.touchpoint_id))
                                        .group_by(k.type)).all())
            inquiries = conn.execute(select(func.count()).select_from(cases)
                                     .where(k.type == "inquiry")).scalar()
        table = journey(engine).set_index("kind")
    finally:
        engine.dispose()
    # Every effort answer is about the complaint or inquiry contact of its case: the same
    # customer's, before the answer.
    assert ces and all(row[3] in ("complaint", "inquiry") for row in ces)
    assert all(row[0] == row[2] and row[4] <= row[1] for row in ces)
    assert by_type["inquiry"] == inquiries and by_type["complaint"] == 0
    for kind in ("complaint", "inquiry"):
        # The effort figure is the tagged answers' (no other survey asks for effort) ...
        answered = [row[5] for row in ces if row[3] == kind and row[5] is not None]
        assert table.loc[kind, "effort_n"] == len(answered) > 0
        assert table.loc[kind, "effort_mean"] == pytest.approx(np.mean(answered))
        # ... and the row says so: these by the tag, the relationship answers by the window.
        assert table.loc[kind, "tagged"] == len(answered)
        assert table.loc[kind, "basis"] == "both"
    assert table.loc["inquiry", "cases_tagged"] == inquiries
    assert (table.loc["delivery", "tagged"], table.loc["delivery", "basis"]) == (0, "window")
