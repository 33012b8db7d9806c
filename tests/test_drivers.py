"""Key driver analysis: Johnson's relative weights and Shapley-value regression.

References
----------
* Johnson 2000, Multivariate Behavioral Research 35(1):1-19 (relative weights).
* Lipovetsky & Conklin 2001, Applied Stochastic Models in Business and Industry 17:319-330.
* R package ``rwa`` (Chan, CRAN), vignette "regression methods":
  ``rwa_multiregress(mtcars, "mpg", c("cyl", "disp", "hp", "wt"))`` prints raw weights
  0.2096904, 0.1883043, 0.1799590, 0.2706812 and rescaled 24.70914, 22.18908, 21.20570, 31.89607.
  (The predictor set of that published example uses ``wt``, not ``gear``.)
* mtcars: Henderson & Velleman 1981, Biometrics 37:391-411, as shipped in R ``datasets``.
"""

from __future__ import annotations

from itertools import combinations, permutations
from math import factorial

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from patronage.analytics.drivers import driver_importance, relative_weights, shapley_regression

# mtcars columns mpg, cyl, disp, hp, wt (R datasets::mtcars, row order as in R).
MTCARS = pd.DataFrame(
    [
        (21.0, 6, 160.0, 110, 2.620), (21.0, 6, 160.0, 110, 2.875), (22.8, 4, 108.0, 93, 2.320),
        (21.4, 6, 258.0, 110, 3.215), (18.7, 8, 360.0, 175, 3.440), (18.1, 6, 225.0, 105, 3.460),
        (14.3, 8, 360.0, 245, 3.570), (24.4, 4, 146.7, 62, 3.190), (22.8, 4, 140.8, 95, 3.150),
        (19.2, 6, 167.6, 123, 3.440), (17.8, 6, 167.6, 123, 3.440), (16.4, 8, 275.8, 180, 4.070),
        (17.3, 8, 275.8, 180, 3.730), (15.2, 8, 275.8, 180, 3.780), (10.4, 8, 472.0, 205, 5.250),
        (10.4, 8, 460.0, 215, 5.424), (14.7, 8, 440.0, 230, 5.345), (32.4, 4, 78.7, 66, 2.200),
        (30.4, 4, 75.7, 52, 1.615), (33.9, 4, 71.1, 65, 1.835), (21.5, 4, 120.1, 97, 2.465),
        (15.5, 8, 318.0, 150, 3.520), (15.2, 8, 304.0, 150, 3.435), (13.3, 8, 350.0, 245, 3.840),
        (19.2, 8, 400.0, 175, 3.845), (27.3, 4, 79.0, 66, 1.935), (26.0, 4, 120.3, 91, 2.140),
        (30.4, 4, 95.1, 113, 1.513), (15.8, 8, 351.0, 264, 3.170), (19.7, 6, 145.0, 175, 2.770),
        (15.0, 8, 301.0, 335, 3.570), (21.4, 4, 121.0, 109, 2.780),
    ],
    columns=["mpg", "cyl", "disp", "hp", "wt"],
)
PREDICTORS = ["cyl", "disp", "hp", "wt"]


def _random_data(n=300, p=4, seed=0):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(p, p)) * 0.6 + np.eye(p)
    X = pd.DataFrame(rng.normal(size=(n, p)) @ mix, columns=[f"x{i}" for i in range(p)])
    y = pd.Series(X.to_numpy() @ rng.normal(size=p) + rng.normal(size=n) * 2.0, name="y")
    return X, y


def _sk_r2(X, y, cols, w=None):
    if not cols:
        return 0.0
    model = LinearRegression().fit(X[list(cols)], y, sample_weight=w)
    return model.score(X[list(cols)], y, sample_weight=w)


def _brute_force_shapley(X, y, w=None):
    """Shapley values by averaging increments over all p! orders of entry (sklearn R²)."""
    cols = list(X.columns)
    r2 = {frozenset(s): _sk_r2(X, y, s, w) for k in range(len(cols) + 1)
          for s in combinations(cols, k)}
    phi = dict.fromkeys(cols, 0.0)
    orders = list(permutations(cols))
    for order in orders:
        entered: set = set()
        for c in order:
            phi[c] += r2[frozenset(entered | {c})] - r2[frozenset(entered)]
            entered.add(c)
    return pd.Series({c: v / len(orders) for c, v in phi.items()})


