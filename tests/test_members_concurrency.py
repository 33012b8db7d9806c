"""Integrity under concurrency: 20 redemptions of 100 points against a balance of 500, made at
the same moment through the web API (threads against the app) and the command line (separate
processes running ``patronage members redeem``), end with exactly 5 made, the balance at 0 and
the ledger summing to it; on SQLite (a file shared by the processes) or PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from patronage.api_keys import create_key
from patronage.members.catalogue import add_reward
from patronage.members.enrolment import enrol_member
from patronage.members.ledger import Movement, account_balances, balance, give, ledger_problems
from patronage.settings import Settings
from patronage.storage import make_engine, write_transaction
from patronage.storage.schema import customers
from patronage.storage.schema_members import redemptions
from patronage.web import create_app

pytestmark = pytest.mark.db
BY_API, BY_CLI = 16, 4
#: SQLite writers queue on the file's lock; on a busy test machine give them time to.
PATIENT = 60_000
#: A command-line process: import everything, say it is ready, wait for the start, redeem.
CHILD = """
import os, sys, time
from patronage.cli import main
import patronage.members.rewards
open(sys.argv[1] + ".ready", "w").close()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.002)
main(sys.argv[3:], prog_name="patronage")
"""


def test_twenty_concurrent_redemptions_never_overspend_a_balance(db_url, tmp_path):
    engine = make_engine(db_url)
    now = datetime(2026, 6, 1, 9)
    with write_transaction(engine) as conn:
        pk = conn.execute(customers.insert().values(external_id="C9", name="并发客户",
                                                    created_at=now, updated_at=now)
                          ).inserted_primary_key[0]
        member = enrol_member(conn, pk, joined_on=date(2026, 1, 1), now=now)
        give(conn, member.member_id, Movement("earn", 500, "txn:seed", now,
                                              earned_on=now.date(), expires_on=date(2030, 1, 1)))
    add_reward(engine, "R100", name_zh_hans="百分礼品", kind="gift", points=100)
    key = create_key(engine, "pos", ["members:redeem"])
    go = tmp_path / "go"
    children = [subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / f"cli{i}"), str(go), "members", "redeem",
         member.card_no, "R100", "--key", f"cli-{i}", "--db", db_url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PATRONAGE_SQLITE_BUSY_TIMEOUT_MS": str(PATIENT)})
        for i in range(BY_CLI)]
    answers: list = [None] * BY_API
    start = threading.Event()
    settings = Settings(database_url=db_url, api_requests_per_minute=1000,
                        sqlite_busy_timeout_ms=PATIENT)
    with TestClient(create_app(settings)) as client:
        def call(i: int) -> None:
            start.wait()
            answers[i] = client.post(f"/api/members/{member.card_no}/redemptions",
                                     json={"reward": "R100"},
                                     headers={"Authorization": f"Bearer {key}",
                                              "Idempotency-Key": f"api-{i}"})
        threads = [threading.Thread(target=call, args=(i,)) for i in range(BY_API)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while not all((tmp_path / f"cli{i}.ready").exists() for i in range(BY_CLI)):
            assert time.monotonic() < deadline, "the command-line processes did not start"
            time.sleep(0.01)
        go.touch()
        start.set()
        for thread in threads:
            thread.join(60)
        finished = [child.communicate(timeout=60) for child in children]
    made = sum(a.status_code == 201 for a in answers)
    made += sum(child.returncode == 0 for child in children)
    refused = [a.json() for a in answers if a.status_code != 201]
    assert all(r["reason"] == "points" for r in refused), refused
    for child, (_out, err) in zip(children, finished, strict=True):
        assert child.returncode == 0 or "100 are needed" in err, err
    assert made == 5
    with engine.connect() as conn:
        assert balance(conn, member.member_id)["points"] == 0
        assert conn.execute(select(func.count()).select_from(redemptions)).scalar() == 5
    summed = account_balances(engine)
    assert summed[f"m{member.member_id}:points"] == 0 and summed["redemption"] == 500
    assert ledger_problems(engine) == []
    engine.dispose()
