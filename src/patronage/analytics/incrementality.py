"""Does the membership programme create loyalty, or only reward purchases that would have
happened anyway? Members' spend, purchases and retention after they joined, against comparable
customers who had not joined.

Members join because they already buy: frequent, recent, big spenders enrol more. A plain
comparison of members with non-members therefore mixes the programme's effect with who chose
to join ("bought" loyalty looks like a large effect). The estimate here compares each member
with non-members who looked the same in the 12 months before the member joined.

**Design.** Time is cut into calendar months. A member who joined in month *m* is compared on
the 12 full months before *m* (pre-period; fewer when the purchase history is short, see
``pre_months``) and the 12 full months after it (post-period); the enrolment month itself is
left out of both (a member often joins at a purchase). Members need the pre-period's history
before joining (a first purchase at its start or earlier) and a fully observed post-period.
Every customer who had the same history and was not a member by the end of the post-period is
a candidate control *at the same pseudo-enrolment month m* (one who joins within it is not:
their year after is partly a member's).

**Matching** (Stuart 2010, *Matching methods for causal inference: a review and a look
forward*, Statistical Science 25(1), 1–21): pre-period recency (days from the last purchase
to the start of *m*), frequency (purchases) and monetary value (net spend), each as log(1 + x)
and standardised over the pooled sample, exactly on the month *m* and by the nearest Euclidean
neighbour within it (``matches`` neighbours, with replacement). A member whose nearest
candidate is further than ``caliper`` standard units away is left out (counted). Balance is
checked with standardised mean differences before and after matching (treated mean − control
mean over the pooled standard deviation before matching; |SMD| < 0.1 is the usual mark of
good balance).

**Effects** on the treated (ATT) in the post-period: spend, purchases and retention (a
purchase in months 7–12 after joining), each with the Abadie–Imbens standard error for
matching with replacement (Abadie & Imbens 2006, *Large sample properties of matching estimators
for average treatment effects*, Econometrica 74(1), 235–267; the population-ATT variance, with
the conditional variance of each control estimated from its nearest other control). The
**naive** comparison (all eligible members against all candidates of the same months) is shown
beside it, so the page can say by how much it overstates the effect.

**Difference-in-differences** on the matched sample (Angrist & Pischke 2009, *Mostly Harmless
Econometrics*, ch. 5): y = a + b·member + c·post + d·member×post on one row per person and
period (a control matched twice counts twice; a pre-period shorter than 12 months counted per
12 months), d being the effect, with standard errors
clustered by customer (the CR1 sandwich with the small-sample factor G/(G−1)·(N−1)/(N−K), as
statsmodels computes it) and a t interval on G−1 degrees of freedom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import cKDTree

from patronage.analytics._validation import require_columns

__all__ = ["FEATURES", "OUTCOMES", "NoComparison", "ProgrammeEffect", "did",
           "programme_effect", "smd_table"]

FEATURES = ("recency_days", "frequency", "monetary")
OUTCOMES = ("spend", "purchases", "retained")
#: Months before and after the enrolment month compared (and the retention months).
WINDOW = 12
RETAINED_MONTHS = (7, 12)
#: The fewest months before joining an automatic choice of the pre-period compares.
MIN_PRE_MONTHS = 3
#: The bias correction's regression needs this many distinct matched controls per coefficient;
#: with fewer it would chase noise, and the matched outcomes are used as they are.
BIAS_FIT_ROWS = 10


class NoComparison(ValueError):
    """No member can be compared: none has the history and follow-up needed, or none has a
    comparable non-member."""


@dataclass
class ProgrammeEffect:
    """What :func:`programme_effect` found.

    ``effects``: one row per outcome and method (``matched``, ``naive``, ``did``) with
    ``estimate, se, low, high, treated_mean, control_mean, n_treated, n_control, small``.
    ``balance``: per feature the treated mean, the candidates' and the matched controls'
    means and the standardised mean differences before and after. ``counts``: members seen,
    left out for lack of history, of follow-up or of a close match, matched, distinct
    controls. ``sample``: one row per matched member and per control use (``role`` treated /
    control, ``pair`` the member's row, ``weight``), with pre- and post-period outcomes.
    """

    effects: pd.DataFrame
    balance: pd.DataFrame
    counts: dict
    sample: pd.DataFrame
    settings: dict = field(default_factory=dict)

    def estimate(self, outcome: str = "spend", method: str = "matched") -> dict:
        """One row of ``effects`` as a dict."""
        return self.effects.loc[(outcome, method)].to_dict()

    @property
    def overstatement(self) -> float:
        """Naive spend effect / matched spend effect (NaN unless both are positive)."""
        naive = self.effects.loc[("spend", "naive"), "estimate"]
        matched = self.effects.loc[("spend", "matched"), "estimate"]
        return float(naive / matched) if matched > 0 and naive > 0 else math.nan


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    return float(stats.norm.ppf(1 - alpha / 2))


class _Panel:
    """Customers × calendar months: net spend, purchases and the last purchase day."""

    def __init__(self, transactions: pd.DataFrame, observed_until=None):
        require_columns(transactions, ("customer_id", "occurred_at", "amount"),
                        what="transactions")
        tx = transactions.loc[transactions["customer_id"].notna()]
        when = pd.to_datetime(tx["occurred_at"])
        if when.isna().any():
            raise ValueError("some transaction dates are missing; drop those rows first")
        end = pd.Timestamp(observed_until) if observed_until is not None else when.max()
        if pd.isna(end):
            raise ValueError("transactions holds no purchases")
        last = pd.Period(end, "M")
        if end.normalize() < last.end_time.normalize():
            last -= 1  # the last month is not over: it is not a full month
        keep = (when < last.end_time).to_numpy()
        tx, when = tx.loc[keep], when.loc[keep]
        if tx.empty:
            raise ValueError("transactions holds no purchases before the observation end")
        self.first = when.min().to_period("M")
        self.months = pd.period_range(self.first, last, freq="M")
        codes, self.customers = pd.factorize(tx["customer_id"])
        col = (when.dt.year * 12 + when.dt.month - 1).to_numpy(dtype=np.int64) - (
            self.first.year * 12 + self.first.month - 1)
        shape = (len(self.customers), len(self.months))
        refund = (tx["is_refund"].fillna(False).astype(bool).to_numpy()
                  if "is_refund" in tx else np.zeros(len(tx), dtype=bool))
        self.spend = np.zeros(shape)
        np.add.at(self.spend, (codes, col), pd.to_numeric(tx["amount"]).to_numpy(dtype=float))
        self.purchases = np.zeros(shape)
        np.add.at(self.purchases, (codes[~refund], col[~refund]), 1.0)
        day = (when.dt.normalize() - pd.Timestamp("1970-01-01")).dt.days.to_numpy(dtype=float)
        last_day = np.full(shape, -np.inf)
        np.maximum.at(last_day, (codes[~refund], col[~refund]), day[~refund])
        self.last_before = np.maximum.accumulate(last_day, axis=1)  # up to and incl. month
        bought = self.purchases > 0
        self.first_col = np.where(bought.any(axis=1), bought.argmax(axis=1), shape[1])
        self.month_start = np.array([(p.start_time - pd.Timestamp("1970-01-01")).days
                                     for p in self.months], dtype=float)

    def col(self, day) -> int:
        return pd.Period(pd.Timestamp(day), "M").ordinal - self.first.ordinal

    def window(self, rows: np.ndarray, m: int, months_before: int = WINDOW) -> dict:
        """Pre-period features and pre/post outcomes of customers ``rows`` around month ``m``."""
        pre, post = slice(m - months_before, m), slice(m + 1, m + WINDOW + 1)
        late = slice(m + RETAINED_MONTHS[0], m + RETAINED_MONTHS[1] + 1)
        return {
            "recency_days": self.month_start[m] - self.last_before[rows, m - 1],
            "frequency": self.purchases[rows, pre].sum(axis=1),
            "monetary": self.spend[rows, pre].sum(axis=1),
            # The pre-period per 12 months, so that a shorter one compares with the year after.
            "pre_spend": self.spend[rows, pre].sum(axis=1) * WINDOW / months_before,
            "pre_purchases": self.purchases[rows, pre].sum(axis=1) * WINDOW / months_before,
            "spend": self.spend[rows, post].sum(axis=1),
            "purchases": self.purchases[rows, post].sum(axis=1),
            "retained": (self.purchases[rows, late].sum(axis=1) > 0).astype(float),
        }


def _scaled(frame: pd.DataFrame) -> np.ndarray:
    logs = np.column_stack([np.log1p(np.clip(frame[f].to_numpy(dtype=float), 0, None))
                            for f in FEATURES])
    return logs


def _adjusters(frame: pd.DataFrame) -> np.ndarray:
    """The features the bias correction regresses on: the log features and the raw counts."""
    return np.column_stack([_scaled(frame), frame["frequency"].to_numpy(float),
                            frame["monetary"].to_numpy(float)])


def smd_table(treated: pd.DataFrame, candidates: pd.DataFrame, matched_treated: pd.DataFrame,
              matched: pd.DataFrame, matched_weights=None, features=FEATURES) -> pd.DataFrame:
    """Standardised mean differences (Stuart 2010, §6.1): before matching, (mean of all
    ``treated`` − mean of all ``candidates``); after, (mean of the ``matched_treated`` − mean of
    their ``matched`` controls, weighted by ``matched_weights``: how many members each stands
    for); both over √((s²_treated + s²_candidates)/2) taken before matching, so that the change
    shows the means moving together."""
    rows = []
    w = None if matched_weights is None else np.asarray(matched_weights, dtype=float)
    for f in features:
        t, c = treated[f].to_numpy(float), candidates[f].to_numpy(float)
        mt, m = matched_treated[f].to_numpy(float), matched[f].to_numpy(float)
        sd = math.sqrt((np.var(t, ddof=1) + np.var(c, ddof=1)) / 2) if min(len(t), len(c)) > 1 \
            else math.nan
        ok = sd > 0 if not math.isnan(sd) else False
        after = float(np.average(m, weights=w)) if len(m) else math.nan
        rows.append({"feature": f, "treated_mean": float(t.mean()) if len(t) else math.nan,
                     "candidates_mean": float(c.mean()) if len(c) else math.nan,
                     "matched_treated_mean": float(mt.mean()) if len(mt) else math.nan,
                     "matched_mean": after,
                     "smd_before": (t.mean() - c.mean()) / sd if ok else math.nan,
                     "smd_after": (mt.mean() - after) / sd if ok else math.nan})
    return pd.DataFrame(rows).set_index("feature")


def did(frame: pd.DataFrame, *, outcome: str = "y", treated: str = "treated",
        post: str = "post", cluster: str = "cluster", weight: str | None = None,
        alpha: float = 0.05) -> dict:
    """Difference-in-differences by (weighted) least squares of ``outcome`` on a constant,
    ``treated``, ``post`` and their product, with cluster-robust (CR1) standard errors by
    ``cluster``: ``estimate`` (the product's coefficient), ``se``, ``low``/``high`` (t on
    G − 1 degrees of freedom), ``t``, ``p_value``, ``n`` rows, ``clusters``. The same numbers
    as statsmodels' ``smf.wls("y ~ treated * post", ...).fit(cov_type="cluster",
    cov_kwds={"groups": ...}, use_t=True)``."""
    require_columns(frame, [outcome, treated, post, cluster] + ([weight] if weight else []),
                    what="the difference-in-differences data")
    y = frame[outcome].to_numpy(float)
    d, p = frame[treated].to_numpy(float), frame[post].to_numpy(float)
    x = np.column_stack([np.ones(len(y)), d, p, d * p])
    w = frame[weight].to_numpy(float) if weight else np.ones(len(y))
    if np.isnan(y).any() or np.isnan(w).any():
        raise ValueError("the difference-in-differences data have missing values")
    groups, _ = pd.factorize(frame[cluster])
    n, k, g = len(y), x.shape[1], int(groups.max()) + 1 if len(groups) else 0
    out = {"estimate": math.nan, "se": math.nan, "low": math.nan, "high": math.nan,
           "t": math.nan, "p_value": math.nan, "n": n, "clusters": g}
    if g < 2 or n <= k:
        return out
    xw = x * w[:, None]
    bread = np.linalg.pinv(x.T @ xw)
    beta = bread @ (xw.T @ y)
    scores = xw * (y - x @ beta)[:, None]
    summed = np.zeros((g, k))
    np.add.at(summed, groups, scores)
    factor = g / (g - 1) * (n - 1) / (n - k)
    cov = factor * bread @ (summed.T @ summed) @ bread
    se = math.sqrt(cov[3, 3])
    crit = float(stats.t.ppf(1 - alpha / 2, g - 1))
    t = beta[3] / se if se > 0 else math.nan
    out.update(estimate=float(beta[3]), se=se, low=beta[3] - crit * se,
               high=beta[3] + crit * se, t=t,
               p_value=float(2 * stats.t.sf(abs(t), g - 1)) if se > 0 else math.nan)
    return out


def _att(y_t: np.ndarray, y_c: np.ndarray, match: np.ndarray, sigma2: np.ndarray,
         z: float, x_t: np.ndarray | None = None, x_c: np.ndarray | None = None) -> dict:
    """ATT of matching with replacement with the Abadie–Imbens population variance.

    ``match``: (treated × M) indices of controls; ``sigma2``: each control's conditional
    variance estimate. With the features ``x_t``/``x_c`` (and enough matched controls, see
    :data:`BIAS_FIT_ROWS`) the matched outcomes are bias-corrected for what is left of the
    difference in features: Ŷ(0) = Y_j + μ̂(X_i) − μ̂(X_j), μ̂ the least-squares fit of the
    outcome on the features among the matched controls (Abadie & Imbens 2011, *Bias-corrected
    matching estimators for average treatment effects*, J. Business & Economic Statistics
    29(1), 1–11)."""
    n1, m = match.shape
    adjusted = y_c[match].astype(float)
    used = np.unique(match.ravel())
    if x_t is not None and x_c is not None and len(used) >= BIAS_FIT_ROWS * (x_c.shape[1] + 1):
        design = np.column_stack([np.ones(len(used)), x_c[used]])
        weights = np.bincount(match.ravel(), minlength=len(y_c))[used].astype(float)
        coef = np.linalg.lstsq(design * np.sqrt(weights)[:, None],
                               y_c[used] * np.sqrt(weights), rcond=None)[0][1:]
        adjusted = adjusted + (x_t @ coef)[:, None] - (x_c @ coef)[match]
    fitted = adjusted.mean(axis=1)
    diff = y_t - fitted
    tau = float(diff.mean())
    uses = np.bincount(match.ravel(), minlength=len(y_c)).astype(float)
    k, k2 = uses / m, uses / (m * m)
    var = (np.sum((diff - tau) ** 2) + np.sum((k * k - k2) * sigma2)) / (n1 * n1)
    se = math.sqrt(var) if n1 > 1 else math.nan
    return {"estimate": tau, "se": se, "low": tau - z * se, "high": tau + z * se,
            "treated_mean": float(y_t.mean()), "control_mean": float(fitted.mean())}


def _naive(treated: pd.DataFrame, pool: pd.DataFrame, outcome: str, z: float) -> dict:
    """All eligible members against all candidates, the candidates of each month weighted by
    that month's members (so calendar time is the same on both sides)."""
    y_t = treated[outcome].to_numpy(float)
    share = treated.groupby("month").size() / len(treated)
    by_month = pool.groupby("month")[outcome].agg(["mean", "var", "size"]).reindex(share.index)
    control = float((share * by_month["mean"]).sum())
    var_c = float((share ** 2 * by_month["var"].fillna(0) / by_month["size"]).sum())
    se = math.sqrt(np.var(y_t, ddof=1) / len(y_t) + var_c) if len(y_t) > 1 else math.nan
    est = float(y_t.mean()) - control
    return {"estimate": est, "se": se, "low": est - z * se, "high": est + z * se,
            "treated_mean": float(y_t.mean()), "control_mean": control}


