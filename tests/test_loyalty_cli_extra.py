"""Loyalty items reachable from the CLI: saved CLV model parameters, the repeat-purchase rate per
acquisition cohort and share of wallet (SQLite, or PostgreSQL when
PATRONAGE_TEST_DATABASE_URL says so)."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from patronage.analytics import repeat_purchase_rate
from patronage.cli import main
from patronage.analytics.retention import repeat_purchase_by_cohort
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import answers, customers, responses, surveys, transactions

pytestmark = pytest.mark.db


def run(*args):
    result = CliRunner().invoke(main, ["analyze", *args])
    return result


def assert_clear_error(result, *words):
    """A non-zero exit with a message naming ``words``, and no traceback."""
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


# -- 1. saved CLV parameters ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def saved(demo_company, tmp_path_factory):
    """The demo's CLV table in JSON and the parameter file written by the same run."""
    url = demo_company[0]
    path = tmp_path_factory.mktemp("params") / "model.json"
    result = run("clv", "--db", url, "--top", "0", "--format", "json", "--save-params",
                 str(path))
    assert result.exit_code == 0, result.output
    return url, path, json.loads(result.stdout)["rows"]


def test_saved_parameters_give_the_same_clv_table(saved):
    url, path, fitted = saved
    result = run("clv", "--db", url, "--top", "0", "--format", "json", "--params", str(path))
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    assert scored["rows"] == fitted
    assert scored["parameters_from"] == str(path)
    assert "Scored with the parameters fitted" in result.stderr


def test_scoring_uses_the_saved_parameters_not_a_refit(saved, tmp_path):
    """Edited parameters change the scores: --params really scores with the file."""
    url, path, fitted = saved
    edited = _edit(path, tmp_path, lambda p: p["purchase_model"]["params_"].update(
        b=p["purchase_model"]["params_"]["b"] / 4))  # 4x the dropout probability
    result = run("clv", "--db", url, "--top", "0", "--format", "json", "--params", str(edited))
    assert result.exit_code == 0, result.output
    before = {r["customer_id"]: r["p_alive"] for r in fitted}
    after = {r["customer_id"]: r["p_alive"] for r in json.loads(result.stdout)["rows"]}
    assert sum(after[c] < before[c] - 1e-6 for c in before) > len(before) / 2


def test_the_parameter_file_records_the_fit(saved, demo_company):
    _url, path, fitted = saved
    payload = json.loads(path.read_text(encoding="utf-8"))
    summary = demo_company[1]
    assert payload["format"] == "patronage-value-models" and payload["format_version"] == 1
    assert payload["data"]["customers"] == len(fitted) == summary.customers
    assert payload["data"]["first_purchase"] < payload["data"]["observation_end"]
    pd.Timestamp(payload["fitted_at"])  # a real timestamp
    for part, names in (("purchase_model", {"r", "alpha", "a", "b"}),
                        ("spend_model", {"p", "q", "v"})):
        model = payload[part]
        assert set(model["params_"]) == names
        assert all(se > 0 for se in model["standard_errors_"].values())
        assert model["log_likelihood_"] < 0


def _edit(path, tmp_path, change):
    payload = json.loads(path.read_text(encoding="utf-8"))
    change(payload)
    out = tmp_path / "edited.json"
    out.write_text(json.dumps(payload), encoding="utf-8")
    return out


BAD_EDITS = {
    "other format": (lambda p: p.update(format="something-else"), "not a Patronage CLV"),
    "newer version": (lambda p: p.update(format_version=2), "newer Patronage"),
    "wrong model": (lambda p: p["purchase_model"].update(model="ParetoNBD"), "ParetoNBD"),
    "negative parameter": (lambda p: p["purchase_model"]["params_"].update(r=-1.0), "'r'"),
    "missing parameter": (lambda p: p["spend_model"]["params_"].pop("q"), "spend_model"),
    "missing likelihood": (lambda p: p["purchase_model"].pop("log_likelihood_"),
                           "log_likelihood_"),
    "days, not weeks": (lambda p: p.update(time_unit="day"), "weeks"),
    "no fit record": (lambda p: p.pop("data"), "fit record"),
    "other data": (lambda p: p["data"].update(observation_end="2099-01-01"), "other data"),
}


@pytest.mark.parametrize("case", sorted(BAD_EDITS))
def test_a_bad_parameter_file_gives_a_clear_message(saved, tmp_path, case):
    url, path, _ = saved
    change, expected = BAD_EDITS[case]
    edited = _edit(path, tmp_path, change)
    assert_clear_error(run("clv", "--db", url, "--params", str(edited)), str(edited), expected,
                       "--save-params")


