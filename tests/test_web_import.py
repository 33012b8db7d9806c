"""The import page: customers, transactions and survey responses uploaded as CSV or Excel,
checked first or imported at once, all or nothing, every problem named by line, column, value
and what to do in the reader's language; a template per kind whose headers the importer reads."""

from __future__ import annotations

import io

import openpyxl
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from patronage.accounts import create_user
from patronage.messages import UserError
from patronage.settings import Settings
from patronage.storage import make_engine, upgrade
from patronage.storage.importing.mapping import ALIASES, fold_header, map_columns
from patronage.storage.importing.upload import FIELD_LABELS, KINDS, import_upload
from patronage.storage.schema import customers, transactions
from patronage.web import create_app
from visible_english import english_words

pytestmark = pytest.mark.db


@pytest.fixture
def client(panel, db_url):
    engine, info = panel
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as test_client:
        test_client.engine, test_client.info = engine, info
        yield test_client


def _login(client, role: str, language: str = "zh_Hans") -> str:
    email, password = client.info["logins"][role]
    client.cookies.set("patronage_lang", language)
    token = BeautifulSoup(client.get("/login").text, "html.parser").find(
        "input", {"name": "csrf_token"})["value"]
    assert client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token, "next": "/"},
                       follow_redirects=False).status_code == 303
    page = BeautifulSoup(client.get("/my").text, "html.parser")
    return page.select_one('input[name="csrf_token"]')["value"]


def _upload(client, token: str, kind: str, name: str, content: bytes, action: str = "check",
            **fields):
    return client.post("/import", data={"csrf_token": token, "kind": kind, "action": action,
                                        **fields},
                       files={"file": (name, content, "application/octet-stream")})


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_every_column_label_in_every_language_is_a_header_the_importer_reads(client):
    """The page names the columns, and the templates head them, by these labels: a template
    filled in is read without any mapping."""
    for language in ("en", "zh_Hans", "zh_Hant"):
        gettext = client.app.state.translations[language].gettext
        for kind in KINDS:
            for field, label in FIELD_LABELS[kind].items():
                known = {fold_header(alias) for alias in ALIASES[kind][field]}
                assert fold_header(gettext(label)) in known, (language, kind, label)
            headers = [gettext(label) for label in FIELD_LABELS[kind].values()]
            mapped = map_columns(kind, headers)
            assert not mapped.problems and not mapped.extra, (language, kind, mapped)


def test_the_page_reads_in_chinese_and_offers_a_template_per_kind(client):
    _login(client, "analyst")
    page = BeautifulSoup(client.get("/import?kind=transactions").text, "html.parser")
    assert not english_words(str(page)), english_words(str(page))
    assert page.select_one("#import-kind option[selected]")["value"] == "transactions"
    assert page.select_one("#columns-transactions").has_attr("open")
    required = [li.text for li in page.select("#columns-transactions li")
                if li.select_one(".required")]
    assert required == ["订单号 必填", "客户编号 必填", "交易日期 必填", "金额 必填"]
    template = client.get("/import/template/customers")
    assert template.status_code == 200
    assert "attachment" in template.headers["content-disposition"]
    assert template.content.decode("utf-8-sig").splitlines()[0].startswith("客户编号,名称,")
    assert client.get("/import/template/planets").status_code == 404


def test_a_file_with_problems_writes_nothing_and_names_each_problem_in_chinese(client):
    token = _login(client, "admin")
    before = _count(client.engine, transactions)
    rows = ("订单号,客户编号,交易日期,金额\n"
            "N1,C001,2026-01-05,120.50\n"
            "N2,C999,2026-01-06,80\n"
            "N3,C002,2026-13-45,80\n"
            "N4,C003,2026-01-07,<script>alert(1)</script>\n")
    response = _upload(client, token, "transactions", "订单.csv", rows.encode("utf-8"),
                       action="import")
    assert response.status_code == 400
    assert "<script>alert(1)" not in response.text  # the cell is data, shown escaped
    page = BeautifulSoup(response.text, "html.parser")
    result = page.select_one("#import-result")
    assert result.select_one("h2").text == "订单.csv"
    assert "未写入任何数据" in result.text and "3 个问题" in result.text
    problems = [[td.text for td in tr.select("td")]
                for tr in result.select("#import-problems tbody tr")]
    assert [p[0] for p in problems] == ["3", "4", "5"]
    assert problems[0][2] == "C999" and problems[2][2] == "<script>alert(1)</script>"
    cell_values = {p[2] for p in problems} | {p[1] for p in problems}
    for line in problems:
        assert not english_words(line[3], cell_values), line
    assert not english_words(str(result), cell_values), english_words(str(result), cell_values)
    assert _count(client.engine, transactions) == before


def test_a_missing_column_is_named_in_the_reader_s_language(client):
    token = _login(client, "analyst")
    response = _upload(client, token, "customers", "客户.csv", "客户编号,地区\nC7,华东\n".encode())
    assert response.status_code == 400
    rows = BeautifulSoup(response.text, "html.parser").select("#import-problems tbody tr")
    assert [[td.text for td in tr.select("td")][:2] for tr in rows] == [["1", "名称"]]


