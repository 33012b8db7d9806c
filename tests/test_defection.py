"""Latent switching and defection reasons (patronage.analytics.defection).

The synthetic panel follows the BG/NBD story (Fader, Hardie & Lee 2005): Poisson purchasing
while active, some customers dropping out early.  Planted decliners stop buying in the last 90
days or cut their spend per purchase by 60% and visit less lately (P(alive) falls); they must
be found, stable buyers must not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patronage.analytics.btyd import BetaGeo, customer_summary
from patronage.analytics.defection import REASON_CODES, defection_reasons, latent_switching

START = pd.Timestamp("2022-01-01")
END = pd.Timestamp("2023-12-31")
WINDOW_START = END - pd.Timedelta(days=90)
N_STABLE, N_STOP, N_SPEND = 900, 40, 40


def _panel(seed=7):
    rng = np.random.default_rng(seed)
    days_total = (END - START).days
    ws = (WINDOW_START - START).days
    frames = []
    for c in range(N_STABLE + N_STOP + N_SPEND):
        rate = rng.gamma(8, 1 / 80)  # about one purchase in ten days
        first = int(rng.integers(0, 200))
        days = np.union1d([first], np.flatnonzero(rng.random(days_total + 1) < rate))
        days = days[days >= first]
        mean = rng.gamma(5, 10)
        amount = rng.gamma(4, mean / 4, days.size)
        if c < N_STABLE and c % 3 == 0:  # early drop-outs (p in the BG/NBD)
            keep = days <= rng.integers(first, ws - 60)
            days, amount = days[keep], amount[keep]
        elif N_STABLE <= c < N_STABLE + N_STOP:  # stop buying in the window
            keep = days <= ws
            days, amount = days[keep], amount[keep]
        elif c >= N_STABLE + N_STOP:
            # spend per purchase down 60%, a visit on the window start day (P(alive) high
            # then) and none in the last 20 days (so P(alive) falls by the end)
            amount = np.where(days > ws, amount * 0.4, amount)
            keep = (days <= days_total - 20) & (days != ws)
            days = np.append(days[keep], ws)
            amount = np.append(amount[keep], mean)
        frames.append(pd.DataFrame({"customer_id": c,
                                    "occurred_at": START + pd.to_timedelta(days, unit="D"),
                                    "amount": amount}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def panel():
    tx = _panel()
    base = customer_summary(tx[tx["occurred_at"] <= WINDOW_START], "customer_id",
                            "occurred_at", observation_period_end=WINDOW_START, freq="D")
    model = BetaGeo().fit(base["frequency"], base["recency"], base["T"])
    return tx, model


def test_planted_decliners_are_found_and_stable_customers_are_not(panel):
    tx, model = panel
    out = latent_switching(tx, model, observation_end=END, all_customers=True)
    ids = out.index.to_numpy()
    stable = out.loc[(ids < N_STABLE) & (ids % 3 != 0), "flagged"]
    stopped = out.loc[(ids >= N_STABLE) & (ids < N_STABLE + N_STOP), "flagged"]
    spend = out.loc[ids >= N_STABLE + N_STOP, "flagged"]
    assert stopped.mean() >= 0.9
    assert spend.mean() >= 0.9
    # Two tests at 5% each, both needing a falling P(alive): false alarms stay rare.
    assert stable.mean() <= 0.08
    flagged = latent_switching(tx, model, observation_end=END)
    assert flagged.index.isin(out.index[out["flagged"]]).all()
    assert flagged["value_at_risk"].is_monotonic_decreasing
    assert (flagged["p_alive_now"] < flagged["p_alive_before"]).all()


def test_reason_text_and_numbers(panel):
    tx, model = panel
    out = latent_switching(tx, model, observation_end=END, all_customers=True)
    row = out.loc[N_STABLE]  # a planted stopper
    assert row["purchases_window"] == 0
    assert row["reason"].startswith(f"bought 0 times in the last 90 days, model expected "
                                    f"{row['expected_window']:.1f}")
    assert row["reason_code"] == "fewer_purchases" and row["window_days"] == 90
    row = out.loc[N_STABLE + N_STOP]  # a planted spend decliner
    assert f"spend down {-row['spend_change'] * 100:.0f}% against own average" in row["reason"]
    assert "lower_spend" in row["reason_code"].split(";")
    # spend change is the customer's own before/after mean purchase amount
    c = tx[tx["customer_id"] == N_STABLE + N_STOP]
    before = c.loc[c["occurred_at"] <= WINDOW_START, "amount"].mean()
    after = c.loc[c["occurred_at"] > WINDOW_START, "amount"].mean()
    assert row["spend_change"] == pytest.approx(after / before - 1)
    # value at risk defaults to the trailing-12-month spend
    last_year = c.loc[c["occurred_at"] > END - pd.Timedelta(days=365), "amount"].sum()
    assert row["value_at_risk"] == pytest.approx(last_year)


def test_reason_codes_match_the_english_reason(panel):
    """The machine-readable code names exactly the parts the English text states, in order."""
    tx, model = panel
    out = latent_switching(tx, model, observation_end=END, all_customers=True)
    words = {"fewer_purchases": "bought ", "lower_spend": "spend down "}
    for code, reason, flagged in zip(out["reason_code"], out["reason"], out["flagged"],
                                     strict=True):
        assert (code != "") == (reason != "") == bool(flagged)
        parts = code.split(";") if code else []
        assert set(parts) <= set(REASON_CODES)
        assert [p for p in REASON_CODES if p in parts] == parts  # canonical order
        texts = reason.split("; ") if reason else []
        assert len(texts) == len(parts)
        assert all(text.startswith(words[p]) for text, p in zip(texts, parts, strict=True))
    both = out.loc[out["reason_code"] == "fewer_purchases;lower_spend"]
    assert not both.empty  # the panel has customers flagged on both counts


@pytest.mark.parametrize("language, expected", [
    ("en", "bought 1 time in the last 90 days, model expected 4.2; spend down 45% against own "
           "average"),
    ("zh_Hans", "近 90 天内购买 1 次，模型预期 4.2 次；单笔消费额比本人以往平均下降 45%"),
    ("zh_Hant", "近 90 天內購買 1 次，模型預期 4.2 次；單筆消費額比本人以往平均下降 45%"),
])
def test_reason_is_worded_in_the_interface_language(language, expected):
    """The reporting layer words the reason from the codes and numbers through the catalogs; in
    English it gives the analytics' own text back."""
    from patronage.reporting.loyalty import at_risk_reason
    from patronage.web.i18n import load_translations

    _ = load_translations()[language].gettext
    row = {"reason_code": "fewer_purchases;lower_spend", "purchases_window": 1.0,
           "expected_window": 4.2125, "window_days": 90, "spend_change": -0.449}
    assert at_risk_reason(row, _) == expected
    two = at_risk_reason({**row, "reason_code": "fewer_purchases", "purchases_window": 2.0}, _)
    assert two.split("，")[0].split(",")[0] in (
        "bought 2 times in the last 90 days", "近 90 天内购买 2 次", "近 90 天內購買 2 次")
    assert at_risk_reason({**row, "reason_code": ""}, _) == ""


