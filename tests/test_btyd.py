"""Buy-till-you-die models checked against published estimates and the ``lifetimes`` package.

References
----------
FHL05  Fader, Hardie & Lee (2005), "Counting your customers" the easy way: an alternative to the
       Pareto/NBD model. Marketing Science 24(2), 275-284 (CDNOW cohort of 2,357 customers,
       39-week calibration): BG/NBD r = 0.243, alpha = 4.414, a = 0.793, b = 2.426,
       LL = -9582.4; E[X(39) | x = 2, t_x = 30.43, T = 38.86] = 1.226.
FHL08  Fader, Hardie & Lee (2005), note 008 "A note on implementing the Pareto/NBD model in
       MATLAB": Pareto/NBD on the same data r = 0.553, alpha = 10.578, s = 0.606,
       beta = 11.669, LL = -9595.0.
FH25   Fader & Hardie (2013), note 025 "The Gamma-Gamma model of monetary value": p = 6.25,
       q = 3.74, gamma = 15.44 on the 946 CDNOW repeat buyers.
FHS10  Fader, Hardie & Shang (2010), Marketing Science 29(6), 1086-1108, Table 2 (donations,
       11,104 donors, 6 opportunities): alpha = 1.204, beta = 0.750, gamma = 0.657,
       delta = 2.783, LL = -33,225.6.
lifetimes 0.11.3 (Davidson-Pilon) for predictions, CLV and the transaction summary.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize

from patronage.analytics.btyd import (
    BetaGeo,
    BetaGeoBetaBinom,
    ConvergenceWarning,
    GammaGamma,
    ParetoNBD,
    calibration_holdout_summary,
    customer_lifetime_value,
    customer_summary,
    holdout_comparison,
    lifetime_value_factor,
)
from patronage.analytics.btyd.beta_geo import _prepare as bg_prepare
from patronage.analytics.btyd.pareto_nbd import log_integral


def quiet(func, *args, **kwargs):
    """Call a lifetimes function with its pandas/numpy deprecation warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


@pytest.fixture(scope="module")
def lt():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lifetimes = pytest.importorskip("lifetimes")
        import lifetimes.datasets
        import lifetimes.utils
    return lifetimes


@pytest.fixture(scope="module")
def cdnow(lt):
    return quiet(lt.datasets.load_cdnow_summary_data_with_monetary_value)


@pytest.fixture(scope="module")
def donations(lt):
    return quiet(lt.datasets.load_donations)


@pytest.fixture(scope="module")
def cdnow_master(lt):
    path = os.path.join(os.path.dirname(lt.datasets.__file__), "CDNOW_master.txt")
    return pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})


@pytest.fixture(scope="module")
def bgnbd(cdnow):
    return BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def pnbd(cdnow):
    return ParetoNBD().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def gg(cdnow):
    rep = cdnow[cdnow["frequency"] > 0]
    return GammaGamma().fit(rep["frequency"], rep["monetary_value"])


def _rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


# -- published estimates --------------------------------------------------------------------------
def test_bgnbd_matches_fader_hardie_lee_2005(bgnbd):
    """FHL05 section 4: r, alpha, a, b, LL and the conditional expectation for customer 1."""
    expected = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in expected.items():
        assert bgnbd.params_[name] == pytest.approx(value, abs=6e-4)
    assert bgnbd.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert bgnbd.converged_ and bgnbd.n_customers_ == 2357
    assert bgnbd.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=5e-4)


def test_pareto_nbd_matches_fader_hardie_lee_note_008(pnbd):
    expected = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    for name, value in expected.items():
        assert pnbd.params_[name] == pytest.approx(value, rel=1e-3)
    assert pnbd.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)


def test_gamma_gamma_matches_note_025(gg):
    assert gg.params_["p"] == pytest.approx(6.25, abs=5e-3)
    assert gg.params_["q"] == pytest.approx(3.74, abs=5e-3)
    assert gg.params_["v"] == pytest.approx(15.44, abs=1e-2)
    assert gg.n_customers_ == 946


def test_bgbb_matches_fader_hardie_shang_2010(donations):
    model = BetaGeoBetaBinom().fit(donations["frequency"], donations["recency"],
                                   donations["periods"], weights=donations["weights"])
    expected = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    for name, value in expected.items():
        assert model.params_[name] == pytest.approx(value, abs=6e-4)
    assert model.log_likelihood_ == pytest.approx(-33225.6, abs=0.05)
    assert model.n_customers_ == 11104


