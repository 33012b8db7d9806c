"""Quality bar of the case desk: 50 concurrent submissions of one detractor's answer, then two
workers at once, make exactly one case (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import func, select

from patronage.cases.rules import add_rule, apply_rules
from patronage.settings import Settings
from patronage.storage.schema import cases
from patronage.web import create_app
from test_intake import _client, _shut

pytestmark = pytest.mark.db


def test_fifty_submissions_of_one_detractor_make_one_case(pulse, db_url):
    engine, _code, _open, tokens = pulse
    add_rule(engine, "detractor", "差评预警", "nps <= 6")
    app = create_app(Settings(database_url=db_url))
    detractor = {"nps": 2, "delivery": 3, "delivery.exp": 8, "channels.web": 1,
                 "why_low": "送货太慢，我要投诉"}

    async def run():
        async with await _client(app) as client:
            return await asyncio.gather(*(
                client.post("/api/responses", json={"token": tokens[0], "submission_id": "same",
                                                    "answers": detractor}) for _ in range(50)))

    try:
        replies = asyncio.run(run())
    finally:
        _shut(app)
    assert sorted(r.status_code for r in replies) == [200] * 49 + [201]
    made = []
    workers = [threading.Thread(target=lambda: made.append(apply_rules(engine)))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(cases)
                              .where(cases.c.rule_id.is_not(None))).scalar_one()
        description = conn.execute(select(cases.c.description)
                                   .where(cases.c.rule_id.is_not(None))).scalar_one()
    assert stored == 1 and sum(made) == 1
    assert "送货太慢" in description
