"""Comparisons across segments, waves and competitors, with tests and effect sizes.

References: Welch (1947) for unequal-variance t; Kruskal & Wallis (1952); Mann & Whitney (1947);
Cramér (1946) for V; Hedges (1981) for g; Holm (1979) for the step-down correction.

Two groups side by side (a period against the one before, a segment against the rest):
:func:`mean_difference` (Welch's t on weighted means) and :func:`nps_test` (z test on the
difference of two NPS), both as ``a − b``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from patronage.analytics._validation import aligned_weights, as_float_series
from patronage.analytics.ratings import mean_summary, nps_difference
from patronage.analytics.scores import nps_summary


def holm(p_values) -> pd.Series:
    """Holm step-down adjusted p-values (controls the family-wise error rate)."""
    p = pd.Series(p_values, dtype=float)
    valid = p.dropna()
    order = np.argsort(valid.to_numpy(), kind="stable")
    m = len(valid)
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, (m - rank) * valid.iloc[idx])
        adjusted[idx] = min(1.0, running)
    out = p.copy()
    out[valid.index] = adjusted
    return out


def crosstab_test(rows, columns, weights=None) -> dict:
    """Cross-tabulation with Pearson's χ² test of independence and Cramér's V.

    With weights the table holds weighted counts; the test uses them rescaled to Kish's effective
    sample size, a first-order design correction. Returns ``table, chi2, dof, p_value,
    cramers_v, n``.
    """
    r = pd.Series(rows).reset_index(drop=True)
    c = pd.Series(columns).reset_index(drop=True)
    w = aligned_weights(r, None if weights is None else pd.Series(weights).reset_index(drop=True))
    keep = r.notna() & c.notna()
    r, c, w = r[keep], c[keep], w[keep]
    table = pd.crosstab(r, c, values=w, aggfunc="sum").fillna(0.0)
    if min(table.shape) < 2:
        raise ValueError("the crosstab needs at least two rows and two columns with answers")
    n_eff = w.sum() ** 2 / (w**2).sum()
    scaled = table.to_numpy() * n_eff / table.to_numpy().sum()
    chi2, p, dof, _ = stats.chi2_contingency(scaled, correction=False)
    v = np.sqrt(chi2 / (n_eff * (min(table.shape) - 1)))
    return {"table": table, "chi2": float(chi2), "dof": int(dof), "p_value": float(p),
            "cramers_v": float(v), "n": float(n_eff)}


def hedges_g(a, b) -> float:
    """Standardised mean difference ``b − a`` with Hedges' small-sample correction."""
    a, b = as_float_series(a).dropna(), as_float_series(b).dropna()
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return np.nan
    pooled = np.sqrt(((na - 1) * a.var() + (nb - 1) * b.var()) / (na + nb - 2))
    d = (b.mean() - a.mean()) / pooled if pooled > 0 else np.nan
    return float(d * (1 - 3 / (4 * (na + nb) - 9)))


def compare_groups(values, groups) -> dict:
    """Compare a rating across groups.

    Two groups: Welch's t test, the Mann–Whitney U test and Hedges' g. More groups: one-way ANOVA,
    the Kruskal–Wallis test and η². Returns ``summary`` (n, mean, sd per group) and the tests.
    """
    x = as_float_series(values, name="values").reset_index(drop=True)
    g = pd.Series(groups).reset_index(drop=True)
    keep = x.notna() & g.notna()
    x, g = x[keep], g[keep]
    samples = {key: part.to_numpy() for key, part in x.groupby(g, sort=True)}
    samples = {k: v for k, v in samples.items() if len(v) > 0}
    if len(samples) < 2:
        raise ValueError("need answers in at least two groups to compare")
    summary = pd.DataFrame({"n": {k: len(v) for k, v in samples.items()},
                            "mean": {k: v.mean() for k, v in samples.items()},
                            "sd": {k: v.std(ddof=1) if len(v) > 1 else np.nan
                                   for k, v in samples.items()}})
    arrays = list(samples.values())
    if len(arrays) == 2:
        t = stats.ttest_ind(arrays[0], arrays[1], equal_var=False)
        u = stats.mannwhitneyu(arrays[0], arrays[1], alternative="two-sided")
        return {"summary": summary, "test": "welch_t", "statistic": float(t.statistic),
                "p_value": float(t.pvalue), "rank_test": "mann_whitney_u",
                "rank_statistic": float(u.statistic), "rank_p_value": float(u.pvalue),
                "effect": "hedges_g", "effect_size": hedges_g(arrays[0], arrays[1])}
    f = stats.f_oneway(*arrays)
    h = stats.kruskal(*arrays)
    grand = x.mean()
    between = sum(len(a) * (a.mean() - grand) ** 2 for a in arrays)
    total = float(((x - grand) ** 2).sum())
    return {"summary": summary, "test": "anova_f", "statistic": float(f.statistic),
            "p_value": float(f.pvalue), "rank_test": "kruskal_wallis_h",
            "rank_statistic": float(h.statistic), "rank_p_value": float(h.pvalue),
            "effect": "eta_squared", "effect_size": between / total if total > 0 else np.nan}