def test_relative_weights_match_rwa_mtcars_example():
    out = relative_weights(MTCARS[PREDICTORS], MTCARS["mpg"])
    np.testing.assert_allclose(out["raw_weight"], [0.2096904, 0.1883043, 0.1799590, 0.2706812],
                               atol=1e-6)
    np.testing.assert_allclose(out["percent"], [24.70914, 22.18908, 21.20570, 31.89607], atol=1e-4)
    assert out.attrs["n_used"] == 32
    full_r2 = _sk_r2(MTCARS, MTCARS["mpg"], PREDICTORS)
    assert out.attrs["r_squared"] == pytest.approx(full_r2, abs=1e-10)


def test_relative_weights_with_uncorrelated_predictors_are_squared_correlations():
    # Johnson 2000: with orthogonal predictors the weights reduce to r_yj², and sum to R².
    rng = np.random.default_rng(3)
    # Orthonormal columns orthogonal to the constant: exactly uncorrelated, centred predictors.
    basis, _ = np.linalg.qr(np.column_stack([np.ones(50), rng.normal(size=(50, 3))]))
    X = pd.DataFrame(basis[:, 1:], columns=["a", "b", "c"])
    y = X @ np.array([1.0, 2.0, 0.5]) + rng.normal(size=50)
    out = relative_weights(X, y)
    r = np.array([np.corrcoef(X[c], y)[0, 1] for c in X.columns])
    np.testing.assert_allclose(out["raw_weight"], r**2, atol=1e-10)


