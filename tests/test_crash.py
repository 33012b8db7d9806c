"""Crash safety of the submission API: SIGKILL of the server under load loses no acknowledged
response, and replaying every submission afterwards stores nothing twice (issue 5, item 10).

The server runs as a real uvicorn subprocess on 127.0.0.1 so that it can be killed like a
crashed process; the database is the ``db_url`` fixture (SQLite in WAL mode with
``synchronous=FULL``, or a PostgreSQL schema). The property checked is the usual durability
contract of a transactional store (Gray & Reuter 1993, *Transaction Processing*, ch. 1: a
committed transaction survives a crash): the API answers 200/201 only after its transaction
committed, so every acknowledged ``submission_id`` must be found after the crash, with its
answers, and the ``submission_id`` / invitation uniqueness keeps replays idempotent.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from patronage.storage import make_engine
from patronage.storage.schema import answers, responses
from patronage.surveys.program import create_survey, set_status
from patronage.surveys.templates import load_template

pytestmark = [pytest.mark.db,
              pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX SIGKILL")]

SERVER = """
import sys, uvicorn
from patronage.settings import Settings
from patronage.web import create_app
app = create_app(Settings(database_url=sys.argv[1], public_submissions_per_minute=10**9))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
            access_log=False)
"""
THREADS = 8
LOAD_SECONDS = 1.5
ANSWERS = {"nps": 9, "nps_reason": "快速交货 / fast delivery"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(db_url: str, log) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, db_url, str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/health")
            ok = conn.getresponse().status == 200
            conn.close()
            if ok:
                return proc, port
        except OSError:
            pass
        time.sleep(0.1)
    _kill(proc)
    raise RuntimeError("the server did not answer /health within 30 s")


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _body(open_token: str, submission_id: str) -> bytes:
    return json.dumps({"open_token": open_token, "submission_id": submission_id,
                       "language": "en", "answers": ANSWERS}).encode()


def _post(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, dict]:
    conn.request("POST", "/api/responses", body=body,
                 headers={"Content-Type": "application/json"})
    reply = conn.getresponse()
    return reply.status, json.loads(reply.read() or b"{}")


def _load(port: int, open_token: str, stop: threading.Event) -> tuple[list[str], dict]:
    """Submit new responses until ``stop``: (every id sent, {acknowledged id: response id})."""
    sent, acked = [], {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    while not stop.is_set():
        sid = uuid.uuid4().hex
        sent.append(sid)
        try:
            status, reply = _post(conn, _body(open_token, sid))
        except (OSError, http.client.HTTPException, ValueError):
            conn.close()  # server gone (or a torn reply): not acknowledged
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            time.sleep(0.01)
            continue
        if status in (200, 201):
            acked[sid] = reply["response_id"]
    conn.close()
    return sent, acked


def _stored(db_url: str) -> tuple[dict[str, int], dict[int, int]]:
    """With a fresh engine: {submission id: response id} and {response id: answer rows}."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ids = dict(conn.execute(select(responses.c.external_id, responses.c.id)).all())
            counts = dict(conn.execute(
                select(responses.c.id, func.count(answers.c.item_code))
                .outerjoin(answers, answers.c.response_id == responses.c.id)
                .group_by(responses.c.id)).all())
    finally:
        engine.dispose()
    return ids, counts


@pytest.fixture
def open_survey(engine):
    code = create_survey(engine, load_template("nps"))
    return set_status(engine, code, "open", open_link=True)


def test_sigkill_under_load_loses_no_acknowledged_response(db_url, open_survey, tmp_path):
    open_token = open_survey
    with open(tmp_path / "server.log", "wb") as log:
        proc, port = _start_server(db_url, log)
        stop = threading.Event()
        try:
            with ThreadPoolExecutor(THREADS) as pool:
                futures = [pool.submit(_load, port, open_token, stop) for _ in range(THREADS)]
                time.sleep(LOAD_SECONDS)
                os.kill(proc.pid, signal.SIGKILL)  # mid-load, like a crash
                proc.wait(timeout=10)
                stop.set()
                results = [f.result() for f in futures]
        finally:
            stop.set()
            _kill(proc)
    sent = [sid for s, _ in results for sid in s]
    acked = {sid: rid for _, a in results for sid, rid in a.items()}
    assert len(acked) >= 20, f"too little load before the kill to test anything ({len(acked)})"

    stored, answer_rows = _stored(db_url)
    lost = set(acked) - set(stored)
    assert not lost, f"{len(lost)} acknowledged submissions lost, e.g. {sorted(lost)[:3]}"
    assert all(stored[sid] == rid for sid, rid in acked.items())
    assert set(stored) <= set(sent)
    # every response has all its answers: the response and its answers are one transaction
    assert set(answer_rows.values()) == {len(ANSWERS)}

    with open(tmp_path / "server2.log", "wb") as log:
        proc, port = _start_server(db_url, log)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            replies = {sid: _post(conn, _body(open_token, sid)) for sid in sent}
            conn.close()
        finally:
            _kill(proc)
    for sid, rid in acked.items():
        status, reply = replies[sid]
        assert (status, reply) == (200, {"response_id": rid, "created": False}), sid
    for sid in set(stored) - set(acked):  # committed, but the reply died with the server
        assert replies[sid] == (200, {"response_id": stored[sid], "created": False})
    assert {status for status, _ in replies.values()} <= {200, 201}

    final, answer_rows = _stored(db_url)
    assert set(final) == set(sent)  # every submission stored exactly once
    assert len(answer_rows) == len(set(sent))
    assert set(answer_rows.values()) == {len(ANSWERS)}
