"""Category labels: each region, industry, tier, product … reads in the reader's language on every
page (the company's labels, else the value as stored; a tier reads the same everywhere), edited on
the Labels page or imported from a file, and shipped for every value of the demo company."""

from __future__ import annotations

import re

import openpyxl
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from fastapi.testclient import TestClient

from patronage.cli import main
from patronage.labels import Labels, import_labels, label_table, labels_for, set_labels
from patronage.messages import UserError
from patronage.settings import Settings
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


def _login(client, role: str) -> None:
    email, password = client.info["logins"][role]
    token = BeautifulSoup(client.get("/login").text, "html.parser").find(
        "input", {"name": "csrf_token"})["value"]
    assert client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token, "next": "/"},
                       follow_redirects=False).status_code == 303


def _get(client, path: str, language: str) -> BeautifulSoup:
    client.cookies.set("patronage_lang", language)
    response = client.get(path)
    assert response.status_code == 200, path
    return BeautifulSoup(response.text, "html.parser")


def test_a_label_per_language_else_the_value_and_the_built_in_tiers():
    table = {("region", "East China"): "华东"}
    hans = Labels("zh_Hans", table, gettext={"gold": "金牌"}.get)
    assert hans("region", "East China") == "华东"
    assert hans("region", "Mars") == "Mars"  # no label: the value as stored
    assert hans("tier", "gold") == "金牌"  # the interface's own word for a value tier
    assert hans("region", None) == "–" and hans("region", float("nan")) == "–"


def test_labels_are_stored_replaced_removed_and_checked(engine):
    set_labels(engine, [("region", "East China", "zh_Hans", "华东"),
                        ("region", "East China", "zh_Hant", "華東")])
    assert labels_for(engine, "zh_Hant")("region", "East China") == "華東"
    set_labels(engine, [("region", "East China", "zh_Hans", "华东地区"),
                        ("region", "East China", "zh_Hant", "")])  # blank removes
    assert labels_for(engine, "zh_Hans")("region", "East China") == "华东地区"
    assert labels_for(engine, "zh_Hant")("region", "East China") == "East China"
    with pytest.raises(UserError, match="Unknown kind 'planet'"):
        set_labels(engine, [("planet", "Mars", "zh_Hans", "火星")])
    with pytest.raises(UserError, match="Unknown language 'fr'"):
        set_labels(engine, [("region", "Mars", "fr", "Mars")])