def test_checking_writes_nothing_then_importing_adds_the_rows_once(client):
    token = _login(client, "analyst")
    before = _count(client.engine, customers)
    gettext = client.app.state.translations["zh_Hans"].gettext
    header = ",".join(gettext(label) for label in FIELD_LABELS["customers"].values())
    content = ("\ufeff" + header + "\n" + "C100,刘洋,13800000001,,1990-05-04,华东,,,,,是,否,是\n"
               + "C101,陈静,,chen@example.com,,华南,,,,,,,\n").encode("utf-8")
    checked = _upload(client, token, "customers", "客户.csv", content)
    assert checked.status_code == 200
    verdict = BeautifulSoup(checked.text, "html.parser").select_one("#import-result .verdict")
    assert "文件有效" in verdict.text and "2" in verdict.text
    assert _count(client.engine, customers) == before
    imported = _upload(client, token, "customers", "客户.csv", content, action="import")
    text = BeautifulSoup(imported.text, "html.parser").select_one("#import-result").text
    assert "新增 2" in text and imported.status_code == 200
    assert _count(client.engine, customers) == before + 2
    again = _upload(client, token, "customers", "客户.csv", content, action="import")
    assert "新增 0" in BeautifulSoup(again.text, "html.parser").select_one(
        "#import-result").text
    assert _count(client.engine, customers) == before + 2


def test_an_excel_workbook_in_traditional_chinese(client):
    token = _login(client, "admin", "zh_Hant")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "客戶"
    sheet.append(["客戶編號", "客戶名稱", "地區"])
    sheet.append(["C200", "林喬", "華北"])
    buffer = io.BytesIO()
    book.save(buffer)
    response = _upload(client, token, "customers", "名單.xlsx", buffer.getvalue(),
                       action="import", sheet="客戶")
    result = BeautifulSoup(response.text, "html.parser").select_one("#import-result")
    assert response.status_code == 200, result.text
    assert "工作表 客戶" in result.text and "新增 1" in result.text
    missing = _upload(client, token, "customers", "名單.xlsx", buffer.getvalue(),
                      sheet="Sheet9")
    assert missing.status_code == 400
    error = BeautifulSoup(missing.text, "html.parser").select_one("#import-error").text
    assert "Sheet9" in error and not english_words(error, {"Sheet9"})


def test_uploads_that_cannot_be_imported_are_refused_with_a_reason(client):
    token = _login(client, "analyst")
    for name, content, expected in (("报告.pdf", b"%PDF-1.4", "报告.pdf"),
                                    ("空.csv", b"", "空.csv"), ("", b"", "")):
        response = _upload(client, token, "customers", name, content)
        assert response.status_code == 400, name
        error = BeautifulSoup(response.text, "html.parser").select_one("#import-error").text
        assert expected in error and not english_words(error), error
    with pytest.raises(UserError, match="larger than 1 MB"):
        import_upload(client.engine, "customers", "big.csv",
                      io.BytesIO(b"external_id,name\n" + b"C1,x\n" * 300_000),
                      max_bytes=1024 * 1024)


def test_agents_may_not_import_and_an_upload_needs_the_form_token(client):
    _login(client, "agent")
    assert client.get("/import").status_code == 403
    assert client.get("/import/template/customers").status_code == 403
    token = _login(client, "admin")
    refused = _upload(client, token + "x", "customers", "a.csv", b"external_id,name\nC9,x\n",
                      action="import")
    assert refused.status_code == 403
    assert _count(client.engine, customers) == 3


def test_the_customers_page_leads_analysts_to_the_import(client):
    _login(client, "analyst")
    page = BeautifulSoup(client.get("/customers").text, "html.parser")
    assert page.select_one("#import-data")["href"] == "/import?kind=customers"
    _login(client, "agent")
    assert BeautifulSoup(client.get("/customers").text, "html.parser").select_one(
        "#import-data") is None


def test_a_new_company_s_overview_says_where_to_start(empty_db_url):
    engine = make_engine(empty_db_url)
    upgrade(engine)
    create_user(engine, "lead@example.com", "Amber-Harbor-5120", "admin")
    with TestClient(create_app(Settings(database_url=empty_db_url))) as fresh:
        fresh.cookies.set("patronage_lang", "zh_Hans")
        token = BeautifulSoup(fresh.get("/login").text, "html.parser").find(
            "input", {"name": "csrf_token"})["value"]
        fresh.post("/login", data={"email": "lead@example.com", "password": "Amber-Harbor-5120",
                                   "csrf_token": token, "next": "/"})
        overview = BeautifulSoup(fresh.get("/").text, "html.parser")
        link = overview.select_one("#import-responses")
        assert link["href"] == "/import?kind=responses" and link.text == "导入问卷回答 →"
        assert not english_words(str(overview)), english_words(str(overview))
    engine.dispose()
