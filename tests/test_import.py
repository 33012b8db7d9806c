"""The importer (`patronage.storage.importing`), on the database chosen by conftest.

Files are built in tmp_path with the standard library (codecs for encodings, csv for quoting) and
openpyxl (XLSX); what the importer reads is checked against what those established writers put
in the file, and Excel serial dates against openpyxl's own converter
(``openpyxl.utils.datetime.from_excel``; Microsoft documents serial 1 = 1900-01-01 in the 1900
date system, "DATEVALUE function", support.microsoft.com).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl.utils.datetime import from_excel
from sqlalchemy import func, select

from patronage.cli import main
from patronage.storage import (
    read_answers,
    read_customers,
    read_responses,
    read_transactions,
    read_waves,
)
from patronage.storage.importing import ImportIssue, ImportReport, import_file, loader
from patronage.storage.importing.reading import sniff_delimiter
from patronage.storage.schema import customers, surveys, transactions

pytestmark = pytest.mark.db

CUSTOMERS = [["C1", "张三", "13800138000", "北京"], ["C2", "李四", "+86 138-0013-8001", "上海"]]


def write_csv(path, rows, *, encoding="utf-8", delimiter=","):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def messages(report: ImportReport) -> str:
    return "\n".join(issue.to_text() for issue in report.errors)


@pytest.fixture
def panel(engine, tmp_path):
    """Two customers, C1 and C2, already imported."""
    path = write_csv(tmp_path / "panel.csv", [["customer_id", "name"], ["C1", "A"], ["C2", "B"]])
    assert import_file(engine, "customers", path).inserted == 2
    return engine


# --- encodings and delimiters -------------------------------------------------------------------

def test_gb18030_file_with_chinese_headers(engine, tmp_path):
    path = write_csv(tmp_path / "客户.csv", [["客户编号", "姓名", "手机", "地区"], *CUSTOMERS],
                     encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really not UTF-8
    report = import_file(engine, "customers", path)
    assert report.ok, messages(report)
    assert (report.encoding, report.delimiter, report.rows, report.inserted) == (
        "gb18030", ",", 2, 2)
    assert report.to_text().startswith(
        "Read 2 rows from 客户.csv (encoding gb18030, delimiter ',').")
    stored = read_customers(engine).set_index("customer_id")
    assert stored.loc["C1", "name"] == "张三" and stored.loc["C2", "region"] == "上海"
    assert stored.loc["C2", "phone"] == "+86 138-0013-8001"


@pytest.mark.parametrize(("encoding", "expected"), [
    ("utf-8-sig", "utf-8-sig"),  # Excel's "CSV UTF-8": a BOM before the first header
    ("utf-16", "utf-16-le"),     # Python writes a little-endian BOM
    ("utf-16-be", None),         # no BOM: needs the encoding given
])
def test_bom_encodings(engine, tmp_path, encoding, expected):
    path = tmp_path / "c.csv"
    data = "customer_id,name\nC1,王五\n"
    if encoding == "utf-16-be":
        path.write_bytes(b"\xfe\xff" + data.encode("utf-16-be"))
        expected = "utf-16-be"
    else:
        path.write_bytes(data.encode(encoding))
    report = import_file(engine, "customers", path)
    assert report.ok, messages(report)
    assert report.encoding == expected
    assert read_customers(engine)["name"].tolist() == ["王五"]


def test_given_encoding_wins_and_bad_encoding_is_a_clear_error(engine, tmp_path):
    path = write_csv(tmp_path / "c.csv", [["customer_id", "name"], ["C1", "張"]], encoding="big5")
    report = import_file(engine, "customers", path, encoding="big5")
    assert report.ok and report.encoding == "big5"
    assert read_customers(engine)["name"].tolist() == ["張"]
    with pytest.raises(ValueError, match="unknown encoding"):
        import_file(engine, "customers", path, encoding="klingon")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(engine, tmp_path, delimiter):
    rows = [["customer_id", "name", "region"], ["C1", "Smith, John; Jr | x", "North"],
            ["C2", "Lee", "South"]]
    path = write_csv(tmp_path / "c.txt", rows, delimiter=delimiter)
    report = import_file(engine, "customers", path)
    assert report.ok, messages(report)
    assert report.delimiter == delimiter
    stored = read_customers(engine).set_index("customer_id")
    # What the csv module wrote is what comes back, separators inside quotes included.
    assert stored.loc["C1", "name"] == rows[1][1] and stored.loc["C2", "region"] == "South"


def test_sniffer_prefers_consistent_field_counts():
    assert sniff_delimiter('a;b;c\n"1,5";2;3\n4;5;6\n') == ";"
    assert sniff_delimiter("a|b\n1|2\n") == "|"
    assert sniff_delimiter("only\n1\n") == ","


def test_whitespace_blank_lines_and_fullwidth_digits(engine, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("customer_id , name,phone\n  C1 ,  Ann  ,１３８００１３８０００\n\n"
                    "C2,Bob,\u3000\nC3,=1+1,\n", encoding="utf-8")
    report = import_file(engine, "customers", path)
    assert report.ok, messages(report)
    stored = read_customers(engine).set_index("customer_id")
    assert stored.loc["C1", "name"] == "Ann" and stored.loc["C1", "phone"] == "13800138000"
    assert pd.isna(stored.loc["C2", "phone"])  # whitespace only = missing
    assert stored.loc["C3", "name"] == "=1+1"  # CSV text starting with '=' stays text


# --- XLSX ---------------------------------------------------------------------------------------

def test_xlsx_refuses_formulas_and_reads_date_cells(engine, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "客户"
    sheet.append(["客户编号", "姓名", "生日", "备注"])
    sheet.append(["C1", "Ann", datetime(1990, 5, 17), "ok"])
    sheet.append(["C2", "=1+1", datetime(1985, 1, 2), '=HYPERLINK("http://x","y")'])
    path = tmp_path / "c.xlsx"
    book.save(path)
    report = import_file(engine, "customers", path)
    assert not report.ok and count(engine, customers) == 0
    assert [(i.line, i.message) for i in report.errors] == [
        (3, report.errors[0].message), (3, report.errors[1].message)]
    assert all("formula cells are not imported; paste values" in i.message for i in report.errors)
    assert report.encoding is None and "sheet '客户'" in report.to_text()

    sheet.delete_rows(3)
    book.save(path)
    report = import_file(engine, "customers", path, sheet="客户")
    assert report.ok, messages(report)
    assert read_customers(engine)["birthday"].tolist() == [date(1990, 5, 17)]
    with pytest.raises(ValueError, match="no sheet named 'Sheet9'"):
        import_file(engine, "customers", path, sheet="Sheet9")


def test_xlsx_numeric_date_cell_is_an_excel_serial(panel, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["order_no", "customer_id", "date", "amount"])
    book.active.append(["T1", "C1", 45352, 10.5])
    book.active.append(["T2", "C2", datetime(2024, 3, 5, 14, 30), 3])
    path = tmp_path / "t.xlsx"
    book.save(path)
    report = import_file(panel, "transactions", path)
    assert report.ok, messages(report)
    assert any("Excel serial" in note for note in report.notes)
    stored = read_transactions(panel).set_index("transaction_id")
    assert stored.loc["T1", "occurred_at"] == from_excel(45352) == datetime(2024, 3, 1)
    assert stored.loc["T2", "occurred_at"] == datetime(2024, 3, 5, 14, 30)
    assert stored.loc["T1", "amount"] == 10.5


# --- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("phone", ["1.38E+10", "1.38001380000E+10", "1.38e10"])
def test_phone_in_scientific_notation(engine, tmp_path, phone):
    path = write_csv(tmp_path / "c.csv", [["客户编号", "姓名", "手机"], ["C1", "A", "138"],
                                          ["C2", "B", phone]], encoding="gb18030")
    report = import_file(engine, "customers", path)
    assert count(engine, customers) == 0
    assert report.errors == [ImportIssue(3, "手机 (phone)", phone, report.errors[0].message)]
    assert f"line 3, column 手机 (phone): '{phone}' — Excel turned this phone number into a " \
           "number in scientific notation; format the column as Text in Excel and export " \
           "again." in report.to_text()
    assert "Nothing was written: 1 problem." in report.to_text()


def test_phone_must_look_like_a_phone(engine, tmp_path):
    path = write_csv(tmp_path / "c.csv", [["id", "name", "tel"], ["C1", "A", "call me"]])
    assert "not a phone number" in messages(import_file(engine, "customers", path))


def test_an_empty_e_mail_cell_is_no_e_mail_and_a_bad_one_is_named(engine, tmp_path):
    """A blank cell is an unanswered field, not a bad address (with pandas' text columns a
    missing cell matched no pattern and was refused)."""
    path = write_csv(tmp_path / "c.csv", [["id", "name", "email"], ["C1", "A", ""],
                                          ["C2", "B", "b@example.com"], ["C3", "C", ""]])
    report = import_file(engine, "customers", path)
    assert report.ok, messages(report)
    with engine.connect() as conn:
        assert dict(conn.execute(select(customers.c.external_id, customers.c.email)).all()) == {
            "C1": None, "C2": "b@example.com", "C3": None}
    path = write_csv(tmp_path / "d.csv", [["id", "name", "email"], ["C4", "D", ""],
                                          ["C5", "E", "not-an-address"]])
    assert [(i.line, i.value) for i in import_file(engine, "customers", path).errors] == [
        (3, "not-an-address")]


@pytest.mark.parametrize(("cell", "expected"), [
    ("2024-03-05", datetime(2024, 3, 5)),
    ("2024/3/5", datetime(2024, 3, 5)),
    ("2024年3月5日", datetime(2024, 3, 5)),
    ("2024-03-05 14:30", datetime(2024, 3, 5, 14, 30)),
    ("2024-03-05 14:30:15", datetime(2024, 3, 5, 14, 30, 15)),
    ("２０２４－０３－０５", datetime(2024, 3, 5)),
    ("2024年3月5日 14时30分", datetime(2024, 3, 5, 14, 30)),
    ("2024-03-05T14:30:00", datetime(2024, 3, 5, 14, 30)),
    ("20240305", datetime(2024, 3, 5)),
    ("45352", from_excel(45352)),
])
def test_accepted_dates(panel, tmp_path, cell, expected):
    path = write_csv(tmp_path / "t.csv", [["订单号", "客户编号", "交易日期", "金额"],
                                          ["T1", "C1", cell, "1"]])
    report = import_file(panel, "transactions", path)
    assert report.ok, messages(report)
    assert read_transactions(panel)["occurred_at"].tolist() == [expected]
    assert bool(report.notes) == (cell == "45352")


@pytest.mark.parametrize(("order", "expected"), [("dmy", datetime(2024, 3, 5)),
                                                 ("mdy", datetime(2024, 5, 3))])
def test_day_month_order(panel, tmp_path, order, expected):
    path = write_csv(tmp_path / "t.csv", [["order_no", "customer_id", "date", "amount"],
                                          ["T1", "C1", "05/03/2024", "1"]])
    report = import_file(panel, "transactions", path)
    assert [i.message for i in report.errors] == [
        "ambiguous date; pass --date-order dmy or mdy"]
    assert count(panel, transactions) == 0
    report = import_file(panel, "transactions", path, date_order=order)
    assert report.ok and read_transactions(panel)["occurred_at"].tolist() == [expected]


@pytest.mark.parametrize(("other", "expected"), [("25/12/2024", datetime(2024, 3, 5)),
                                                 ("12/25/2024", datetime(2024, 5, 3))])
def test_other_rows_settle_the_date_order(panel, tmp_path, other, expected):
    path = write_csv(tmp_path / "t.csv", [["order_no", "customer_id", "date", "amount"],
                                          ["T1", "C1", "05/03/2024", "1"],
                                          ["T2", "C1", other, "1"]])
    report = import_file(panel, "transactions", path)
    assert report.ok, messages(report)
    assert read_transactions(panel).set_index("transaction_id").loc["T1", "occurred_at"] == expected


@pytest.mark.parametrize(("cell", "message"), [
    ("2024-02-30", "not a real date"), ("2023/2/29", "not a real date"),
    ("yesterday", "not a date"), ("2024-13-01", "not a real date")])
def test_bad_dates(panel, tmp_path, cell, message):
    path = write_csv(tmp_path / "t.csv", [["order_no", "customer_id", "date", "amount"],
                                          ["T1", "C1", cell, "1"]])
    report = import_file(panel, "transactions", path)
    assert report.errors[0].line == 2 and report.errors[0].value == cell
    assert report.errors[0].message.startswith(message)


@pytest.mark.parametrize(("cell", "amount", "refund"), [
    ("¥1,234.50", 1234.5, False), ("￥1,234.50", 1234.5, False), ("$1,234.50", 1234.5, False),
    ("RMB 99", 99.0, False), ("CNY1,000", 1000.0, False), ("€3", 3.0, False),
    ("(12.00)", -12.0, True), ("-12.00", -12.0, True), ("１２．５", 12.5, False)])
def test_amounts(panel, tmp_path, cell, amount, refund):
    path = write_csv(tmp_path / "t.csv", [["order_no", "customer_id", "date", "amount", "cost"],
                                          ["T1", "C1", "2024-03-05", cell, "¥5"]])
    report = import_file(panel, "transactions", path)
    assert report.ok, messages(report)
    row = read_transactions(panel).iloc[0]
    assert (row["amount"], bool(row["is_refund"]), row["cost"]) == (amount, refund, 5.0)


@pytest.mark.parametrize("cell", ["12.3.4", "abc", "12,5", "1.234,50", "inf"])
def test_bad_amounts(panel, tmp_path, cell):
    path = write_csv(tmp_path / "t.csv", [["order_no", "customer_id", "date", "amount"],
                                          ["T1", "C1", "2024-03-05", cell]])
    report = import_file(panel, "transactions", path)
    assert [(i.line, i.column, i.value) for i in report.errors] == [(2, "amount", cell)]
    assert report.errors[0].message.startswith("not an amount")


def test_refund_column(panel, tmp_path):
    path = write_csv(tmp_path / "t.csv", [
        ["order_no", "customer_id", "date", "amount", "退款"],
        ["T1", "C1", "2024-03-05", "12", "是"], ["T2", "C1", "2024-03-05", "12", "N"],
        ["T3", "C1", "2024-03-05", "-12", "no"], ["T4", "C1", "2024-03-05", "1", "maybe"]])
    report = import_file(panel, "transactions", path)
    assert [(i.line, i.column) for i in report.errors] == [(4, "amount"), (5, "退款 (is_refund)")]
    path = write_csv(tmp_path / "t.csv", [
        ["order_no", "customer_id", "date", "amount", "退款"],
        ["T1", "C1", "2024-03-05", "12", "是"], ["T2", "C1", "2024-03-05", "12", "N"]])
    assert import_file(panel, "transactions", path).ok
    stored = read_transactions(panel).set_index("transaction_id")
    assert stored.loc["T1", "amount"] == -12 and bool(stored.loc["T1", "is_refund"])
    assert stored.loc["T2", "amount"] == 12 and not stored.loc["T2", "is_refund"]


def test_duplicate_ids_name_both_lines(engine, tmp_path):
    path = write_csv(tmp_path / "c.csv", [["id", "name"], ["C1", "A"], ["C2", "B"], ["C1", "C"]])
    report = import_file(engine, "customers", path)
    assert [(i.line, i.value) for i in report.errors] == [(4, "C1")]
    assert "customer id 'C1' appears twice: lines 2 and 4; keep one of them" in messages(report)


def test_unknown_customer(panel, tmp_path):
    path = write_csv(tmp_path / "t.csv", [["order_no", "customer_id", "date", "amount"],
                                          ["T1", "C1", "2024-03-05", "1"],
                                          ["T2", "C0999", "2024-03-05", "1"]])
    report = import_file(panel, "transactions", path)
    assert messages(report) == ("line 3, column customer_id (customer): 'C0999' — customer "
                                "'C0999' is not in the panel; import customers first, or import "
                                "with --create-customers to create bare customers for the "
                                "unknown ids")
    assert count(panel, transactions) == 0


def test_missing_required_values(panel, tmp_path):
    path = write_csv(tmp_path / "t.csv", [["order_no", "customer_id", "date", "amount"],
                                          ["", "C1", "2024-03-05", "1"],
                                          ["T2", "C1", "", "1"], ["T3", "C1", "2024-03-05", " "]])
    report = import_file(panel, "transactions", path)
    assert [(i.line, i.message) for i in report.errors] == [
        (2, "missing transaction id; every row needs one"),
        (3, "missing date; every row needs one"), (4, "missing amount; every row needs one")]
    path = write_csv(tmp_path / "c.csv", [["id", "name"], ["C3", ""]])
    assert "missing name" in messages(import_file(panel, "customers", path))


def test_missing_required_column_is_a_line_1_problem(engine, tmp_path):
    path = write_csv(tmp_path / "c.csv", [["customer_id", "phone"], ["C1", "138"]])
    report = import_file(engine, "customers", path)
    assert len(report.errors) == 1 and report.errors[0].line == 1
    assert report.errors[0].column == "name"
    assert report.errors[0].message.startswith("required column missing")


def test_too_many_cells_on_a_line(engine, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text('id,name\nC1,"multi\nline"\nC2,Smith, John\nC3,Z\n', encoding="utf-8")
    report = import_file(engine, "customers", path)
    assert [(i.line, i.message[:33]) for i in report.errors] == [
        (4, "this line has 3 cells but the hea")]


def test_invalid_unusable_files(engine, tmp_path):
    with pytest.raises(ValueError, match="file not found"):
        import_file(engine, "customers", tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="unknown kind"):
        import_file(engine, "cases", tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("  \n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        import_file(engine, "customers", tmp_path / "empty.csv")
    (tmp_path / "x.xlsx").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot open"):
        import_file(engine, "customers", tmp_path / "x.xlsx")


def test_max_rows(engine, tmp_path):
    path = write_csv(tmp_path / "c.csv", [["id", "name"]] + [[f"C{i}", "x"] for i in range(5)])
    report = import_file(engine, "customers", path, max_rows=4)
    assert "split the file" in messages(report) and "PATRONAGE_IMPORT_MAX_ROWS" in messages(report)
    assert count(engine, customers) == 0
    assert import_file(engine, "customers", path, max_rows=5).inserted == 5


def test_problem_list_is_capped_when_printed(engine, tmp_path):
    path = write_csv(tmp_path / "c.csv", [["id", "name"]] + [[f"C{i}", ""] for i in range(60)])
    text = import_file(engine, "customers", path).to_text()
    assert "Nothing was written: 60 problems." in text and text.endswith("... and 10 more")
    assert text.count("missing name") == 50


# --- transactions: all or nothing, re-import, dry run, progress -------------------------------

def test_all_or_nothing(panel, tmp_path):
    rows = [["order_no", "customer_id", "date", "amount"]]
    rows += [[f"T{i}", "C1", "2024-03-05", "10"] for i in range(200)]
    rows.append(["T200", "C1", "2024-03-05", "ten"])
    report = import_file(panel, "transactions", write_csv(tmp_path / "t.csv", rows))
    assert not report.ok and report.errors[0].line == 202
    assert (report.inserted, count(panel, transactions)) == (0, 0)


def test_reimport_is_idempotent_and_counts_updates(panel, tmp_path):
    rows = [["order_no", "customer_id", "date", "amount", "product"],
            ["T1", "C1", "2024-03-05 10:00", "10", "pump"], ["T2", "C2", "2024-03-06", "20", ""]]
    path = write_csv(tmp_path / "t.csv", rows)
    first = import_file(panel, "transactions", path)
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    again = import_file(panel, "transactions", path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert "Inserted 0, updated 0, unchanged 2." in again.to_text()
    rows[2][4] = "valve"
    rows.append(["T3", "C1", "2024-03-07", "5", ""])
    changed = import_file(panel, "transactions", write_csv(tmp_path / "t.csv", rows))
    assert (changed.inserted, changed.updated, changed.unchanged) == (1, 1, 1)
    assert read_transactions(panel).set_index("transaction_id").loc["T2", "product"] == "valve"


def test_customer_reimport_keeps_consents_and_merges_attributes(engine, tmp_path):
    path = write_csv(tmp_path / "c.csv", [["id", "name", "consent_marketing", "VIP"],
                                          ["C1", "A", "是", "gold"], ["C2", "B", "", ""]])
    assert import_file(engine, "customers", path).inserted == 2
    path = write_csv(tmp_path / "c.csv", [["id", "name", "consent_marketing"], ["C1", "A", ""],
                                          ["C2", "B", "yes"]])
    report = import_file(engine, "customers", path)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 1)
    stored = read_customers(engine).set_index("customer_id")
    assert stored["consent_marketing"].astype(bool).tolist() == [True, True]
    with engine.connect() as conn:
        attrs = dict(conn.execute(select(customers.c.external_id, customers.c.attributes)).all())
    assert attrs == {"C1": {"VIP": "gold"}, "C2": None}


def test_dry_run_writes_nothing(panel, tmp_path):
    path = write_csv(tmp_path / "t.csv", [["order_no", "customer_id", "date", "amount"],
                                          ["T1", "C1", "2024-03-05", "1"]])
    report = import_file(panel, "transactions", path, dry_run=True)
    assert report.ok and count(panel, transactions) == 0
    assert "dry run: nothing written" in report.to_text() and "1 new" in report.to_text()
    path = write_csv(tmp_path / "t.csv", [["order_no", "customer_id", "date", "amount"],
                                          ["T1", "C7", "2024-03-05", "1"]])
    assert "not in the panel" in messages(import_file(panel, "transactions", path, dry_run=True))


def test_progress_bar_on_stderr(panel, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(loader, "PROGRESS_MIN_ROWS", 1)
    path = write_csv(tmp_path / "t.csv", [["order_no", "customer_id", "date", "amount"],
                                          ["T1", "C1", "2024-03-05", "1"],
                                          ["T2", "C1", "2024-03-05", "1"]])
    assert import_file(panel, "transactions", path, progress=True).inserted == 2
    assert "Writing transactions" in capsys.readouterr().err


# --- responses ----------------------------------------------------------------------------------

def test_responses_create_survey_wave_and_answers(panel, tmp_path):
    rows = [["响应编号", "问卷", "批次", "客户编号", "提交时间", "nps", "q_quality", "comment",
             "why.text"],
            ["R1", "S24", "2024Q1", "C1", "2024-03-05 10:00", "9", "4", "很好", "价格"],
            ["R2", "S24", "2024Q1", "", "2024-03-04", "3", "", "", ""]]
    path = write_csv(tmp_path / "r.csv", rows)
    report = import_file(panel, "responses", path)
    assert report.ok, messages(report)
    assert report.inserted == 2
    with panel.connect() as conn:
        survey = conn.execute(select(surveys)).one()
    assert (survey.code, survey.status, survey.title) == ("S24", "closed", "S24")
    assert survey.definition == {"source": "import",
                                 "items": ["nps", "q_quality", "comment", "why.text"]}
    assert read_waves(panel)[["wave", "starts_on"]].values.tolist() == [
        ["2024Q1", date(2024, 3, 4)]]
    stored = read_responses(panel).set_index("response_id")
    assert stored.loc["R1", "channel"] == "import" and stored.loc["R1", "customer_id"] == "C1"
    got = read_answers(panel)
    assert len(got) == 5  # blanks are no answers, never zeros
    assert set(got.loc[got["item_code"] == "nps", "value_num"]) == {9.0, 3.0}
    assert set(got["value_text"].dropna()) == {"很好", "价格"}

    again = import_file(panel, "responses", path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    rows[2][6] = "5"  # a new answer on R2
    changed = import_file(panel, "responses", write_csv(tmp_path / "r.csv", rows))
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 1)
    assert len(read_answers(panel)) == 6


def test_response_problems(panel, tmp_path):
    rows = [["response_id", "survey", "customer_id", "channel", "weight", "submitted_at", "nps"],
            ["R1", "S", "C9", "web", "1", "2024-03-05", "great"],
            ["R2", "S", "", "fax", "0", "2024-03-05", "7"],
            ["R3", "S", "", "", "", "", "7"]]
    report = import_file(panel, "responses", write_csv(tmp_path / "r.csv", rows))
    got = {(i.line, i.column): i.message for i in report.errors}
    assert got[(2, "nps")].startswith("not a number")
    assert "customer 'C9' is not in the panel" in got[(2, "customer_id (customer)")]
    assert got[(3, "channel")].startswith("unknown channel")
    assert got[(3, "weight")] == "weight must be greater than 0"
    assert got[(4, "submitted_at")] == "missing submission time; every row needs one"
    assert len(got) == 5 and count(panel, surveys) == 0


# --- CLI ----------------------------------------------------------------------------------------

def test_cli_end_to_end(db_url, tmp_path):
    runner = CliRunner()
    bad = write_csv(tmp_path / "bad.csv", [["客户编号", "姓名", "手机"], ["C1", "A", "1.38E+10"]])
    result = runner.invoke(main, ["import", "customers", str(bad), "--db", db_url])
    assert result.exit_code == 1
    assert "Nothing was written: 1 problem." in result.output
    assert "Excel turned this phone number into a number in scientific notation" in result.output
    good = write_csv(tmp_path / "good.csv", [["客户编号", "姓名"], ["C1", "A"]])
    result = runner.invoke(main, ["import", "customers", str(good), "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "Inserted 1, updated 0, unchanged 0." in result.output


# --- bulk loads ---------------------------------------------------------------------------------

def test_bulk_load_rebuilds_indexes_and_foreign_keys(panel, tmp_path, monkeypatch):
    """A bulk load drops and recreates secondary indexes (and PostgreSQL foreign keys); the
    schema afterwards must be what `patronage.storage.schema` declares, and text with tabs,
    newlines and backslashes must survive COPY's escaping."""
    from sqlalchemy import inspect

    from patronage.storage.importing import bulk

    monkeypatch.setattr(bulk, "_REBUILD_MIN_ROWS", 1)
    tricky = 'tab\there, new\nline, back\\slash "quoted"'
    rows = [["order_no", "customer_id", "date", "amount", "product"],
            ["T1", "C1", "2024-03-05", "1", tricky], ["T2", "C2", "2024-03-06", "2", r"C:\x"]]
    assert import_file(panel, "transactions", write_csv(tmp_path / "t.csv", rows)).inserted == 2
    stored = read_transactions(panel).set_index("transaction_id")
    assert stored.loc["T1", "product"] == tricky and stored.loc["T2", "product"] == r"C:\x"
    inspector = inspect(panel)
    assert {i["name"] for i in inspector.get_indexes("transactions")} >= {
        "ix_transactions_customer_time"}
    assert [fk["referred_table"] for fk in inspector.get_foreign_keys("transactions")] == [
        "customers"]
    again = import_file(panel, "transactions", write_csv(tmp_path / "t.csv", rows))
    assert (again.inserted, again.unchanged) == (0, 2)


