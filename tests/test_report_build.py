"""The whole report as Excel, HTML and PDF: sections, number formats, neutralised formulas,
escaped comments, the Chinese font embedded and the KPI figures in the PDF's text."""

from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from patronage.cli import main
from patronage.reporting.report_build import build_report
from patronage.reporting.report_files import build_file, report_html, report_xlsx
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import answers
from patronage.catalogs import gettext_for

FORMULA = "=cmd|' /C calc'!A0 太贵了"


@pytest.fixture
def reported(panel):
    """The panel with a formula-like comment in wave 2026-Q2 (response R58)."""
    engine = panel[0]
    with write_transaction(engine) as conn:
        insert_rows(conn, answers, [{"response_id": 59, "item_code": "comment",
                                     "value_num": None, "value_text": FORMULA}])
    return engine


def _nps(scores) -> float:
    """NPS as Reichheld defines it (The One Number You Need to Grow, HBR 2003): % scoring 9–10
    minus % scoring 0–6."""
    return 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)


def _expected_nps(engine, wave: str) -> float:
    with engine.connect() as conn:
        scores = conn.execute(text(
            "SELECT a.value_num FROM answers a JOIN responses r ON r.id = a.response_id "
            "JOIN waves w ON w.id = r.wave_id WHERE a.item_code = 'nps' AND w.name = :w"),
            {"w": wave}).scalars().all()
    return _nps(scores)


def _zh(engine, **kwargs):
    gettext = gettext_for("zh_Hans")
    return build_report(engine, "relationship", language="zh_Hans", gettext=gettext,
                        now=datetime(2026, 7, 1), **kwargs)


def test_xlsx_has_a_sheet_per_section_real_formats_and_no_formula(reported):
    from openpyxl import load_workbook

    report = _zh(reported)
    book = load_workbook(io.BytesIO(report_xlsx(report)))
    assert book.sheetnames == [s.title for s in report.sections]
    assert book.sheetnames[0] == "管理摘要"
    summary = book[book.sheetnames[0]]
    rows = {r[0].value: r for r in summary.iter_rows() if r[0].value}
    nps = rows["NPS"]
    assert nps[1].value == pytest.approx(_expected_nps(reported, "2026-Q2"))
    assert nps[1].number_format == "+0.0;-0.0;0.0" and nps[3].value == 30
    header = next(r for r in summary.iter_rows() if r[0].value == "批次")
    assert header[0].font.bold and header[0].fill.fgColor.rgb.endswith("1F4E79")
    q2 = rows["2026年第2季度"]
    assert q2[1].value == 30 and q2[1].number_format == "#,##0"
    cases = book["工单"]
    share = next(r for r in cases.iter_rows() if r[0].value == "新建")[2]
    assert share.value == 1.0 and share.number_format == "0.0%"
    comments = [c.value for row in book["客户意见"].iter_rows() for c in row
                if isinstance(c.value, str)]
    assert "'" + FORMULA in comments
    assert not any(v.startswith("=") for sheet in book for row in sheet.iter_rows()
                   for v in (c.value for c in row) if isinstance(v, str))


def test_html_is_self_contained_and_escapes_comments(reported):
    page = report_html(_zh(reported))
    assert "<script>" not in page and "&lt;script&gt;alert(" in page
    assert not re.search(r"(?:https?:)?//|\bsrc=|<link", page)
    assert '<html lang="zh-Hans">' in page and "<svg" in page
    assert "管理摘要" in page and "n = 30" in page


def test_pdf_embeds_the_chinese_font_and_shows_the_kpis(reported):
    from pypdf import PdfReader

    data = build_file(reported, "pdf", survey="relationship", language="zh_Hans",
                      gettext=gettext_for("zh_Hans"))
    reader = PdfReader(io.BytesIO(data))
    words = "".join(page.extract_text() for page in reader.pages)
    fonts = {str(f.get_object()["/BaseFont"]) for page in reader.pages
             for f in page["/Resources"]["/Font"].values()}
    assert any("WenQuanYi" in f or "+" in f for f in fonts)  # a subset, embedded
    assert not [x for page in reader.pages for x in page.images]  # charts drawn as vectors
    # The NPS bars: rectangles filled with the chart's blue (#2e75b6 = 46, 117, 182).
    first = reader.pages[0].get_contents().get_data()
    assert b".180392 .458824 .713725 rg" in first and b" re" in first
    for label in ("管理摘要", "满意度指数 CSI", "回答数", "各期 NPS 与 CSI", "客户意见"):
        assert label in words
    expected = _expected_nps(reported, "2026-Q2")
    assert f"NPS: {expected:.1f} (n = 30)" in words
    assert f"{_expected_nps(reported, '2026-Q1'):.1f}" in words


def test_report_up_to_a_wave(reported):
    report = _zh(reported, wave="2026-Q1")
    assert report.wave == "2026-Q1"
    nps = next(k for k in report.sections[0].kpis if k.label == "NPS")
    assert nps.value == pytest.approx(_expected_nps(reported, "2026-Q1")) and nps.change is None


def test_cli_builds_each_format_and_refuses_bad_input(reported, db_url, tmp_path, monkeypatch):
    runner = CliRunner()
    for fmt in ("pdf", "xlsx", "html"):
        out = tmp_path / f"r.{fmt}"
        result = runner.invoke(main, ["report", "build", "--db", db_url, "--format", fmt,
                                      "--survey", "relationship", "--wave", "2026-Q2",
                                      "--lang", "zh_Hant", "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 1000
    assert b"\xe6\xbb\xbf\xe6\x84\x8f\xe5\xba\xa6" in (tmp_path / "r.html").read_bytes()  # 滿意度
    result = runner.invoke(main, ["report", "build", "--db", db_url, "--format", "html",
                                  "--wave", "2027-Q9", "--lang", "en", "--out",
                                  str(tmp_path / "x.html")])
    assert result.exit_code == 1 and "2026-Q1, 2026-Q2" in result.output
    assert "Traceback" not in result.output
    monkeypatch.setenv("PATRONAGE_REPORT_FONT", str(tmp_path / "missing.ttf"))
    result = runner.invoke(main, ["report", "build", "--db", db_url, "--format", "pdf",
                                  "--lang", "en", "--out", str(tmp_path / "x.pdf")])
    assert result.exit_code == 1 and "PATRONAGE_REPORT_FONT" in result.output
    assert not (tmp_path / "x.pdf").exists()