@pytest.mark.parametrize("content", [b"", b"{\"format\": ", b"\xff\xfe\x00garbage", b"[1, 2]",
                                     b"[" * 100_000, b'{"a": ' * 50_000])  # nesting bombs
def test_a_corrupted_parameter_file_gives_a_clear_message(saved, tmp_path, content):
    url = saved[0]
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    assert_clear_error(run("clv", "--db", url, "--params", str(bad)), str(bad))


def test_missing_file_and_both_options(saved, tmp_path):
    url, path, _ = saved
    assert_clear_error(run("clv", "--db", url, "--params", str(tmp_path / "nope.json")),
                       "not found")
    assert_clear_error(run("clv", "--db", url, "--params", str(path), "--save-params",
                           str(tmp_path / "x.json")), "not both")


# -- 2. repeat-purchase rate per acquisition cohort ----------------------------------------------

def _tx(rows):
    return pd.DataFrame(rows, columns=["customer_id", "occurred_at", "is_refund"]).assign(
        occurred_at=lambda d: pd.to_datetime(d["occurred_at"], format="ISO8601"))


# Hand-computed (30-day window, data end 2025-04-10):
#   2025-01: A repeats after 15 days; B buys twice on day 0 (not a repeat) and again after 50
#            days; C never again -> 1 of 3 within 30 days, 2 of 3 to date.
#   2025-02: D repeats after exactly 30 days -> 1 of 1.
#   2025-03: F repeats after 9 days; E's only other row is a refund and her window ends
#            2025-04-19, after the data -> 1 of 1 observed; 1 of 2 to date.
HAND = _tx([("A", "2025-01-05", False), ("A", "2025-01-20", False), ("A", "2025-04-10", False),
            ("B", "2025-01-10 09:00", False), ("B", "2025-01-10 15:00", False),
            ("B", "2025-03-01", False), ("C", "2025-01-31", False),
            ("D", "2025-02-03", False), ("D", "2025-03-05", False),
            ("E", "2025-03-20", False), ("E", "2025-03-25", True),
            ("F", "2025-03-01", False), ("F", "2025-03-10", False)])


def test_repeat_purchase_by_cohort_matches_the_hand_computation():
    before = HAND.copy()
    table = repeat_purchase_by_cohort(HAND, period="M", within_days=30)
    pd.testing.assert_frame_equal(HAND, before)  # the input is not changed
    assert list(table.index) == ["2025-01", "2025-02", "2025-03", "all"]
    assert table["customers"].tolist() == [3, 1, 2, 6]
    assert table["observed"].tolist() == [3, 1, 1, 5]
    assert table["repeat_customers"].tolist() == [1, 1, 1, 3]
    assert table["repeat_rate"].tolist() == pytest.approx([1 / 3, 1.0, 1.0, 3 / 5])
    assert table["repeat_rate_to_date"].tolist() == pytest.approx([2 / 3, 1.0, 1 / 2, 4 / 6])


def test_repeat_rate_to_date_agrees_with_the_library_rate():
    table = repeat_purchase_by_cohort(HAND, period="M", within_days=30)
    assert table.loc["all", "repeat_rate_to_date"] == pytest.approx(repeat_purchase_rate(HAND))
    january = HAND[HAND["customer_id"].isin(["A", "B", "C"])]
    assert table.loc["2025-01", "repeat_rate_to_date"] == pytest.approx(
        repeat_purchase_rate(january))


def test_a_cohort_without_a_complete_window_has_no_rate_not_zero():
    table = repeat_purchase_by_cohort(HAND, period="M", within_days=60)
    # March customers' 60 days end after 2025-04-10: unknown, not 0.
    assert table.loc["2025-03", "observed"] == 0
    assert pd.isna(table.loc["2025-03", "repeat_rate"])
    assert table.loc["2025-01", "repeat_rate"] == pytest.approx(2 / 3)  # A (15 d), B (50 d)


@pytest.mark.parametrize("days", [0, -3, 1.5])
def test_repeat_window_must_be_whole_days(days):
    with pytest.raises(ValueError, match="whole number of days"):
        repeat_purchase_by_cohort(HAND, within_days=days)


NOW = datetime(2026, 1, 1)