def _eligible_members(panel: _Panel, join_of_row: np.ndarray, pre: int) -> int:
    """Members with ``pre`` months of history before joining and a full year after."""
    last = len(panel.months) - 1
    cols = join_of_row[np.isfinite(join_of_row)]
    firsts = panel.first_col[np.isfinite(join_of_row)]
    return int(((cols >= pre) & (firsts <= cols - pre) & (cols <= last - WINDOW)).sum())


def _pre_months(panel: _Panel, join_of_row: np.ndarray, min_n: int) -> int:
    """The longest pre-period, from 12 months down to :data:`MIN_PRE_MONTHS`, with at least
    ``min_n`` members to compare; when none has, the one with the most (the longest of
    those). A young programme with a short purchase history is compared on fewer months
    before joining, as the page says."""
    counts = {k: _eligible_members(panel, join_of_row, k)
              for k in range(WINDOW, MIN_PRE_MONTHS - 1, -1)}
    enough = [k for k, n in counts.items() if n >= min_n]
    return enough[0] if enough else max(counts, key=lambda k: (counts[k], k))


def programme_effect(transactions: pd.DataFrame, members: pd.DataFrame, *,
                     observed_until=None, matches: int = 1, caliper: float | None = 0.5,
                     alpha: float = 0.05, min_n: int = 30,
                     pre_months: int | None = WINDOW) -> ProgrammeEffect:
    """Matched and naive effects of membership and the difference-in-differences (see the
    module's notes). ``transactions``: ``customer_id, occurred_at, amount`` (``is_refund``
    optional: refunds count in net spend, not as purchases); ``members``: ``customer_id,
    joined_on``. ``observed_until``: the last day the data cover (default: the last
    transaction); only full months count. ``pre_months``: the months of history before
    joining that are compared (12 by default; fewer for a short history; None: the most, down
    to :data:`MIN_PRE_MONTHS`, that leave ``min_n`` members to compare — see
    :func:`_pre_months`)."""
    require_columns(members, ("customer_id", "joined_on"), what="members")
    if int(matches) < 1:
        raise ValueError("matches must be at least 1")
    z = _z(alpha)
    panel = _Panel(transactions, observed_until)
    joined = members.dropna(subset=["joined_on"]).drop_duplicates("customer_id")
    joined_col = pd.Series([panel.col(d) for d in joined["joined_on"]],
                           index=joined["customer_id"].to_numpy(), dtype=float)
    row_of = pd.Series(np.arange(len(panel.customers)), index=panel.customers)
    member_row = row_of.reindex(joined_col.index)
    join_of_row = np.full(len(panel.customers), np.inf)
    known = member_row.notna().to_numpy()
    join_of_row[member_row[known].astype(int).to_numpy()] = joined_col[known].to_numpy()
    pre = (_pre_months(panel, join_of_row, int(min_n)) if pre_months is None
           else int(pre_months))
    if not 1 <= pre <= WINDOW:
        raise ValueError(f"pre_months must be 1 to {WINDOW}")
    counts = {"members": len(joined), "no_history": 0, "no_follow_up": 0, "unmatched": 0}
    last = len(panel.months) - 1
    treated, pool = [], []
    for m in range(pre, last - WINDOW + 1):
        eligible = panel.first_col <= m - pre
        t_rows = np.flatnonzero(eligible & (join_of_row == m))
        c_rows = np.flatnonzero(eligible & (join_of_row > m + WINDOW))
        if len(t_rows):
            treated.append(pd.DataFrame({"row": t_rows, "month": m,
                                         **panel.window(t_rows, m, pre)}))
        if len(c_rows) and len(t_rows):
            pool.append(pd.DataFrame({"row": c_rows, "month": m, **panel.window(c_rows, m, pre)}))
    treated = pd.concat(treated, ignore_index=True) if treated else pd.DataFrame()
    pool = pd.concat(pool, ignore_index=True) if pool else pd.DataFrame()
    eligible_members = len(treated)
    first_col = np.full(len(joined_col), np.inf)
    first_col[known] = panel.first_col[member_row[known].astype(int).to_numpy()]
    cols = joined_col.to_numpy()
    no_history = ~known | (cols < pre) | (first_col > cols - pre)
    counts["no_history"] = int(no_history.sum())
    counts["no_follow_up"] = int((~no_history & (cols > last - WINDOW)).sum())
    counts["eligible"] = eligible_members
    if treated.empty or pool.empty:
        raise NoComparison("no member has 12 months of purchases before joining and 12 full "
                           "months after it with a non-member to compare with")
    scaled_t, scaled_c = _scaled(treated), _scaled(pool)
    both = np.vstack([scaled_t, scaled_c])
    centre, spread = both.mean(axis=0), both.std(axis=0, ddof=1)
    spread[~(spread > 0)] = 1.0
    scaled_t, scaled_c = (scaled_t - centre) / spread, (scaled_c - centre) / spread
    match_rows, keep_rows, sigma_nn = [], [], np.full(len(pool), -1)
    for month, t_idx in treated.groupby("month").indices.items():
        c_idx = np.flatnonzero(pool["month"].to_numpy() == month)
        tree = cKDTree(scaled_c[c_idx])
        k = min(int(matches), len(c_idx))
        dist, found = tree.query(scaled_t[t_idx], k=k)
        dist, found = dist.reshape(len(t_idx), k), found.reshape(len(t_idx), k)
        ok = np.ones(len(t_idx), bool) if caliper is None else dist[:, 0] <= caliper
        keep_rows += list(t_idx[ok])
        match_rows += [c_idx[f] for f in found[ok]]
        if len(c_idx) > 1:  # each control's nearest other control, for its variance
            _, near = tree.query(scaled_c[c_idx], k=2)
            own = near[:, 0] == np.arange(len(c_idx))
            sigma_nn[c_idx] = c_idx[np.where(own, near[:, 1], near[:, 0])]
    counts["unmatched"] = eligible_members - len(keep_rows)
    if not keep_rows:
        raise NoComparison("no member has a comparable non-member within the caliper")
    match = np.array([list(r) + [r[-1]] * (int(matches) - len(r)) for r in match_rows])
    matched_t = treated.iloc[keep_rows].reset_index(drop=True)
    counts["matched"] = len(matched_t)
    counts["controls"] = int(len(np.unique(pool["row"].to_numpy()[match.ravel()])))
    counts["candidates"] = int(pool["row"].nunique())
    rows = []
    for outcome in OUTCOMES:
        y_c = pool[outcome].to_numpy(float)
        near = np.where(sigma_nn >= 0, sigma_nn, np.arange(len(pool)))
        sigma2 = 0.5 * (y_c - y_c[near]) ** 2
        found = _att(matched_t[outcome].to_numpy(float), y_c, match, sigma2, z,
                     _adjusters(matched_t), _adjusters(pool))
        rows.append({"outcome": outcome, "method": "matched", **found,
                     "n_treated": len(matched_t), "n_control": counts["controls"]})
        rows.append({"outcome": outcome, "method": "naive", **_naive(treated, pool, outcome, z),
                     "n_treated": eligible_members, "n_control": counts["candidates"]})
    weights = np.bincount(match.ravel(), minlength=len(pool)) / int(matches)
    used = weights > 0
    controls = pool.loc[used].assign(weight=weights[used])
    sample = _sample(matched_t, pool, match, panel)
    for outcome, before in (("spend", "pre_spend"), ("purchases", "pre_purchases")):
        long = pd.concat([sample.assign(y=sample[before], post=0.0),
                          sample.assign(y=sample[outcome], post=1.0)], ignore_index=True)
        found = did(long, outcome="y", treated="treated", post="post", cluster="customer",
                    weight="weight", alpha=alpha)
        rows.append({"outcome": outcome, "method": "did", "estimate": found["estimate"],
                     "se": found["se"], "low": found["low"], "high": found["high"],
                     "treated_mean": float(matched_t[outcome].mean()
                                           - matched_t[before].mean()),
                     "control_mean": float(np.average(controls[outcome] - controls[before],
                                                      weights=controls["weight"])),
                     "n_treated": len(matched_t), "n_control": counts["controls"]})
    effects = pd.DataFrame(rows).set_index(["outcome", "method"])
    effects["small"] = effects["n_treated"] < min_n
    balance = smd_table(treated, pool, matched_t, controls, controls["weight"])
    return ProgrammeEffect(effects, balance, counts, sample,
                           {"matches": int(matches), "caliper": caliper, "alpha": alpha,
                            "pre_months": pre,
                            "first_month": str(panel.months[0]),
                            "last_month": str(panel.months[-1])})


def _sample(matched_t: pd.DataFrame, pool: pd.DataFrame, match: np.ndarray,
            panel: _Panel) -> pd.DataFrame:
    """One row per matched member and per use of a control, with the member's pair number."""
    columns = ["month", *FEATURES, "pre_spend", "pre_purchases", *OUTCOMES]
    t = matched_t[columns].assign(pair=np.arange(len(matched_t)), treated=1.0, weight=1.0,
                                  customer=panel.customers[matched_t["row"].to_numpy()])
    m = match.shape[1]
    c = pool.iloc[match.ravel()][columns].reset_index(drop=True).assign(
        pair=np.repeat(np.arange(len(matched_t)), m), treated=0.0, weight=1.0 / m,
        customer=panel.customers[pool["row"].to_numpy()[match.ravel()]])
    out = pd.concat([t, c], ignore_index=True)
    out["role"] = np.where(out["treated"] > 0, "treated", "control")
    out["month"] = [str(panel.months[int(i)]) for i in out["month"]]
    return out
