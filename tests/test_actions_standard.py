"""An action whose metric is a service standard (:mod:`patronage.actions.standard_effect`), on the
selected database: the share of the standard's events within it before the action (the baseline
wave's days) against after (the newest later wave's days), in percentage points.

With a segment, the estimate is the difference in differences of the 0/1 outcome (×100) against
the other customers' events: checked against statsmodels' OLS ``y ~ after + treated +
after:treated`` with HC1 errors (MacKinnon & White 1985) on the same events. Without one, the
two-proportion z test, checked against ``statsmodels.stats.proportion.proportions_ztest``.
Planted: 240 customers (two regions) each make one phone inquiry a month from December 2025 to
June 2026; 75% are answered within 20 s, East China's from April on 90%.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from action_data import plant_survey
from patronage.actions.board import board, detail
from patronage.actions.records import create_action, update_action
from patronage.api_keys import create_key
from patronage.cli import main
from patronage.labels import set_labels
from patronage.settings import Settings
from patronage.standards.records import add_standard
from patronage.storage import insert_rows, write_transaction
from patronage.messages import UserError
from patronage.storage.schema import customers, touchpoints
from patronage.storage.schema_standards import service_standards
from patronage.web import create_app
from staff_login import log_in
from visible_english import english_words

pytestmark = pytest.mark.db
smf = pytest.importorskip("statsmodels.formula.api")
proportion = pytest.importorskip("statsmodels.stats.proportion")
TODAY = date(2026, 7, 1)


def _plant(engine):
    plant_survey(engine)
    rng = np.random.default_rng(21)
    with engine.connect() as conn:
        panel = conn.execute(select(customers.c.id, customers.c.region)).all()
    rows = []
    for month in (12, 1, 2, 3, 4, 5, 6):
        for customer, region in panel:
            share = 0.9 if region == "East China" and month in (4, 5, 6) else 0.75
            within = rng.random() < share
            rows.append({"customer_id": customer, "kind": "inquiry", "channel": "phone",
                         "occurred_at": datetime(2025 if month == 12 else 2026, month,
                                                 1 + customer % 28, 10, 0),
                         "waiting_seconds": float(rng.integers(2, 20) if within
                                                  else rng.integers(21, 200)),
                         "handling_seconds": 120.0})
    with write_transaction(engine) as conn:
        insert_rows(conn, touchpoints, rows)
    number = add_standard(engine, code="answer-20s", name="20秒内接听率", metric="waiting",
                          threshold="20s", target="80%", touchpoint="inquiry", channel="phone")
    frame = pd.DataFrame(rows).merge(pd.DataFrame(panel, columns=["customer_id", "region"]),
                                     on="customer_id")
    return number, frame


@pytest.fixture
def calls(engine):
    return engine, *_plant(engine)


def _make(engine, number, **values):
    fields = {"title": "增派高峰坐席", "due": "2026-06-30", "metric": f"standard:{number}",
              "survey": "planted", "segment": "region=East China", "target": "5",
              "baseline_wave": "2026-Q1", "now": datetime(2026, 4, 2, 9, 0), **values}
    return create_action(engine, **fields)


def _zh():
    from patronage.web.i18n import load_translations
    return load_translations()["zh_Hans"].gettext


def test_a_segment_is_compared_with_the_other_customers_as_statsmodels_does(calls):
    engine, number, frame = calls
    shown = detail(engine, _make(engine, number), today=TODAY)
    effect, measured = shown["effect"], shown["measurement"]
    # The baseline wave has no last day: its days run to the next wave's first.
    data = frame[frame["occurred_at"] >= datetime(2026, 1, 1)].assign(
        y=lambda d: 100.0 * (d["waiting_seconds"] <= 20),
        after=lambda d: (d["occurred_at"] >= datetime(2026, 4, 1)).astype(int),
        treated=lambda d: d["region"].eq("East China").astype(int))
    fit = smf.ols("y ~ after + treated + after:treated", data=data).fit(cov_type="HC1")
    assert effect.method == "did" and measured.unit == "pp"
    assert effect.change == pytest.approx(fit.params["after:treated"], rel=1e-9)
    assert effect.p_value == pytest.approx(fit.pvalues["after:treated"], rel=1e-6)
    low, high = fit.conf_int().loc["after:treated"]
    assert (effect.ci_low, effect.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert (effect.n_before, effect.n_after, effect.n_other_before) == (360, 360, 360)
    assert effect.before == pytest.approx(data.query("treated == 1 and after == 0")["y"].mean())
    assert (measured.before_label, measured.after_label) == ("2026-Q1", "2026-Q2")
    assert all(0 <= low < high <= 100 for low, high in effect.intervals.values())
    assert len(effect.intervals) == 4
    assert measured.achieved is True
    assert shown["metric"] == "20秒内接听率"
    change = f"+{effect.change:.1f}"
    assert shown["sentence"] == (f"20秒内接听率 {change} percentage points, significant (against "
                                 "the other customers); target +5.0 percentage points reached")
    zh = detail(engine, shown["id"], language="zh_Hans", gettext=_zh(), today=TODAY)
    assert zh["sentence"] == (f"20秒内接听率 {change} 个百分点，显著（与其他客户相比）；"
                              "目标 +5.0 个百分点 已达成")


def test_without_a_segment_the_shares_are_compared_with_the_z_test(calls):
    engine, number, frame = calls
    shown = detail(engine, _make(engine, number, segment="", baseline_wave="",
                                 baseline_until="2026-04-01", target="10"), today=TODAY)
    effect = shown["effect"]
    within = frame["waiting_seconds"] <= 20
    after = frame["occurred_at"] >= datetime(2026, 4, 1)
    count, nobs = [within[after].sum(), within[~after].sum()], [after.sum(), (~after).sum()]
    _z, p = proportion.proportions_ztest(count, nobs)
    assert effect.method == "prop" and (effect.n_before, effect.n_after) == (960, 720)
    assert effect.change == pytest.approx(100 * (within[after].mean() - within[~after].mean()))
    assert effect.p_value == pytest.approx(p, rel=1e-9)
    assert shown["measurement"].achieved is False and "target +10.0 percentage points not " \
        "reached" in shown["sentence"]


def test_no_later_wave_a_gone_standard_and_a_small_segment_say_so(calls):
    engine, number, _frame = calls
    waiting = detail(engine, _make(engine, number, baseline_wave="2026-Q2"), today=TODAY)
    assert waiting["effect"] is None and waiting["measurement"].reason == "no_later"
    assert waiting["sentence"] == "No later wave or answers after the baseline yet."
    with pytest.raises(UserError, match="no service standard"):
        _make(engine, number + 1)
    gone_number = _make(engine, add_standard(
        engine, code="answer-30s", name="30秒内接听率", metric="waiting", threshold="30s",
        target="80%", touchpoint="inquiry", channel="phone"))
    with write_transaction(engine) as conn:
        conn.execute(delete(service_standards).where(service_standards.c.code == "answer-30s"))
    gone = detail(engine, gone_number, language="zh_Hans", gettext=_zh(), today=TODAY)
    assert gone["effect"] is None and gone["sentence"] == "其服务标准已不存在。"
    small = detail(engine, _make(engine, number), today=TODAY, min_sample=400)
    assert small["measurement"].small and small["measurement"].achieved is None
    assert "small sample (n = 360)" in small["sentence"]
    rows = board(engine, today=TODAY)["rows"]
    assert [row["measurement"].reason for row in rows] == ["no_later", "no_standard", None]


def test_the_page_the_board_the_api_and_the_command_show_it(panel, db_url):
    engine = panel[0]
    number, _frame = _plant(engine)
    set_labels(engine, [("region", "East China", "zh_Hans", "华东"),
                        ("region", "North China", "zh_Hans", "华北")])
    action = _make(engine, number, now=datetime(2026, 4, 2, 9, 0))
    update_action(engine, action, status="done")
    reader = create_key(engine, "bi", ["actions:read"])
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        body = client.get("/api/actions", headers={"Authorization": f"Bearer {reader}"}).json()
        (row,) = body["actions"]
        assert row["metric_kind"] == "standard" and row["effect"]["unit"] == "pp"
        assert row["effect"]["method"] == "did" and row["group"] == "achieved"
        assert "percentage points, significant" in row["sentence"]
        client.info = panel[1]
        log_in(client, "analyst", "zh_Hans")
        page = client.get(f"/actions/{action}")
        assert page.status_code == 200
        assert "20秒内接听率 +" in page.text and "个百分点，显著" in page.text
        assert "前后" not in page.text and "%" in page.text
        assert english_words(page.text, allowed={"OLS"}) == []
        form = client.get("/actions/new").text
        assert f'value="standard:{number}"' in form and "20秒内接听率" in form
        board_page = client.get("/actions?group=achieved")
        assert "个百分点" in board_page.text and english_words(board_page.text) == []
    listed = CliRunner().invoke(main, ["action", "list", "--db", db_url, "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert "percentage points" in listed.output and f"standard:{number}" in listed.output
