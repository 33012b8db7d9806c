"""Raking stored responses to population margins, SERVQUAL and CES from the command line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from patronage.satisfaction.sources import survey_data_from_db
from patronage.analytics.servqual import servqual_items
from patronage.cli import main


@pytest.mark.db
def test_weights_rake_to_the_wave_margins_and_are_stored(panel, db_url, tmp_path):
    engine, _info = panel
    margins = tmp_path / "population.csv"
    margins.write_text("variable,category,share\nwave,2026-Q1,0.25\nwave,2026-Q2,0.75\n")
    runner = CliRunner()
    shown = runner.invoke(main, ["analyze", "weights", "--db", db_url, "--margins", str(margins),
                                 "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert survey_data_from_db(engine).weights.eq(1.0).all()  # not stored without --apply
    applied = runner.invoke(main, ["analyze", "weights", "--db", db_url, "--margins",
                                   str(margins), "--apply"])
    assert applied.exit_code == 0 and "Stored the weights of 60 responses" in applied.output
    data = survey_data_from_db(engine, include_flagged=True)
    # 30 + 30 responses raked to 25% / 75%: weights 0.5 and 1.5 (they sum to n = 60)
    by_wave = data.weights.groupby(data.meta["wave"]).agg(["min", "max"])
    assert by_wave.loc["2026-Q1"].tolist() == pytest.approx([0.5, 0.5])
    assert by_wave.loc["2026-Q2"].tolist() == pytest.approx([1.5, 1.5])


def test_bad_margins_file_names_the_line(panel, db_url, tmp_path):
    margins = tmp_path / "population.csv"
    margins.write_text("variable,category,share\nwave,2026-Q1,a quarter\n")
    result = CliRunner().invoke(main, ["analyze", "weights", "--db", db_url, "--margins",
                                       str(margins)])
    assert result.exit_code == 1
    assert "population.csv, line 2, column share: 'a quarter' is not a number" in result.output


def test_servqual_and_ces_from_a_file(tmp_path):
    rng = np.random.default_rng(4)
    codes = [c for items in servqual_items().values() for c in items]
    frame = pd.DataFrame({c: rng.integers(3, 8, 40) for c in codes})
    for c in codes:
        frame[f"{c}.exp"] = np.clip(frame[c] + 1, 1, 7)  # every expectation one point higher
    frame.loc[frame.index < 20, "sq1.exp"] = frame.loc[frame.index < 20, "sq1"]
    frame["ces"] = rng.integers(1, 8, 40)
    path = tmp_path / "servqual.csv"
    frame.to_csv(path, index=False)
    runner = CliRunner()
    result = runner.invoke(main, ["analyze", "servqual", "--file", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    expected = (frame["sq2"] - frame["sq2.exp"]).mean()
    assert rows["sq2"]["gap"] == pytest.approx(expected)
    assert rows["sq1"]["gap"] == pytest.approx((frame["sq1"] - frame["sq1.exp"]).mean())
    ces = runner.invoke(main, ["analyze", "ces", "--file", str(path), "--by", "none",
                               "--format", "json"])
    assert ces.exit_code == 0 and json.loads(ces.output)[0]["mean"] == pytest.approx(
        frame["ces"].mean())


def test_competitor_comparison_from_a_file(tmp_path):
    """Paired comparison (Student 1908 paired t; checked against scipy.stats.ttest_rel)."""
    from scipy import stats

    rng = np.random.default_rng(8)
    own = rng.integers(5, 11, 60)
    frame = pd.DataFrame({"delivery": own, "competitor.hengtai.delivery": own - rng.integers(0, 3, 60),
                          "price": rng.integers(4, 9, 60)})
    frame["competitor.hengtai.price"] = frame["price"] + rng.integers(-1, 3, 60)
    path = tmp_path / "ratings.csv"
    frame.to_csv(path, index=False)
    result = CliRunner().invoke(main, ["analyze", "competitor", "--file", str(path), "--name",
                                       "hengtai", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["item"]: r for r in json.loads(result.output)}
    assert rows["delivery"]["difference"] > 0 > rows["price"]["difference"]
    expected = stats.ttest_rel(frame["delivery"], frame["competitor.hengtai.delivery"]).pvalue
    assert rows["delivery"]["p_value"] == pytest.approx(expected)
    unknown = CliRunner().invoke(main, ["analyze", "competitor", "--file", str(path), "--name", "x"])
    assert unknown.exit_code == 1 and "rated competitors: hengtai" in unknown.output


def test_importance_performance_against_a_competitor(demo_company, tmp_path):
    """IPA quadrants (Martilla & James 1977) with a competitor's dimension scores: the export
    of the demo survey plus a competitor rated one point lower on every product item."""
    from patronage.satisfaction.sources import survey_data_from_db
    from patronage.index_system import load_index_system
    from patronage.storage import make_engine

    url, _summary, _company = demo_company
    engine = make_engine(url)
    try:
        data = survey_data_from_db(engine)
    finally:
        engine.dispose()
    items = load_index_system().items
    frame = data.answers.copy()
    for code in items.loc[items["dimension"] == "product", "item_code"]:
        frame[f"competitor.hengtai.{code}"] = (frame[code] - 1).clip(lower=1)
    path = tmp_path / "export.csv"
    frame.reset_index().to_csv(path, index=False)
    result = CliRunner().invoke(main, ["analyze", "ipa", "--file", str(path), "--competitor",
                                       "hengtai", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["dimension"]: r for r in json.loads(result.output)}
    assert 0 < rows["product"]["gap_vs_competitor"] <= 100 / 9
    assert rows["service"]["competitor_performance"] is None


def test_servqual_gap1_against_a_management_survey(tmp_path):
    """Gap 1 (Parasuraman, Zeithaml & Berry 1985): managers' estimate of expectations minus the
    customers' own; managers here underestimate reliability by one point."""
    codes = [c for items in servqual_items().values() for c in items]
    customers = pd.DataFrame({f"{c}.exp": [6, 7, 6, 7] for c in codes})
    for c in codes:
        customers[c] = [5, 5, 6, 6]
    managers = pd.DataFrame({f"{c}.exp": [6.5, 6.5] for c in codes})
    for c in servqual_items()["reliability"]:
        managers[f"{c}.exp"] = [5.5, 5.5]
    customer_path, manager_path = tmp_path / "c.csv", tmp_path / "m.csv"
    customers.to_csv(customer_path, index=False)
    managers.to_csv(manager_path, index=False)
    result = CliRunner().invoke(main, ["analyze", "servqual", "--file", str(customer_path),
                                       "--management-file", str(manager_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["dimension"]: r for r in json.loads(result.output)}
    assert rows["reliability"]["gap1"] == pytest.approx(-1.0)
    assert rows["empathy"]["gap1"] == pytest.approx(0.0)


def test_margins_files_are_read_like_import_files(tmp_path):
    """A margins file saved by Chinese Excel (GB18030) is read; a damaged one is refused."""
    from patronage.satisfaction.weights import read_margins

    path = tmp_path / "population.csv"
    path.write_bytes("variable,category,share\nregion,北京,0.4\nregion,上海,0.6\n"
                     .encode("gb18030"))
    margins = read_margins(path)
    assert margins["region"].to_dict() == {"北京": 0.4, "上海": 0.6}
    path.write_bytes(b"variable,category,share\nregion,North,0.4\x00\n")
    with pytest.raises(ValueError, match=r"population.csv, line 2, column share: .*NUL"):
        read_margins(path)
    bad = tmp_path / "population.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="population.xlsx: cannot open"):
        read_margins(bad)
