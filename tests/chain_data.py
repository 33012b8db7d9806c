"""A company with twelve sites (two teams each) for the service-profit chain's tests: an
anonymous employee survey with site and team answers, customers served by each site (their
touchpoints), their purchases over two years, complaints and a relationship survey, all driven
by one planted quality per site (so employee and customer results go together across sites).

Team 北京二组 has only 3 employee answers: a group under the minimum of 5.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import insert

from patronage.storage.schema import (
    answers, cases, customers, responses, surveys, touchpoints, transactions, waves,
)

SITES = ("上海", "北京", "广州", "深圳", "杭州", "南京", "成都", "武汉", "西安", "重庆", "天津",
         "苏州")
SMALL_TEAM = "北京二组"
EMPLOYEE_ITEMS = ("work_content", "work_load", "work_conditions", "pay_fair", "pay_benefits",
                  "mgmt_support", "mgmt_communication", "mgmt_recognition", "dev_training",
                  "dev_career", "team_cooperation", "team_respect", "emp_overall")
END = datetime(2026, 11, 30, 12, 0)


def _survey(conn, code: str, wave: str, starts) -> tuple[int, int]:
    now = datetime.now(UTC).replace(tzinfo=None)
    survey = conn.execute(insert(surveys).values(
        code=code, title=code, language="zh_Hans", status="open",
        definition={"source": "test"}, created_at=now)).inserted_primary_key[0]
    wave_id = conn.execute(insert(waves).values(
        survey_id=survey, name=wave, starts_on=starts)).inserted_primary_key[0]
    return survey, wave_id


def seed_chain(engine, *, seed: int = 7, employees_per_team: int = 7,
               customers_per_site: int = 25) -> dict[str, float]:
    """Fill ``engine`` (a migrated, empty database); returns the planted quality per site."""
    rng = np.random.default_rng(seed)
    quality = dict(zip(SITES, rng.normal(0, 1, len(SITES)), strict=True))
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        staff_survey, staff_wave = _survey(conn, "employee-2026", "2026年下半年", END.date())
        customer_survey, customer_wave = _survey(conn, "relationship", "2026-Q4", END.date())
        response_no = 0
        for site, q in quality.items():
            for team in (f"{site}一组", f"{site}二组"):
                count = 3 if team == SMALL_TEAM else employees_per_team
                for _ in range(count):
                    response_no += 1
                    pk = conn.execute(insert(responses).values(
                        external_id=f"E{response_no}", survey_id=staff_survey,
                        wave_id=staff_wave, submitted_at=END)).inserted_primary_key[0]
                    rows = [{"response_id": pk, "item_code": item, "value_text": None,
                             "value_num": float(np.clip(round(3.2 + 0.7 * q
                                                              + rng.normal(0, 0.6)), 1, 5))}
                            for item in EMPLOYEE_ITEMS]
                    rows.append({"response_id": pk, "item_code": "enps", "value_text": None,
                                 "value_num": float(np.clip(round(6.5 + 1.5 * q
                                                                  + rng.normal(0, 1.5)), 0, 10))})
                    rows += [{"response_id": pk, "item_code": "site.text", "value_num": None,
                              "value_text": site},
                             {"response_id": pk, "item_code": "team.text", "value_num": None,
                              "value_text": team}]
                    conn.execute(insert(answers), rows)
            for number in range(customers_per_site):
                external = f"{site}-{number:03d}"
                customer = conn.execute(insert(customers).values(
                    external_id=external, name=external, created_at=now,
                    updated_at=now)).inserted_primary_key[0]
                conn.execute(insert(touchpoints), [
                    {"customer_id": customer, "kind": "maintenance", "site": site,
                     "team": f"{site}{'一二'[number % 2]}组",
                     "occurred_at": END - timedelta(days=30 * (k + 1)),
                     "right_first_time": bool(rng.random() < 1 / (1 + np.exp(-(1 + q))))}
                    for k in range(3)])
                sales = [{"external_id": f"T-{external}-0", "customer_id": customer,
                          "occurred_at": END - timedelta(days=500), "amount": 1000.0}]
                if rng.random() < 1 / (1 + np.exp(-(0.8 + 1.2 * q))):
                    sales.append({"external_id": f"T-{external}-1", "customer_id": customer,
                                  "occurred_at": END - timedelta(days=60),
                                  "amount": round(float(2000 * np.exp(0.3 * q)), 2)})
                conn.execute(insert(transactions), sales)
                if rng.random() < 1 / (1 + np.exp(1.5 + 1.0 * q)):
                    conn.execute(insert(cases).values(
                        customer_id=customer, type="complaint", status="new",
                        subject="投诉", opened_at=END - timedelta(days=40)))
                pk = conn.execute(insert(responses).values(
                    external_id=f"R-{external}", survey_id=customer_survey,
                    wave_id=customer_wave, customer_id=customer,
                    submitted_at=END)).inserted_primary_key[0]
                conn.execute(insert(answers), [
                    {"response_id": pk, "item_code": "nps", "value_num": float(
                        np.clip(round(7 + 1.5 * q + rng.normal(0, 1.5)), 0, 10))},
                    {"response_id": pk, "item_code": "overall_satisfaction", "value_num": float(
                        np.clip(round(7 + 1.2 * q + rng.normal(0, 1.2)), 1, 10))}])
    return quality
