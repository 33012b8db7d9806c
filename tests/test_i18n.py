"""Every interface message has a Simplified and a Traditional Chinese translation."""

from __future__ import annotations

import ast
import re
from importlib.resources import files

import pytest
from babel.messages.pofile import read_po

from patronage.analytics import DEFAULT_RFM_RULES
from patronage.reporting import loyalty, satisfaction, scores_page
from patronage.storage.schema import CASE_STATUSES, CASE_TYPES, USER_ROLES

WEB = files("patronage.web")
WHALE_FIGURES = ("customers", "total_profit", "peak_profit_pct", "peak_customers_pct",
                 "unprofitable_customers_pct", "customers_pct_for_80pct_profit", "top_profit_pct",
                 "bottom_profit_pct", "customers_pct_for_80pct_revenue")
TIERS = ("platinum", "gold", "silver", "bronze")
MARKED = re.compile(r"""(?:\bN_|\b_|\bt)\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")


def _python_files(folder):
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name != "__pycache__":
            yield from _python_files(entry)
        elif entry.name.endswith(".py"):
            yield entry


def marked_in_python(source: str) -> set[str]:
    """The strings passed to ``N_``/``_``/``t`` in Python source, implicit concatenation joined."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("N_", "_", "t") and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return found


def interface_messages() -> set[str]:
    messages = set()
    sources = [p for p in (WEB / "templates").iterdir() if p.name.endswith(".html")]
    sources += [p for p in WEB.iterdir() if p.name.endswith(".py")]
    sources += [files("patronage.reporting") / name
                for name in ("satisfaction.py", "loyalty.py", "scores_page.py")]
    # Messages the services raise as UserError(N_("..."), ...) and that the pages translate.
    package = files("patronage")
    sources += [path for path in _python_files(package)
                if "N_(" in path.read_text(encoding="utf-8") and "analytics" not in str(path)]
    for source in sources:
        for double, single in MARKED.findall(source.read_text(encoding="utf-8")):
            messages.add(double or single)
        if source.name.endswith(".py"):  # also messages split over several lines
            messages |= marked_in_python(source.read_text(encoding="utf-8"))
    # Values shown through _() from data: roles, case types and statuses.
    messages |= {title for _key, title in satisfaction.SECTIONS} | set(satisfaction.LATENT_NAMES)
    messages |= set(satisfaction.COLUMN_LABELS.values()) | set(satisfaction.VALUE_LABELS.values())
    messages |= {title for _key, title in loyalty.SECTIONS} | set(loyalty.COLUMN_LABELS.values())
    messages |= set(loyalty.ROW_LABELS)
    messages |= {title for _key, title in scores_page.SECTIONS} | set(scores_page.LABELS)
    messages |= set(scores_page.COLUMN_LABELS.values())
    messages |= set(scores_page.VARIABLES.values()) | set(scores_page.WEIGHTING_ROWS.values())
    messages |= {rule["segment"] for rule in DEFAULT_RFM_RULES} | set(WHALE_FIGURES) | set(TIERS)
    return messages | set(USER_ROLES) | set(CASE_TYPES) | set(CASE_STATUSES)


def test_the_scan_finds_the_messages():
    found = interface_messages()
    assert {"Overview", "Log in", "The e-mail or the password is wrong."} <= found
    assert len(found) > 60


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant"])
def test_catalog_translates_every_message(language):
    with (WEB / "locale" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id for m in catalog if m.id and m.string}
    missing = sorted(interface_messages() - translated)
    assert not missing, f"{language}: untranslated messages {missing}"


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant"])
def test_catalog_has_each_message_once(language):
    """Engineers append to the catalogs; a msgid written twice would silently keep one of the
    translations."""
    text = (WEB / "locale" / language / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    ids = re.findall(r'^msgid ((?:"(?:[^"\\]|\\.)*"\n?)+)', text, flags=re.MULTILINE)
    ids = [i for i in ids if i.strip() != '""']
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    assert not repeated, f"{language}: msgids written twice: {repeated[:5]}"