def _store(engine, sales, extra_customers=()):
    ids = sorted({c for c, *_ in sales} | set(extra_customers))
    pk = {c: i + 1 for i, c in enumerate(ids)}
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [{"id": pk[c], "external_id": c, "name": f"客户 {c}",
                                       "created_at": NOW, "updated_at": NOW} for c in ids])
        insert_rows(conn, transactions, [
            {"external_id": f"T{i}", "customer_id": pk[c], "occurred_at": pd.Timestamp(when),
             "amount": amount, "category": category, "is_refund": amount < 0}
            for i, (c, when, amount, category) in enumerate(sales)])
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('customers', 'id'), "
                              "(SELECT MAX(id) FROM customers))"))
    return pk


def test_cohorts_command_prints_the_repeat_rate_per_cohort_and_overall(engine, db_url):
    _store(engine, [(c, when, -10.0 if refund else 100.0, "parts")
                    for c, when, refund in HAND.itertuples(index=False)])
    result = run("cohorts", "--db", db_url, "--period", "M", "--repeat-days", "30",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["cohort"]: r for r in json.loads(result.stdout)}
    assert [rows[k]["repeat_30d"] for k in ("2025-01", "2025-02", "2025-03", "all")] == \
        pytest.approx([0.333, 1.0, 1.0, 0.6])
    assert rows["all"]["cohort_size"] == 6
    detail = run("cohorts", "--db", db_url, "--period", "M", "--repeat-days", "30", "--repeat",
                 "--format", "csv")
    assert detail.exit_code == 0, detail.output
    frame = pd.read_csv(pd.io.common.StringIO(detail.stdout.lstrip("\ufeff")), index_col=0)
    assert frame.loc["all", "repeat_customers"] == 3 and frame.loc["all", "observed"] == 5
    assert_clear_error(run("cohorts", "--db", db_url, "--repeat-days", "0"), "repeat-days")


# -- 3. share of wallet ------------------------------------------------------------------------

SALES = [  # customer, day, amount, category
    ("C1", "2025-01-15", 400.0, "parts"), ("C1", "2025-06-01", 600.0, "parts"),
    ("C1", "2025-06-02", 500.0, "service"), ("C1", "2024-12-31", 999.0, "parts"),
    ("C2", "2025-03-01", 300.0, "parts"), ("C2", "2025-03-05", -100.0, "parts"),
    ("C3", "2025-02-01", 50.0, "parts"), ("C4", "2025-12-31", 80.0, "parts"),
]


@pytest.fixture
def shop(engine, db_url):
    _store(engine, SALES, extra_customers=["C5"])
    return engine, db_url