# -- agreement with lifetimes ---------------------------------------------------------------------
def _lifetimes_model(cls, params):
    model = cls()
    model.params_ = pd.Series(params)
    return model


def test_bgnbd_predictions_equal_lifetimes(lt, bgnbd, cdnow):
    x, tx, age = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    ref = _lifetimes_model(lt.BetaGeoFitter, bgnbd.params_)
    assert _rel(bgnbd.probability_alive(x, tx, age),
                quiet(ref.conditional_probability_alive, x, tx, age)) < 1e-10
    for t in (1.0, 39.0, 52.0):
        ours = bgnbd.expected_purchases(t, x, tx, age)
        theirs = quiet(ref.conditional_expected_number_of_purchases_up_to_time, t, x, tx, age)
        assert _rel(ours, theirs) < 1e-8
    ts = np.array([1.0, 10.0, 78.0])
    assert _rel(bgnbd.expected_purchases_unconditional(ts),
                quiet(ref.expected_number_of_purchases_up_to_time, ts)) < 1e-10
    # lifetimes' own fit reaches the same optimum
    fitted = quiet(lt.BetaGeoFitter().fit, x, tx, age)
    assert _rel(list(bgnbd.params_.values()), fitted.params_.to_numpy()) < 1e-3
    assert _rel(list(bgnbd.standard_errors_.values()), fitted.standard_errors_.to_numpy()) < 2e-2


def test_pareto_nbd_predictions_equal_lifetimes(lt, pnbd, cdnow):
    """The integral form equals the 2F1 form (FHS 2005 eq. 18) lifetimes implements."""
    x, tx, age = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    params = pnbd.params_
    ref = _lifetimes_model(lt.ParetoNBDFitter, params)
    row_ll = quiet(lt.ParetoNBDFitter._conditional_log_likelihood,
                   [params[k] for k in ("r", "alpha", "s", "beta")], x.to_numpy(),
                   tx.to_numpy(), age.to_numpy())
    assert pnbd.log_likelihood_ == pytest.approx(float(np.sum(row_ll)), abs=1e-8)
    assert _rel(pnbd.probability_alive(x, tx, age),
                quiet(ref.conditional_probability_alive, x, tx, age)) < 1e-8
    ours = pnbd.expected_purchases(39.0, x, tx, age)
    theirs = quiet(ref.conditional_expected_number_of_purchases_up_to_time, 39.0, x, tx, age)
    assert _rel(ours, theirs) < 1e-8
    ts = np.array([1.0, 39.0, 78.0])
    assert _rel(pnbd.expected_purchases_unconditional(ts),
                quiet(ref.expected_number_of_purchases_up_to_time, ts)) < 1e-10


@pytest.mark.parametrize("params", [(0.55, 10.6, 0.6, 11.7), (3.0, 50.0, 0.1, 0.01),
                                    (0.5, 1e-3, 0.5, 1e3), (0.5, 1e3, 0.5, 1e-3),
                                    (20.0, 1e-3, 0.01, 1e-4)])
def test_pareto_nbd_integral_is_accurate_for_extreme_parameters(params):
    """The truncated Gauss-Legendre rule against adaptive quadrature (scipy.integrate.quad)."""
    r, alpha, s, beta = params
    rng = np.random.default_rng(1)
    x = np.concatenate([[0.0, 0.0, 1.0, 2.0], rng.integers(1, 300, 6)])
    age = rng.uniform(1, 60, x.size)
    tx = np.where(x > 0, age * rng.uniform(0, 1, x.size) ** 3, 0.0)
    ours = log_integral(r, alpha, s, beta, x, tx, age)[0]
    g = min(alpha, beta)
    for xi, ti, Ti, value in zip(x, tx, age, ours, strict=True):
        def phi(u, xi=xi):
            e = np.exp(u)
            return u - (r + xi) * np.log(e - g + alpha) - (s + 1) * np.log(e - g + beta)
        lo, hi = np.log(g + ti), np.log(g + Ti)
        grid = np.linspace(lo, hi, 4001)
        top = phi(grid).max()
        ref, _ = integrate.quad(lambda u, phi=phi, top=top: np.exp(phi(u) - top), lo, hi,
                                points=grid[1:-1:100], limit=500, epsabs=0, epsrel=1e-12)
        assert value == pytest.approx(top + np.log(ref), abs=1e-9)


