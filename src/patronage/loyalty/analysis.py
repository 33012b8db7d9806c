"""Loyalty analyses of the stored panel, ready to render (CLI, dashboard, API).

The customer summary is computed in the database (:mod:`patronage.storage.summary`); the models
come from :mod:`patronage.analytics`. Times are in weeks for the purchase models, as in Fader,
Hardie & Lee (2005).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from patronage.analytics import (
    advocacy_segments,
    allocate_cost_to_serve,
    cohort_matrix,
    jones_sasser,
    latent_switching,
    retention_curve,
    rfm_scores,
    value_tiers,
    whale_curve,
    whale_figures,
)
from patronage.analytics.btyd import (
    BetaGeo,
    GammaGamma,
    calibration_holdout_summary,
    customer_lifetime_value,
    holdout_comparison,
)
from patronage.analytics.retention import repeat_purchase_by_cohort
from patronage.loyalty.value_fit import (
    WEEK,
    ValueStatistics,
    fit_on_statistics,
    summary_statistics,
)
from patronage.loyalty.model_notes import (
    model_about,
    model_lines,
    value_model_about,
    value_model_notes,
)
from patronage.messages import N_, UserError
from patronage.storage import read_answers, read_cases, read_customers, read_responses
from patronage.storage import read_touchpoints, read_transactions
from patronage.storage.summary import read_customer_summary


@dataclass(frozen=True)
class FitRecord:
    """Where the parameters of :class:`ValueModels` come from: when they were fitted and on
    which sales (first purchase day to the observation end, number of customers)."""

    fitted_at: str
    first_purchase: str
    observation_end: str
    customers: int
    repeat_buyers: int
    margin: float


@dataclass(frozen=True)
class ValueModels:
    """Fitted purchase (BG/NBD) and spend (Gamma-Gamma) models with the per-customer results.

    ``fit`` records the fit; ``loaded_from`` names the parameter file when the models were
    read from one (:func:`load_value_models`) instead of fitted.
    """

    summary: pd.DataFrame
    purchases: BetaGeo
    spend: GammaGamma | None
    margin: float
    customers: pd.DataFrame
    fit: FitRecord | None = None
    loaded_from: str | None = None
    spend_left_out: tuple[str, ...] = ()

    @property
    def new_customers(self) -> pd.Series:
        """True for customers first seen on the observation end (T = 0): they carry no
        information for the purchase model, are left out of its fit (their log-likelihood is
        0) and are scored as newly acquired customers (P(alive) = 1)."""
        return self.summary["T"] <= 0

    def notes(self) -> list[str]:
        """What a reader must know about the fit: the parameters with their standard errors
        and log-likelihood, the time unit, and the customers left out or scored as new."""
        return value_model_notes(self)

    def about(self) -> dict:
        """The same as :meth:`notes`, as data (the JSON output of ``analyze clv``)."""
        return value_model_about(self)


def _weeks(summary: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    return summary["frequency"], summary["recency"] / WEEK, summary["T"] / WEEK


def _data_range(summary: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    end = (summary["first_purchase"] + pd.to_timedelta(summary["T"], unit="D")).max()
    return summary["first_purchase"].min(), end


def fit_value_models(engine: Engine, *, observation_end=None, months: int = 12,
                     monthly_discount: float = 0.01, margin: float | None = None,
                     params=None) -> ValueModels:
    """Fit BG/NBD and Gamma-Gamma to the stored sales and compute, per customer, the
    probability of being alive, expected purchases in the next 90 days and the CLV over
    ``months`` (discounted monthly; ``margin`` defaults to the company's profit / revenue).

    ``params`` (a file written by :func:`save_value_models`, or the :class:`SavedModels` read
    from one) scores the customers with saved parameters instead of refitting them.
    """
    summary = read_customer_summary(engine, observation_end=observation_end)
    return value_models(summary, observation_end=observation_end, months=months,
                        monthly_discount=monthly_discount, margin=margin, params=params)


def value_models(summary: pd.DataFrame, statistics: ValueStatistics | None = None, *,
                 observation_end=None, months: int = 12, monthly_discount: float = 0.01,
                 margin: float | None = None, params=None) -> ValueModels:
    """:func:`fit_value_models` on a customer summary computed by any engine; the models are
    fitted on ``statistics`` (the engine's, or computed here from ``summary``)."""
    if summary.empty and observation_end is not None:
        raise ValueError(f"no sales up to {pd.Timestamp(observation_end):%Y-%m-%d}: choose a "
                         "later --until date")
    saved = load_value_models(params) if isinstance(params, (str, Path)) else params
    if saved is None and len(summary) < 20:
        raise UserError(N_("the purchase models need the sales of at least 20 customers; "
                           "import transactions first"))
    if summary.empty:
        raise UserError(N_("no sales yet: import transactions first"))
    stats = summary_statistics(summary) if statistics is None else statistics
    x, tx, T = _weeks(summary)
    if margin is None:
        margin = stats.margin
    repeaters = (x > 0) & (summary["monetary_value"] > 0)
    spend_left_out = tuple(summary.index[(x > 0) & ~repeaters])
    if saved is not None:
        saved.check_against(summary)
        purchases, spend, fit = saved.purchases, saved.spend, saved.fit
    else:
        purchases, spend = fit_on_statistics(stats)
        fit = FitRecord(fitted_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        first_purchase=f"{stats.first_purchase:%Y-%m-%d}",
                        observation_end=f"{stats.observation_end:%Y-%m-%d}",
                        customers=stats.customers, repeat_buyers=stats.repeat_buyers,
                        margin=float(margin))
    out = pd.DataFrame(index=summary.index)
    out["p_alive"] = np.asarray(purchases.probability_alive(x, tx, T), dtype=float)
    out["expected_purchases_90d"] = np.asarray(
        purchases.expected_purchases(90 / WEEK, x, tx, T), dtype=float)
    if spend is not None:
        out["clv"] = np.asarray(customer_lifetime_value(
            purchases, spend, x, tx, T, summary["monetary_value"], time=months,
            discount_rate=monthly_discount, margin=margin, freq="W"), dtype=float)
    else:
        out["clv"] = np.nan
    return ValueModels(summary=summary, purchases=purchases, spend=spend, margin=margin,
                       customers=out, fit=fit,
                       loaded_from=None if saved is None else saved.source,
                       spend_left_out=spend_left_out if spend is not None else ())


def _profiles(engine: Engine) -> pd.DataFrame:
    return read_customers(engine).set_index("customer_id")[["name", "region", "industry",
                                                            "size", "tier"]]


def clv_table(engine: Engine | None, models: ValueModels | None = None, *,
              top: int | None = None, profiles: pd.DataFrame | None = None,
              **kwargs) -> pd.DataFrame:
    """Per customer: purchases so far, P(alive), expected purchases in 90 days, CLV, the CLV
    decile and value tier, most valuable first (``profiles``: the customers' names and
    regions by external id when they come from another engine than ``engine``)."""
    models = models or fit_value_models(engine, **kwargs)
    summary = models.summary
    table = pd.DataFrame({"frequency": summary["frequency"].astype(int),
                          "recency_weeks": (summary["recency"] / WEEK).round(3),
                          "T_weeks": (summary["T"] / WEEK).round(3),
                          "monetary_value": summary["monetary_value"],
                          "total_spend": summary["total_spend"],
                          "new_customer": models.new_customers}, index=summary.index)
    table = table.join(models.customers)
    tiers = value_tiers(table["clv"] if table["clv"].notna().any() else table["total_spend"])
    table = table.join(tiers[["decile", "tier"]].rename(columns={"tier": "value_tier"}))
    profiles = _profiles(engine) if profiles is None else profiles
    table = profiles[["name", "region"]].join(table, how="inner")
    table = table.sort_values("clv", ascending=False, na_position="last")
    table.attrs.update({"params": models.purchases.params_, "margin": models.margin,
                        "total_clv": float(table["clv"].sum()), "notes": models.notes(),
                        "about": models.about()})
    return table.head(top) if top else table


def rfm_table(engine: Engine | None, *, observation_end=None,
              summary: pd.DataFrame | None = None,
              profiles: pd.DataFrame | None = None) -> pd.DataFrame:
    """RFM values, quintile scores, code and named segment per customer (``summary``: a
    customer summary already read, e.g. ``ValueModels.summary``)."""
    if summary is None:
        summary = read_customer_summary(engine, observation_end=observation_end)
    if summary.empty:
        raise UserError(N_("no sales yet: import transactions first"))
    scores = rfm_scores(summary)
    profiles = _profiles(engine) if profiles is None else profiles
    return profiles[["name"]].join(scores, how="inner")


def only(frame: pd.DataFrame, customers: frozenset | None,
         column: str | None = "customer_id") -> pd.DataFrame:
    """The rows of ``frame`` of the ``customers`` (external ids; None: every customer), found
    in ``column`` (None: the index)."""
    if customers is None:
        return frame
    keys = frame.index if column is None else frame[column]
    return frame[keys.isin(customers)]


def cohort_table(engine: Engine, *, period: str = "Q", customers: frozenset | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Acquisition-cohort retention matrix and the average retention curve (of the
    ``customers``, external ids, when given)."""
    sales = only(read_transactions(engine), customers)
    if sales.empty:
        raise UserError(N_("no sales yet: import transactions first"))
    matrix = cohort_matrix(sales, period=period)
    return matrix, retention_curve(matrix, period=period)


def cohort_overview(engine: Engine, *, period: str = "Q", repeat_days: int = 90) -> pd.DataFrame:
    """Per acquisition cohort: its size, the repeat-purchase rate within ``repeat_days`` days
    (column ``repeat_<n>d``, see :func:`repeat_purchase_by_cohort`) and the share of its
    customers active in each period since acquisition; a last row ``all`` pools the cohorts
    (the retention curve's pooled retention, and the repeat rate over all observed customers).
    """
    sales = read_transactions(engine)
    if sales.empty:
        raise UserError(N_("no sales yet: import transactions first"))
    return overview_of(cohort_matrix(sales, period=period),
                       repeat_purchase_by_cohort(sales, period=period, within_days=repeat_days),
                       period=period, repeat_days=repeat_days)


def overview_of(matrix: pd.DataFrame, repeat: pd.DataFrame, *, period: str,
                repeat_days: int) -> pd.DataFrame:
    """The :func:`cohort_overview` table of a cohort matrix and its repeat-purchase table
    (however they were computed: in process or counted by an engine)."""
    shares = matrix["retention"].copy()
    shares.index = shares.index.astype(str)
    shares.loc["all"] = retention_curve(matrix, period=period)["retention"]
    shares = shares.round(3)
    shares.insert(0, f"repeat_{repeat_days}d", repeat["repeat_rate"].reindex(shares.index)
                  .round(3))
    shares.insert(0, "cohort_size", repeat["customers"].reindex(shares.index))
    shares.index.name = "cohort"
    shares.columns.name = "periods_since_acquisition"
    return shares


def at_risk_table(engine: Engine, *, window: str = "90D", models: ValueModels | None = None,
                  top: int | None = None) -> pd.DataFrame:
    """Customers showing latent switching (falling purchase rate or spend and a falling
    probability of being alive), with the reason and the value at risk, most valuable first."""
    sales = read_transactions(engine)
    if sales.empty:
        raise UserError(N_("no sales yet: import transactions first"))
    end = sales["occurred_at"].max().normalize()
    models = models or fit_value_models(engine)
    summary = models.summary  # in days, up to the last transaction day
    known = ~models.new_customers  # T = 0 adds nothing to the fit; scored as new customers
    daily = BetaGeo().fit(summary.loc[known, "frequency"], summary.loc[known, "recency"],
                          summary.loc[known, "T"])
    flagged = latent_switching(sales, daily, observation_end=end, window=window,
                               clv=models.customers["clv"].dropna() if
                               models.customers["clv"].notna().any() else None)
    table = _profiles(engine)[["name", "size", "tier"]].join(flagged, how="inner")
    table = table.sort_values("value_at_risk", ascending=False)
    return table.head(top) if top else table


def _latest_answers(engine: Engine, items: tuple[str, ...]) -> pd.DataFrame:
    responses = read_responses(engine)
    if responses.empty:
        return pd.DataFrame(columns=list(items))
    responses = responses[responses["quality_flags"].map(lambda f: not f)]
    answers = read_answers(engine, item_codes=list(items))
    wide = answers.pivot_table(index="response_pk", columns="item_code", values="value_num")
    wide = responses.set_index("response_pk")[["customer_id", "submitted_at"]].join(wide,
                                                                                  how="inner")
    wide = wide.dropna(subset=["customer_id"]).sort_values("submitted_at")
    return wide.groupby("customer_id").last().reindex(columns=list(items))


def segments_table(engine: Engine, models: ValueModels | None = None, *,
                   customers: frozenset | None = None) -> dict[str, pd.DataFrame]:
    """Value tiers, Jones–Sasser quadrants (latest satisfaction answer against behavioural
    loyalty: P(alive) >= 0.5 and a repeat purchase) and advocates / users / comparers; of the
    ``customers`` (external ids) when given, their tiers those of the whole customer base."""
    models = models or fit_value_models(engine)
    value = models.customers["clv"].where(models.customers["clv"].notna(),
                                          models.summary["total_spend"])
    tiers = only(value_tiers(value), customers, None)
    value = value.reindex(tiers.index)
    out = {"value_tiers": tiers.groupby("tier").agg(customers=("decile", "size"))
           .join(value.groupby(tiers["tier"]).sum().rename("value"))}
    latest = only(_latest_answers(engine, ("overall_satisfaction", "nps", "repurchase_intent",
                                           "price_reasonable")), customers, None)
    loyal = ((models.customers["p_alive"] >= 0.5) & (models.summary["frequency"] > 0))
    sat = latest["overall_satisfaction"].dropna()
    if not sat.empty:
        quadrants = jones_sasser(sat, loyal.reindex(sat.index).astype(float), sat_cut=9,
                                 loyal_cut=1)
        out["jones_sasser"] = quadrants.value_counts().rename("customers").to_frame()
        switching = latest["repurchase_intent"] / 2  # 1–10 intention as a 1–5 switching cost
        price = 6 - latest["price_reasonable"] / 2    # low price rating = price sensitive
        advocacy = advocacy_segments(latest["nps"], switching, price)
        out["advocacy"] = advocacy.value_counts().rename("customers").to_frame()
    return out


def whale_table(engine: Engine, *, cost_per_touchpoint: float = 300.0,
                cost_per_case: float = 1500.0,
                summary: pd.DataFrame | None = None,
                customers: frozenset | None = None) -> tuple[pd.DataFrame, dict]:
    """The profit whale curve and its 80/20 and 80/20/30 figures. Profit per customer is gross
    profit from sales minus a cost to serve allocated from touchpoints and cases (of the
    ``customers``, external ids, when given)."""
    if summary is None:
        summary = read_customer_summary(engine)
    summary = only(summary, customers, None)
    if summary.empty:
        raise UserError(N_("no sales yet: import transactions first"))
    kept = frozenset(summary.index) if customers is not None else None
    cost = allocate_cost_to_serve(only(read_touchpoints(engine), kept),
                                  only(read_cases(engine), kept),
                                  pd.Series(summary.index), cost_per_touchpoint=cost_per_touchpoint,
                                  cost_per_case=cost_per_case)
    profit = summary["profit"] - cost["cost_to_serve"].reindex(summary.index).fillna(0.0)
    return whale_curve(profit), whale_figures(profit, summary["total_spend"])


def holdout_table(engine: Engine, *, holdout_weeks: int = 26,
                  customers: frozenset | None = None) -> pd.DataFrame:
    """Holdout validation of BG/NBD: fit on the calibration period, compare predicted and
    actual repeat purchases in the last ``holdout_weeks`` by calibration frequency (with MAE);
    the model is fitted on every customer and compared on the ``customers`` (external ids) when
    given."""
    sales = read_transactions(engine)
    sales = sales[~sales["is_refund"].astype(bool)]
    if sales.empty:
        raise UserError(N_("no sales yet: import transactions first"))
    end = sales["occurred_at"].max()
    cut = end - pd.Timedelta(weeks=holdout_weeks)
    if cut <= sales["occurred_at"].min():
        span = (end - sales["occurred_at"].min()) / pd.Timedelta(weeks=1)
        raise ValueError(f"a holdout of {holdout_weeks} weeks (--weeks) leaves no calibration "
                         f"period: the sales span {span:.1f} weeks; choose fewer holdout weeks")
    cal = calibration_holdout_summary(sales, "customer_id", "occurred_at",
                                      calibration_period_end=cut, observation_period_end=end,
                                      freq="W")
    new = cal["T_cal"] <= 0  # acquired in the last calibration week: nothing to fit, still
    known = cal[~new]        # predicted (as new customers) and compared
    model = BetaGeo().fit(known["frequency_cal"], known["recency_cal"], known["T_cal"])
    compared = only(cal, customers, None)
    if compared.empty:
        raise UserError(N_("none of these customers bought in the calibration period"))
    table = holdout_comparison(model, compared, compared["frequency_holdout"],
                               duration=holdout_weeks)
    start = sales["occurred_at"].min()
    span = (cut - start) / pd.Timedelta(weeks=1)
    table.attrs["about"] = {
        "time_unit": "week", "calibration_start": f"{start:%Y-%m-%d}",
        "calibration_end": f"{cut:%Y-%m-%d}", "holdout_end": f"{end:%Y-%m-%d}",
        "calibration_weeks": round(float(span), 1), "holdout_weeks": int(holdout_weeks),
        "new_customers": int(new.sum()), "purchase_model": model_about(model, "BG/NBD")}
    table.attrs["notes"] = [
        f"Calibration period {start:%Y-%m-%d} to {cut:%Y-%m-%d} ({span:.1f} weeks): the "
        f"purchase model is fitted on these sales; holdout period {cut:%Y-%m-%d} to "
        f"{end:%Y-%m-%d} ({holdout_weeks} weeks): each customer's repeat purchases there are "
        "predicted and compared with what happened.",
        "Time in weeks; purchases are counted per purchase week. frequency_cal: repeat "
        "purchase weeks in the calibration period; actual, predicted: mean holdout purchases "
        "per customer; mae: mean absolute error per customer.",
        *model_lines(model, "Purchase model BG/NBD (time in weeks), calibration fit")]
    if new.any():
        table.attrs["notes"].append(
            f"{int(new.sum()):,} customers first seen in the last calibration week (T = 0) are "
            "left out of the fit and predicted as newly acquired customers.")
    return table


# -- saved model parameters ---------------------------------------------------------------------

#: ``format`` and ``format_version`` of the parameter files :func:`save_value_models` writes.
PARAMS_FORMAT, PARAMS_VERSION = "patronage-value-models", 1
_SAVE_HINT = "write a new one with: patronage analyze clv --save-params FILE.json"
_MODEL_KEYS = ("hyperparameters", "params_", "standard_errors_", "log_likelihood_",
               "n_customers_", "converged_")


@dataclass(frozen=True)
class SavedModels:
    """Purchase and spend models read from a parameter file, with the record of their fit."""

    purchases: BetaGeo
    spend: GammaGamma | None
    fit: FitRecord
    source: str

    def check_against(self, summary: pd.DataFrame) -> None:
        """Refuse data that ends before the sales the models were fitted on: the file then
        belongs to other data (another company, or a later copy of this database)."""
        _first, end = _data_range(summary)
        if end < pd.Timestamp(self.fit.observation_end):
            raise ValueError(
                f"{self.source}: the models were fitted on sales up to {self.fit.observation_end}, "
                f"but the sales here end on {end:%Y-%m-%d}; the file belongs to other data. "
                f"Use the parameter file fitted on this database, or {_SAVE_HINT}")


def value_models_json(models: ValueModels) -> str:
    """The fitted parameters of ``models`` (with standard errors, log-likelihoods, the fit date,
    the data range and the number of customers) as the JSON text of a parameter file."""
    if models.fit is None:
        raise ValueError("these models carry no fit record; fit them with fit_value_models")
    fit = models.fit
    payload = {
        "format": PARAMS_FORMAT, "format_version": PARAMS_VERSION, "time_unit": "week",
        "fitted_at": fit.fitted_at,
        "data": {"first_purchase": fit.first_purchase, "observation_end": fit.observation_end,
                 "customers": fit.customers, "repeat_buyers": fit.repeat_buyers},
        "margin_at_fit": fit.margin,
        "purchase_model": json.loads(models.purchases.to_json()),
        "spend_model": None if models.spend is None else json.loads(models.spend.to_json()),
    }
    return json.dumps(payload, indent=1, allow_nan=False)


def save_value_models(models: ValueModels, path) -> Path:
    """Write the parameter file of ``models`` to ``path`` (see :func:`value_models_json`)."""
    path = Path(path)
    text = value_models_json(models)
    try:
        path.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def _model(payload, cls, what: str, source: str):
    if not isinstance(payload, dict):
        raise ValueError(f"{source}: {what} is missing or not an object; {_SAVE_HINT}")
    if payload.get("model") != cls.__name__:
        raise ValueError(f"{source}: the {what} is a {payload.get('model')!r} model, but this "
                         f"command scores with {cls.__name__}; {_SAVE_HINT}")
    missing = [k for k in _MODEL_KEYS if k not in payload]
    params = payload.get("params_")
    if missing or not isinstance(params, dict) or not isinstance(
            payload.get("hyperparameters"), dict):
        raise ValueError(f"{source}: the {what} lacks {', '.join(missing) or 'params_'}; "
                         f"the file is damaged; {_SAVE_HINT}")
    for name in cls._param_names:
        value = params.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and value > 0):
            raise ValueError(f"{source}: parameter {name!r} of the {what} is {value!r}; it must "
                             f"be a positive number; {_SAVE_HINT}")
    try:
        return cls.from_json(json.dumps(payload))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{source}: the {what} cannot be read ({exc}); {_SAVE_HINT}") from None


def read_value_models(text: str, source: str = "the parameter file") -> SavedModels:
    """Parse a parameter file's text; ValueError naming ``source`` and what is wrong."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg}); {_SAVE_HINT}") from None
    except RecursionError:
        raise ValueError(f"{source} is nested too deeply to be a parameter file; "
                         f"{_SAVE_HINT}") from None
    if not isinstance(payload, dict) or payload.get("format") != PARAMS_FORMAT:
        raise ValueError(f"{source} is not a Patronage CLV parameter file (it has no "
                         f"\"format\": \"{PARAMS_FORMAT}\"); {_SAVE_HINT}")
    version = payload.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{source} has an unknown format_version {version!r}; {_SAVE_HINT}")
    if version > PARAMS_VERSION:
        raise ValueError(f"{source} was written by a newer Patronage (format_version {version}; "
                         f"this one reads {PARAMS_VERSION}): upgrade Patronage, or {_SAVE_HINT}")
    if payload.get("time_unit") != "week":
        raise ValueError(f"{source} measures time in {payload.get('time_unit')!r}, but the clv "
                         f"models work in weeks; {_SAVE_HINT}")
    data = payload.get("data")
    try:
        fit = FitRecord(fitted_at=str(payload["fitted_at"]),
                        first_purchase=f"{pd.Timestamp(data['first_purchase']):%Y-%m-%d}",
                        observation_end=f"{pd.Timestamp(data['observation_end']):%Y-%m-%d}",
                        customers=int(data["customers"]),
                        repeat_buyers=int(data["repeat_buyers"]),
                        margin=float(payload["margin_at_fit"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{source}: the fit record (fitted_at, data, margin_at_fit) is "
                         f"damaged ({exc}); {_SAVE_HINT}") from None
    purchases = _model(payload.get("purchase_model"), BetaGeo, "purchase_model", source)
    spend_payload = payload.get("spend_model")
    spend = None if spend_payload is None else _model(spend_payload, GammaGamma,
                                                      "spend_model", source)
    return SavedModels(purchases=purchases, spend=spend, fit=fit, source=source)


def load_value_models(path) -> SavedModels:
    """Read a parameter file written by :func:`save_value_models`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"parameter file not found: {path}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text file; {_SAVE_HINT}") from None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    return read_value_models(text, source=str(path))
