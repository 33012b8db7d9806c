"""The customer 360 profile: header figures from the value models, risk in words, editing with
history, notes, the owner, logging a contact, and a Chinese page without English that escapes a
hostile note."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select

from visible_english import english_words

from patronage.care.contacts import list_contacts
from patronage.care.profile import add_note, update_customer
from patronage.loyalty import fit_value_models
from patronage.messages import UserError
from patronage.reporting.customer360 import customer_values, risk_of
from patronage.settings import Settings
from patronage.storage import insert_rows, read_transactions, write_transaction
from patronage.storage.schema import customers, transactions
from patronage.storage.schema_care import customer_changes
from patronage.web import create_app

pytestmark = pytest.mark.db
DATA_WORDS = {"East", "China", "Northwind", "Traders", "Relationship", "alive"}


def _more_buyers(engine) -> None:
    """22 more customers with regular purchases: with the panel's 3, enough for the models."""
    now = datetime(2026, 6, 1)
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [{"external_id": f"B{k:03d}", "name": f"买家{k}",
                                       "created_at": now, "updated_at": now} for k in range(22)])
        ids = dict(conn.execute(select(customers.c.external_id, customers.c.id)).all())
        insert_rows(conn, transactions, [
            {"external_id": f"B{k}-{n}", "customer_id": ids[f"B{k:03d}"],
             "occurred_at": datetime(2025, 1, 1) + timedelta(days=3 * k + (10 + k) * n),
             "amount": 80.0 + 5 * k, "is_refund": False}
            for k in range(22) for n in range(1 + k % 5)])


@pytest.fixture
def client(panel, db_url):
    engine, info = panel
    _more_buyers(engine)
    app = create_app(Settings(database_url=db_url, page_wait_seconds=60, warm_pages_seconds=0))
    with TestClient(app) as test_client:
        test_client.engine, test_client.info = engine, info
        _login(test_client, "agent")
        test_client.cookies.set("patronage_lang", "zh_Hans")
        yield test_client


def _login(client, role):
    email, password = client.info["logins"][role]
    token = _page(client.get("/login")).find("input", {"name": "csrf_token"})["value"]
    client.post("/login", data={"email": email, "password": password, "csrf_token": token,
                                "next": "/"})


