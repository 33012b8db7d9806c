"""The relationship survey of the demo company: waves, invitations, responses and answers.

Answers come from a latent model whose true parameters are kept for the tests:

* each respondent has latent qualities ``z`` on the five dimensions (product, service, brand,
  price, communication): the customer's persistent level ``u`` (segment-dependent, see
  :mod:`patronage.demo.population`) + a wave trend (service improves by ``SERVICE_TREND`` per
  wave) + a wave-specific deviation ``w ~ N(0, WAVE_COV)``; ``Var z_d = 1``;
* perception items are congeneric indicators: ``x = center + 1.5 (loading z_d +
  sqrt(1 - loading^2) e)`` rounded and clipped to 1..10;
* expectation items (``<item>.exp``) sit ``EXPECTATION_GAPS`` scale points above the perception
  centre (positive: the attribute disappoints, SERVQUAL gap 5, Parasuraman et al. 1988);
* overall satisfaction ``S = sum_d DIMENSION_EFFECTS[d] z_d + e`` (standardised to unit
  variance); the overall items, loyalty items and the 0-10 recommendation (NPS) item are noisy
  functions of ``S``;
* Kano pairs are drawn from each attribute's true category (``KANO_CATEGORIES``) with 60%
  probability, else from another category (Berger et al. 1993 evaluation table).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from importlib.resources import files

import numpy as np
import pandas as pd
from scipy.stats import norm

from patronage.demo.population import DIMENSIONS
from patronage.index_system import EXPECTATION_SUFFIX, parse_index_system
from patronage.surveys.templates import relationship_from_index_system

#: True standardized effects of the latent dimensions on overall satisfaction (clearly separated).
DIMENSION_EFFECTS = {"product": 0.45, "service": 0.34, "price": 0.24, "brand": 0.14,
                     "communication": 0.06}
SERVICE_TREND = 0.1
WAVE_COV = 0.3 * np.eye(len(DIMENSIONS)) + 0.1
CUSTOMER_COV = 0.4 * np.eye(len(DIMENSIONS)) + 0.2
SATISFACTION_NOISE = 0.45
#: Extra latent shift for key accounts in latent switching (they are less satisfied).
DECLINING_SHIFT = {"service": -0.6, "price": -0.3}
DIMENSION_CENTER = {"product": 7.2, "service": 6.8, "brand": 7.3, "price": 6.1,
                    "communication": 6.8}
EXPECTATION_GAPS = {"speed_timeliness": 1.4, "speed_effectiveness": 1.0, "price_reasonable": 1.5,
                    "price_vs_expected": 1.2, "service_aftersale": 1.1, "custom_fit": 0.9,
                    "custom_flexibility": 0.8, "attitude_warmth": -0.5,
                    "attitude_professionalism": -0.4,
                    "innovation_design": -0.3}
DEFAULT_EXPECTATION_GAP = 0.3
NPS_CENTER, NPS_SCALE, NPS_LOADING = 7.7, 1.6, 0.9
KANO_CATEGORIES = {"fast_delivery": "O", "online_tracking": "M", "dedicated_manager": "A",
                   "free_installation": "M", "mobile_app": "I"}
#: (functional, dysfunctional) answer pairs per Kano category (1 like, 2 must-be, 3 neutral,
#: 4 live with, 5 dislike).
KANO_PAIRS = {
    "A": ((1, 2), (1, 3), (1, 4)),
    "O": ((1, 5),),
    "M": ((2, 5), (3, 5), (4, 5)),
    "I": ((2, 2), (2, 3), (3, 3), (3, 4), (4, 3), (4, 4), (3, 2)),
    "R": ((5, 1), (4, 1), (3, 1)),
    "Q": ((1, 1), (5, 5)),
}
KANO_TRUE_SHARE = 0.6
MISSING_SHARE = 0.03
RESPONSE_RATE = 0.28
INVITE_SHARE = 0.95
SPEEDER_SHARE = 0.015
COMMENT_SHARE = 0.3
SURVEY_CODE = "relationship"

_COMMENTS = {
    "en": {
        "positive": {
            "product": ("The machines run reliably, very happy with the quality.",
                        "Great product, the new model is a real improvement."),
            "service": ("Support engineer was excellent.", "Fast and friendly after-sale service."),
            "brand": ("A brand we trust.", "Proud to work with your company."),
            "price": ("Fair price for what we get.", "Good value for money."),
            "communication": ("Always kept informed about our orders.",
                              "Clear and timely updates."),
        },
        "negative": {
            "product": ("Too many breakdowns this quarter.",
                        "Quality has slipped, parts wear out fast."),
            "service": ("Waited three days for an engineer.", "Nobody answers the hotline."),
            "brand": ("Not sure the brand is worth it any more.", "Your reputation is declining."),
            "price": ("Too expensive compared with other suppliers.",
                      "Price increase was not justified."),
            "communication": ("Never told about the delivery delay.",
                              "Hard to reach the right person."),
        },
    },
    "zh_Hans": {
        "positive": {
            "product": ("设备运行稳定，质量很好。", "新型号改进很大，非常满意。"),
            "service": ("工程师很专业，服务周到。", "售后响应及时，态度很好。"),
            "brand": ("值得信赖的品牌。", "和贵公司合作很放心。"),
            "price": ("价格合理，物有所值。", "性价比很高。"),
            "communication": ("订单进度通知很及时。", "沟通顺畅，信息清楚。"),
        },
        "negative": {
            "product": ("设备故障太多，影响生产。", "质量不如以前，配件容易坏。"),
            "service": ("交货太慢了，希望改进。", "售后电话总是打不通。"),
            "brand": ("品牌形象一般，没有特色。", "对品牌的信任在下降。"),
            "price": ("价格太贵了，比同行高。", "涨价没有提前说明。"),
            "communication": ("发货延迟也没人通知。", "找不到对接人，沟通困难。"),
        },
    },
    "zh_Hant": {
        "positive": {d: ("服務很好，非常滿意。", "品質穩定，值得信賴。") for d in DIMENSIONS},
        "negative": {d: ("交貨太慢了，希望改進。", "價格太貴，服務也一般。") for d in DIMENSIONS},
    },
}
_HOSTILE_COMMENTS = ("<script>alert(1)</script> great service",
                     '=HYPERLINK("http://example.com","click me")')


def survey_definition() -> dict:
    """The default index system, used as the survey's definition."""
    text = (files("patronage") / "data" / "index_system.json").read_text(encoding="utf-8")
    return json.loads(text)