def test_gamma_gamma_and_clv_equal_lifetimes(lt, bgnbd, gg, cdnow):
    x, tx, age, m = (cdnow[c] for c in ("frequency", "recency", "T", "monetary_value"))
    ref_gg = _lifetimes_model(lt.GammaGammaFitter, gg.params_)
    assert _rel(gg.conditional_expected_average_profit(x, m),
                quiet(ref_gg.conditional_expected_average_profit, x, m)) < 1e-12
    ref_bg = _lifetimes_model(lt.BetaGeoFitter, bgnbd.params_)
    ref_bg.predict = ref_bg.conditional_expected_number_of_purchases_up_to_time
    theirs = quiet(ref_gg.customer_lifetime_value, ref_bg, x, tx, age, m, time=12,
                   discount_rate=0.01, freq="W")
    ours = customer_lifetime_value(bgnbd, gg, x, tx, age, m, time=12, discount_rate=0.01,
                                   margin=1.0, freq="W")
    assert isinstance(ours, pd.Series) and ours.index.equals(cdnow.index)
    assert _rel(ours, theirs) < 1e-4
    half = customer_lifetime_value(bgnbd, gg, x, tx, age, m, margin=0.5)
    assert np.allclose(half, 0.5 * ours, rtol=1e-12)
    fitted = quiet(lt.GammaGammaFitter().fit, x[x > 0], m[x > 0])
    assert _rel(list(gg.params_.values()), fitted.params_.to_numpy()) < 1e-3


def test_the_factors_an_engine_tabulates_rebuild_the_forecasts(lt, bgnbd, gg, cdnow):
    """Issue 16: per distinct (x, T) an engine tabulates E[X | alive] and the discounted value
    factor; times P(alive) (and the expected spend and margin) they give lifetimes' conditional
    expected purchases and CLV on CDNOW."""
    x, tx, age, m = (cdnow[c] for c in ("frequency", "recency", "T", "monetary_value"))
    ref_bg = _lifetimes_model(lt.BetaGeoFitter, bgnbd.params_)
    alive = bgnbd.probability_alive(x, tx, age)
    if_alive = bgnbd.expected_purchases_if_alive(13.0, x, age)
    theirs = quiet(ref_bg.conditional_expected_number_of_purchases_up_to_time, 13.0, x, tx, age)
    assert _rel(if_alive * alive, theirs) < 1e-10
    factor = lifetime_value_factor(bgnbd, x, age, time=12, discount_rate=0.01, freq="W")
    rebuilt = 0.3 * gg.conditional_expected_average_profit(x, m) * alive * factor
    ours = customer_lifetime_value(bgnbd, gg, x, tx, age, m, time=12, discount_rate=0.01,
                                   margin=0.3, freq="W")
    assert _rel(rebuilt, ours) < 1e-12
    with pytest.raises(ValueError, match="BetaGeo"):
        lifetime_value_factor(object(), x, age)


def test_bgbb_predictions_equal_lifetimes(lt, donations):
    x, tx, n, w = (donations[c] for c in ("frequency", "recency", "periods", "weights"))
    model = BetaGeoBetaBinom().fit(x, tx, n, weights=w)
    ref = _lifetimes_model(lt.BetaGeoBetaBinomFitter, model.params_)
    for m in (0, 1, 5):
        assert _rel(model.probability_alive(x, tx, n, m),
                    quiet(ref.conditional_probability_alive, m, x, tx, n)) < 1e-10
    assert _rel(model.expected_purchases(5, x, tx, n),
                quiet(ref.conditional_expected_number_of_purchases_up_to_time, 5, x, tx, n)) < 1e-10
    # FHS10 eq. 8 by simulation-free identity: E[X(n)] at n = 6 equals the observed mean
    # frequency within a few percent for this well-fitting model (Table 3 of FHS10).
    observed = float(np.average(x, weights=w))
    assert model.expected_purchases_unconditional(6) == pytest.approx(observed, rel=0.03)


# -- gradients, convergence, persistence ----------------------------------------------------------
def _grad_error(model, params, data):
    def f(p):
        return model._loglik(p, data)[0]

    def g(p):
        return model._loglik(p, data)[1]
    return optimize.check_grad(f, g, params, epsilon=1e-6 * params) / np.linalg.norm(g(params))