def mean_difference(a, b, weights_a=None, weights_b=None) -> pd.Series:
    """Difference ``a − b`` of two independent groups' (weighted) mean ratings, with Welch's t test.

    Each group's mean and standard deviation are those of
    :func:`~patronage.analytics.ratings.mean_summary` (weighted, on Kish's effective sample size
    ``n_eff``); the standard error of the difference is ``sqrt(sd_a²/n_eff_a + sd_b²/n_eff_b)``
    and its degrees of freedom are Welch–Satterthwaite's (Welch 1947, *Biometrika* 34:28–35).
    Without weights this is ``scipy.stats.ttest_ind(a, b, equal_var=False)``. Missing answers are
    dropped; with fewer than two answers in a group the test is NaN.

    Returns ``n_a, n_b, mean_a, mean_b, difference, t, df, p_value``.
    """
    sa, sb = mean_summary(a, weights_a), mean_summary(b, weights_b)
    out = {"n_a": sa["n"], "n_b": sb["n"], "mean_a": sa["mean"], "mean_b": sb["mean"],
           "difference": sa["mean"] - sb["mean"], "t": np.nan, "df": np.nan, "p_value": np.nan}
    if sa["n_effective"] > 1 and sb["n_effective"] > 1:
        va = sa["sd"] ** 2 / sa["n_effective"]
        vb = sb["sd"] ** 2 / sb["n_effective"]
        if va + vb > 0:
            t = out["difference"] / np.sqrt(va + vb)
            df = (va + vb) ** 2 / (va**2 / (sa["n_effective"] - 1)
                                   + vb**2 / (sb["n_effective"] - 1))
            out.update(t=float(t), df=float(df), p_value=float(2 * stats.t.sf(abs(t), df)))
    return pd.Series(out)


def nps_test(a, b, weights_a=None, weights_b=None) -> pd.Series:
    """Difference ``a − b`` of two independent groups' NPS (0–10 answers), with a two-sided z test.

    An NPS is ``100 (p⁺ − p⁻)`` with the shares of promoters and detractors estimated from one
    multinomial sample, so ``Var(p̂⁺ − p̂⁻) = (p⁺(1 − p⁺) + p⁻(1 − p⁻) + 2p⁺p⁻) / n
    = (p⁺ + p⁻ − (p⁺ − p⁻)²) / n`` (the variance of a difference of two proportions of the same
    multinomial sample, whose covariance is ``−p⁺p⁻/n``); the variances of independent groups
    add, and ``z = difference / se`` (see :func:`~patronage.analytics.ratings.nps_difference`;
    weights enter through Kish's effective sample size). Returns ``n_a, n_b, nps_a, nps_b,
    difference, ci_low, ci_high, z, p_value``; NaN when a group has no answer.
    """
    na = int(as_float_series(a).notna().sum())
    nb = int(as_float_series(b).notna().sum())
    if na == 0 or nb == 0:  # nothing to test; the other group's NPS is still shown
        nan = np.nan
        return pd.Series({"n_a": na, "n_b": nb,
                          "nps_a": nps_summary(a, weights_a)["nps"] if na else nan,
                          "nps_b": nps_summary(b, weights_b)["nps"] if nb else nan,
                          "difference": nan, "ci_low": nan, "ci_high": nan, "z": nan,
                          "p_value": nan})
    found = nps_difference(b, a, weights_b, weights_a)  # its difference is the second − first
    return pd.Series({"n_a": na, "n_b": nb, "nps_a": found["nps_b"], "nps_b": found["nps_a"],
                      "difference": found["difference"], "ci_low": found["ci_low"],
                      "ci_high": found["ci_high"], "z": found["z"],
                      "p_value": found["p_value"]})