# --- PostgreSQL binary COPY ---------------------------------------------------------------------

AWKWARD_TEXT = ["tab\there", "new\nline", "back\\slash", r"\N", "\\.", "end\\", "中文 客户 繁體",
                "=1+1", "@SUM(A1)", '"quoted", comma', "emoji 😀", "a\tb\nc\\d"]


def test_awkward_values_round_trip_through_the_bulk_write(panel, tmp_path, monkeypatch):
    """Text with tabs, newlines, backslashes, COPY's own markers (``\\N``, ``\\.``), Chinese,
    emoji and formula-looking cells, blank (NULL) costs, refunds, cents and timestamps read back
    exactly; re-importing the file finds every row unchanged (the temporary-table path compares
    the copied values with the stored ones)."""
    from patronage.storage.importing import bulk

    monkeypatch.setattr(bulk, "_REBUILD_MIN_ROWS", 1)
    header = ["order_no", "customer_id", "date", "amount", "cost", "product", "channel"]
    rows = [[f"T{i}", "C1" if i % 2 else "C2", f"2024-03-{i + 1:02d} 14:{i:02d}:59",
             f"{-12.5 if i == 3 else 1234.56 + i}", "" if i % 3 == 0 else "0.01", text, "线上"]
            for i, text in enumerate(AWKWARD_TEXT)]
    path = write_csv(tmp_path / "t.csv", [header, *rows])
    report = import_file(panel, "transactions", path)
    assert report.ok and report.inserted == len(rows), messages(report)
    stored = read_transactions(panel).set_index("transaction_id")
    for i, text in enumerate(AWKWARD_TEXT):
        row = stored.loc[f"T{i}"]
        assert row["product"] == text and row["channel"] == "线上"
        assert row["occurred_at"] == pd.Timestamp(f"2024-03-{i + 1:02d} 14:{i:02d}:59")
        assert row["amount"] == (-12.5 if i == 3 else round(1234.56 + i, 2))
        assert bool(row["is_refund"]) == (i == 3)
        assert pd.isna(row["cost"]) if i % 3 == 0 else row["cost"] == 0.01
    again = import_file(panel, "transactions", path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(rows))