def test_analytic_gradients_match_finite_differences(cdnow, donations):
    x, tx, age = (cdnow[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    ones = np.ones(x.size)
    bg = BetaGeo()
    assert _grad_error(bg, np.array([0.3, 3.0, 0.9, 2.0]), bg_prepare(x, tx, age, ones)) < 1e-5
    from patronage.analytics.btyd.pareto_nbd import _Data as PData
    pn = ParetoNBD()
    pdata = PData(x=x, tx=tx, T=age, w=ones, total=float(x.size), mean_rate=0.1)
    assert _grad_error(pn, np.array([0.4, 8.0, 0.9, 15.0]), pdata) < 1e-5
    assert _grad_error(pn, np.array([0.4, 20.0, 0.9, 2.0]), pdata) < 1e-5
    from patronage.analytics.btyd.gamma_gamma import _Data as GData
    rep = x > 0
    m = cdnow["monetary_value"].to_numpy()[rep]
    gdata = GData(x=x[rep], m=m, w=ones[rep], total=float(rep.sum()), mean_spend=m.mean())
    assert _grad_error(GammaGamma(), np.array([5.0, 3.0, 12.0]), gdata) < 1e-5
    from patronage.analytics.btyd.bg_bb import _Data as BData
    d = donations
    bdata = BData(x=d["frequency"].to_numpy(float), tx=d["recency"].to_numpy(float),
                  n=d["periods"].to_numpy(float), w=d["weights"].to_numpy(float), total=1.0)
    assert _grad_error(BetaGeoBetaBinom(), np.array([1.5, 0.6, 0.8, 2.0]), bdata) < 1e-5


def test_weights_compress_identical_customers(cdnow):
    """Fitting on unique rows with counts gives the same estimates as the full data."""
    grouped = cdnow.groupby(["frequency", "recency", "T"]).size().reset_index(name="n")
    full = BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    compact = BetaGeo().fit(grouped["frequency"], grouped["recency"], grouped["T"],
                            weights=grouped["n"])
    assert _rel(list(compact.params_.values()), list(full.params_.values())) < 1e-6
    assert compact.n_customers_ == len(cdnow)


def test_no_repeat_purchases_is_a_clear_error():
    zeros = np.zeros(100)
    with pytest.raises(ValueError, match="repeat purchase"):
        BetaGeo().fit(zeros, zeros, np.full(100, 30.0))
    with pytest.raises(ValueError, match="repeat purchase"):
        ParetoNBD().fit(zeros, zeros, np.full(100, 30.0))
    with pytest.raises(ValueError, match="at least one repeat purchase"):
        GammaGamma().fit(zeros, np.ones(100))


def test_degenerate_data_warns_convergence():
    """Identical customers with no dropout: heterogeneity and dropout are not identified."""
    x, age = np.full(50, 10.0), np.full(50, 20.0)
    with pytest.warns(ConvergenceWarning, match="penalizer"):
        model = BetaGeo().fit(x, age, age)
    assert not model.converged_
    with pytest.warns(ConvergenceWarning):
        assert not ParetoNBD().fit(x, age, age).converged_


def test_penalizer_shrinks_and_converges(cdnow):
    plain = BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    shrunk = BetaGeo(penalizer=0.01).fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert shrunk.converged_
    assert sum(v**2 for v in shrunk.params_.values()) < sum(v**2 for v in plain.params_.values())


def test_bad_input_raises():
    with pytest.raises(ValueError, match="recency must not exceed T"):
        BetaGeo().fit([1, 2], [5.0, 3.0], [4.0, 6.0])
    with pytest.raises(ValueError, match="missing"):
        BetaGeo().fit([1, np.nan], [1.0, 1.0], [4.0, 6.0])
    with pytest.raises(ValueError, match="whole numbers"):
        BetaGeo().fit([1.5, 2], [1.0, 1.0], [4.0, 6.0])
    with pytest.raises(ValueError, match="not fitted"):
        BetaGeo().probability_alive([1], [1.0], [2.0])
    with pytest.raises(ValueError, match="penalizer"):
        BetaGeo(penalizer=-1).fit([1, 2], [1.0, 2.0], [4.0, 6.0])


def test_json_round_trip(bgnbd, pnbd, gg, cdnow):
    for model in (bgnbd, pnbd):
        again = type(model).from_json(model.to_json())
        assert again.params_ == model.params_
        assert again.log_likelihood_ == model.log_likelihood_
        assert np.allclose(again.probability_alive(cdnow["frequency"], cdnow["recency"],
                                                   cdnow["T"]),
                           model.probability_alive(cdnow["frequency"], cdnow["recency"],
                                                   cdnow["T"]))
    assert GammaGamma.from_json(gg.to_json()).params_ == gg.params_
    with pytest.raises(ValueError, match="not BetaGeo"):
        BetaGeo.from_json(pnbd.to_json())


# -- customer summary and holdout -----------------------------------------------------------------
@pytest.mark.parametrize("freq", ["D", "W"])
def test_summary_equals_lifetimes(lt, cdnow_master, freq):
    args = (cdnow_master, "customer_id", "date", "dollar_value")
    kw = {"datetime_format": "%Y%m%d", "observation_period_end": "19980630", "freq": freq}
    ours = customer_summary(*args, **kw)
    theirs = quiet(lt.utils.summary_data_from_transaction_data, *args, **kw)
    exact = ["frequency", "recency", "T"]
    pd.testing.assert_frame_equal(ours[exact], theirs[exact], check_exact=True, check_names=False)
    # mean repeat spend: same values up to floating-point summation order
    pd.testing.assert_series_equal(ours["monetary_value"], theirs["monetary_value"],
                                   check_exact=False, rtol=1e-13, atol=0, check_names=False)
    # extra columns: spend over all transactions and profit
    total = cdnow_master.groupby("customer_id")["dollar_value"].sum()
    assert np.allclose(ours["total_spend"], total.reindex(ours.index))
    costed = cdnow_master.assign(cost=cdnow_master["dollar_value"] * 0.7)
    with_profit = customer_summary(costed, "customer_id", "date", "dollar_value", "cost", **kw)
    assert np.allclose(with_profit["profit"], 0.3 * with_profit["total_spend"])


def test_calibration_holdout_and_comparison(lt, cdnow_master):
    """FHL05 design: 39-week calibration to 1997-09-30, holdout to 1998-06-30 (weeks)."""
    args = (cdnow_master, "customer_id", "date", "19970930", "19980630")
    ours = calibration_holdout_summary(*args, "dollar_value", datetime_format="%Y%m%d", freq="W")
    theirs = quiet(lt.utils.calibration_and_holdout_data, *args, freq="W",
                   datetime_format="%Y%m%d", monetary_value_col="dollar_value")
    pd.testing.assert_frame_equal(ours[theirs.columns], theirs, check_exact=False, rtol=1e-12,
                                  check_names=False)
    model = BetaGeo().fit(ours["frequency_cal"], ours["recency_cal"], ours["T_cal"])
    table = holdout_comparison(model, ours, "frequency_holdout")
    pred = model.expected_purchases(ours["duration_holdout"], ours["frequency_cal"],
                                    ours["recency_cal"], ours["T_cal"])
    bucket = ours["frequency_cal"].clip(upper=7)
    assert np.allclose(table["predicted"].iloc[:8], pred.groupby(bucket).mean())
    assert np.allclose(table["actual"].iloc[:8],
                       ours["frequency_holdout"].groupby(bucket).mean())
    assert table.loc["all", "customers"] == len(ours)
    assert table.loc["all", "mae"] == pytest.approx(np.mean(np.abs(ours["frequency_holdout"]
                                                                   - pred)))
    # FHL05 Fig. 5: conditional expectations track the holdout means closely
    assert np.abs(table["predicted"] - table["actual"]).iloc[:7].max() < 0.5


def test_summary_with_integer_ids_equals_lifetimes(lt):
    """Integer ids take the bincount path; lifetimes' example log (5,000 customers, 2014)."""
    log = quiet(lt.datasets.load_transaction_data)
    assert log["id"].dtype.kind == "i"
    for freq in ("D", "W"):
        ours = customer_summary(log, "id", "date", freq=freq, observation_period_end="2014-12-31")
        theirs = quiet(lt.utils.summary_data_from_transaction_data, log, "id", "date", freq=freq,
                       observation_period_end="2014-12-31")
        pd.testing.assert_frame_equal(ours[theirs.columns], theirs, check_exact=True,
                                      check_names=False)


def test_pareto_nbd_weights_and_clv_equal_lifetimes(lt, pnbd, gg, cdnow):
    grouped = cdnow.groupby(["frequency", "recency", "T"]).size().reset_index(name="n")
    compact = ParetoNBD().fit(grouped["frequency"], grouped["recency"], grouped["T"],
                              weights=grouped["n"])
    assert _rel(list(compact.params_.values()), list(pnbd.params_.values())) < 1e-6
    x, tx, age, m = (cdnow[c] for c in ("frequency", "recency", "T", "monetary_value"))
    ref_pn = _lifetimes_model(lt.ParetoNBDFitter, pnbd.params_)
    ref_pn.predict = ref_pn.conditional_expected_number_of_purchases_up_to_time
    ref_gg = _lifetimes_model(lt.GammaGammaFitter, gg.params_)
    theirs = quiet(ref_gg.customer_lifetime_value, ref_pn, x, tx, age, m, time=6,
                   discount_rate=0.02, freq="W")
    ours = customer_lifetime_value(pnbd, gg, x, tx, age, m, time=6, discount_rate=0.02)
    assert _rel(ours, theirs) < 1e-6
    assert isinstance(pnbd.probability_alive(2, 30.43, 38.86), float)


# -- fine-grained data (issue 10 item 30) ---------------------------------------------------------
def _simulate_fine_bgnbd(n: int, seed: int = 7, step: float = 0.01) -> pd.DataFrame:
    """n BG/NBD customers (FHL05 CDNOW parameters) with recency and T recorded to ``step``
    weeks, so that almost no two repeat buyers share a row (grouping does not help)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.243, 1.0 / 4.414, size=n)
    p = rng.beta(0.793, 2.426, size=n)
    age = np.round((51.0 - rng.uniform(0.0, 12.0, size=n)) / step) * step
    count = rng.poisson(lam * age)
    x = np.minimum(count, rng.geometric(p))
    rep = x > 0
    tx = np.zeros(n)
    tx[rep] = age[rep] * rng.beta(x[rep], count[rep] - x[rep] + 1)
    tx = np.where(rep, np.clip(np.round(tx / step) * step, step, age), 0.0)
    return pd.DataFrame({"frequency": x.astype(float), "recency": tx, "T": age})


@pytest.fixture(scope="module")
def fine():
    return _simulate_fine_bgnbd(150_000)


def test_bgnbd_on_fine_grained_data_reads_the_customers_few_times(fine):
    """Speed on 0.01-week data comes from few passes over the customers: a fit must evaluate
    the likelihood on all repeat buyers at most 6 times (L-BFGS-B from a rough start took 25)."""
    model = BetaGeo()
    passes = []
    for name in ("_loglik", "_loglik_hessian"):
        method = getattr(model, name, None)
        if method is None:
            continue

        def counted(params, data, method=method):
            passes.append(len(data.rx))
            return method(params, data)
        setattr(model, name, counted)
    model.fit(fine["frequency"], fine["recency"], fine["T"])
    full_rows = max(passes)
    assert full_rows > 0.95 * (fine["frequency"] > 0).sum()  # rows barely merge at 0.01 week
    assert model.converged_
    assert passes.count(full_rows) <= 6


def test_bgnbd_on_fine_grained_data_equals_lifetimes(lt, fine):
    """Same optimum as lifetimes' BetaGeoFitter on data with few repeated rows: parameters to
    1e-4, log-likelihood to 1e-6 (relative); standard errors from the analytic Hessian agree
    with the numerical ones of a finite-difference Hessian of the gradient."""
    x, tx, age = fine["frequency"], fine["recency"], fine["T"]
    ours = BetaGeo().fit(x, tx, age)
    theirs = quiet(lt.BetaGeoFitter().fit, x, tx, age)
    assert _rel(list(ours.params_.values()), theirs.params_.to_numpy()) < 1e-4
    data = bg_prepare(*(c.to_numpy(float) for c in (x, tx, age)), np.ones(len(fine)))
    their_ll = ours._loglik(theirs.params_.to_numpy(), data)[0]  # in our time unit
    assert ours.log_likelihood_ == pytest.approx(their_ll, rel=1e-6)
    assert ours.log_likelihood_ >= their_ll - 1e-6 * abs(their_ll)
    theta = np.log(list(ours.params_.values()))
    numeric = ours._difference_hessian(theta, data)
    analytic = ours._objective_hessian(theta, data, 1.0)[2]
    assert np.max(np.abs(analytic - numeric)) < 1e-5 * np.max(np.abs(numeric))
