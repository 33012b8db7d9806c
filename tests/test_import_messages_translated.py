"""The importer's problems, notes and refusals reach a reader in their language.

Each one is a :class:`~patronage.messages.Message` (or a :class:`~patronage.messages.UserError`)
whose English text is what the CLI prints, unchanged, and whose template the catalogs translate:
rendered with the Chinese catalogs it holds no English left, only the cells and names it quotes.
A message left as plain text stays English through ``translated`` and fails here.
"""

from __future__ import annotations

import re

import pytest

from patronage.messages import Message, UserError, translated
from patronage.storage.importing import import_file
from patronage.web.i18n import load_translations

pytestmark = pytest.mark.db

LATIN = re.compile(r"[A-Za-z]")
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def catalogs():
    return load_translations()


def _without_values(text: str, params: dict) -> str:
    """``text`` without the values a message quotes (cells, ids, column names), longest first."""
    shown = {form for value in params.values() if isinstance(value, str)
             for form in (repr(value), value)}
    for form in sorted(shown, key=len, reverse=True):
        text = text.replace(form, "")
    return text


def _assert_chinese(message, gettext, names=()) -> str:
    """``message`` in the language of ``gettext``: Chinese, with no Latin letters but the values
    it quotes and the ``names`` (Excel, file formats) it may keep."""
    assert isinstance(message, Message | UserError), f"not translatable: {message!r}"
    shown = translated(message, gettext)
    assert HAN.search(shown), shown
    rest = _without_values(shown, message.params)
    for name in names:
        rest = rest.replace(name, "")
    assert not LATIN.search(rest), f"English left in {shown!r}"
    return shown


def _write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant"])
def test_the_problems_of_an_import_read_in_chinese(engine, tmp_path, catalogs, language):
    gettext = catalogs[language].gettext
    panel = _write(tmp_path / "panel.csv", "customer_id,name\nC1,张三\n")
    assert import_file(engine, "customers", panel).inserted == 1
    orders = _write(tmp_path / "orders.csv", (
        "订单号,客户编号,日期,金额\n"
        "T1,C1,2024-03-05,12.50\n"
        "T2,C1,2024-03-05,一百元\n"       # not an amount
        "T3,C1,昨天,10\n"                  # not a date
        "T4,C9,2024-03-05,10\n"            # unknown customer
        "T5,C1,45352,10\n"))               # an Excel serial day number: a note
    report = import_file(engine, "transactions", orders)
    english = {(issue.line, str(issue.message)) for issue in report.errors}
    assert english == {
        (3, "not an amount; use digits with a dot for decimals, e.g. 1234.50 (currency symbols "
            "and thousands commas are fine)"),
        (4, "not a date; write dates as YYYY-MM-DD (e.g. 2024-03-05) or YYYY-MM-DD HH:MM"),
        (5, "customer 'C9' is not in the panel; import customers first, or import with "
            "--create-customers to create bare customers for the unknown ids"),
    }
    assert report.notes == [
        "1 value in column 日期 (occurred_at) looked like Excel serial day numbers and were read "
        "as dates (1900 date system: 45352 is 2024-03-01); check a few of them."]
    assert "line 5, column 客户编号 (customer): 'C9' — customer 'C9' is not in the panel" \
        in report.to_text()
    shown = {issue.line: _assert_chinese(issue.message, gettext) for issue in report.errors}
    assert "'C9'" in shown[5]
    assert ("“为未知的客户编号创建客户”" if language == "zh_Hans"
            else "「為未知的客戶編號建立客戶」") in shown[5]
    for note in report.notes:
        assert "日期 (occurred_at)" in _assert_chinese(note, gettext, names=("Excel",))

    no_name = _write(tmp_path / "no_name.csv", "customer_id,phone\nC2,12\n")
    report = import_file(engine, "customers", no_name)
    (missing,) = report.errors
    assert str(missing.message) == ("required column missing: add a column named 'name', "
                                    "'customer name', '姓名', '客户名称' (or another known name "
                                    "for it)")
    assert "'客户名称'" in _assert_chinese(missing.message, gettext)


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant"])
def test_a_file_that_cannot_be_used_is_refused_in_chinese(engine, tmp_path, catalogs,
                                                          language):
    gettext = catalogs[language].gettext
    path = tmp_path / "gone.csv"
    with pytest.raises(UserError) as refused:
        import_file(engine, "customers", path)
    assert str(refused.value) == f"file not found: {path}"
    assert str(path) in _assert_chinese(refused.value, gettext)

    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(ValueError) as refused:  # existing callers catch ValueError
        import_file(engine, "customers", old)
    assert str(refused.value) == ("old .xls workbooks are not supported; save the file as .xlsx "
                                  "or CSV")
    _assert_chinese(refused.value, gettext, names=(".xlsx", ".xls", "CSV"))