def quarter_waves(today: date, count: int = 4) -> pd.DataFrame:
    """The ``count`` quarters ending with the one holding ``today``: name, starts_on, ends_on."""
    rows = []
    year, quarter = today.year, (today.month - 1) // 3
    for _ in range(count):
        start = date(year, 3 * quarter + 1, 1)
        end_year, end_month = (year + 1, 1) if quarter == 3 else (year, 3 * quarter + 4)
        rows.append({"name": f"{year}-Q{quarter + 1}", "starts_on": start,
                     "ends_on": date(end_year, end_month, 1) - timedelta(days=1)})
        year, quarter = (year - 1, 3) if quarter == 0 else (year, quarter - 1)
    frame = pd.DataFrame(rows[::-1])
    frame["starts_on"] = frame["starts_on"].astype(object)
    frame["ends_on"] = frame["ends_on"].astype(object)
    return frame


def satisfaction_scale() -> float:
    """Standard deviation of ``S`` in the population (the unit of the standardised ``S``)."""
    beta = np.array([DIMENSION_EFFECTS[d] for d in DIMENSIONS])
    variance = beta @ (CUSTOMER_COV + WAVE_COV) @ beta + SATISFACTION_NOISE**2
    return float(np.sqrt(variance))


def _latent_means(latent_u: np.ndarray, declining: np.ndarray, wave_index: int) -> np.ndarray:
    mean = latent_u.copy()
    mean[:, DIMENSIONS.index("service")] += SERVICE_TREND * wave_index
    for dim, shift in DECLINING_SHIFT.items():
        mean[declining, DIMENSIONS.index(dim)] += shift
    return mean


