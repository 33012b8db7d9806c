"""The export buttons: the whole report and a page's tables as downloads, in the reader's
language, for analysts only."""

from __future__ import annotations

import io

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from patronage.settings import Settings
from patronage.web import create_app
from test_web import csrf_of


@pytest.fixture
def web(panel, db_url):
    app = create_app(Settings(database_url=db_url, page_wait_seconds=120, warm_pages_seconds=0))
    with TestClient(app) as client:
        yield client, panel[1]["logins"]


def _login(client, logins, role, language="zh_Hans"):
    client.cookies.set("patronage_lang", language)
    email, password = logins[role]
    page = client.get("/login")
    response = client.post("/login", data={"email": email, "password": password, "next": "/",
                                           "csrf_token": csrf_of(page.text)},
                           follow_redirects=False)
    assert response.status_code == 303


def test_overview_and_analysis_offer_the_export_in_chinese(web):
    client, logins = web
    _login(client, logins, "analyst")
    for address, page in (("/", "overview"), ("/analysis", "analysis"), ("/loyalty", "loyalty")):
        soup = BeautifulSoup(client.get(address).text, "html.parser")
        form = soup.select_one("#report-export")
        assert form is not None and "导出报告" in form.text, address
        assert [o["value"] for o in form.select("option")] == ["pdf", "xlsx", "html"]
        assert soup.select_one("#export-tables")["href"].startswith(f"/reports/tables?page={page}")


def test_report_downloads_in_each_format(web):
    client, logins = web
    _login(client, logins, "analyst", "zh_Hant")
    pdf = client.get("/reports/download", params={"format": "pdf", "survey": "relationship"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "attachment" in pdf.headers["content-disposition"]
    page = client.get("/reports/download", params={"format": "html"}).text
    assert "管理摘要" in page and "滿意度" in page and "<script>alert" not in page
    book = load_workbook(io.BytesIO(client.get("/reports/download",
                                               params={"format": "xlsx"}).content))
    assert book.sheetnames[0] == "管理摘要"
    wrong = client.get("/reports/download", params={"format": "html", "wave": "2030-Q1"})
    assert wrong.status_code == 400 and "2026-Q1, 2026-Q2" in wrong.text


def test_page_tables_as_excel(web):
    client, logins = web
    _login(client, logins, "analyst")
    answer = client.get("/reports/tables", params={"page": "overview"})
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames[:2] == ["各期 NPS 与 CSI", "维度得分"]
    sheet = book["各期 NPS 与 CSI"]
    header = [c.value for c in next(r for r in sheet.iter_rows() if r[0].value == "批次")]
    assert header[:2] == ["批次", "样本量"] and "贬损者" in header
    row = next(r for r in sheet.iter_rows() if r[0].value == "2026-Q2")
    share = row[header.index("贬损者")]
    assert 0 < share.value < 1 and share.number_format == "0%"
    comments = [c.value for r in book["最新评论"].iter_rows() for c in r]
    assert any(isinstance(v, str) and v.startswith("<script>") for v in comments)
    loyalty = load_workbook(io.BytesIO(client.get("/reports/tables",
                                                  params={"page": "loyalty"}).content))
    assert loyalty.sheetnames  # each section with the reason it has no table


def test_agents_get_no_export(web):
    client, logins = web
    _login(client, logins, "agent")
    assert client.get("/reports/download", follow_redirects=False).status_code in (303, 403)
    assert client.get("/reports/tables", follow_redirects=False).status_code in (303, 403)
