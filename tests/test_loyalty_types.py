"""The six loyalty types (and the not loyal) on hand-made customers, one per rule, with the order
of precedence, missing answers, the thresholds, the rules' sentences in three languages and the
features built from purchases, bonuses, redemptions, answers and profile marks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patronage.analytics.loyalty_types import (
    LOYALTY_TYPES,
    RULES,
    THRESHOLDS,
    classify_loyalty,
    loyalty_features,
    loyalty_summary,
    rule_table,
)

LOYAL = {"purchases": 8, "frequency_pct": 0.9, "recency_days": 20}


def _customers(**rows) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index")


def test_each_rule_on_a_customer_made_for_it():
    people = _customers(
        sole={**LOYAL, "few_alternatives": True, "trust": 3},
        wallet={**LOYAL, "share_of_wallet": 0.95},
        staff={**LOYAL, "affinity": True, "incentive_share": 0.9},
        fan={**LOYAL, "trust": 9, "incentive_share": 0.9},
        promoter={**LOYAL, "nps": 10},
        hunter={**LOYAL, "incentive_share": 0.6, "trust": 5},
        redeemer={**LOYAL, "redemptions_per_purchase": 0.75},
        habit={**LOYAL, "satisfaction": 6},
        silent={**LOYAL},
        admirer={"purchases": 1, "frequency_pct": 0.2, "recency_days": 60, "trust": 9},
        lapsed={"purchases": 6, "frequency_pct": 0.8, "recency_days": 300, "nps": 3},
        stranger={"purchases": 0, "satisfaction": 5},
    )
    types = classify_loyalty(people)["loyalty_type"].to_dict()
    assert types == {"sole": "monopoly", "wallet": "monopoly", "staff": "affinity",
                     "fan": "trust", "promoter": "trust", "hunter": "incentive",
                     "redeemer": "incentive", "habit": "inertia", "silent": "inertia",
                     "admirer": "latent", "lapsed": "none", "stranger": "none"}


def test_a_missing_answer_or_feature_meets_no_condition():
    people = _customers(
        no_answers={**LOYAL, "trust": np.nan, "nps": np.nan},
        no_recency={"purchases": 8, "frequency_pct": 0.9, "trust": 9},
        flag_unknown={**LOYAL, "few_alternatives": np.nan, "affinity": None},
    )
    types = classify_loyalty(people)["loyalty_type"].to_dict()
    # Without a recency a customer is not a repeat buyer; with a high trust, latent.
    assert types == {"no_answers": "inertia", "no_recency": "latent",
                     "flag_unknown": "inertia"}
    # Columns that are not there at all count as missing too.
    assert classify_loyalty(pd.DataFrame(index=["a"]))["loyalty_type"].tolist() == ["none"]


def test_thresholds_move_customers_between_types():
    people = _customers(a={**LOYAL, "recency_days": 200, "trust": 8},
                        b={**LOYAL, "incentive_share": 0.4})
    assert classify_loyalty(people)["loyalty_type"].tolist() == ["latent", "inertia"]
    changed = classify_loyalty(people, thresholds={"max_recency_days": 365,
                                                   "incentive_share": 0.4})
    assert changed["loyalty_type"].tolist() == ["trust", "incentive"]
    with pytest.raises(ValueError, match="unknown loyalty thresholds"):
        classify_loyalty(people, thresholds={"max_recency": 365})


def test_every_rule_is_stated_in_three_languages_with_its_thresholds():
    assert [rule.code for rule in RULES] == list(LOYALTY_TYPES)
    for language in ("en", "zh_Hans", "zh_Hant"):
        table = rule_table(language)
        assert table.index.tolist() == list(LOYALTY_TYPES)
        assert table["precedence"].tolist() == list(range(1, 8))
        assert all("{" not in text for text in table["rule"])
    english = rule_table("en")["rule"]
    assert "180 days" in english["monopoly"] and "90%" in english["monopoly"]
    assert "top 50%" in english["inertia"]
    assert "0.5 redemptions" in english["incentive"]
    assert "信任度至少8分" in rule_table("zh_Hans").at["trust", "rule"]
    assert "購買頻次居前30%" in rule_table("zh_Hant", {"min_frequency_pct": 0.7}).at[
        "inertia", "rule"]
    assert THRESHOLDS["high_nps"] == 9  # a promoter, as NPS counts them


def test_summary_counts_customers_per_type_in_the_order_of_precedence():
    people = _customers(a={**LOYAL, "trust": 9}, b={**LOYAL}, c={**LOYAL}, d={"purchases": 0})
    summary = loyalty_summary(classify_loyalty(people), language="zh_Hans")
    assert summary.index.tolist() == list(LOYALTY_TYPES)
    assert summary.loc[["trust", "inertia", "none", "latent"], "customers"].tolist() == [1, 2, 1, 0]
    assert summary["share"].sum() == pytest.approx(1.0)
    assert summary.at["none", "rule"].startswith("其余客户")


def test_features_from_purchases_bonuses_redemptions_answers_and_marks():
    day = pd.Timestamp("2026-06-30")
    sales = pd.DataFrame({
        "transaction_id": ["t1", "t2", "t3", "t4", "t5", "t6", "r1"],
        "customer_id": ["A", "A", "A", "A", "B", "C", "A"],
        "occurred_at": pd.to_datetime(["2025-05-01 10:00", "2025-08-01 10:00", "2026-03-01 10:00",
                                       "2026-06-30 18:00",
                                       "2026-01-10 10:00", "2026-06-01 10:00", "2026-06-02 10:00"]),
        "is_refund": [False, False, False, False, False, False, True]})
    answers = pd.DataFrame({
        "customer_id": ["A", "A", "B", "D"], "item_code": ["trust", "trust", "nps", "trust"],
        "submitted_at": pd.to_datetime(["2025-01-01", "2026-02-01", "2026-03-01", "2026-01-01"]),
        "value": [4.0, 9.0, 10.0, 8.0]})
    redemptions = pd.DataFrame({"customer_id": ["A", "A", "B"],
                                "occurred_at": pd.to_datetime(["2024-01-01", "2026-05-01",
                                                               "2026-02-01"])})
    flags = pd.DataFrame({"few_alternatives": [True]}, index=pd.Index(["C"], name="customer_id"))
    features = loyalty_features(sales, as_of=day, bonus_transactions={"t2", "t4"},
                                redemptions=redemptions, answers=answers, flags=flags)
    a, b, c, d = (features.loc[k] for k in "ABCD")
    assert a["purchases"] == 3 and a["recency_days"] == 0  # t1 is older than a year
    assert a["incentive_share"] == pytest.approx(2 / 3)
    assert a["redemptions_per_purchase"] == pytest.approx(1 / 3)
    assert a["trust"] == 9  # the latest answer
    assert b["nps"] == 10 and np.isnan(b["trust"]) and b["recency_days"] == 171
    assert c["few_alternatives"] is True or c["few_alternatives"] == 1
    assert d["purchases"] == 0 and np.isnan(d["frequency_pct"]) and d["trust"] == 8
    # Percentiles among the buyers of the year: A bought most.
    assert a["frequency_pct"] == 1.0 and b["frequency_pct"] == pytest.approx(2 / 3)
    types = classify_loyalty(features)["loyalty_type"].to_dict()
    assert types["A"] == "trust" and types["D"] == "latent"
