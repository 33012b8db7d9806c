"""A survey with a planted effect for the action-plan tests: 240 customers in two regions answer
a relationship survey in two waves (2026-Q1, 2026-Q2). Between the waves East China's timeliness
(``speed_timeliness``, 1–10) rises by 1.0 over a common rise of 0.2, its NPS answers by one
point; price (``price_reasonable``) does not move anywhere. Overall satisfaction follows
timeliness, and service performs below price: service is the dimension to concentrate on."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
from sqlalchemy import text

from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import answers, customers, responses, surveys, waves

REGIONS = ("East China", "North China")
ITEMS = ("speed_timeliness", "speed_accuracy", "price_reasonable", "overall_satisfaction")


def plant_survey(engine, *, seed: int = 7, later_wave: bool = True) -> None:
    rng = np.random.default_rng(seed)
    now = datetime(2026, 1, 5, 9, 0)
    with write_transaction(engine) as conn:
        base = conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM customers")).scalar()
        insert_rows(conn, customers, [
            {"id": base + i + 1, "external_id": f"P{i:03d}", "name": f"客户{i:03d}",
             "region": REGIONS[i % 2], "created_at": now, "updated_at": now} for i in range(240)])
        insert_rows(conn, surveys, [{"id": 50, "code": "planted", "title": "关系调查",
                                     "status": "closed", "definition": {}, "created_at": now}])
        wave_rows = [{"id": 50, "survey_id": 50, "name": "2026-Q1", "starts_on": date(2026, 1, 1)}]
        if later_wave:
            wave_rows.append({"id": 51, "survey_id": 50, "name": "2026-Q2",
                              "starts_on": date(2026, 4, 1)})
        insert_rows(conn, waves, wave_rows)
        rows, items = [], []
        for wave_id in [w["id"] for w in wave_rows]:
            after = wave_id == 51
            for i in range(240):
                east = i % 2 == 0
                pk = 1000 + (wave_id - 50) * 1000 + i
                rows.append({"id": pk, "external_id": f"PR{pk}", "survey_id": 50,
                             "wave_id": wave_id, "customer_id": base + i + 1, "channel": "web",
                             "submitted_at": datetime(2026, 2 if not after else 5, 1 + i % 27),
                             "weight": 1.0})
                lift = (0.2 + (1.0 if east else 0.0)) if after else 0.0
                timeliness = rng.normal(6.0 + lift, 1.2)
                values = {"speed_timeliness": timeliness,
                          "speed_accuracy": rng.normal(6.5, 1.2),
                          "price_reasonable": rng.normal(7.8, 1.5),
                          "overall_satisfaction": 3.0 + 0.6 * timeliness + rng.normal(0, 0.8),
                          "nps": rng.integers(4, 10) + (1 if east and after else 0)}
                items += [{"response_id": pk, "item_code": code,
                           "value_num": float(np.clip(round(float(v)), 0 if code == "nps" else 1,
                                                      10)),
                           "value_text": None} for code, v in values.items()]
        insert_rows(conn, responses, rows)
        insert_rows(conn, answers, items)
        if conn.dialect.name == "postgresql":
            for table in ("customers", "surveys", "waves", "responses"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT MAX(id) FROM {table}))"))


def add_later_wave(engine, *, seed: int = 8) -> None:
    """Wave 2026-Q2 arrives after the action was made on 2026-Q1."""
    rng = np.random.default_rng(seed)
    with write_transaction(engine) as conn:
        base = conn.execute(text("SELECT MIN(id) FROM customers WHERE external_id = 'P000'")
                            ).scalar()
        insert_rows(conn, waves, [{"id": 51, "survey_id": 50, "name": "2026-Q2",
                                   "starts_on": date(2026, 4, 1)}])
        rows, items = [], []
        for i in range(240):
            east, pk = i % 2 == 0, 2000 + i
            rows.append({"id": pk, "external_id": f"PR{pk}", "survey_id": 50, "wave_id": 51,
                         "customer_id": base + i, "channel": "web",
                         "submitted_at": datetime(2026, 5, 1 + i % 27), "weight": 1.0})
            timeliness = rng.normal(6.2 + (1.0 if east else 0.0), 1.2)
            values = {"speed_timeliness": timeliness, "speed_accuracy": rng.normal(6.5, 1.2),
                      "price_reasonable": rng.normal(7.8, 1.5),
                      "overall_satisfaction": 3.0 + 0.6 * timeliness + rng.normal(0, 0.8),
                      "nps": rng.integers(4, 10) + (1 if east else 0)}
            items += [{"response_id": pk, "item_code": code,
                       "value_num": float(np.clip(round(float(v)), 0 if code == "nps" else 1,
                                                  10)),
                       "value_text": None} for code, v in values.items()]
        insert_rows(conn, responses, rows)
        insert_rows(conn, answers, items)
        if conn.dialect.name == "postgresql":
            for table in ("waves", "responses"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT MAX(id) FROM {table}))"))
