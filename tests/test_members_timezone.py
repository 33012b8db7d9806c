"""The programme's days are the company's: a reward's validity, the expiry run's today, the tier
reviews and the redemption dates shown go by the ``timezone`` setting, not by UTC. Checked around
midnight in Pacific/Kiritimati (UTC+14) and America/Los_Angeles (UTC-7), where the company's day
and the UTC day differ; on SQLite or PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from patronage.members import catalogue, rewards
from patronage.members.expiry import run_expiry
from patronage.members.programme import company_day, company_today, update_policy
from patronage.members.tiers import run_reviews
from patronage.settings import Settings
from patronage.storage import write_transaction
from patronage.storage.schema_members import member_tiers, members
from patronage.web import create_app
from test_members_rewards import _earn, _light_panel, _points, _programme
from test_web import login

pytestmark = pytest.mark.db
EAST, WEST = "Pacific/Kiritimati", "America/Los_Angeles"
#: 11:00 UTC on 30 June: already 1 July (01:00) in Kiritimati, still 30 June (04:00) in LA.
LATE = datetime(2026, 6, 30, 11, 0)


def test_the_company_day_is_the_local_one():
    assert company_today(LATE, EAST) == date(2026, 7, 1)
    assert company_today(LATE, WEST) == date(2026, 6, 30)
    assert company_day(datetime(2026, 6, 30, 16, 0), "Asia/Shanghai") == date(2026, 7, 1)
    assert company_day(datetime(2026, 6, 30, 15, 59), "Asia/Shanghai") == date(2026, 6, 30)


@pytest.fixture
def programme(engine):
    _light_panel(engine)
    return (engine, *_programme(engine))


def test_a_rewards_validity_goes_by_the_companys_day(programme):
    engine, gold, basic = programme
    catalogue.add_reward(engine, "JUNE", name_zh_hans="六月礼品", kind="gift", points=10,
                         valid_until="2026-06-30")
    catalogue.add_reward(engine, "JULY", name_zh_hans="七月礼品", kind="gift", points=10,
                         valid_from="2026-07-01")
    # In Kiritimati it is 1 July: June's reward is over and July's has begun, though in UTC
    # it is still 30 June.
    with pytest.raises(rewards.RedemptionRefused) as refused:
        rewards.redeem(engine, gold.card_no, "JUNE", key="e-june", now=LATE, timezone=EAST)
    assert refused.value.reason == "not_valid"
    assert rewards.redeem(engine, gold.card_no, "JULY", key="e-july", now=LATE,
                          timezone=EAST).body["status"] == "done"
    # In Los Angeles it is still 30 June: the other way round.
    assert rewards.redeem(engine, basic.card_no, "JUNE", key="w-june", now=LATE,
                          timezone=WEST).body["status"] == "done"
    with pytest.raises(rewards.RedemptionRefused):
        rewards.redeem(engine, basic.card_no, "JULY", key="w-july", now=LATE, timezone=WEST)
    listed = catalogue.list_rewards(engine, today=company_today(LATE, EAST)).set_index("code")
    assert (listed.loc["JUNE", "valid_now"], listed.loc["JULY", "valid_now"]) == (False, True)


def test_the_expiry_run_and_the_reviews_go_by_the_companys_day(programme):
    engine, gold, basic = programme
    # The seeded points were earned on 2025-06-01 and expire on 2027-06-01 (24 months).
    late = datetime(2027, 5, 31, 11, 0)  # 1 June 01:00 in Kiritimati, 31 May in LA and UTC
    assert run_expiry(engine, now=late, timezone=WEST) == 0
    assert _points(engine, gold.member_id) == 1000
    assert run_expiry(engine, now=late, timezone=EAST) == 2
    assert _points(engine, gold.member_id) == 0 and _points(engine, basic.member_id) == 0
    # A review due on 1 June happens at 01:00 on 1 June in Kiritimati, not in LA.
    update_policy(engine, grace_days=0)
    with write_transaction(engine) as conn:
        conn.execute(update(member_tiers).where(member_tiers.c.code == "gold")
                     .values(qualify_value=5000))
        conn.execute(update(members).where(members.c.id == gold.member_id)
                     .values(review_on=date(2027, 6, 1), grace_until=None))
        conn.execute(update(members).where(members.c.id == basic.member_id)
                     .values(review_on=date(2028, 1, 1), grace_until=None))
    assert run_reviews(engine, now=late, timezone=WEST) == 0
    assert run_reviews(engine, now=late, timezone=EAST) == 1  # gold bought nothing: down
    with engine.connect() as conn:
        tier = conn.execute(select(members.c.tier_code)
                            .where(members.c.id == gold.member_id)).scalar()
    assert tier == "basic"


def test_redemption_dates_and_validity_on_the_pages_are_the_companys(panel, db_url):
    engine, info = panel
    gold, _basic = _programme(engine)
    _earn(engine, gold.member_id, 500, date(2026, 6, 1), "txn:tz")
    done = rewards.redeem(engine, gold.card_no, "CPN10", key="tz-1", now=LATE, timezone=EAST)
    table = rewards.redemptions_table(engine, timezone=EAST)
    assert table.loc[0, "created_at"] == datetime(2026, 7, 1, 1, 0)
    assert rewards.redemptions_table(engine, timezone=WEST).loc[0, "created_at"] == \
        datetime(2026, 6, 30, 4, 0)
    for zone, shown in ((EAST, "2026-07-01"), (WEST, "2026-06-30")):
        with TestClient(create_app(Settings(database_url=db_url, timezone=zone))) as client:
            client.info = info
            client.cookies.set("patronage_lang", "zh_Hans")
            assert login(client, "agent").status_code == 303
            profile = BeautifulSoup(client.get("/customers/2").text, "html.parser")
            dates = [td.text.strip() for td in profile.select("#member-redemptions td.when")]
            assert dates == [shown], (zone, dates)
            ledger = profile.select_one("#member-ledger tbody tr td.when").text.strip()
            assert ledger == shown
            listed = BeautifulSoup(client.get("/members/rewards").text, "html.parser")
            assert [td.text.strip() for td in listed.select("#recent td.when")] == [shown]
    assert done.body["points"] == 100