def test_english_wording_equals_the_analytics_reason(panel):
    from patronage.reporting.loyalty import at_risk_reason

    tx, model = panel
    out = latent_switching(tx, model, observation_end=END)
    assert len(out) > 20
    for _id, row in out.iterrows():
        assert at_risk_reason(row, lambda s: s) == row["reason"]


def test_expected_count_is_the_model_conditional_expectation(panel):
    tx, model = panel
    out = latent_switching(tx, model, observation_end=END, all_customers=True)
    base = customer_summary(tx[tx["occurred_at"] <= WINDOW_START], "customer_id",
                            "occurred_at", observation_period_end=WINDOW_START, freq="D")
    expected = model.expected_purchases(90, base["frequency"], base["recency"], base["T"])
    np.testing.assert_allclose(out["expected_window"], expected.to_numpy())


def test_latent_switching_bad_input(panel):
    tx, model = panel
    with pytest.raises(ValueError, match="spend_drop"):
        latent_switching(tx, model, observation_end=END, spend_drop=1.5)
    with pytest.raises(ValueError, match="window"):
        latent_switching(tx, model, observation_end=END, window="soon")
    with pytest.raises(ValueError, match="BetaGeo"):
        latent_switching(tx, object(), observation_end=END)


def test_defection_reasons_hand_example():
    lost = pd.DataFrame({"reason": ["price", "service", "price", ["price", "moved"], None],
                         "competitor": ["Acme", "Acme", "Brio", None, None]})
    out = defection_reasons(lost)
    reasons = out.loc["reason"]
    assert reasons.loc["price", "count"] == 3 and reasons.loc["price", "share"] == 0.6
    assert reasons.loc["(not recorded)", "count"] == 1
    assert np.isnan(reasons.loc["(not recorded)", "share"])
    comp = out.loc["competitor"]
    assert comp.loc["Acme", "share"] == pytest.approx(2 / 3)
    assert comp.loc["(not recorded)", "count"] == 2
    with pytest.raises(ValueError, match="competitor"):
        defection_reasons(pd.DataFrame({"reason": ["x"]}))