def test_shapley_two_predictors_by_hand():
    # With correlations r1 = r(y,x1), r2 = r(y,x2), r12 = r(x1,x2):
    # R²(x1) = r1², R²(x2) = r2², R²(x1,x2) = (r1² + r2² − 2 r1 r2 r12) / (1 − r12²);
    # φ1 = ½[R²(x1) − 0] + ½[R²(x1,x2) − R²(x2)], φ2 symmetric.
    X, y = _random_data(n=80, p=2, seed=5)
    c = np.corrcoef(np.column_stack([X, y]), rowvar=False)
    r1, r2, r12 = c[0, 2], c[1, 2], c[0, 1]
    full = (r1**2 + r2**2 - 2 * r1 * r2 * r12) / (1 - r12**2)
    phi1 = 0.5 * r1**2 + 0.5 * (full - r2**2)
    phi2 = 0.5 * r2**2 + 0.5 * (full - r1**2)
    out = shapley_regression(X, y)
    np.testing.assert_allclose(out["shapley_value"], [phi1, phi2], atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_shapley_matches_brute_force_sklearn(weighted):
    X, y = _random_data(n=200, p=5, seed=11)
    w = np.random.default_rng(2).uniform(0.2, 3.0, size=len(y)) if weighted else None
    out = shapley_regression(X, y, sample_weight=w)
    expected = _brute_force_shapley(X, y, w)
    np.testing.assert_allclose(out["shapley_value"], expected[X.columns], atol=1e-10)
    assert out["shapley_value"].sum() == pytest.approx(_sk_r2(X, y, list(X.columns), w))


def test_shapley_weights_formula_matches_orders():
    # Sanity on the coefficient |S|!(p−|S|−1)!/p!: they sum to 1 over subsets without j.
    p = 6
    total = sum(factorial(k) * factorial(p - k - 1) / factorial(p) * len(list(combinations(
        range(p - 1), k))) for k in range(p))
    assert total == pytest.approx(1.0)


def test_relative_weights_close_to_shapley():
    # Johnson 2000 / LeBreton et al. 2004 report near-identical results from the two methods.
    rw = relative_weights(MTCARS[PREDICTORS], MTCARS["mpg"])["raw_weight"]
    sh = shapley_regression(MTCARS[PREDICTORS], MTCARS["mpg"])["shapley_value"]
    assert rw.sum() == pytest.approx(sh.sum())
    np.testing.assert_allclose(rw, sh, atol=0.02)


def test_weighted_relative_weights_sum_to_weighted_r2():
    X, y = _random_data(n=150, p=4, seed=8)
    w = np.random.default_rng(9).uniform(0.1, 4, size=150)
    out = relative_weights(X, y, sample_weight=w)
    assert out["raw_weight"].sum() == pytest.approx(_sk_r2(X, y, list(X.columns), w), abs=1e-10)
    # Integer weights are the same as repeating rows.
    k = np.random.default_rng(1).integers(1, 4, size=150)
    repeated = relative_weights(X.loc[X.index.repeat(k)], y.loc[y.index.repeat(k)])
    np.testing.assert_allclose(relative_weights(X, y, sample_weight=k)["raw_weight"],
                               repeated["raw_weight"], atol=1e-10)


def test_listwise_deletion_reports_n():
    X, y = MTCARS[PREDICTORS].copy(), MTCARS["mpg"].copy()
    X.iloc[2, 1] = np.nan
    y.iloc[5] = np.nan
    before = X.copy()
    out = driver_importance(X, y)
    pd.testing.assert_frame_equal(X, before)
    keep = X.notna().all(axis=1) & y.notna()
    expected = relative_weights(X[keep], y[keep])
    assert out.attrs["n_used"] == 30
    assert (out["n"] == 30).all()
    np.testing.assert_allclose(out["importance"], expected["raw_weight"])


def test_driver_importance_columns_and_rank():
    out = driver_importance(MTCARS[PREDICTORS], MTCARS["mpg"], method="shapley")
    assert list(out.columns) == ["importance", "share", "lower", "upper", "rank", "n"]
    assert out["share"].sum() == pytest.approx(1.0)
    assert out["lower"].isna().all()
    assert out["rank"].tolist() == list(out["importance"].rank(ascending=False).astype(int))


@pytest.mark.parametrize("method", ["relative_weights", "shapley"])
def test_bootstrap_matches_naive_loop(method):
    # Percentile bootstrap (Efron & Tibshirani 1993) checked against a plain loop that resamples
    # rows and refits; the two use different random streams, so compare within Monte-Carlo error.
    X, y = _random_data(n=200, p=3, seed=21)
    out = driver_importance(X, y, method=method, n_boot=2000, random_state=0)
    rng = np.random.default_rng(123)
    fn = relative_weights if method == "relative_weights" else shapley_regression
    reps = []
    for _ in range(2000):
        idx = rng.integers(0, len(y), len(y))
        reps.append(fn(X.iloc[idx], y.iloc[idx]).iloc[:, 0].to_numpy())
    lower, upper = np.quantile(np.array(reps), [0.025, 0.975], axis=0)
    np.testing.assert_allclose(out["lower"], lower, atol=0.015)
    np.testing.assert_allclose(out["upper"], upper, atol=0.015)
    assert (out["lower"] < out["importance"]).all() and (out["importance"] < out["upper"]).all()


def test_bootstrap_is_reproducible_and_ci_narrows():
    X, y = _random_data(n=120, p=3, seed=4)
    a = driver_importance(X, y, n_boot=300, random_state=7)
    b = driver_importance(X, y, n_boot=300, random_state=7)
    pd.testing.assert_frame_equal(a, b)
    c = driver_importance(X, y, n_boot=300, random_state=7, ci=0.5)
    assert ((c["upper"] - c["lower"]) < (a["upper"] - a["lower"])).all()


def test_bad_inputs_raise():
    X, y = _random_data(n=50, p=3)
    with pytest.raises(ValueError, match="method"):
        driver_importance(X, y, method="dominance")
    with pytest.raises(ValueError, match="ci"):
        driver_importance(X, y, ci=95)
    with pytest.raises(ValueError, match="rows"):
        relative_weights(X, y.iloc[:10])
    with pytest.raises(ValueError, match="constant"):
        relative_weights(X.assign(k=1.0), y)
    with pytest.raises(ValueError, match="collinear"):
        relative_weights(X.assign(dup=X["x0"] * 2 + X["x1"]), y)
    with pytest.raises(ValueError, match="collinear"):
        shapley_regression(X.assign(dup=X["x0"] * 2 + X["x1"]), y)
    with pytest.raises(ValueError, match="15"):
        shapley_regression(pd.DataFrame(np.eye(20)[:, :16] + 0.0), pd.Series(range(20)))
    with pytest.raises(ValueError, match="DataFrame"):
        relative_weights(X.to_numpy(), y)
    with pytest.raises(ValueError, match="need at least"):
        relative_weights(X.iloc[:3], y.iloc[:3])


@pytest.mark.parametrize("method", ["relative_weights", "shapley"])
def test_little_bootstraps_match_the_plain_bootstrap_on_large_samples(method, monkeypatch):
    # The Bag of Little Bootstraps (Kleiner, Talwalkar, Sarkar & Jordan 2014, "A scalable
    # bootstrap for massive data", JRSS-B 76(4):795-816) estimates the same percentile interval
    # as the bootstrap of all rows; used from BLB_MIN_ROWS rows on. Compared with the plain
    # bootstrap on the same data, the bounds agree within Monte-Carlo error (a few % of the
    # interval's width at B=400).
    from patronage.analytics import drivers

    X, y = _random_data(n=20_000, p=4, seed=5)
    w = np.random.default_rng(2).uniform(0.5, 2.0, len(y))
    monkeypatch.setattr(drivers, "BLB_MIN_ROWS", 10**9)
    plain = driver_importance(X, y, method=method, n_boot=400, random_state=1, sample_weight=w)
    monkeypatch.setattr(drivers, "BLB_MIN_ROWS", 10_000)
    little = driver_importance(X, y, method=method, n_boot=400, random_state=1, sample_weight=w)
    assert plain.attrs["interval"] == "bootstrap"
    assert little.attrs["interval"] == "little bootstraps"
    pd.testing.assert_series_equal(little["importance"], plain["importance"])
    width = (plain["upper"] - plain["lower"]).to_numpy()
    assert (width > 0).all()
    np.testing.assert_array_less(np.abs(little["lower"] - plain["lower"]).to_numpy(), 0.2 * width)
    np.testing.assert_array_less(np.abs(little["upper"] - plain["upper"]).to_numpy(), 0.2 * width)
    width_little = (little["upper"] - little["lower"]).to_numpy()
    np.testing.assert_allclose(width_little, width, rtol=0.2)


def test_little_bootstraps_take_at_most_blb_resamples_per_subset(monkeypatch):
    # At most BLB_RESAMPLES resamples per subset (the paper's experiments use r = 100): the
    # interval, averaged over BLB_SUBSETS subsets, still agrees with the bootstrap of all rows
    # within Monte-Carlo error, and with the little bootstraps at n_boot resamples per subset.
    from patronage.analytics import drivers

    X, y = _random_data(n=20_000, p=4, seed=8)
    monkeypatch.setattr(drivers, "BLB_MIN_ROWS", 10**9)
    plain = driver_importance(X, y, n_boot=1000, random_state=3)
    monkeypatch.setattr(drivers, "BLB_MIN_ROWS", 10_000)
    capped = driver_importance(X, y, n_boot=400, random_state=3)
    assert capped.attrs["n_boot_valid"] == drivers.BLB_SUBSETS * drivers.BLB_RESAMPLES
    assert capped.attrs["n_boot"] == 400
    monkeypatch.setattr(drivers, "BLB_RESAMPLES", 400)
    uncapped = driver_importance(X, y, n_boot=400, random_state=3)
    assert uncapped.attrs["n_boot_valid"] == drivers.BLB_SUBSETS * 400
    width = (plain["upper"] - plain["lower"]).to_numpy()
    for little in (capped, uncapped):
        for bound in ("lower", "upper"):
            np.testing.assert_array_less(np.abs(little[bound] - plain[bound]).to_numpy(),
                                         0.2 * width)
    np.testing.assert_allclose((capped["upper"] - capped["lower"]).to_numpy(), width, rtol=0.2)


@pytest.mark.parametrize("n,q,replicates", [(300, 3, 1), (60_000, 9, 1), (2_000, 9, 40)])
def test_correlations_of_many_rows_summed_a_column_at_a_time_are_the_same(n, q, replicates,
                                                                          monkeypatch):
    # Many rows (the estimate on a million responses) take the products of one column with the
    # others at a time instead of all n * q * q at once: the same weighted sums, bit for bit.
    from patronage.analytics import drivers

    rng = np.random.default_rng(n + q)
    data = rng.normal(size=(n, q)) * rng.uniform(0.1, 10, q)
    case_weights = rng.uniform(0, 3, size=(replicates, n))
    monkeypatch.setattr(drivers, "_CHUNK_ENTRIES", 10**12)  # all the products at once
    together, valid = drivers._correlations(data, case_weights)
    monkeypatch.setattr(drivers, "_CHUNK_ENTRIES", 0)  # a column at a time
    by_column, valid_too = drivers._correlations(data, case_weights)
    assert np.array_equal(together, by_column) and np.array_equal(valid, valid_too)
    monkeypatch.undo()
    weighted = np.cov(data, rowvar=False, aweights=case_weights[0], bias=True)
    sd = np.sqrt(np.diag(weighted))
    np.testing.assert_allclose(together[0], weighted / np.outer(sd, sd), atol=1e-12)


def _multinomial_little_bootstraps(data, w, estimate, method, n_boot, ci, rng):
    """The little bootstraps as they were drawn before: each resample Multinomial(n, 1/b)
    counts on its subset's b rows (Kleiner et al. 2014, Algorithm 1), kept here to compare."""
    from patronage.analytics import drivers

    n = len(data)
    b = min(n, int(np.ceil(n ** drivers.BLB_GAMMA)))
    alpha = (1 - ci) / 2
    bounds = []
    for _ in range(drivers.BLB_SUBSETS):
        rows = rng.choice(n, size=b, replace=False)
        counts = rng.multinomial(n, np.full(b, 1.0 / b), size=min(n_boot, drivers.BLB_RESAMPLES))
        part, weights = data[rows], w[rows]
        centre = drivers._importance_batch(*drivers._correlations(part, weights[None, :]),
                                           method)[0]
        reps = drivers._importance_batch(*drivers._correlations(part, counts * weights[None, :]),
                                         method)
        good = ~np.isnan(reps).any(axis=1)
        bounds.append(np.quantile(reps[good], [alpha, 1 - alpha], axis=0) - centre)
    below, above = np.mean(bounds, axis=0)
    return estimate + below, estimate + above


@pytest.mark.parametrize("method", ["relative_weights", "shapley"])
def test_little_bootstraps_poisson_counts_give_the_multinomial_intervals(method):
    # The little bootstraps draw each resample's counts as independent Poisson(n/b) (given
    # their sum N, multinomial; N = n ± √n) in place of Multinomial(n, 1/b). Over 12 fixed
    # seeds each (independent), the mean bounds of the two differ by less than 4 standard
    # errors of that difference (from the seed-to-seed spread) and by under 5 % of the
    # interval's width, and the mean widths agree within 5 %.
    from patronage.analytics import drivers

    X, y = _random_data(n=60_000, p=4, seed=5)
    weights = np.random.default_rng(2).uniform(0.5, 2.0, len(y))
    data, w, _, _ = drivers._prepare(X, y, weights)
    estimate = drivers._fit(data, w, method)
    poisson = np.array([drivers._little_bootstraps(data, w, estimate, method, 100, 0.95,
                                                   np.random.default_rng(seed))[:2]
                        for seed in range(12)])
    multinomial = np.array([_multinomial_little_bootstraps(data, w, estimate, method, 100, 0.95,
                                                           np.random.default_rng(100 + seed))
                            for seed in range(12)])
    difference = poisson.mean(axis=0) - multinomial.mean(axis=0)
    error = np.sqrt(poisson.var(axis=0, ddof=1) / 12 + multinomial.var(axis=0, ddof=1) / 12)
    width = multinomial.mean(axis=0)[1] - multinomial.mean(axis=0)[0]
    assert (width > 0).all()
    assert (np.abs(difference) < 4 * error).all()
    assert (np.abs(difference) < 0.05 * width).all()
    np.testing.assert_allclose(poisson.mean(axis=0)[1] - poisson.mean(axis=0)[0], width,
                               rtol=0.05)


def test_little_bootstraps_draw_poisson_counts_with_a_fixed_seed():
    # Each subset's resamples are one Poisson(n/b) draw of (resamples, b) counts (about half
    # the multinomial's time on a 300,000-row region of the million-response benchmark), and
    # a seed gives the same interval again.
    from patronage.analytics import drivers

    X, y = _random_data(n=60_000, p=4, seed=6)
    data, w, _, _ = drivers._prepare(X, y, None)
    estimate = drivers._fit(data, w, "relative_weights")
    drawn = []

    class Recorded:
        def __init__(self, seed):
            self.rng = np.random.default_rng(seed)

        def __getattr__(self, name):
            method = getattr(self.rng, name)
            return lambda *a, **k: drawn.append((name, a, k)) or method(*a, **k)

    first = drivers._little_bootstraps(data, w, estimate, "relative_weights", 200, 0.95,
                                       Recorded(4))
    n, b = len(data), int(np.ceil(len(data) ** drivers.BLB_GAMMA))
    assert [d[0] for d in drawn] == ["choice", "poisson"] * drivers.BLB_SUBSETS
    assert all(d[1][0] == n / b and d[2]["size"] == (drivers.BLB_RESAMPLES, b)
               for d in drawn if d[0] == "poisson")
    again = drivers._little_bootstraps(data, w, estimate, "relative_weights", 200, 0.95,
                                       np.random.default_rng(4))
    for one, other in zip(first, again, strict=True):
        np.testing.assert_array_equal(one, other)
