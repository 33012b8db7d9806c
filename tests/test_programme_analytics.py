"""The programme's figures: earn and burn per month, members and active members, the redemption
rate, breakage and liability, the tier migration matrix — pure functions on hand-made ledgers,
then the service, the command and the page over a small seeded database."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from click.testing import CliRunner

from patronage.analytics.programme import (
    CLOSED,
    NEW,
    breakage,
    classify_transfers,
    liability,
    member_months,
    monthly_flows,
    point_lots,
    redemption_rate,
    tier_migration,
)
from patronage.analytics.uplift import wilson_interval

TODAY = date(2026, 6, 30)


def _t(tid, member, points, debit, credit, when, earned=None, expires=None, redemption=None):
    return {"transfer_id": tid, "member_id": member, "points": points, "debit": debit,
            "credit": credit, "occurred_at": pd.Timestamp(when),
            "earned_on": pd.Timestamp(earned) if earned else pd.NaT,
            "expires_on": pd.Timestamp(expires) if expires else pd.NaT,
            "redemption_id": redemption}


def _ledger() -> pd.DataFrame:
    """Two members: earnings, a redemption and its cancellation, an expiry, a refund that
    leaves a negative pending balance settled later, and an adjustment."""
    return pd.DataFrame([
        _t(1, 1, 100, "issue", "points", "2024-01-05", "2024-01-05", "2025-01-05"),
        _t(2, 1, 50, "issue", "points", "2024-02-05", "2024-02-05", "2025-02-05"),
        _t(3, 1, 80, "points", "redemption", "2024-03-01", redemption=7),
        _t(4, 1, 30, "points", "redemption", "2024-03-02", redemption=8),
        _t(5, 1, 30, "redemption", "points", "2024-03-03", "2024-03-03", "2025-03-03",
           redemption=8),
        _t(6, 1, 20, "points", "expiry", "2025-01-06", expires="2025-01-05"),
        _t(7, 2, 30, "issue", "points", "2024-01-05", "2024-01-05", "2025-01-05"),
        _t(8, 2, 30, "points", "issue", "2024-01-20"),       # a refund takes all 30 ...
        _t(9, 2, 10, "owed", "issue", "2024-01-20"),         # ... and leaves 10 owed
        _t(10, 2, 60, "issue", "points", "2024-02-10", "2024-02-10", "2025-02-10"),
        _t(11, 2, 10, "points", "owed", "2024-02-10"),       # settled from the next earning
        _t(12, 2, 5, "adjustment", "points", "2024-02-11", "2024-02-11", "2025-02-11"),
    ])


def test_flows_per_month_and_balances_at_month_end():
    ledger = _ledger()
    flows = classify_transfers(ledger)
    assert flows["flow"].tolist() == ["issued", "issued", "redeemed", "redeemed", "returned",
                                      "expired", "issued", "reversed", "reversed", "issued",
                                      "settled", "adjusted"]
    table = monthly_flows(ledger, end="2025-02-28")
    jan, feb, mar = (table.loc[pd.Period(m, "M")] for m in ("2024-01", "2024-02", "2024-03"))
    assert (jan["issued"], jan["reversed"], jan["outstanding"], jan["owed"]) == (130, 40, 100, -10)
    assert (feb["issued"], feb["adjusted"], feb["outstanding"], feb["owed"]) == (110, 5, 205, 0)
    assert (mar["redeemed"], mar["returned"]) == (110, 30)
    # Each month's end balance equals the running sum of what reached and left members.
    signed = flows.groupby(flows["occurred_at"].dt.to_period("M"))["signed"].sum()
    running = signed.reindex(table.index, fill_value=0).cumsum()
    assert np.allclose(running, table["outstanding"] + table["owed"])
    assert table.index[-1] == pd.Period("2025-02", "M") and len(table) == 14


def test_lots_are_spent_oldest_first_as_the_ledger_does():
    lots = point_lots(_ledger()).sort_values(["member_id", "earned_on"]).reset_index(drop=True)
    first = lots.iloc[0]  # member 1's January lot: 80 + 20 redeemed, nothing left
    assert (first["redeemed"], first["remaining"]) == (100, 0)
    february = lots.iloc[1]  # 10 of the cancelled redemption, then the expiry's 20
    assert (february["redeemed"], february["expired"], february["remaining"]) == (10, 20, 20)
    returned = lots.iloc[2]
    assert (returned["points"], returned["remaining"]) == (30, 30)
    member2 = lots.loc[lots["member_id"] == 2]
    assert member2["reversed"].tolist() == [30, 10, 0]
    assert member2["remaining"].sum() == 55


def test_breakage_from_matured_points_with_its_delta_method_interval():
    """The ratio estimator's linearisation SE equals the HC1 robust SE of the weighted
    regression of each member's expired share on a constant (weights: matured points) —
    Cochran (1977), *Sampling Techniques*, §6.4; statsmodels as the reference."""
    rng = np.random.default_rng(3)
    rows, tid = [], 0
    for member in range(60):
        for k in range(int(rng.integers(1, 5))):
            tid += 1
            day = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
            points = int(rng.integers(20, 400))
            rows.append(_t(tid, member, points, "issue", "points", day, day,
                           day + pd.Timedelta(days=365)))
            used = int(points * rng.beta(3, 2))
            if used:
                tid += 1
                rows.append(_t(tid, member, used, "points", "redemption",
                               day + pd.Timedelta(days=30)))
    ledger = pd.DataFrame(rows)
    found = breakage(ledger, as_of="2025-06-30")
    lots = point_lots(ledger)
    per = lots.groupby("member_id")[["remaining", "redeemed"]].sum()
    y, x = per["remaining"].to_numpy(), (per["remaining"] + per["redeemed"]).to_numpy()
    reference = sm.WLS(y / x, np.ones(len(x)), weights=x).fit(cov_type="HC1")
    assert found["rate"] == pytest.approx(reference.params[0])
    assert found["se"] == pytest.approx(reference.bse[0])
    assert found["low"] == pytest.approx(reference.params[0] - 1.959964 * reference.bse[0])
    assert found["members"] == 60 and not found["small"]
    # Nothing has matured a year earlier: no estimate, and why.
    early = breakage(ledger, as_of="2023-06-30")
    assert math.isnan(early["rate"]) and early["reason"] == "not_matured"
    never = breakage(ledger.assign(expires_on=pd.NaT), as_of="2030-01-01")
    assert never["reason"] == "no_expiry"


def test_liability_net_of_breakage_and_unknown_without_it():
    owed = liability(200_000, 0.01, 0.25, 0.2, 0.3)
    assert owed["gross"] == pytest.approx(2000)
    assert owed["net"] == pytest.approx(1500)
    assert (owed["net_low"], owed["net_high"]) == (pytest.approx(1400), pytest.approx(1600))
    unknown = liability(200_000, 0.01)
    assert unknown["gross"] == pytest.approx(2000) and math.isnan(unknown["net"])
    with pytest.raises(ValueError):
        liability(-1, 0.01)


def test_redemption_rate_counts_members_who_kept_a_redemption():
    members = pd.DataFrame({"member_id": [1, 2, 3, 4],
                            "joined_on": pd.to_datetime(["2023-06-01", "2023-06-01",
                                                         "2024-02-01", "2025-01-01"]),
                            "closed_on": pd.to_datetime([None, None, None, None])})
    found = redemption_rate(members, _ledger(), start="2024-01-01", end="2024-12-31")
    # Member 1 kept redemption 7 (8 was cancelled); member 4 joined after the period.
    assert (found["n"], found["redeemers"]) == (3, 1)
    assert (found["low"], found["high"]) == pytest.approx(wilson_interval(1, 3))
    assert found["issued"] == 240 and found["redeemed"] == 80
    assert found["burn_ratio"] == pytest.approx(80 / 240)


def test_members_and_active_members_per_month():
    members = pd.DataFrame({"member_id": [1, 2, 3],
                            "joined_on": pd.to_datetime(["2024-01-01", "2024-01-01",
                                                         "2024-06-01"]),
                            "closed_on": pd.to_datetime([None, "2024-11-03", None])})
    activity = pd.DataFrame({"member_id": [1, 1, 2, 3],
                             "occurred_at": pd.to_datetime(["2023-12-05", "2024-03-01",
                                                            "2024-01-06", "2024-08-01"])})
    table = member_months(members, activity, start="2024-01-01", end="2024-12-31",
                          active_months=3)
    assert table["members"].tolist() == [2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 2, 2]
    assert table["active"].tolist() == [2, 2, 2, 1, 1, 0, 0, 1, 1, 1, 0, 0]


def test_tier_migration_counts_and_row_shares():
    members = pd.DataFrame({"member_id": [1, 2, 3, 4, 5],
                            "joined_on": pd.to_datetime(["2024-01-01"] * 3 + ["2024-09-01",
                                                                              "2024-01-01"]),
                            "closed_on": pd.to_datetime([None, None, None, None,
                                                         "2024-10-01"])})
    changes = pd.DataFrame({
        "member_id": [1, 2, 3, 4, 5, 1, 3, 3],
        "to_tier": ["basic", "basic", "basic", "basic", "basic", "gold", "gold", "basic"],
        "changed_on": pd.to_datetime(["2024-01-01"] * 3 + ["2024-09-01", "2024-01-01",
                                                           "2024-03-01", "2024-04-01",
                                                           "2024-11-01"])})
    counts, shares = tier_migration(members, changes, start="2024-06-30", end="2024-12-31",
                                    order=["basic", "gold"])
    assert counts.index.tolist() == ["basic", "gold", NEW]
    assert counts.columns.tolist() == ["basic", "gold", CLOSED]
    assert counts.loc["basic"].tolist() == [1, 0, 1]   # member 2 stayed, member 5 closed
    assert counts.loc["gold"].tolist() == [1, 1, 0]    # member 3 moved down, member 1 stayed
    assert counts.loc[NEW].tolist() == [1, 0, 0]
    assert shares.loc["gold"].tolist() == [0.5, 0.5, 0.0]


# -- a small programme in a database ---------------------------------------------------------

def seed_programme(engine, *, customers: int = 60, seed: int = 5) -> dict:
    """Customers buying monthly from July 2023 to June 2026; the frequent buyers among them
    joined the programme from July 2024 (entry tier "basic", some upgraded to "gold" in March
    2026), earning a point per ¥ on their purchases after joining, a quarter at a time (expiring
    after a year), and a bonus on the first purchase of every quarter, redeeming 200 points
    every fourth month while they can; points left on expired lots taken on 30 June 2026. A
    few survey answers (trust) and a customer marked as having few alternatives. Returns facts
    the tests check against."""
    from patronage.members.enrolment import enrol_member
    from patronage.members.ledger import Movement, balance, give, take
    from patronage.members.programme import add_months
    from patronage.storage import insert_rows, write_transaction
    from patronage.storage.schema import answers, customers as customer_table, responses, \
        surveys, transactions
    from patronage.storage.schema_members import member_tier_changes, member_tiers, members
    from sqlalchemy import insert, select, update

    rng = np.random.default_rng(seed)
    now = datetime(2026, 6, 30, 12)
    rate = rng.gamma(2.0, 0.6, customers)
    heavy = np.argsort(-rate)[: customers // 3]
    joined = {int(i): date(2024, 7, 10) + timedelta(days=int(k * 540 / len(heavy)))
              for k, i in enumerate(sorted(heavy))}
    months = pd.period_range("2023-07", "2026-06", freq="M")
    with write_transaction(engine) as conn:
        insert_rows(conn, member_tiers, [
            {"code": "basic", "name_en": "Basic", "name_zh_hans": "普卡", "name_zh_hant": "普卡",
             "rank": 0, "qualify_value": 0, "multiplier": 1.0},
            {"code": "gold", "name_en": "Gold", "name_zh_hans": "金卡", "name_zh_hant": "金卡",
             "rank": 1, "qualify_value": 5000, "multiplier": 1.5}])
        insert_rows(conn, customer_table, [
            {"external_id": f"P{i:03d}", "name": f"客户{i:03d}", "created_at": now,
             "updated_at": now, "attributes": {"few_alternatives": "是"} if i == heavy[0] else {}}
            for i in range(customers)])
        pk = dict(conn.execute(select(customer_table.c.external_id, customer_table.c.id)).all())
        rows = []
        for i in range(customers):
            for month in months:
                for k in range(int(rng.poisson(rate[i]))):
                    rows.append({"external_id": f"S{i:03d}-{month}-{k}",
                                 "customer_id": pk[f"P{i:03d}"],
                                 "occurred_at": datetime(month.year, month.month,
                                                         int(rng.integers(1, 28)), 15),
                                 "amount": float(round(rng.gamma(3, 60), 2)), "is_refund": False})
        insert_rows(conn, transactions, rows)
        sales = pd.DataFrame(list(conn.execute(select(
            transactions.c.id, transactions.c.customer_id, transactions.c.occurred_at,
            transactions.c.amount).order_by(transactions.c.occurred_at, transactions.c.id))),
            columns=["id", "customer", "when", "amount"])
        member_of = {}
        for i, day in joined.items():
            made = enrol_member(conn, pk[f"P{i:03d}"], joined_on=day, now=now)
            member_of[pk[f"P{i:03d}"]] = made.member_id
        joined_on = {pk[f"P{i:03d}"]: day for i, day in joined.items()}
        bought = sales.loc[sales["customer"].isin(member_of.keys())].copy()
        bought = bought.loc[[w.date() > joined_on[c] for w, c in zip(bought["when"],
                                                                     bought["customer"])]]
        bought["month"] = bought["when"].dt.to_period("Q")
        events = [(g["when"].max(), "earn", member_of[c], g)
                  for (c, _m), g in bought.groupby(["customer", "month"])]
        events += [(datetime(m.year, m.month, 28, 18), "redeem", member, m)
                   for member in set(member_of.values()) if member % 2 == 0
                   for m in pd.period_range("2024-09", "2026-05", freq="4M")]
        for when, kind, member, item in sorted(events, key=lambda e: (e[0], e[1], e[2])):
            if kind == "redeem":
                if balance(conn, member)["points"] >= 200:
                    take(conn, member, Movement("redeem", 200, f"redeem:{member}:{item}", when),
                         to="redemption")
                continue
            # A quarter's purchases earn together; its first purchase earns a bonus.
            earned = when.date()
            expires = add_months(earned, 12)
            first = item.iloc[0]
            give(conn, member, Movement("earn", int(item["amount"].sum()),
                                        f"quarter:{member}:{first['month']}", when,
                                        earned_on=earned, expires_on=expires))
            give(conn, member, Movement("bonus", 50, f"bonus:{first['id']}", when,
                                        transaction_id=int(first["id"]), earned_on=earned,
                                        expires_on=expires))
        gold = sorted(set(member_of.values()))[::4]
        for member in gold:
            conn.execute(insert(member_tier_changes).values(
                member_id=member, from_tier="basic", to_tier="gold", kind="upgrade",
                changed_on=date(2026, 3, 1), source_key=f"upgrade:{member}", created_at=now))
            conn.execute(update(members).where(members.c.id == member).values(tier_code="gold"))
    # Points left on lots that expired by the end are taken, oldest first.
    from patronage.storage.reads_members import read_point_transfers

    lots = point_lots(read_point_transfers(engine))
    due = lots.loc[lots["expires_on"] <= pd.Timestamp(TODAY)].groupby("member_id")[
        "remaining"].sum()
    with write_transaction(engine) as conn:
        for member, points in due.items():
            if points > 0:
                take(conn, int(member), Movement("expire", int(points),
                                                 f"expire:{member}:{TODAY}", now,
                                                 expires_on=TODAY), to="expiry")
        insert_rows(conn, surveys, [{"code": "trust", "title": "Trust", "status": "closed",
                                     "definition": {}, "created_at": now}])
        survey = conn.execute(select(surveys.c.id).where(surveys.c.code == "trust")).scalar_one()
        answered = [int(i) for i in np.argsort(-rate)[:12]]
        insert_rows(conn, responses, [
            {"external_id": f"PR{i}", "survey_id": survey, "customer_id": pk[f"P{i:03d}"],
             "channel": "web", "submitted_at": datetime(2026, 3, 1), "weight": 1.0}
            for i in answered])
        ids = dict(conn.execute(select(responses.c.external_id, responses.c.id)).all())
        insert_rows(conn, answers, [
            {"response_id": ids[f"PR{i}"], "item_code": "trust",
             "value_num": 9.0 if k % 2 else 5.0, "value_text": None}
            for k, i in enumerate(answered)])
    return {"members": len(joined), "customers": customers, "gold": len(gold),
            "pk": pk, "monopoly": f"P{int(heavy[0]):03d}"}



@pytest.fixture
def report_client(panel, db_url):
    """A client of the application on the small panel (its users log in), in Chinese."""
    from fastapi.testclient import TestClient

    from patronage.settings import Settings
    from patronage.web import create_app

    engine, info = panel
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        client.info, client.engine = info, engine
        client.cookies.set("patronage_lang", "zh_Hans")
        yield client


@pytest.mark.db
def test_the_programme_report_its_commands_and_its_page(report_client, db_url):
    """One seeded programme (seeding is the slow part) read by the service, the commands and
    the page in Chinese."""
    from bs4 import BeautifulSoup
    from sqlalchemy import func, select

    from patronage.cli import main
    from patronage.members.ledger import account_balances, check_balances
    from patronage.members.report import loyalty_types, programme_effect_of, programme_figures
    from patronage.storage import count_customers
    from patronage.storage.schema_members import point_accounts
    from test_web import login
    from visible_english import english_words

    client = report_client
    engine = client.engine
    assert login(client, "analyst").status_code == 303
    empty = client.get("/members/report")  # before the programme has members: said, in Chinese
    assert empty.status_code == 200 and not english_words(empty.text)
    assert BeautifulSoup(empty.text, "html.parser").select_one("#figures-problem")

    facts = seed_programme(engine)
    assert check_balances(engine) == []
    figures = programme_figures(engine, until=TODAY)
    assert (figures.since, figures.until) == (date(2025, 7, 1), TODAY)
    h, ledger = figures.headline, account_balances(engine)
    assert h["members"] == facts["members"] == figures.monthly["members"].iloc[-1]
    with engine.connect() as conn:
        spendable = conn.execute(select(func.sum(point_accounts.c.balance))
                                 .where(point_accounts.c.kind == "points")).scalar_one()
    assert h["outstanding"] == spendable
    # The months add up to the programme's own accounts.
    monthly = figures.monthly
    assert monthly["issued"].sum() - monthly["reversed"].sum() == -ledger["issue"]
    assert monthly["redeemed"].sum() - monthly["returned"].sum() == ledger["redemption"]
    assert monthly["expired"].sum() == ledger["expiry"] > 0
    assert figures.liability["gross"] == pytest.approx(spendable * 0.01)
    b = figures.breakage
    assert 0 < b["low"] < b["rate"] < b["high"] <= 1
    assert figures.liability["net"] == pytest.approx(spendable * 0.01 * (1 - b["rate"]))
    assert figures.migration["gold"].sum() == facts["gold"]
    assert figures.redemption["n"] == facts["members"]
    effect = programme_effect_of(engine)
    assert effect.counts["members"] == facts["members"] and effect.counts["matched"] > 0
    types = loyalty_types(engine, as_of=TODAY)
    assert types.at[facts["monopoly"], "loyalty_type"] == "monopoly"
    assert (types["loyalty_type"] == "trust").sum() > 0
    assert len(types) == count_customers(engine)  # every customer bought or answered

    runner = CliRunner()
    done = runner.invoke(main, ["analyze", "programme", "--db", db_url, "--until",
                                "2026-06-30", "--format", "json"])
    assert done.exit_code == 0, done.output
    shown = json.loads(done.output)
    rows = {row["figure"]: row for row in shown["rows"]}
    assert rows["outstanding_points"]["value"] == spendable
    assert rows["breakage"]["value"] == pytest.approx(b["rate"], abs=5e-5)  # 4 decimals
    assert shown["since"] == "2025-07-01"
    done = runner.invoke(main, ["analyze", "programme-effect", "--db", db_url, "--part",
                                "counts", "--format", "json"])
    assert done.exit_code == 0, done.output
    assert {r["figure"]: r["customers"] for r in json.loads(done.output)["rows"]}[
        "members"] == facts["members"]
    done = runner.invoke(main, ["analyze", "loyalty-types", "--db", db_url, "--type",
                                "monopoly", "--format", "csv"])
    assert done.exit_code == 0 and facts["monopoly"] in done.output
    done = runner.invoke(main, ["analyze", "programme", "--db", db_url, "--from",
                                "2026-07-01", "--until", "2026-01-01"])
    assert done.exit_code != 0 and "after its end" in done.output

    assert login(client, "agent").status_code == 303
    assert client.get("/members/report").status_code == 403
    assert login(client, "analyst").status_code == 303
    page = client.get("/members/report?until=2026-06-30")
    assert page.status_code == 200
    assert not english_words(page.text)
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select_one("#kpi-members .value").text == str(facts["members"])
    assert "会员带来的增量消费" in page.text or "无法区分" in page.text
    assert soup.select_one("#chart-flows")["data-figure"]
    assert "金卡" in soup.select_one("#migration").text
    # Spend before joining is money (¥), the other balance rows plain counts.
    spend, = [r for r in soup.select("#balance tbody tr") if "消费额" in r.text]
    assert all(td.text.startswith(("¥", "-¥")) for td in spend.select("td.n")[:3])
    link = soup.select_one("#type-monopoly a")["href"]
    listing = client.get(link)
    assert listing.status_code == 200 and not english_words(listing.text)
    profile = f"/customers/{facts['pk'][facts['monopoly']]}"
    assert profile in listing.text
    assert client.get("/members/report/types/nonsense").status_code == 404