def _pg_only(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("COPY exists on PostgreSQL only; run with PATRONAGE_TEST_DATABASE_URL")


_ALL_TYPES = ("(i4 integer, i8 bigint, f8 double precision, money numeric(14,2), "
              "whole numeric(5,0), ts timestamp, d date, b boolean, bb boolean, t text, "
              "vc varchar(10), j json, jb jsonb)")


def _copy_both_ways(engine, frame, kinds, ddl, monkeypatch):
    """Rows (as PostgreSQL prints them) after COPY in the binary format and in the text format,
    and whether the binary format was used."""
    from patronage.storage.importing import bulk

    out = []
    with engine.begin() as conn:
        for name in ("via_binary", "via_text"):
            conn.exec_driver_sql(f"CREATE TEMP TABLE {name} {ddl}")
        binary = bulk.binary_plan(conn, "via_binary", frame, kinds) is not None
        bulk._copy(conn, "via_binary", frame, kinds, None)
        with monkeypatch.context() as patch:
            patch.setattr(bulk, "binary_plan", lambda *args: None)
            bulk._copy(conn, "via_text", frame, kinds, None)
        for name in ("via_binary", "via_text"):
            columns = ", ".join(f"{c}::text" for c in frame.columns)
            out.append(conn.exec_driver_sql(f"SELECT {columns} FROM {name}").all())
        conn.rollback()
    return out[0], out[1], binary


def test_binary_copy_stores_what_text_copy_stores(engine, monkeypatch):
    """The numpy-built binary COPY data against PostgreSQL's own text input functions (the text
    format path): every supported type, NULLs, extremes (int4 maximum, the smallest subnormal
    double, 1800 and 2200 dates), negative and zero numerics and awkward text."""
    _pg_only(engine)
    frame = pd.DataFrame({
        "i4": [1.0, None, -5.0, 2147483647.0], "i8": [1.0, 2.0, None, -9e15],
        "f8": [0.1, None, -1e300, 5e-324], "money": [1234.5, -0.01, None, 999999999999.99],
        "whole": [0.0, -0.0, 12.0, None],
        "ts": pd.Series(["2024-03-05 14:30:00.123456", None, "1800-01-01 00:00:00",
                         "2199-12-31 23:59:59.000001"]).astype("datetime64[us]"),
        "d": [date(2024, 2, 29), None, date(1800, 1, 1), date(2200, 1, 1)],
        "b": [True, None, False, True], "bb": [True, False, True, False],
        "t": ["tab\there", None, '中文\\N "q" =1+1', ""], "vc": ["a\nb\r", "é", None, "x" * 10],
        "j": [{"a": 1, "中": [1, 2]}, None, [], "s"], "jb": [{"z": 1, "a": None}, None, 1.5, "s"],
    })
    kinds = {"i4": "int", "i8": "optint", "f8": "float", "money": "float", "whole": "float",
             "ts": "datetime", "d": "date", "b": "bool", "bb": "bool", "j": "json", "jb": "json"}
    via_binary, via_text, binary = _copy_both_ways(engine, frame, kinds, _ALL_TYPES, monkeypatch)
    assert binary
    assert via_binary == via_text
    assert via_text[0][3] == "1234.50" and via_text[3][1] == "-9000000000000000"


def test_values_binary_cannot_send_exactly_fall_back_to_text(engine, monkeypatch):
    """A float with more decimals than its numeric column keeps (1.005 into numeric(14,2):
    PostgreSQL rounds the text half away from zero to 1.01, while 1.005 * 100 is 100.4999... in
    binary floating point) and a timestamptz column go through the text format."""
    _pg_only(engine)
    frame = pd.DataFrame({"money": [1.005, 2.5]})
    via_binary, via_text, binary = _copy_both_ways(
        engine, frame, {"money": "float"}, "(money numeric(14,2))", monkeypatch)
    assert not binary and via_binary == via_text == [("1.01",), ("2.50",)]
    frame = pd.DataFrame({"at": pd.Series(["2024-03-05 14:30:00"]).astype("datetime64[us]")})
    _, _, binary = _copy_both_ways(engine, frame, {"at": "datetime"}, "(at timestamptz)",
                                   monkeypatch)
    assert not binary


def test_bulk_load_into_an_empty_table_restores_its_keys(panel, tmp_path, monkeypatch):
    """A bulk load into an empty table may drop the primary key and unique constraints while it
    writes (PostgreSQL); afterwards both are back, so a repeated id in a later upsert is still
    matched on the transaction id rather than stored twice."""
    from sqlalchemy import inspect

    from patronage.storage.importing import bulk

    monkeypatch.setattr(bulk, "_REBUILD_MIN_ROWS", 1)
    rows = [["order_no", "customer_id", "date", "amount"],
            ["T1", "C1", "2024-03-05", "1"], ["T2", "C2", "2024-03-06", "2"]]
    assert import_file(panel, "transactions", write_csv(tmp_path / "t.csv", rows)).inserted == 2
    inspector = inspect(panel)
    key = inspector.get_pk_constraint("transactions")["constrained_columns"]
    indexes = {i["name"] for i in inspector.get_indexes("transactions")}
    if panel.dialect.name == "postgresql":  # partitioned by month: keys include the month,
        assert key == ["id", "occurred_at"]  # and a trigger keeps external ids unique
        assert {"ix_transactions_external_id", "ix_transactions_customer_time"} <= indexes
    else:
        assert key == ["id"] and "ix_transactions_customer_time" in indexes
        unique = {tuple(c["column_names"])
                  for c in inspector.get_unique_constraints("transactions")}
        assert ("external_id",) in unique
    rows[1][3] = "5"
    again = import_file(panel, "transactions", write_csv(tmp_path / "t.csv", rows))
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 1)
    assert count(panel, transactions) == 2


def test_rows_added_after_a_bulk_load_get_the_next_ids(panel, tmp_path, monkeypatch):
    """Rows bulk-loaded into an empty table get ids 1..n in file order (PostgreSQL takes them
    from the table's sequence in one step), and later rows continue after them."""
    from patronage.storage.importing import bulk

    monkeypatch.setattr(bulk, "_REBUILD_MIN_ROWS", 1)
    header = ["order_no", "customer_id", "date", "amount"]
    first = [header, *[[f"T{i}", "C1", "2024-03-05", "1"] for i in range(1, 4)]]
    assert import_file(panel, "transactions", write_csv(tmp_path / "a.csv", first)).inserted == 3
    later = [header, ["T9", "C2", "2024-03-06", "2"]]
    assert import_file(panel, "transactions", write_csv(tmp_path / "b.csv", later)).inserted == 1
    with panel.connect() as conn:
        stored = conn.execute(select(transactions.c.external_id, transactions.c.id)
                              .order_by(transactions.c.id)).all()
    assert stored == [("T1", 1), ("T2", 2), ("T3", 3), ("T9", 4)]