def implied_nps(latent_u: np.ndarray, declining: np.ndarray, wave_index: int) -> float:
    """Population NPS implied by the model for customers with persistent levels ``latent_u``.

    The NPS answer is ``round(c + s (l S* + sqrt(1 - l^2) e))`` with ``S*`` normal given the
    customer, so P(promoter) = P(x >= 8.5) and P(detractor) = P(x < 6.5) in closed form.
    """
    beta = np.array([DIMENSION_EFFECTS[d] for d in DIMENSIONS])
    scale = satisfaction_scale()
    mean_s = _latent_means(latent_u, declining, wave_index) @ beta / scale
    var_s = (beta @ WAVE_COV @ beta + SATISFACTION_NOISE**2) / scale**2
    mu = NPS_CENTER + NPS_SCALE * NPS_LOADING * mean_s
    sd = NPS_SCALE * np.sqrt(NPS_LOADING**2 * var_s + 1 - NPS_LOADING**2)
    promoters = norm.sf((8.5 - mu) / sd)
    detractors = norm.cdf((6.5 - mu) / sd)
    return float(100 * np.mean(promoters - detractors))


def _scale_item(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip(np.round(values), low, high)


def _item_design(items: pd.DataFrame) -> pd.DataFrame:
    """Loading and centre per perception item of the five latent dimensions."""
    design = items[items["dimension"].isin(DIMENSIONS)][["item_code", "dimension", "expectation"]]
    position = design.groupby("dimension").cumcount().to_numpy()
    design = design.assign(
        loading=0.88 - 0.04 * (position % 4),
        center=design["dimension"].map(DIMENSION_CENTER).to_numpy() + 0.3 * ((position % 3) - 1),
    )
    return design.reset_index(drop=True)


def driver_effects() -> dict[str, float]:
    """True effect of each perception item: its dimension's effect times the item's loading."""
    design = _item_design(parse_index_system(survey_definition()).items)
    return {row.item_code: round(DIMENSION_EFFECTS[row.dimension] * row.loading, 6)
            for row in design.itertuples()}


def _eligible(customers: pd.DataFrame, params: pd.DataFrame, start: pd.Timestamp) -> np.ndarray:
    defected = params["defected_at"].to_numpy()
    return ((params["acquired_at"].to_numpy() < start)
            & (pd.isna(defected) | (defected > start))
            & customers["consent_survey"].to_numpy())


def _kano_answers(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    out = {}
    categories = list(KANO_PAIRS)
    for attribute, true in KANO_CATEGORIES.items():
        others = [c for c in "AOMI" if c != true]
        probs = np.array([KANO_TRUE_SHARE if c == true
                          else (1 - KANO_TRUE_SHARE - 0.05) / len(others) if c in others
                          else (0.03 if c == "R" else 0.02) for c in categories])
        chosen = rng.choice(len(categories), size=n, p=probs / probs.sum())
        pick = rng.random(n)
        pairs = np.array([KANO_PAIRS[categories[c]][int(u * len(KANO_PAIRS[categories[c]]))]
                          for c, u in zip(chosen, pick)], dtype=float).reshape(n, 2)
        out[f"kano.{attribute}.f"] = pairs[:, 0]
        out[f"kano.{attribute}.d"] = pairs[:, 1]
    return out


def _comments(rng, wide, latent, language, n):
    has = rng.random(n) < COMMENT_SHARE
    overall = np.nan_to_num(wide["overall_satisfaction"], nan=6.0)
    positive = (overall >= 8) | ((overall > 5) & (rng.random(n) < 0.5))
    best, worst = latent.argmax(axis=1), latent.argmin(axis=1)
    pick = rng.random(n)
    texts = np.full(n, None, dtype=object)
    for i in np.flatnonzero(has):
        tone = "positive" if positive[i] else "negative"
        dim = DIMENSIONS[best[i] if positive[i] else worst[i]]
        options = _COMMENTS[language[i]][tone][dim]
        texts[i] = options[int(pick[i] * len(options))]
    for k, i in enumerate(np.flatnonzero(has)[:len(_HOSTILE_COMMENTS)]):
        texts[i] = _HOSTILE_COMMENTS[k]
    return texts


def _answers_wide(rng, design, items, latent, s_std, size, declining):
    n = len(s_std)
    wide: dict[str, np.ndarray] = {}
    noise = lambda: rng.standard_normal(n)  # noqa: E731
    wide["overall_satisfaction"] = _scale_item(6.9 + 1.6 * s_std + 0.5 * noise(), 1, 10)
    wide["repurchase_intent"] = _scale_item(
        7.0 + 1.5 * (0.8 * s_std + 0.6 * noise()) - 1.0 * declining, 1, 10)
    recommend = NPS_LOADING * s_std + np.sqrt(1 - NPS_LOADING**2) * noise()
    wide["nps"] = _scale_item(NPS_CENTER + NPS_SCALE * recommend, 0, 10)
    wide["trust"] = _scale_item(7.2 + 1.4 * (0.75 * s_std + 0.66 * noise()), 1, 10)
    key = size == "key account"
    for row in design.itertuples():
        z = latent[:, DIMENSIONS.index(row.dimension)]
        value = row.center + 1.5 * (row.loading * z + np.sqrt(1 - row.loading**2) * noise())
        wide[row.item_code] = _scale_item(value, 1, 10)
        if row.expectation:
            gap = EXPECTATION_GAPS.get(row.item_code, DEFAULT_EXPECTATION_GAP)
            expected = row.center + gap + 0.4 * key + 1.2 * noise()
            wide[row.item_code + EXPECTATION_SUFFIX] = _scale_item(expected, 1, 10)
    # Keep the index system's item order, then expectations, then Kano.
    ordered = [c for c in items["item_code"] if c in wide]
    ordered += [c for c in wide if c not in ordered]
    wide.update(_kano_answers(rng, n))
    ordered += [c for c in wide if c not in ordered]
    return {c: wide[c] for c in ordered}


def generate_survey(rng: np.random.Generator, customers: pd.DataFrame, params: pd.DataFrame,
                    latent_u: np.ndarray, today: date) -> dict:
    """Survey, waves, invitations, responses, answers and the survey truth.

    ``latent_u`` holds the customers' persistent latent levels (rows aligned with
    ``customers``). Frames refer to customers, waves, invitations and responses by their
    external keys (customer external id, wave name, invitation token, response external id).
    """
    definition = survey_definition()
    index_system = parse_index_system(definition)
    design = _item_design(index_system.items)
    waves = quarter_waves(today)
    first = pd.Timestamp(waves["starts_on"].iloc[0])
    survey = pd.DataFrame([{
        "code": SURVEY_CODE, "title": "客户关系满意度调查",
        "language": "zh_Hans", "status": "open",
        # The stored definition is the questionnaire built from the same index system, so the
        # survey pages, agent entry and cleaning work on the demo survey too.
        "definition": relationship_from_index_system(index_system).to_dict(),
        "created_at": first - pd.Timedelta(days=14),
    }])
    declining_all = params["declining_key_account"].to_numpy()
    beta = np.array([DIMENSION_EFFECTS[d] for d in DIMENSIONS])
    scale = satisfaction_scale()
    language_all = np.where(customers["chinese"].to_numpy(),
                            np.where(customers["region"].to_numpy() == "Overseas", "zh_Hant",
                                     "zh_Hans"), "en")
    end_of_today = pd.Timestamp(today) + pd.Timedelta(hours=23, minutes=59)
    invitations, responses, wides, nps_truth, respondents_truth = [], [], [], {}, {}
    for k, wave in enumerate(waves.itertuples()):
        start = pd.Timestamp(wave.starts_on)
        eligible = np.flatnonzero(_eligible(customers, params, start))
        nps_truth[wave.name] = implied_nps(latent_u[eligible], declining_all[eligible], k)
        invited = np.sort(rng.choice(eligible, size=int(round(INVITE_SHARE * len(eligible))),
                                     replace=False))
        tokens = [f"{h:016x}{g:016x}" for h, g in zip(
            rng.integers(0, 2**63, size=len(invited)), rng.integers(0, 2**63, size=len(invited)))]
        responded = rng.random(len(invited)) < RESPONSE_RATE
        window = min(42.0, (end_of_today - start) / pd.Timedelta(days=1))
        submitted = start + pd.to_timedelta(
            np.round((0.3 + rng.random(len(invited)) * (window - 0.3)) * 86400), unit="s")
        invitations.append(pd.DataFrame({
            "token": tokens, "wave": wave.name,
            "customer_id": customers["external_id"].to_numpy()[invited],
            "created_at": start + pd.Timedelta(hours=9), "sent_at": start + pd.Timedelta(hours=9),
            "responded_at": pd.Series(submitted).where(responded).to_numpy(),
        }))
        who = invited[responded]
        m = len(who)
        respondents_truth[wave.name] = implied_nps(latent_u[who], declining_all[who], k)
        mean = _latent_means(latent_u[who], declining_all[who], k)
        latent = mean + rng.multivariate_normal(np.zeros(len(DIMENSIONS)), WAVE_COV, size=m,
                                                method="cholesky")
        s = latent @ beta + SATISFACTION_NOISE * rng.standard_normal(m)
        s_std = s / scale
        wide = _answers_wide(rng, design, index_system.items, latent, s_std,
                             customers["size"].to_numpy()[who], declining_all[who])
        duration = np.round(rng.lognormal(np.log(480), 0.45, size=m))
        speeder = rng.random(m) < SPEEDER_SHARE
        duration = np.where(speeder, rng.integers(25, 90, size=m), duration)
        flat = _scale_item(rng.uniform(5, 9, size=m), 1, 10)
        for code, values in wide.items():
            if code != "nps" and not code.startswith("kano."):
                wide[code] = np.where(speeder, flat, values)
        language = language_all[who]
        wide_frame = pd.DataFrame(wide)
        wide_frame["comment"] = _comments(rng, wide, latent, language, m)
        sub = submitted[responded]
        responses.append(pd.DataFrame({
            "wave": wave.name, "customer_id": customers["external_id"].to_numpy()[who],
            "invitation_token": np.asarray(tokens, dtype=object)[responded],
            "channel": np.asarray(("web", "email", "phone"), dtype=object)[
                rng.choice(3, size=m, p=[0.55, 0.3, 0.15])],
            "language": language,
            "started_at": sub - pd.to_timedelta(duration, unit="s"),
            "submitted_at": sub,
            "weight": 1.0,
            "quality_flags": [{"speeder": f"completed in {int(d)} s"} if f else {}
                              for d, f in zip(duration, speeder)],
            **{f"z_{d}": latent[:, j] for j, d in enumerate(DIMENSIONS)},
            "satisfaction": s_std,
        }))
        wides.append(wide_frame)
    response_frame = pd.concat(responses, ignore_index=True)
    response_frame.insert(0, "external_id",
                          [f"R{i:06d}" for i in range(1, len(response_frame) + 1)])
    wide = pd.concat(wides, ignore_index=True)
    numeric = wide.drop(columns="comment")
    missing = rng.random(numeric.shape) < MISSING_SHARE
    numeric = numeric.mask(missing)
    answers = _long_answers(response_frame["external_id"].to_numpy(), numeric, wide["comment"])
    latent_cols = [f"z_{d}" for d in DIMENSIONS] + ["satisfaction"]
    truth = {
        "nps_by_wave": nps_truth,
        "respondent_nps_by_wave": respondents_truth,
        "response_latent": response_frame.set_index("external_id")[latent_cols],
    }
    return {
        "surveys": survey,
        "waves": waves.assign(survey=SURVEY_CODE)[["survey", "name", "starts_on", "ends_on"]],
        "invitations": pd.concat(invitations, ignore_index=True).assign(survey=SURVEY_CODE),
        "responses": response_frame.drop(columns=latent_cols).assign(survey=SURVEY_CODE),
        "answers": answers,
        "truth": truth,
    }


def _long_answers(response_ids: np.ndarray, numeric: pd.DataFrame,
                  comments: pd.Series) -> pd.DataFrame:
    """Long answers: one row per given answer (missing answers have no row), comments last."""
    values = numeric.to_numpy(dtype=float)
    rows, cols = np.nonzero(~np.isnan(values))
    has = np.flatnonzero(comments.notna().to_numpy())
    text = np.full(len(rows) + len(has), None, dtype=object)
    text[len(rows):] = comments.to_numpy()[has]
    long = pd.DataFrame({
        "response_id": np.concatenate([response_ids[rows], response_ids[has]]),
        "item_code": np.concatenate([np.asarray(numeric.columns, dtype=object)[cols],
                                     np.full(len(has), "comment", dtype=object)]),
        "value_num": np.concatenate([values[rows, cols], np.full(len(has), np.nan)]),
        "value_text": text,
    })
    order = np.argsort(np.concatenate([rows, has]), kind="stable")
    return long.iloc[order].reset_index(drop=True)


__all__ = [
    "DIMENSION_EFFECTS",
    "EXPECTATION_GAPS",
    "KANO_CATEGORIES",
    "SURVEY_CODE",
    "driver_effects",
    "generate_survey",
    "implied_nps",
    "quarter_waves",
    "satisfaction_scale",
    "survey_definition",
]
