"""Text-message delivery: the file sink, a real HTTP exchange with a gateway on 127.0.0.1, a
refusal retried, held messages, and the worker delivering them."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import insert, select, update

from patronage.care.sms import MAX_ATTEMPTS, HttpSms, SinkSms, deliver_sms
from patronage.storage import write_transaction
from patronage.storage.schema_care import sms_outbox

pytestmark = pytest.mark.db
NOW = datetime(2027, 2, 6, 2, 0)


def _queue(engine, key, *, not_before=None, to="+86 13900000001", body="新春快乐 回复TD退订"):
    with write_transaction(engine) as conn:
        conn.execute(insert(sms_outbox).values(to_number=to, body=body, message_key=key,
                                               status="pending", attempts=0,
                                               not_before=not_before, created_at=NOW))


def _rows(engine):
    with engine.connect() as conn:
        return {r.message_key: r for r in conn.execute(select(sms_outbox))}


def test_the_sink_writes_one_file_per_message_and_a_resend_overwrites_it(engine, tmp_path):
    _queue(engine, "greeting-5-101-2027-02-06")
    _queue(engine, "held", not_before=datetime(2027, 2, 6, 9, 0))
    sink = SinkSms(tmp_path / "sms", sender="PATRONAGE")
    assert deliver_sms(engine, sink, now=NOW) == 1  # the held one waits
    files = list((tmp_path / "sms").glob("*.json"))
    assert [f.name for f in files] == ["greeting-5-101-2027-02-06.json"]
    data = json.loads(files[0].read_text(encoding="utf-8"))
    assert data == {"to": "+86 13900000001", "body": "新春快乐 回复TD退订",
                    "key": "greeting-5-101-2027-02-06", "sender": "PATRONAGE"}
    with write_transaction(engine) as conn:  # a crash before the mark: the row goes again
        conn.execute(update(sms_outbox).values(status="pending", claimed_at=None))
    deliver_sms(engine, sink, now=datetime(2027, 2, 6, 10, 0))
    assert len(list((tmp_path / "sms").glob("*.json"))) == 2  # one file per key
    assert all(r.status == "sent" for r in _rows(engine).values())


class _Gateway(BaseHTTPRequestHandler):
    answers: list = []
    received: list = []

    def do_POST(self):  # noqa: N802 - the name http.server calls
        length = int(self.headers["Content-Length"])
        self.received.append((self.headers.get("Authorization"),
                              json.loads(self.rfile.read(length).decode("utf-8"))))
        status, body = self.answers.pop(0) if self.answers else (200, {"id": "gw-1"})
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    _Gateway.answers, _Gateway.received = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/send", _Gateway
    server.shutdown()
    server.server_close()


def test_the_http_backend_posts_json_with_the_token_and_keeps_the_gateway_id(engine, gateway):
    url, handler = gateway
    _queue(engine, "k1")
    handler.answers = [(500, {"error": "busy"}), (202, {"id": "gw-77"})]
    sender = HttpSms(url, token="secret-token", sender="PATRONAGE")
    assert deliver_sms(engine, sender, now=NOW) == 0
    first = _rows(engine)["k1"]
    assert (first.status, first.attempts) == ("pending", 1) and "500" in first.last_error
    assert deliver_sms(engine, sender, now=NOW) == 1
    sent = _rows(engine)["k1"]
    assert (sent.status, sent.attempts, sent.gateway_ref) == ("sent", 2, "gw-77")
    auth, body = handler.received[-1]
    assert auth == "Bearer secret-token"
    assert body == {"to": "+86 13900000001", "body": "新春快乐 回复TD退订", "key": "k1",
                    "sender": "PATRONAGE"}


def test_a_message_the_gateway_keeps_refusing_fails_after_the_last_attempt(engine, gateway):
    url, handler = gateway
    _queue(engine, "k2")
    handler.answers = [(400, {"error": "bad number"})] * MAX_ATTEMPTS
    sender = HttpSms(url)
    for _ in range(MAX_ATTEMPTS):
        deliver_sms(engine, sender, now=NOW)
    row = _rows(engine)["k2"]
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert handler.received[0][0] is None  # no token: no Authorization header
    assert deliver_sms(engine, sender, now=NOW) == 0


def test_an_unreachable_gateway_counts_as_an_attempt(engine):
    _queue(engine, "k3")
    assert deliver_sms(engine, HttpSms("http://127.0.0.1:9/none", timeout=2), now=NOW) == 0
    assert _rows(engine)["k3"].attempts == 1
    with pytest.raises(ValueError, match="sms_gateway_url"):
        HttpSms("")


def test_the_worker_delivers_text_messages(db_url, engine, tmp_path):
    from patronage.settings import Settings
    from patronage.work import work_once

    _queue(engine, "w1")
    settings = Settings(database_url=db_url, sms_sink_dir=str(tmp_path / "out"),
                        mail_sink_dir=str(tmp_path / "mail"))
    assert work_once(engine, settings, now=NOW)["sms sent"] == 1
    assert (tmp_path / "out" / "w1.json").exists()


def test_a_failing_job_does_not_stop_the_others(db_url, engine, tmp_path, monkeypatch, caplog):
    """One broken job (here the care rules) is logged with its traceback and counted; the text
    messages still go out in the same round."""
    import patronage.work as work
    from patronage.settings import Settings

    def broken(*_args, **_kwargs):
        raise RuntimeError("a rule that cannot run")

    monkeypatch.setattr(work, "run_care_rules", broken)
    _queue(engine, "w2")
    settings = Settings(database_url=db_url, sms_sink_dir=str(tmp_path / "out"),
                        mail_sink_dir=str(tmp_path / "mail"))
    with caplog.at_level("ERROR", logger="patronage.work"):
        done = work.work_once(engine, settings, now=NOW)
    assert done["failed"] == 1 and done["care tasks made"] == 0 and done["sms sent"] == 1
    assert "care rules" in caplog.text and "a rule that cannot run" in caplog.text
