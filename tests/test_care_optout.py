"""Opting out: the signed link and its page in the customer's language, replies TD / 退订 /
STOP (file and gateway API), and what an opt-out stops."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from patronage.api_keys import create_key
from patronage.care.optout import optout_token, record_replies, verify_token
from patronage.care.outreach import send_message
from patronage.cli import main
from patronage.settings import Settings
from patronage.storage import write_transaction
from patronage.storage.schema import customers, outbox
from patronage.storage.schema_care import contacts, customer_changes, sms_outbox
from patronage.web import create_app
from test_care_calendar import NOW, add_customers

pytestmark = pytest.mark.db


@pytest.fixture
def client(engine, db_url):
    add_customers(engine, {"name": "王伟", "email": "wang@example.com", "phone": "13800000001"},
                  {"name": "陳大文", "language": "zh_Hant", "phone": "+852 9123 4567"})
    settings = Settings(database_url=db_url, public_base_url="https://care.example.com")
    with TestClient(create_app(settings)) as test_client:
        test_client.engine, test_client.settings = engine, settings
        yield test_client


def _customer(engine, cid):
    with engine.connect() as conn:
        return conn.execute(select(customers.c.consent_care, customers.c.preferences)
                            .where(customers.c.id == cid)).one()


def test_tokens_are_signed_with_the_secret_key():
    settings = Settings(secret_key="k" * 40)
    token = optout_token(101, settings)
    assert verify_token(token, settings) == 101
    assert verify_token(token, Settings(secret_key="x" * 40)) is None
    assert verify_token("102." + token.split(".")[1], settings) is None
    assert verify_token("nonsense", settings) is None


def test_the_mail_link_opens_a_chinese_page_that_opts_out_on_confirmation(client):
    engine = client.engine
    with write_transaction(engine) as conn:
        send_message(conn, customer=101, channel="email", body="新春快乐", subject="春节",
                     key="m1", settings=client.settings, now=NOW)
        send_message(conn, customer=101, channel="sms", body="元宵快乐", key="m2",
                     settings=client.settings, now=NOW)
    with engine.connect() as conn:
        text = conn.execute(select(outbox.c.body_text)).scalar_one()
    link = re.search(r"https://care\.example\.com(/u/\S+)", text).group(1)
    page = client.get(link)  # a GET (a mail scanner) changes nothing
    assert page.status_code == 200 and "退订关怀消息" in page.text
    assert _customer(engine, 101).consent_care is True
    token = BeautifulSoup(page.text, "html.parser").find("input", {"name": "csrf_token"})["value"]
    done = client.post(link, data={"csrf_token": token})
    assert done.status_code == 200 and "您已退订" in done.text
    customer = _customer(engine, 101)
    assert customer.consent_care is False and customer.preferences["opted_out_via"] == "link"
    with engine.connect() as conn:
        assert conn.execute(select(sms_outbox.c.status, sms_outbox.c.last_error)).one() == \
            ("failed", "opted out")
        assert conn.execute(select(outbox.c.status)).scalar_one() == "failed"
        kinds = conn.execute(select(contacts.c.kind, contacts.c.direction)
                             .order_by(contacts.c.id)).all()
    assert kinds[-1] == ("opt_out", "in")
    with engine.connect() as conn:  # the history reads like a consent edited on the profile
        assert conn.execute(select(customer_changes.c.field, customer_changes.c.old_value,
                                   customer_changes.c.new_value)).one() == \
            ("consent_care", "yes", "no")
    with write_transaction(engine) as conn:  # nothing more is sent
        assert send_message(conn, customer=101, channel="sms", body="x", key="m3",
                            settings=client.settings) is None
    assert "您已退订" in client.get(link).text


def test_a_bad_link_gets_the_respondent_error_page(client):
    page = client.get("/u/101.0000", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 404 and "此链接无效" in page.text
    assert 'id="menu-cases"' not in page.text and "退订关怀消息" not in page.text
    traditional = client.get(f"/u/{optout_token(102, client.settings)}")
    assert "退訂關懷訊息" in traditional.text  # the customer's own language


def test_replies_td_and_stop_opt_out_and_others_are_logged(client, tmp_path, db_url):
    engine = client.engine
    counts = record_replies(engine, [{"from": "+86 138 0000 0001", "body": " 退订 "},
                                     {"from": "85291234567", "body": "Thanks, got it"},
                                     {"from": "10086", "body": "TD"}])
    assert counts == {"opted out": 1, "replies": 1, "unknown numbers": 1}
    assert _customer(engine, 101).consent_care is False
    assert _customer(engine, 102).consent_care is True
    replies = tmp_path / "replies.csv"
    replies.write_text("from,body,at\n+85291234567,STOP,2027-02-07 09:30\n"
                       "+85291234567,Thanks,2027-02-07 09:00\n", encoding="utf-8")
    for _ in range(2):  # reading the file twice logs the reply once
        out = CliRunner().invoke(main, ["care", "sms-replies", str(replies), "--db", db_url])
        assert out.exit_code == 0, out.output
    assert _customer(engine, 102).consent_care is False
    with engine.connect() as conn:
        assert conn.execute(select(contacts.c.kind).where(contacts.c.customer_id == 102)
                            .order_by(contacts.c.id)).scalars().all() == \
            ["reply", "opt_out", "reply"]
    bad = tmp_path / "bad.csv"
    bad.write_text("sender,text\n1,2\n", encoding="utf-8")
    out = CliRunner().invoke(main, ["care", "sms-replies", str(bad), "--db", db_url])
    assert out.exit_code != 0 and "needs the columns from and body" in out.output


def test_the_gateway_posts_replies_with_an_api_key_of_its_scope(client):
    key = create_key(client.engine, "sms gateway", ["sms:inbound"])
    other = create_key(client.engine, "warehouse", ["cases:read"])
    reply = {"from": "13800000001", "body": "TD"}
    assert client.post("/api/sms/inbound", json=reply).status_code == 401
    assert client.post("/api/sms/inbound", json=reply,
                       headers={"Authorization": f"Bearer {other}"}).status_code == 403
    bad = client.post("/api/sms/inbound", json={"from": 5},
                      headers={"Authorization": f"Bearer {key}"})
    assert bad.status_code == 422
    done = client.post("/api/sms/inbound", json=reply,
                       headers={"Authorization": f"Bearer {key}"})
    assert done.status_code == 200 and done.json()["opted_out"] == 1
    assert _customer(client.engine, 101).consent_care is False