def test_import_long_and_wide_files_all_or_nothing(engine, tmp_path):
    wide = tmp_path / "labels.csv"
    wide.write_text("kind,value,en,zh_Hans,zh_Hant\nregion,East China,East,华东,華東\n"
                    "tier,gold,Gold,金牌,\n", encoding="utf-8")
    assert import_labels(engine, wide) == 5
    table = label_table(engine, "region").set_index("value")
    assert table.loc["East China", "zh_Hans"] == "华东"
    long = tmp_path / "long.csv"
    long.write_text("kind,value,language,label\nregion,North,zh_Hans,华北\n"
                    "regoin,South,zh_Hans,华南\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"long.csv, line 3: Unknown kind 'regoin'"):
        import_labels(engine, long)
    assert labels_for(engine, "zh_Hans")("region", "North") == "North"  # nothing stored
    bad = tmp_path / "bad.csv"
    bad.write_text("value,label\nNorth,华北\n", encoding="utf-8")
    with pytest.raises(UserError, match="the columns must be"):
        import_labels(engine, bad)


def test_pages_show_labels_and_a_tier_reads_the_same_everywhere(client):
    set_labels(client.engine, [("region", "East China", "zh_Hans", "华东"),
                               ("region", "East China", "zh_Hant", "華東")])
    _login(client, "admin")
    for language, region, tier in (("zh_Hans", "华东", "金牌"), ("zh_Hant", "華東", "金牌"),
                                   ("en", "East China", "gold")):
        rows = _get(client, "/customers", language).select("#customers tbody tr")
        cells = [[td.text for td in row.select("td")] for row in rows]
        assert all(c[3] == region and c[6] == tier for c in cells), cells  # c[0]: the tick box
        profile = _get(client, "/customers/1", language).select_one("dl.profile").text
        assert region in profile and tier in profile


def test_admins_edit_labels_inline(client):
    _login(client, "analyst")
    assert client.get("/labels").status_code == 403
    _login(client, "admin")
    page = _get(client, "/labels", "zh_Hans")
    stored = {"East", "China", "gold", "silver"}  # the values being labelled (data)
    assert not english_words(str(page), stored), english_words(str(page), stored)
    row = page.select_one("#kind-region tbody tr")
    assert row.select_one("code").text == "East China"
    form = row.select_one("form")
    data = {i["name"]: i["value"] for i in form.select("input")}
    data.update(zh_Hans="华东", zh_Hant="華東", en="East")
    response = client.post("/labels", data=data)
    assert response.status_code == 200
    saved = BeautifulSoup(response.text, "html.parser").select_one("#kind-region tr.saved")
    assert saved.select_one('input[name="zh_Hans"]')["value"] == "华东"
    assert "华东" in _get(client, "/customers", "zh_Hans").select_one("#customers").text
    data.update(kind="planet")
    response = client.post("/labels", data=data)
    assert response.status_code == 400
    assert "未知" in BeautifulSoup(response.text, "html.parser").select_one("#labels-error").text


def test_cli_imports_and_lists_labels(db_url, tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("kind,value,zh_Hans\nindustry,retail,零售\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["labels", "import", str(path), "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "Stored 1 labels." in result.output
    listed = runner.invoke(main, ["labels", "list", "--db", db_url, "--format", "csv"])
    assert listed.exit_code == 0 and "industry,retail,,零售," in listed.output
    path.write_text("kind,value,zh_Hans\nplanet,Mars,火星\n", encoding="utf-8")
    result = runner.invoke(main, ["labels", "import", str(path), "--db", db_url])
    assert result.exit_code == 1 and "line 2: Unknown kind 'planet'" in result.output
    assert "Traceback" not in result.output


def test_the_demo_labels_every_value_it_uses():
    from patronage.demo.labels import LABELS, unlabelled

    assert unlabelled() == {}
    for kind, values in LABELS.items():
        for value, (en, hans, hant) in values.items():
            assert en and hans and hant, (kind, value)
            assert not any(c.isascii() and c.isalpha() for c in hans.replace("NPS", "")
                           .replace("HX", "").replace("PL", "").replace("AC", "")
                           .replace("RA", "").replace("LC", "")), (kind, value, hans)


@pytest.mark.slow
def test_no_english_data_value_on_the_chinese_pages_of_the_demo(demo_company):
    """Regions, industries, sizes, tiers, products, categories, case subjects, churn reasons and
    competitors of the demo company all read in Chinese (customer names are names)."""
    from patronage.reporting.loyalty import loyalty_report
    from patronage.reporting.satisfaction import satisfaction_report
    from patronage.storage import make_engine
    from patronage.web.i18n import load_translations

    url, summary, _company = demo_company
    engine = make_engine(url)
    app = create_app(Settings(database_url=url))

    def chinese(text: str) -> bool:  # model numbers (HX-200) and units (kg) are no words
        text = re.sub(r"[A-Za-z]+-?\d+|\d+\s?(kg|L)\b|NPS", "", text)
        return not any(c.isascii() and c.isalpha() for c in text)

    try:
        with TestClient(app) as client:
            email = "admin@demo.patronage"
            token = BeautifulSoup(client.get("/login").text, "html.parser").find(
                "input", {"name": "csrf_token"})["value"]
            client.post("/login", data={"email": email, "password": summary.users[email][1],
                                        "csrf_token": token, "next": "/"})
            rows = _get(client, "/customers", "zh_Hans").select("#customers tbody tr")
            cells = [td.text for row in rows for td in row.select("td")[3:]]  # tick box, id, name
            assert cells and all(chinese(c) for c in cells), cells
            with engine.connect() as conn:
                from sqlalchemy import func, select

                from patronage.storage.schema import cases
                busy = conn.execute(select(cases.c.customer_id).group_by(cases.c.customer_id)
                                    .order_by(func.count().desc()).limit(1)).scalar()
            page = _get(client, f"/customers/{busy}", "zh_Hans")
            profile = [dd.text for dd in page.select("dl.profile dd")[2:7]]
            products = [row.select("td")[2].text + row.select("td")[3].text
                        for row in page.select("#transactions tbody tr")]
            subjects = [row.select("td")[3].text for row in page.select("#cases tbody tr")]
            assert subjects and products
            for text in profile + products + subjects:
                assert chinese(text), text
        gettext = load_translations()["zh_Hans"].gettext
        loyalty = {s.key: s for s in loyalty_report(engine, gettext=gettext, language="zh_Hans")}
        for name in loyalty["defection"].table.index:
            assert chinese(name), name
        analysis = {s.key: s for s in satisfaction_report(engine, None, language="zh_Hans",
                                                          gettext=gettext)}
        for key in ("segments", "crosstab", "composition"):
            assert all(chinese(str(i)) for i in analysis[key].table.index), key
    finally:
        engine.dispose()


def test_label_files_are_read_like_import_files(engine, tmp_path):
    """GB18030 (Chinese Excel's CSV) is read; a damaged, mixed-up or formula-carrying file is
    refused with where and why, and nothing is stored."""
    gb = tmp_path / "gb.csv"
    gb.write_bytes("kind,value,en,zh_Hans,zh_Hant\nregion,North,North,华北,華北\n"
                   .encode("gb18030"))
    assert import_labels(engine, gb) == 3
    assert labels_for(engine, "zh_Hans")("region", "North") == "华北"
    garbage = tmp_path / "labels.xlsx"
    garbage.write_bytes(b"not a workbook at all")
    with pytest.raises(UserError, match="not an Excel .xlsx workbook"):
        import_labels(engine, garbage)
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"kind,value,language,label\nregion,South,zh_Hans,\xe5\x8d\x8e\x00\n")
    with pytest.raises(UserError, match=r"nul.csv, line 2, column label: .*NUL"):
        import_labels(engine, nul)
    workbook = openpyxl.Workbook()
    workbook.active.append(["kind", "value", "language", "label"])
    workbook.active.append(["region", "South", "zh_Hans", '=HYPERLINK("http://x","y")'])
    workbook.save(tmp_path / "f.xlsx")
    with pytest.raises(UserError, match=r"f.xlsx, line 2, column label: .*formula"):
        import_labels(engine, tmp_path / "f.xlsx")
    assert labels_for(engine, "zh_Hans")("region", "South") == "South"


def test_sampling_strata_read_as_labels(client):
    from datetime import date

    from patronage.surveys.program import add_wave, create_survey, draw_sample, set_status
    from patronage.surveys.templates import load_template

    set_labels(client.engine, [("region", "East China", "zh_Hans", "华东"),
                               ("tier", "gold", "zh_Hans", "金卡")])
    create_survey(client.engine, load_template("nps"))
    set_status(client.engine, "nps", "open")
    add_wave(client.engine, "nps", "2026-Q3", date(2026, 7, 1))
    draw_sample(client.engine, "nps", "2026-Q3", method="stratified", n=2,
                strata=["region", "tier"], channel="phone", seed=1, today=date(2026, 7, 2))
    _login(client, "admin")
    page = _get(client, "/surveys/nps", "zh_Hans")
    strata = [tr.td.text for tr in page.select("table#by-stratum tbody tr")]
    assert strata == ["华东 / 金卡"], strata