def _wallet(tmp_path, body, name="wallet.csv"):
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_share_of_wallet_from_a_file_with_chinese_headers(shop, tmp_path):
    _engine, url = shop
    path = _wallet(tmp_path, "客户编号,品类总支出,备注\nC1,\"¥2,000\",x\nC2,800,\nC3,25,\n"
                             "C5,500,\nC9,100,\nC4,abc,\nC1,1,\n")
    result = run("share-of-wallet", "--db", url, "--file", str(path), "--from", "2025-01-01",
                 "--to", "2025-12-31", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["customer_id"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {"C1", "C2", "C3", "C5"}
    # C1: 400 + 600 + 500 in 2025 (the 2024 sale is outside) -> 1500 / 2000.
    assert rows["C1"]["our_spend"] == pytest.approx(1500.0)
    assert rows["C1"]["share_of_wallet"] == pytest.approx(0.75)
    assert rows["C2"]["share_of_wallet"] == pytest.approx(200 / 800)  # net of the refund
    assert rows["C3"]["share_of_wallet"] == pytest.approx(1.0)  # 50 > 25: capped
    assert rows["C5"]["share_of_wallet"] == 0.0  # a known customer who bought nothing from us
    errors = result.stderr
    assert "line 6, column 客户编号 (customer): 'C9'" in errors and "not in the panel" in errors
    assert "line 7, column 品类总支出 (category_spend): 'abc'" in errors
    assert "lines 2 and 8" in errors
    assert "line 4: the stated category spend 25.00 is below our own sales 50.00" in errors
    assert "3 row(s) left out" in errors


def test_share_of_wallet_summary_by_value_tier(shop, tmp_path):
    _engine, url = shop
    path = _wallet(tmp_path, "customer_id,category spend\nC1,2000\nC2,800\nC3,25\n")
    result = run("share-of-wallet", "--db", url, "--file", str(path), "--from", "2025-01-01",
                 "--to", "2025-12-31", "--summary", "--format", "json")
    assert result.exit_code == 0, result.output
    tiers = {r["value_tier"]: r for r in json.loads(result.stdout)}
    total = tiers.pop("all")
    assert sum(t["customers"] for t in tiers.values()) == total["customers"] == 3
    # pooled: our spend up to each wallet (1500 + 200 + 25) over 2825; headroom 500 + 600 + 0
    assert total["pooled_share"] == pytest.approx(1725 / 2825)
    assert total["headroom"] == pytest.approx(1100.0)
    assert total["mean_share"] == pytest.approx((0.75 + 0.25 + 1.0) / 3)


def test_share_of_wallet_per_row_periods_and_a_category(shop, tmp_path):
    _engine, url = shop
    path = _wallet(tmp_path, "Customer ID,Wallet,Period start,Period end\n"
                             "C1,1000,2025-06-01,2025-06-30\nC4,100,2025-12-01,2025-11-01\n")
    result = run("share-of-wallet", "--db", url, "--file", str(path), "--category", "parts",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["customer_id"] == "C1" and row["share_of_wallet"] == pytest.approx(0.6)
    assert "line 3" in result.stderr and "ends before it starts" in result.stderr


def test_share_of_wallet_reads_xlsx(shop, tmp_path):
    import openpyxl
    _engine, url = shop
    book = openpyxl.Workbook()
    book.active.append(["客戶編號", "品類總支出"])
    book.active.append(["C1", 3000])
    path = tmp_path / "wallet.xlsx"
    book.save(path)
    result = run("share-of-wallet", "--db", url, "--file", str(path), "--from", "2025-01-01",
                 "--to", "2025-12-31", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["share_of_wallet"] == pytest.approx(0.5)


@pytest.mark.parametrize("body, words", [
    ("name,amount\nC1,5\n", ["required column 'customer'", "客户编号"]),
    ("客户编号,品类总支出\nC9,5\nC1,-1\n", ["no usable rows", "line 2", "line 3"]),
])
def test_share_of_wallet_unusable_files(shop, tmp_path, body, words):
    _engine, url = shop
    path = _wallet(tmp_path, body)
    assert_clear_error(run("share-of-wallet", "--db", url, "--file", str(path)), *words)


def test_share_of_wallet_needs_exactly_one_source_and_known_categories(shop, tmp_path):
    _engine, url = shop
    assert_clear_error(run("share-of-wallet", "--db", url), "--file")
    path = _wallet(tmp_path, "客户编号,品类总支出\nC1,5\n")
    assert_clear_error(run("share-of-wallet", "--db", url, "--file", str(path), "--category",
                           "toys"), "'toys'", "'parts'")
    assert_clear_error(run("share-of-wallet", "--db", url, "--file", str(tmp_path / "no.csv")),
                       "not found")


def test_share_of_wallet_from_the_latest_survey_answer(shop):
    engine, url = shop
    with write_transaction(engine) as conn:
        insert_rows(conn, surveys, [{"id": 1, "code": "wallet", "title": "Wallet",
                                     "status": "closed", "definition": {}, "created_at": NOW}])
        insert_rows(conn, responses, [
            {"id": 1, "external_id": "R1", "survey_id": 1, "customer_id": 1,
             "submitted_at": datetime(2025, 3, 1), "weight": 1.0},
            {"id": 2, "external_id": "R2", "survey_id": 1, "customer_id": 1,
             "submitted_at": datetime(2025, 12, 31), "weight": 1.0},
            {"id": 3, "external_id": "R3", "survey_id": 1, "customer_id": 2,
             "submitted_at": datetime(2025, 12, 31), "weight": 1.0},
            {"id": 4, "external_id": "R4", "survey_id": 1, "customer_id": 3,
             "submitted_at": datetime(2025, 12, 31), "weight": 1.0}])
        insert_rows(conn, answers, [
            {"response_id": 1, "item_code": "category_spend", "value_num": 99.0,
             "value_text": None},
            {"response_id": 2, "item_code": "category_spend", "value_num": 3000.0,
             "value_text": None},
            {"response_id": 3, "item_code": "category_spend", "value_num": -5.0,
             "value_text": None},
            {"response_id": 4, "item_code": "category_spend", "value_num": None,
             "value_text": "a lot"}])
    result = run("share-of-wallet", "--db", url, "--item", "category_spend", "--format", "json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    # C1's latest answer (R2, 2025-12-31) against 2025-01-01..2025-12-31: 1500 / 3000
    assert row["customer_id"] == "C1" and row["share_of_wallet"] == pytest.approx(0.5)
    assert row["period_start"] == "2025-01-01" and row["period_end"] == "2025-12-31"
    assert "response R3 (customer C2)" in result.stderr and "negative" in result.stderr
    assert "response R4 (customer C3)" in result.stderr and "not a number" in result.stderr
    assert_clear_error(run("share-of-wallet", "--db", url, "--item", "nothing"), "'nothing'")