def wave_trend(values, waves, order=None, weights=None, *, kind: str = "mean") -> pd.DataFrame:
    """Score per wave and the significance of each change from the previous wave.

    ``kind`` is ``"mean"`` (Welch t on the ratings) or ``"nps"`` (z test on the NPS difference).
    p-values are also given Holm-adjusted over the changes.
    """
    if kind not in ("mean", "nps"):
        raise ValueError("kind must be 'mean' or 'nps'")
    x = as_float_series(values, name="values").reset_index(drop=True)
    wv = pd.Series(waves).reset_index(drop=True)
    w = aligned_weights(x, None if weights is None else pd.Series(weights).reset_index(drop=True))
    order = list(order) if order is not None else sorted(wv.dropna().unique(), key=str)
    rows, previous = [], None
    for wave in order:
        mask = (wv == wave) & x.notna()
        if kind == "nps":
            s = nps_summary(x[mask], w[mask])
            row = {"wave": wave, "n": s["n"], "score": s["nps"], "ci_low": s["ci_low"],
                   "ci_high": s["ci_high"]}
        else:
            s = mean_summary(x[mask], w[mask])
            row = {"wave": wave, "n": s["n"], "score": s["mean"], "ci_low": s["ci_low"],
                   "ci_high": s["ci_high"]}
        row["change"], row["p_value"] = np.nan, np.nan
        if previous is not None and mask.any() and previous.any():
            if kind == "nps":
                d = nps_difference(x[previous], x[mask], w[previous], w[mask])
                row["change"], row["p_value"] = d["difference"], d["p_value"]
            else:
                t = stats.ttest_ind(x[previous], x[mask], equal_var=False)
                row["change"] = row["score"] - rows[-1]["score"]
                row["p_value"] = float(t.pvalue)
        rows.append(row)
        previous = mask
    out = pd.DataFrame(rows)
    out["p_holm"] = holm(out["p_value"])
    return out.set_index("wave")


def competitor_comparison(own: pd.DataFrame, competitor: pd.DataFrame) -> pd.DataFrame:
    """Paired comparison of the same respondents' ratings of us and of a named competitor, per
    item: mean difference (own − competitor), paired t and Wilcoxon signed-rank tests, Holm."""
    rows = []
    for item in [c for c in own.columns if c in competitor.columns]:
        a = as_float_series(own[item], name=item)
        b = as_float_series(competitor[item], name=item).reindex(a.index)
        keep = a.notna() & b.notna()
        if keep.sum() < 3:
            continue
        diff = a[keep] - b[keep]
        t = stats.ttest_rel(a[keep], b[keep])
        nonzero = diff[diff != 0]
        wil = stats.wilcoxon(nonzero) if len(nonzero) > 0 else None
        rows.append({"item": item, "n": int(keep.sum()), "own": a[keep].mean(),
                     "competitor": b[keep].mean(), "difference": diff.mean(),
                     "p_value": float(t.pvalue) if np.isfinite(t.pvalue) else np.nan,
                     "wilcoxon_p": float(wil.pvalue) if wil is not None else np.nan})
    if not rows:
        raise ValueError("no item has at least 3 respondents rating both")
    out = pd.DataFrame(rows).set_index("item")
    out["p_holm"] = holm(out["p_value"])
    return out


__all__ = [
    "compare_groups",
    "competitor_comparison",
    "crosstab_test",
    "hedges_g",
    "holm",
    "mean_difference",
    "nps_test",
    "wave_trend",
]
