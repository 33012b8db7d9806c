"""Group commit of web submissions (surveys.intake), on SQLite or PostgreSQL.

The writer thread is held on its first batch (``paused``) so that what queues up behind it is
known, which makes the batch sizes exact instead of depending on timing.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx2
import pytest
from sqlalchemy import func, select, update

from patronage.settings import Settings
from patronage.storage import write_transaction
from patronage.storage.schema import answers, invitations, responses, surveys
from patronage.surveys import intake as intake_module
from patronage.surveys.intake import SubmissionIntake
from patronage.surveys.program import disable_open_link, set_status
from patronage.surveys.respond import prepare_payload
from patronage.surveys.submissions import SurveyChanged, resolve_open_link, store_one
from patronage.web import create_app

pytestmark = pytest.mark.db

GOOD = {"nps": 9, "delivery": 7, "delivery.exp": 8, "channels.web": 1}


def _stored(engine, submission_ids) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(responses.c.external_id, func.count(answers.c.item_code))
                            .join(answers, answers.c.response_id == responses.c.id)
                            .where(responses.c.external_id.in_(list(submission_ids)))
                            .group_by(responses.c.external_id)).all()
    return dict(rows)


@pytest.fixture
def paused(monkeypatch):
    """Hold the writer on its first batch until ``release`` is set; records batch sizes."""
    release, sizes = threading.Event(), []
    real = intake_module.store_submissions

    def held(conn, batch):
        sizes.append(len(batch))
        assert release.wait(10)
        return real(conn, batch)

    monkeypatch.setattr(intake_module, "store_submissions", held)
    return release, sizes


def _wait_for(predicate, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_waiting_submissions_are_written_in_one_transaction(pulse, paused):
    engine, _code, open_token, _tokens = pulse
    release, sizes = paused
    intake = SubmissionIntake(engine)
    link = resolve_open_link(engine, open_token)
    futures = [intake.put(prepare_payload(link, {"submission_id": f"g{i}", "language": "en",
                                                 "answers": {**GOOD, "nps": 7 + i % 4}}))
               for i in range(40)]
    _wait_for(lambda: sizes)  # the first submission is being written
    release.set()
    results = [f.result(10) for f in futures]
    assert sizes == [1, 39]  # everything that queued behind the first went in one batch
    assert intake.batches == 2
    assert all(r.created for r in results) and len({r.response_id for r in results}) == 40
    # 5 answer rows each: nps, delivery and its expectation, and both options of "channels"
    assert _stored(engine, [f"g{i}" for i in range(40)]) == {f"g{i}": 5 for i in range(40)}
    with engine.connect() as conn:  # each response got its own answers (ids kept in order)
        scores = dict(conn.execute(
            select(responses.c.external_id, answers.c.value_num)
            .join(answers, answers.c.response_id == responses.c.id)
            .where(responses.c.external_id.like("g%") & (answers.c.item_code == "nps"))).all())
    assert scores == {f"g{i}": 7.0 + i % 4 for i in range(40)}


def test_a_replay_inside_a_batch_gets_the_original(pulse, paused):
    engine, _code, open_token, tokens = pulse
    release, sizes = paused
    intake = SubmissionIntake(engine)
    link = resolve_open_link(engine, open_token)
    first = intake.put(prepare_payload(link, {"submission_id": "r0", "answers": GOOD}))
    _wait_for(lambda: sizes)
    again = [intake.put(prepare_payload(link, {"submission_id": sid, "answers": GOOD}))
             for sid in ("r1", "r1", "r0", "r2")]
    release.set()
    r0, (r1, r1b, r0b, r2) = first.result(10), [f.result(10) for f in again]
    assert sizes == [1, 4]
    assert (r0.created, r1.created, r1b.created, r0b.created, r2.created) == (
        True, True, False, False, True)
    assert (r1b.response_id, r0b.response_id) == (r1.response_id, r0.response_id)
    assert set(_stored(engine, ["r0", "r1", "r2"])) == {"r0", "r1", "r2"}


def test_the_write_checks_the_survey_again(pulse):
    engine, code, open_token, _tokens = pulse
    link = resolve_open_link(engine, open_token)
    prepared = prepare_payload(link, {"submission_id": "v1", "answers": GOOD})
    with write_transaction(engine) as conn:  # a new definition version behind the link's back
        conn.execute(update(surveys).where(surveys.c.code == code)
                     .values(version=surveys.c.version + 1))
    with pytest.raises(SurveyChanged, match="no longer takes answers"):
        store_one(engine, prepared)
    assert _stored(engine, ["v1"]) == {}


async def _client(app):
    """An in-process async client; the app's engine is disposed afterwards (no lifespan)."""
    transport = httpx2.ASGITransport(app=app)
    return httpx2.AsyncClient(transport=transport, base_url="http://t")


