"""Extra demo surveys: SERVQUAL-22, customer effort (CES) and competitor ratings (issue 3).

All draws come from a stream of their own, ``SeedSequence([seed, 77])``, so adding these surveys
leaves every frame of the relationship survey unchanged for the same seed.

* **SERVQUAL-22** (Parasuraman, Zeithaml & Berry 1988; 1991 wording of 22 items on a 1–7 scale):
  one wave (the last quarter), ``SERVQUAL_RESPONSES`` alive customers. Each respondent has an
  expectation level ``e ~ N(EXPECTATION_CENTER, 0.4²)`` and, per dimension, a perception level
  ``e + SERVQUAL_GAPS[d] + N(0, 0.35²)``; item answers add ``N(0, 0.6²)`` noise and are rounded
  and clipped to 1..7, so the mean SERVQUAL gap (perception − expectation) of dimension ``d`` is
  ``SERVQUAL_GAPS[d]`` up to the (small) effect of clipping.
* **CES** (Dixon, Freeman & Toman 2010): ``CES_RESPONSES`` answers after closed complaint and
  inquiry cases of the last four quarters; effort on 1 (very easy) … 7 (very hard), drawn as
  ``round(N(CES_LATENT_MEAN[type], CES_NOISE²))`` clipped to 1..7. The truth is the exact
  expected answer per case type (:func:`expected_rounded_mean`).
* **Competitor ratings**: ~``COMPETITOR_SHARE`` of the last relationship wave's respondents also
  rate ``COMPETITOR`` on the product items of the index system (answer codes
  ``competitor.hengtai.<item>``): ``round(own − COMPETITOR_GAPS[indicator] + N(0, 0.9²))``
  clipped to 1..10, so own − competitor is negative where the competitor is better.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.stats import norm

from patronage.analytics.servqual import SERVQUAL_DIMENSIONS
from patronage.index_system import parse_index_system
from patronage.surveys.templates import load_template

STREAM_KEY = 77
SERVQUAL_CODE, CES_CODE = "servqual22", "ces"
SERVQUAL_RESPONSES, CES_RESPONSES = 400, 300
#: True SERVQUAL gaps (perception − expectation, scale points) per dimension.
SERVQUAL_GAPS = {"tangibles": -0.3, "reliability": -1.1, "responsiveness": -0.8,
                 "assurance": -0.2, "empathy": -0.5}
EXPECTATION_CENTER = 5.7
SERVQUAL_MISSING = 0.02
#: Mean of the latent effort per case type (before rounding and clipping to 1..7).
CES_LATENT_MEAN = {"complaint": 4.4, "inquiry": 2.8}
CES_NOISE = 1.2
COMPETITOR = "hengtai"
COMPETITOR_SHARE = 0.4
#: True own − competitor difference per product indicator (negative: the competitor is better).
COMPETITOR_GAPS = {"quality": -0.6, "innovation": 0.4, "customization": 0.0}
COMPETITOR_NOISE = 0.9
COMPETITOR_MISSING = 0.02


@dataclass(frozen=True)
class DemoExtra:
    """Rows of the extra surveys, keyed like :class:`patronage.demo.DemoCompany`'s frames.

    ``answers`` also holds the competitor ratings, which belong to relationship responses.
    """

    surveys: pd.DataFrame
    waves: pd.DataFrame
    responses: pd.DataFrame
    answers: pd.DataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        """The table frames by table name (insertion order)."""
        return {name: getattr(self, name) for name in ("surveys", "waves", "responses", "answers")}


def expected_rounded_mean(mean: float, sd: float, low: int, high: int) -> float:
    """``E[clip(round(X), low, high)]`` for ``X ~ N(mean, sd²)`` (exact, from the normal CDF)."""
    values = np.arange(low, high + 1, dtype=float)
    upper = np.append(values[:-1] + 0.5, np.inf)
    lower = np.insert(values[1:] - 0.5, 0, -np.inf)
    probs = norm.cdf((upper - mean) / sd) - norm.cdf((lower - mean) / sd)
    return float(values @ probs)


def _long(response_ids: np.ndarray, wide: pd.DataFrame) -> pd.DataFrame:
    """One answer row per given (non-missing) value, response by response."""
    values = wide.to_numpy(dtype=float)
    rows, cols = np.nonzero(~np.isnan(values))
    return pd.DataFrame({
        "response_id": response_ids[rows],
        "item_code": np.asarray(wide.columns, dtype=object)[cols],
        "value_num": values[rows, cols],
        "value_text": np.full(len(rows), None, dtype=object),
    })


def _responses(prefix, survey, wave, customer_ids, submitted, duration, channel, language):
    n = len(customer_ids)
    return pd.DataFrame({
        "external_id": [f"{prefix}{i:06d}" for i in range(1, n + 1)],
        "wave": wave, "customer_id": np.asarray(customer_ids, dtype=object),
        "invitation_token": np.full(n, None, dtype=object),
        "channel": np.asarray(channel, dtype=object), "language": language,
        "started_at": submitted - pd.to_timedelta(duration, unit="s"),
        "submitted_at": submitted, "weight": 1.0, "quality_flags": [{} for _ in range(n)],
        "survey": survey,
    })


def _servqual(rng, customers, params, start, end):
    eligible = np.flatnonzero(params["alive"].to_numpy() & customers["consent_survey"].to_numpy()
                              & (params["acquired_at"].to_numpy() < start))
    n = min(SERVQUAL_RESPONSES, len(eligible))
    who = np.sort(rng.choice(eligible, size=n, replace=False))
    expectation = EXPECTATION_CENTER + 0.4 * rng.standard_normal(n)
    wide = {}
    for dimension, numbers in SERVQUAL_DIMENSIONS.items():
        perception = expectation + SERVQUAL_GAPS[dimension] + 0.35 * rng.standard_normal(n)
        for i in numbers:
            wide[f"sq{i}.exp"] = expectation + 0.6 * rng.standard_normal(n)
            wide[f"sq{i}"] = perception + 0.6 * rng.standard_normal(n)
    frame = pd.DataFrame(wide).round().clip(1, 7)
    frame = frame.mask(rng.random(frame.shape) < SERVQUAL_MISSING)
    seconds = (end - start) / pd.Timedelta(seconds=1)
    submitted = start + pd.to_timedelta(np.round(rng.random(n) * seconds), unit="s")
    duration = np.round(rng.lognormal(np.log(420), 0.4, size=n))
    channel = np.asarray(("web", "email"), dtype=object)[rng.choice(2, size=n, p=[0.7, 0.3])]
    responses = _responses("SQ", SERVQUAL_CODE, None, customers["external_id"].to_numpy()[who],
                           submitted, duration, channel, "zh_Hans")
    return responses, _long(responses["external_id"].to_numpy(), frame)


def _ces(rng, cases, waves, start, end):
    done = cases[cases["type"].isin(list(CES_LATENT_MEAN)) & cases["closed_at"].notna()
                 & (cases["closed_at"] >= start)
                 & (cases["closed_at"] < end - pd.Timedelta(days=3))]
    n = min(CES_RESPONSES, len(done))
    picked = done.iloc[np.sort(rng.choice(len(done), size=n, replace=False))]
    picked = picked.sort_values("closed_at", kind="stable")
    case_type = picked["type"].to_numpy()
    latent = np.array([CES_LATENT_MEAN[t] for t in case_type]) + CES_NOISE * rng.standard_normal(n)
    effort = np.clip(np.round(latent), 1, 7)
    submitted = picked["closed_at"].reset_index(drop=True) + pd.to_timedelta(
        np.round((0.05 + 2.5 * rng.random(n)) * 86400), unit="s")
    starts = pd.to_datetime(waves["starts_on"].astype(str)).to_numpy()
    wave = waves["name"].to_numpy()[np.searchsorted(starts, submitted.to_numpy(), "right") - 1]
    duration = np.round(rng.lognormal(np.log(60), 0.4, size=n))
    channel = np.asarray(("web", "email", "phone"), dtype=object)[
        rng.choice(3, size=n, p=[0.5, 0.3, 0.2])]
    responses = _responses("CES", CES_CODE, wave, picked["customer_id"].to_numpy(), submitted,
                           duration, channel, "zh_Hans")
    if "touchpoint_ref" in picked:  # a transactional survey: about the contact of its case
        responses["touchpoint_ref"] = picked["touchpoint_ref"].to_numpy()
    effort = np.where(rng.random(n) < SERVQUAL_MISSING, np.nan, effort)
    answers = _long(responses["external_id"].to_numpy(), pd.DataFrame({"ces": effort}))
    case_of = pd.Series(case_type, index=responses["external_id"].to_numpy(), name="case_type")
    return responses, answers, case_of


def _competitor(rng, responses, answers, last_wave):
    items = parse_index_system(_relationship_definition()).items
    product = items[items["dimension"] == "product"]
    last = responses.loc[responses["wave"] == last_wave, "external_id"].to_numpy()
    chosen = last[rng.random(len(last)) < COMPETITOR_SHARE]
    own = answers[answers["response_id"].isin(chosen)
                  & answers["item_code"].isin(product["item_code"])]
    own = own.pivot(index="response_id", columns="item_code", values="value_num")
    own = own.reindex(index=chosen, columns=product["item_code"])
    gap = product["indicator"].map(COMPETITOR_GAPS).fillna(0.0).to_numpy()
    theirs = own.to_numpy() - gap + COMPETITOR_NOISE * rng.standard_normal(own.shape)
    theirs = np.clip(np.round(theirs), 1, 10)
    theirs[rng.random(own.shape) < COMPETITOR_MISSING] = np.nan
    frame = pd.DataFrame(theirs, columns=[f"competitor.{COMPETITOR}.{c}" for c in own.columns])
    truth = dict(zip(product["item_code"], gap.tolist()))
    return _long(np.asarray(chosen, dtype=object), frame), truth


def _relationship_definition() -> dict:
    from patronage.demo.surveys import survey_definition

    return survey_definition()


def generate_extra(seed: int, customers: pd.DataFrame, params: pd.DataFrame,
                   cases: pd.DataFrame, responses: pd.DataFrame, answers: pd.DataFrame,
                   waves: pd.DataFrame, today: date) -> tuple[DemoExtra, dict]:
    """The extra surveys' frames and their truth (keyword arguments for ``DemoTruth``).

    ``customers``, ``params``, ``cases``, ``responses``, ``answers`` and ``waves`` are the
    relationship company's frames (read only); ``waves`` holds the relationship survey's quarters.
    """
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), STREAM_KEY])))
    sq_rng, ces_rng, comp_rng = rng.spawn(3)
    end = pd.Timestamp(today) + pd.Timedelta(hours=23, minutes=59)
    last = waves.iloc[-1]
    last_start = pd.Timestamp(last["starts_on"])
    sq_responses, sq_answers = _servqual(sq_rng, customers, params, last_start, end)
    sq_responses["wave"] = last["name"]
    ces_responses, ces_answers, ces_case = _ces(
        ces_rng, cases, waves, pd.Timestamp(waves["starts_on"].iloc[0]), end)
    comp_answers, comp_truth = _competitor(comp_rng, responses, answers, last["name"])
    surveys = pd.DataFrame([
        {"code": SERVQUAL_CODE, "title": "服务质量调查（SERVQUAL）",
         "language": "zh_Hans", "status": "closed",
         "definition": load_template(SERVQUAL_CODE).to_dict(),
         "created_at": last_start - pd.Timedelta(days=10)},
        {"code": CES_CODE, "title": "服务后客户费力度",
         "language": "zh_Hans", "status": "open", "definition": load_template(CES_CODE).to_dict(),
         "created_at": pd.Timestamp(waves["starts_on"].iloc[0]) - pd.Timedelta(days=10)},
    ])
    extra_waves = pd.concat([
        pd.DataFrame([last]).assign(survey=SERVQUAL_CODE),
        waves.assign(survey=CES_CODE),
    ], ignore_index=True)[["survey", "name", "starts_on", "ends_on"]]
    extra = DemoExtra(
        surveys=surveys, waves=extra_waves,
        responses=pd.concat([sq_responses, ces_responses], ignore_index=True),
        answers=pd.concat([sq_answers, ces_answers, comp_answers], ignore_index=True),
    )
    truth = {
        "servqual_gaps": dict(SERVQUAL_GAPS),
        "ces_effort": {t: expected_rounded_mean(m, CES_NOISE, 1, 7)
                       for t, m in CES_LATENT_MEAN.items()},
        "ces_case_type": ces_case,
        "competitor": COMPETITOR,
        "competitor_gaps": comp_truth,
    }
    return extra, truth


__all__ = [
    "CES_CODE",
    "COMPETITOR",
    "COMPETITOR_GAPS",
    "DemoExtra",
    "SERVQUAL_CODE",
    "SERVQUAL_GAPS",
    "expected_rounded_mean",
    "generate_extra",
]