def _page(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def _post(client, path, data):
    token = _page(client.get("/customers/1")).find("input", {"name": "csrf_token"})["value"]
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def test_the_header_shows_value_and_risk_from_the_models(client):
    engine = client.engine
    values = customer_values(engine)
    models = fit_value_models(engine)
    assert values.loc["C001", "p_alive"] == pytest.approx(models.customers.loc["C001", "p_alive"])
    # The BG/NBD summary (Fader, Hardie & Lee 2005): x repeat purchase days, t_x the last one's
    # day since the first, T the observation end's; usual gap t_x / x, silence T - t_x.
    sales = read_transactions(engine)
    days = sales.loc[sales["customer_id"] == "C001", "occurred_at"].dt.normalize().unique()
    end = sales["occurred_at"].max().normalize()
    first, last = min(days), max(days)
    assert values.loc["C001", "days_since_purchase"] == (end - last).days
    assert values.loc["C001", "usual_gap_days"] == pytest.approx((last - first).days
                                                                 / (len(days) - 1))
    page = _page(client.get("/customers/1"))
    row = values.loc["C001"]
    assert page.select_one("#p-alive strong").text == f"{100 * row['p_alive']:.0f}%"
    assert page.select_one("#value-tier strong").text in {"白金", "金牌", "银牌", "铜牌"}
    assert page.select_one("#rfm-segment strong").text not in ("", "–", row["segment"])
    assert "BG/NBD" in page.select_one("#value-state").text
    assert page.select_one("#latest-nps .meta").text == "n = 20"
    assert page.select_one("#schedule-follow-up")["href"] == "/care/tasks/new?customer=C001"
    assert page.select_one("#mark-lost")["href"] == "/care/lost/new?customer=C001"
    assert page.select_one("#open-case")["href"] == "/cases/new?customer=C001"
    # Customer 2 has an open complaint and an NPS of 3 last: two reasons, high risk.
    risky = _page(client.get("/customers/2"))
    reasons = [r.text for r in risky.select("#risk .reason")]
    assert "1 个未结投诉" in reasons, reasons
    assert risky.select_one("#risk-level").text == "高风险"


def test_risk_reasons_in_words():
    quiet = risk_of({"p_alive": 0.32, "days_since_purchase": 240.0, "usual_gap_days": 45.0},
                    [{"score": 3}], [{"type": "complaint"}, {"type": "complaint"}], {})
    assert [str(r) for r in quiet["reasons"]] == [
        "P(alive) 32%: no purchase for 240 days, usually every 45",
        "last NPS 3 (detractor)", "2 open complaints"]
    assert quiet["level"] == "high"
    assert risk_of({"p_alive": 0.9}, [{"score": 10}], [], {})["level"] == "low"
    assert risk_of(None, [{"score": 6}], [], {})["level"] == "medium"
    assert risk_of(None, [{"score": 9}], [], {})["level"] == "unknown"  # no value model yet


def test_editing_keeps_the_history_and_names_a_bad_field(client):
    engine = client.engine
    changed = update_customer(engine, 1, {"phone": "+86 139 1111 2222", "tier": "gold",
                                          "preferences.do_not_call": "yes",
                                          "attributes.合同编号": "HT-1"}, by_user_id=1)
    assert changed == ["phone", "preferences.do_not_call", "attributes.合同编号"]  # tier as was
    assert update_customer(engine, 1, {"phone": "+86 139 1111 2222"}) == []
    with pytest.raises(UserError, match="birthday"):
        update_customer(engine, 1, {"birthday": "2999-01-01", "phone": "1"})
    response = _post(client, "/customers/1/edit", {
        "section": "contact", "phone": "+86 139 1111 2222", "email": "new@example.com",
        "language": "zh_Hant", "timezone": "Asia/Hong_Kong", "preferences.channel": "sms",
        "preferences.best_time": "evening"})  # do_not_call unticked: now "no"
    assert response.status_code == 303 and response.headers["location"].endswith("done=saved")
    with engine.connect() as conn:
        history = conn.execute(select(customer_changes.c.field, customer_changes.c.old_value,
                                      customer_changes.c.new_value, customer_changes.c.user_id)
                               .order_by(customer_changes.c.id)).all()
    fields = [h.field for h in history]
    assert fields[:3] == ["phone", "preferences.do_not_call", "attributes.合同编号"]
    assert ("preferences.do_not_call", "yes", None, 3) in history[3:]
    assert ("email", None, "new@example.com", 3) in history
    page = _page(client.get(response.headers["location"]))
    assert "客户资料已保存" in page.select_one("#notice").text
    assert page.select_one("#do-not-call").text == "否"
    changes = [li.text for li in page.select("li.tl-change")]
    assert any("首选渠道" in text and "短信" in text for text in changes), changes
    bad = _post(client, "/customers/1/edit", {"section": "contact", "email": "not-mail"})
    assert bad.status_code == 400
    assert "电子邮件" in _page(bad).select_one("#user-error").text
    assert _post(client, "/customers/1/edit", {"section": "nope"}).status_code == 422


def test_notes_contacts_and_the_owner_on_a_chinese_page(client):
    engine = client.engine
    hostile = "<script>alert('note')</script> 周五下午再联系"
    assert _post(client, "/customers/1/note", {"body": hostile}).status_code == 303
    assert _post(client, "/customers/1/note", {"body": "  "}).status_code == 400
    logged = _post(client, "/customers/1/contact", {
        "channel": "phone", "kind": "call", "direction": "in", "outcome": "",
        "body": "客户来电咨询", "at": "2026-05-30T10:15"})
    assert logged.status_code == 303
    admin_id = 1
    assert _post(client, "/customers/1/owner", {"owner": str(admin_id)}).status_code == 303
    response = client.get("/customers/1")
    assert "<script>alert('note')</script>" not in response.text
    page = _page(response)
    assert hostile in page.select_one("li.tl-contact .body").text
    assert page.select_one("#owner").text == "admin@example.com"
    call = [li for li in page.select("li.tl-contact") if "客户来电咨询" in li.text][0]
    assert "2026-05-30 10:15" in call.text  # typed and shown in Shanghai time ...
    assert datetime(2026, 5, 30, 2, 15) in list_contacts(engine, 1)["at"].tolist()  # ... UTC
    assert not english_words(response.text, allowed=DATA_WORDS)
    only_contacts = _page(client.get("/customers/1?kind=contact&since=2026-05-30"))
    assert {li["data-kind"] for li in only_contacts.select("#timeline li")} == {"contact"}
    with pytest.raises(UserError):
        add_note(engine, 1, "")
    assert client.get("/customers/999").status_code == 404
