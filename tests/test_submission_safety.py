"""Submissions that must not hurt other submissions or other respondents (issue 10, items 13,
18 and 19), on SQLite or PostgreSQL.

* Text a database driver cannot store (a lone surrogate, which no UTF-8 encoder accepts, or a
  NUL byte, which PostgreSQL refuses in text) is refused with a field error, and a batch of the
  group commit that fails anyway is stored one submission at a time, so that only the poisoned
  one fails.
* A client's ``submission_id`` is scoped to its link (invitation or open link) and customer:
  reusing it elsewhere is a 409, never someone else's response.
* ``started_at`` as JavaScript's ``toISOString()`` sends it (``...Z``) is accepted.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import replace
from datetime import datetime

import httpx2
import pytest
from sqlalchemy import func, select

from conftest import backend_name
from patronage.settings import Settings
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import customers, responses
from patronage.surveys import intake as intake_module
from patronage.surveys.intake import SubmissionIntake
from patronage.surveys.respond import prepare_payload
from patronage.surveys.submissions import (
    SubmissionConflict,
    resolve_open_link,
    resolve_token,
    store_one,
    submit,
)
from patronage.web import create_app

pytestmark = pytest.mark.db

GOOD = {"nps": 9, "delivery": 7, "delivery.exp": 8, "channels.web": 1}
#: Texts that pass a length check but that a driver refuses (SQLite and PostgreSQL: the lone
#: surrogate cannot be encoded as UTF-8; PostgreSQL: no NUL in text).
POISON = ["a\ud800b", "a\x00b"]


def _stored(engine, submission_ids) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(responses.c.external_id)
                                .where(responses.c.external_id.in_(list(submission_ids))))
                   .scalars())


async def _client(app):
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://t")


def _run(app, coroutine_fn):
    async def run():
        async with await _client(app) as client:
            return await coroutine_fn(client)
    try:
        return asyncio.run(run())
    finally:
        app.state.intake.close()
        app.state.engine.dispose()


@pytest.mark.parametrize("poison", POISON)
def test_unstorable_text_is_a_field_error_and_the_others_are_stored(pulse, db_url, poison):
    engine, _code, open_token, _tokens = pulse
    app = create_app(Settings(database_url=db_url))

    async def go(client):
        bodies = [{"open_token": open_token, "submission_id": f"ok{i}", "language": "en",
                   "answers": {**GOOD, "comment": f"fine {i}"}} for i in range(20)]
        bodies.insert(7, {"open_token": open_token, "submission_id": "bad", "language": "en",
                          "answers": {**GOOD, "comment": poison}})
        # sent as JSON text: the escape "\ud800" is valid JSON and decodes to a lone surrogate
        return await asyncio.gather(*(client.post(
            "/api/responses", content=json.dumps(b), headers={"content-type": "application/json"})
            for b in bodies))

    replies = _run(app, go)
    statuses = [r.status_code for r in replies]
    assert statuses[7] == 422 and "comment" in replies[7].json()["fields"]
    assert statuses[:7] + statuses[8:] == [201] * 20
    assert _stored(engine, [f"ok{i}" for i in range(20)] + ["bad"]) == {
        f"ok{i}" for i in range(20)}


def test_a_failing_batch_is_stored_one_by_one(pulse, monkeypatch):
    """A submission the driver refuses, slipped past the checks (built directly), fails alone."""
    engine, _code, open_token, _tokens = pulse
    release, sizes = threading.Event(), []
    real = intake_module.store_submissions

    def held(conn, batch):
        sizes.append(len(batch))
        assert release.wait(10)
        return real(conn, batch)

    monkeypatch.setattr(intake_module, "store_submissions", held)
    intake = SubmissionIntake(engine)
    link = resolve_open_link(engine, open_token)
    first = intake.put(prepare_payload(link, {"submission_id": "p0", "answers": GOOD}))
    deadline = time.monotonic() + 5
    while not sizes:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    poisons = POISON if backend_name() == "postgresql" else POISON[:1]
    futures = []
    for i in range(10):
        futures.append(intake.put(prepare_payload(
            link, {"submission_id": f"p{i + 1}", "answers": {**GOOD, "comment": "ok"}})))
    bad = []
    for n, text in enumerate(poisons):
        good = prepare_payload(link, {"submission_id": f"x{n}", "answers": {**GOOD,
                                                                             "comment": "x"}})
        poisoned = replace(good, answers=tuple(
            {**a, "value_text": text} if a["item_code"] == "comment" else a
            for a in good.answers))
        bad.append(intake.put(poisoned))
    release.set()
    assert first.result(10).created
    assert all(f.result(10).created for f in futures)
    for future in bad:
        with pytest.raises(ValueError, match="cannot store"):
            future.result(10)
    intake.close()
    assert sizes[:2] == [1, 10 + len(poisons)]
    assert _stored(engine, [f"p{i}" for i in range(11)] + ["x0", "x1"]) == {
        f"p{i}" for i in range(11)}


@pytest.mark.parametrize("poison", POISON)
def test_the_public_form_refuses_unstorable_text_with_a_message(pulse, poison):
    from patronage.surveys.respond import step

    engine, _code, open_token, _tokens = pulse
    link = resolve_open_link(engine, open_token)
    form = {"nps": "9", "delivery": "7", "delivery.exp": "8", "channels": "web",
            "comment": poison, "action": "submit", "page": "1", "submission_id": "f1",
            "started_at": "2026-07-02T09:00:00"}
    state = step(engine, link, form, language="en")
    assert state.result is None and "comment" in state.errors
    assert _stored(engine, ["f1"]) == set()


def test_submission_ids_are_scoped_to_their_invitation(pulse, db_url):
    engine, code, open_token, tokens = pulse
    app = create_app(Settings(database_url=db_url))

    async def go(client):
        def post(**body):
            return client.post("/api/responses", json={"submission_id": "shared", "language":
                                                       "en", **body})
        first = await post(token=tokens[0], answers={**GOOD, "comment": "mine"})
        other_invitation = await post(token=tokens[1], answers={**GOOD, "nps": 8})
        open_link = await post(open_token=open_token, answers={**GOOD, "nps": 7})
        again = await post(token=tokens[0], answers={**GOOD, "nps": 10})
        return first, other_invitation, open_link, again

    first, other_invitation, open_link, again = _run(app, go)
    assert first.status_code == 201
    for clash in (other_invitation, open_link):
        assert clash.status_code == 409, clash.text
        assert "submission_id" in clash.json()["error"]
        assert "response_id" not in clash.json()
    assert again.status_code == 200 and again.json()["response_id"] == first.json()["response_id"]
    # the second invitation is still unanswered and can be answered with a new id
    assert resolve_token(engine, tokens[1]).response_id is None
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(responses)
                            .where(responses.c.external_id == "shared")).scalar_one() == 1


def test_submission_ids_are_scoped_to_their_customer_and_open_link(pulse):
    engine, code, open_token, _tokens = pulse
    now = datetime(2026, 7, 2, 9, 0)
    c1, c2 = "N1", "N2"  # customers without an invitation
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [{"external_id": c, "name": c, "created_at": now,
                                       "updated_at": now} for c in (c1, c2)])
    # agent entries (no invitation): the same id for another customer is a clash
    base = {"survey_code": code, "answers": {"nps": 5.0}, "channel": "phone"}
    first = submit(engine, submission_id="agent-1", customer_external_id=c1, **base)
    with pytest.raises(SubmissionConflict, match="submission_id"):
        submit(engine, submission_id="agent-1", customer_external_id=c2, **base)
    assert submit(engine, submission_id="agent-1", customer_external_id=c1,
                  **base).response_id == first.response_id
    # an open-link response's id reused by an agent for a customer: a clash too
    link = resolve_open_link(engine, open_token)
    store_one(engine, prepare_payload(link, {"submission_id": "anon-1", "answers": GOOD}))
    with pytest.raises(SubmissionConflict):
        submit(engine, submission_id="anon-1", customer_external_id=c1, **base)
    assert store_one(engine, prepare_payload(link, {"submission_id": "anon-1",
                                                    "answers": GOOD})).created is False


def test_started_at_from_javascript_is_accepted(pulse, db_url):
    engine, _code, open_token, _tokens = pulse
    app = create_app(Settings(database_url=db_url))

    async def go(client):
        return [await client.post("/api/responses", json={
            "open_token": open_token, "submission_id": f"z{n}", "answers": GOOD,
            "started_at": started}) for n, started in enumerate(
                ["2026-07-02T09:00:00.000Z", "2026-07-02T17:00:00+08:00", "yesterday"])]

    replies = _run(app, go)
    assert [r.status_code for r in replies] == [201, 201, 201], [r.text for r in replies]
    with engine.connect() as conn:
        started = dict(conn.execute(select(responses.c.external_id, responses.c.started_at)
                                    .where(responses.c.external_id.like("z%"))).all())
    # stored as naive UTC like every other time; an unreadable start is left out
    assert str(started["z0"]) == "2026-07-02 09:00:00"
    assert str(started["z1"]) == "2026-07-02 09:00:00"
    assert started["z2"] is None


def test_the_form_answers_a_clashing_submission_id_with_409(pulse, db_url):
    from fastapi.testclient import TestClient

    engine, _code, _open, tokens = pulse
    taken = submit(engine, survey_code="pulse", answers={"nps": 9.0}, submission_id="taken",
                   invitation_token=tokens[0])
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        page = client.get(f"/s/{tokens[1]}?lang=en")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        reply = client.post(f"/s/{tokens[1]}", data={
            "csrf_token": csrf, "nps": "9", "delivery": "7", "delivery.exp": "8",
            "channels": "web", "action": "submit", "page": "1", "submission_id": "taken"})
    assert reply.status_code == 409
    assert "another" in reply.text and "Traceback" not in reply.text
    assert resolve_token(engine, tokens[1]).response_id is None
    assert resolve_token(engine, tokens[0]).response_id == taken.response_id


def test_old_anonymous_drafts_are_purged_and_invited_ones_kept(pulse):
    from datetime import timedelta

    from patronage.storage.schema import drafts
    from patronage.surveys.submissions import ANONYMOUS_DRAFT_DAYS, save_draft

    engine, _code, open_token, tokens = pulse
    now = datetime(2026, 7, 2, 9, 0)
    old = now - timedelta(days=ANONYMOUS_DRAFT_DAYS + 1)
    stale = save_draft(engine, open_token=open_token, answers={"nps": "3"}, now=old)
    recent = save_draft(engine, open_token=open_token, answers={"nps": "4"},
                        now=now - timedelta(days=ANONYMOUS_DRAFT_DAYS - 1))
    invited = save_draft(engine, invitation_token=tokens[0], answers={"nps": "5"}, now=old)
    fresh = save_draft(engine, open_token=open_token, answers={"nps": "6"}, now=now)
    with engine.connect() as conn:
        kept = set(conn.execute(select(drafts.c.resume_key)).scalars())
    assert kept == {recent, invited, fresh} and stale not in kept


def test_new_anonymous_drafts_are_limited_per_address(pulse, db_url):
    from fastapi.testclient import TestClient

    _engine, _code, open_token, _tokens = pulse
    app = create_app(Settings(database_url=db_url, public_new_drafts_per_hour=2))
    with TestClient(app) as client:
        def first_page(extra=None):
            page = client.get(f"/o/{open_token}?lang=en")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            return client.post(f"/o/{open_token}", data={
                "csrf_token": csrf, "nps": "9", "delivery": "7", "delivery.exp": "8",
                "action": "next", "page": "0", **(extra or {})})
        replies = [first_page(), first_page({"resume_key": "made-up"}), first_page()]
        assert [r.status_code for r in replies] == [200, 200, 429]
        key = re.search(r'name="resume_key" value="([^"]+)"', replies[0].text).group(1)
        assert first_page({"resume_key": key}).status_code == 200  # going on is not new


def test_a_resume_key_works_only_on_its_own_link(pulse, db_url):
    """An invitation's resume key posted on the open link must not overwrite (or, on submit,
    use up) that invitation's saved answers; nor may a submit elsewhere use it."""
    from fastapi.testclient import TestClient

    from patronage.storage.schema import drafts
    from patronage.surveys.submissions import save_draft

    engine, code, open_token, tokens = pulse
    key = save_draft(engine, invitation_token=tokens[0], answers={"nps": "3"}, page=0)
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        page = client.get(f"/o/{open_token}?lang=en")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        reply = client.post(f"/o/{open_token}", data={
            "csrf_token": csrf, "nps": "10", "delivery": "7", "delivery.exp": "8",
            "action": "next", "page": "0", "resume_key": key})
        assert reply.status_code == 200
    submit(engine, survey_code=code, answers={"nps": 9.0}, submission_id="elsewhere",
           resume_key=key)
    with engine.connect() as conn:
        saved = conn.execute(select(drafts.c.answers).where(drafts.c.resume_key == key)).one()
    assert saved.answers == {"nps": "3"}
