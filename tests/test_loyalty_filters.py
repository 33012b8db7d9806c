"""Filters beyond the survey pages: the touchpoint filter (responses that followed a moment of
truth), the Loyalty page on the customers the segment filters keep, and the whole report's
customer sections (value at risk, complaint categories, programme liability, comment themes) on
the filtered customers and responses."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl

import pytest

from patronage.messages import UserError
from patronage.reporting.filters import Filters, customer_filters, options
from patronage.satisfaction.sources import survey_data_from_db
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import touchpoints

# The seeded panel (conftest.seed_panel): response i (0..59) is customer 1 + i % 3, wave 2026-Q1
# for i < 30 (submitted on 2026-02-(1 + i % 28) at midnight) else 2026-Q2 (in May).


def _touchpoints(engine) -> None:
    """Customer 1 gets a delivery on 2026-02-10 and customer 2 an installation in April; every
    customer's answers are also recorded as 'survey' touchpoints (never a filter value)."""
    rows = [{"customer_id": 1, "occurred_at": datetime(2026, 2, 10), "kind": "delivery"},
            {"customer_id": 2, "occurred_at": datetime(2026, 4, 20), "kind": "installation"}]
    rows += [{"customer_id": 1 + i % 3, "occurred_at": datetime(2026, 2, 1 + i % 28),
              "kind": "survey"} for i in range(30)]
    with write_transaction(engine) as conn:
        insert_rows(conn, touchpoints, rows)


def test_touchpoint_filter_parses_round_trips_and_refuses_unknown_kinds():
    chosen = Filters(touchpoint="delivery", region="East China")
    assert Filters.from_query(dict(parse_qsl(chosen.to_query()))) == chosen
    assert chosen.active and chosen.without("touchpoint") == Filters(region="East China")
    with pytest.raises(UserError, match="no touchpoint 'teleport'") as refused:
        Filters.from_query({"touchpoint": "teleport"})
    assert refused.value.kind == "touchpoint" and "installation" in refused.value.choices


def test_touchpoint_filter_keeps_the_responses_that_followed_one(panel):
    engine, _info = panel
    _touchpoints(engine)
    data = survey_data_from_db(engine, "relationship")
    assert options(data)["touchpoint"] == ["delivery", "installation"]  # no "survey"
    delivered = Filters(touchpoint="delivery").apply(data)
    # Customer 1 (i % 3 == 0) answering 2026-02-10 .. 2026-03-11: Q1 answers on day >= 10.
    expected = {f"R{i}" for i in range(30) if i % 3 == 0 and 1 + i % 28 >= 10}
    assert set(delivered.meta.index) == expected and len(expected) == 7
    # Customer 2's May answers (i % 3 == 1, i >= 30) within 30 days of 20 April: days 1..20.
    installed = Filters(touchpoint="installation").apply(data)
    assert set(installed.meta.index) == {f"R{i}" for i in range(30, 60)
                                         if i % 3 == 1 and 1 + i % 28 <= 20}
    assert Filters(touchpoint="delivery", wave="2026-Q2").apply(data).meta.empty
    with pytest.raises(UserError, match="no Touchpoint 'training' in these responses"):
        Filters(touchpoint="training").apply(data)


def test_customer_pages_take_the_segment_filters_and_name_the_others():
    chosen = Filters(survey="relationship", wave="2026-Q1", touchpoint="delivery",
                     region="East China")
    kept, dropped = customer_filters(chosen)
    assert kept == Filters(region="East China")
    assert dropped == ["wave", "touchpoint"]
    assert customer_filters(Filters(tier="gold")) == (Filters(tier="gold"), [])