def _shut(app) -> None:
    app.state.intake.close()
    app.state.engine.dispose()


def test_api_keeps_open_links_but_a_closed_or_unlinked_survey_answers_404(pulse, db_url):
    engine, code, open_token, _tokens = pulse
    app = create_app(Settings(database_url=db_url))

    async def run():
        async with await _client(app) as client:
            def post(sid, token=open_token):
                return client.post("/api/responses", json={"open_token": token,
                                                           "submission_id": sid,
                                                           "answers": GOOD})
            assert (await post("k1")).status_code == 201
            assert open_token in app.state.intake._links  # kept for the next submission
            disable_open_link(engine, code)
            assert (await post("k2")).status_code == 404
            assert open_token not in app.state.intake._links
            new_token = set_status(engine, code, "open", open_link=True)
            assert (await post("k3", new_token)).status_code == 201
            set_status(engine, code, "closed")
            assert (await post("k4", new_token)).status_code == 404

    try:
        asyncio.run(run())
    finally:
        _shut(app)
    assert set(_stored(engine, ["k1", "k2", "k3", "k4"])) == {"k1", "k3"}


def test_fifty_concurrent_api_submits_of_one_invitation_store_one(pulse, db_url):
    engine, _code, _open, tokens = pulse
    app = create_app(Settings(database_url=db_url))

    async def run():
        async with await _client(app) as client:
            return await asyncio.gather(*(
                client.post("/api/responses", json={"token": tokens[0], "submission_id": f"c{i}",
                                                    "answers": GOOD}) for i in range(50)))

    try:
        replies = asyncio.run(run())
    finally:
        _shut(app)
    assert sorted(r.status_code for r in replies) == [200] * 49 + [201]
    assert len({r.json()["response_id"] for r in replies}) == 1
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(responses).join(
            invitations, invitations.c.id == responses.c.invitation_id)
            .where(invitations.c.token == tokens[0])).scalar_one()
    assert stored == 1


def test_the_writer_thread_ends_when_idle_and_comes_back(pulse):
    engine, _code, open_token, _tokens = pulse
    intake = SubmissionIntake(engine, idle_seconds=0.05)
    link = resolve_open_link(engine, open_token)
    assert intake.put(prepare_payload(link, {"submission_id": "i1", "answers": GOOD})).result(10)
    _wait_for(lambda: intake._thread is None)
    assert intake.put(prepare_payload(link, {"submission_id": "i2", "answers": GOOD})).result(10)
    intake.close()
    assert set(_stored(engine, ["i1", "i2"])) == {"i1", "i2"}
    with pytest.raises(ValueError, match="max_batch"):
        SubmissionIntake(engine, max_batch=0)


def test_a_locked_database_answers_503_and_the_retry_is_stored(pulse, db_url):
    """reliability.md F3: a write lock held beyond the wait limit gives 503 with Retry-After
    (never a 500), nothing half-written, and the same submission succeeds afterwards."""
    from fastapi.testclient import TestClient
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from conftest import backend_name
    from patronage.storage import make_engine

    engine, _code, open_token, _tokens = pulse
    url = make_url(db_url)
    if backend_name() == "postgresql":  # wait at most 200 ms for a lock
        options = f"{url.query.get('options', '')} -c lock_timeout=200".strip()
        url = url.update_query_dict({"options": options})
    settings = Settings(database_url=url.render_as_string(hide_password=False),
                        sqlite_busy_timeout_ms=200)
    body = {"open_token": open_token, "submission_id": "locked-1", "answers": GOOD}
    holder = make_engine(db_url)
    try:
        with TestClient(create_app(settings)) as client:
            client.post("/api/responses", json={**body, "submission_id": "warm"})
            with write_transaction(holder) as conn:  # BEGIN IMMEDIATE on SQLite
                if backend_name() == "postgresql":
                    conn.execute(text("LOCK TABLE responses IN EXCLUSIVE MODE"))
                busy = client.post("/api/responses", json=body)
            assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
            assert "try again" in busy.json()["error"]
            assert _stored(engine, ["locked-1"]) == {}
            retry = client.post("/api/responses", json=body)
            assert retry.status_code == 201
    finally:
        holder.dispose()
    assert _stored(engine, ["locked-1"]) == {"locked-1": 5}
