"""The demo's pulse survey and the desk's known truth: a recovery-paradox effect of set size.

Every customer active in the last four quarters is asked now and then (a Poisson process,
``PULSE_INVITES_PER_YEAR``) "how likely are you to recommend us?" in a short pulse survey (item
``pulse_nps``, 0-10) and answers with probability ``PULSE_RESPONSE``. The answer is

    clip(round(PULSE_CENTER + PULSE_SCALE * s + shift + PULSE_NOISE * e), 0, 10)

with ``s`` the customer's persistent standardised satisfaction (the demo's latent model) and
``e ~ N(0, 1)``. ``shift`` is the planted effect: 0 before the customer's first case has been
dealt with and for customers without a case; from the moment it has been dealt with (the
resolution, or 30 days after opening for a case left open), ``RECOVERY_SHIFT["resolved_well"]``
if that first case was resolved on time and never reopened and
``RECOVERY_SHIFT["resolved_badly"]`` if it was late, reopened or left open (the grouping of
:func:`patronage.cases.analysis.recovery_paradox`).

Customers with complaints differ from the others in their latent service level, so raw group
differences are the planted shift plus that selection. :class:`DeskTruth` therefore carries the
exact expected group means and differences for the answers the analysis compares (from the
normal CDF, like the CES truth) together with the part due to the shift alone. The relationship
survey, purchases and every other truth of the demo are untouched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from scipy.stats import norm

PULSE_CODE, PULSE_ITEM = "pulse", "pulse_nps"
PULSE_CENTER, PULSE_SCALE, PULSE_NOISE = 7.4, 1.6, 1.5
PULSE_INVITES_PER_YEAR, PULSE_RESPONSE = 2.0, 0.45
RECOVERY_SHIFT = {"resolved_well": 1.0, "resolved_badly": -1.5}
STALE = pd.Timedelta(days=30)


@dataclass(frozen=True)
class DeskTruth:
    """What the desk's planted recovery effect implies for the analysis.

    * ``item``: the answer item (``pulse_nps``); ``recovery_shift``: the planted shift of the
      latent score per group (scale points);
    * ``expected_means``: per group (resolved_well, never_complained, resolved_badly) the exact
      expected mean of the answers the analysis compares, and ``n`` their number;
    * ``expected_differences``: "resolved_well - never_complained" and
      "resolved_well - resolved_badly" of those means; ``shift_part``: how much of each
      difference is the planted shift (the rest is who complains and who answers);
    * ``sla_compliance`` and ``reopen_rate`` of the generated desk.
    """

    item: str
    recovery_shift: dict
    expected_means: dict
    n: dict
    expected_differences: dict
    shift_part: dict
    sla_compliance: float = float("nan")
    reopen_rate: float = float("nan")


def expected_answer(mean: np.ndarray, sd: float, low: int = 0, high: int = 10) -> np.ndarray:
    """``E[clip(round(X), low, high)]`` for ``X ~ N(mean, sd²)``, element-wise."""
    mean = np.asarray(mean, dtype=float)[:, None]
    values = np.arange(low, high + 1, dtype=float)
    upper = np.append(values[:-1] + 0.5, np.inf)
    lower = np.insert(values[1:] - 0.5, 0, -np.inf)
    probs = norm.cdf((upper - mean) / sd) - norm.cdf((lower - mean) / sd)
    return probs @ values


def recovery_groups(cases: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Per customer with a case: ``group`` of the first case (None while it may still be
    resolved well) and ``moment`` from which it counts, as the analysis decides them."""
    first = cases.sort_values("opened_at", kind="stable").groupby("customer_id").first()
    done = first["resolved_at"].fillna(first["closed_at"])
    late = (done > first["resolution_due_at"]).fillna(False)
    stale = done.isna() & (first["opened_at"] < end - STALE)
    bad = late | (first["round"] > 1) | stale
    well = done.notna() & ~bad
    group = np.where(well, "resolved_well", np.where(bad, "resolved_badly", None))
    return pd.DataFrame({"group": group, "moment": done.fillna(first["opened_at"] + STALE)},
                        index=first.index)


def _definition() -> dict:
    from patronage.surveys.definition import parse_definition
    from patronage.surveys.templates import load_template

    definition = load_template("nps").to_dict()
    definition["code"] = PULSE_CODE
    definition["title"] = {"en": "Customer pulse", "zh_Hans": "客户脉搏调查",
                           "zh_Hant": "客戶脈搏調查"}
    for section in definition["sections"]:
        for item in section["items"]:
            if item["code"] == "nps":
                item["code"] = PULSE_ITEM
            if (item.get("show_if") or {}).get("item") == "nps":
                item["show_if"]["item"] = PULSE_ITEM
    return parse_definition(json.dumps(definition, ensure_ascii=False),
                            name="pulse").to_dict()


def _invitations(rng, customers, params, start, end):
    """Answer times: a Poisson process over each customer's active part of [start, end]."""
    p = params.reindex(customers["external_id"])
    begin = np.maximum(p["acquired_at"].to_numpy(), np.datetime64(start))
    stop = np.minimum(p["defected_at"].fillna(end).to_numpy(), np.datetime64(end))
    days = np.maximum((stop - begin) / np.timedelta64(1, "D"), 0)
    count = rng.poisson(PULSE_INVITES_PER_YEAR * PULSE_RESPONSE * days / 365.25)
    owner = np.repeat(np.arange(len(customers)), count)
    at = begin[owner] + ((stop - begin)[owner] * rng.random(owner.size)).astype("timedelta64[s]")
    day = at.astype("datetime64[D]").astype("datetime64[s]")
    office = np.round((1 + 9 * rng.random(owner.size)) * 3600).astype("timedelta64[s]")
    return customers["external_id"].to_numpy()[owner], np.minimum(day + office,
                                                                  np.datetime64(end))


def generate_pulse(seed: int, customers: pd.DataFrame, params: pd.DataFrame,
                   satisfaction: pd.Series, desk_cases: pd.DataFrame, waves: pd.DataFrame,
                   today: date):
    """The pulse survey's frames (survey, waves, responses, answers) and the per-answer
    expected values (``expected`` with the shift, ``expected_no_shift`` without)."""
    from patronage.demo.extra_surveys import _long, _responses

    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(12,)))
    end = pd.Timestamp(datetime.combine(today, datetime.max.time().replace(microsecond=0)))
    start = pd.Timestamp(waves["starts_on"].iloc[0])
    who, at = _invitations(rng, customers, params, start, end)
    order = np.argsort(at, kind="stable")
    who, at = who[order], pd.Series(pd.to_datetime(at[order]))
    groups = recovery_groups(desk_cases, end)
    group = pd.Series(who).map(groups["group"])
    moment = pd.Series(who).map(groups["moment"])
    after = (at > moment).to_numpy() & group.notna().to_numpy()
    shift = np.where(after, group.map(RECOVERY_SHIFT).fillna(0.0).to_numpy(), 0.0)
    base = PULSE_CENTER + PULSE_SCALE * pd.Series(who).map(satisfaction).to_numpy(float)
    value = np.clip(np.round(base + shift + PULSE_NOISE * rng.standard_normal(len(who))), 0, 10)
    starts = pd.to_datetime(waves["starts_on"].astype(str)).to_numpy()
    wave = waves["name"].to_numpy()[np.searchsorted(starts, at.to_numpy(), "right") - 1]
    duration = np.round(rng.lognormal(np.log(25), 0.4, size=len(who)))
    channel = np.asarray(("web", "email", "phone"), dtype=object)[
        rng.choice(3, size=len(who), p=[0.5, 0.3, 0.2])]
    responses = _responses("PLS", PULSE_CODE, wave, who, at, duration, channel, "zh_Hans")
    answers = _long(responses["external_id"].to_numpy(), pd.DataFrame({PULSE_ITEM: value}))
    survey = pd.DataFrame([{
        "code": PULSE_CODE, "title": "Customer pulse / 客户脉搏调查", "language": "zh_Hans",
        "status": "open", "definition": _definition(), "created_at": start - pd.Timedelta(days=7)}])
    expected = pd.DataFrame({
        "customer_id": who, "submitted_at": at.to_numpy(),
        "expected": expected_answer(base + shift, PULSE_NOISE),
        "expected_no_shift": expected_answer(base, PULSE_NOISE)})
    return survey, waves.assign(survey=PULSE_CODE)[["survey", "name", "starts_on", "ends_on"]], \
        responses, answers, expected


def desk_truth(desk_cases: pd.DataFrame, customer_ids, expected: pd.DataFrame,
               data_end: pd.Timestamp) -> DeskTruth:
    """The expected result of ``recovery_paradox(item="pulse_nps")``: its grouping, reference
    moments and first later answer, applied to the expected answers."""
    groups = recovery_groups(desk_cases, data_end)
    known = groups.dropna(subset=["group"])
    reference = known["moment"].median()
    never = pd.Index(customer_ids).difference(groups.index)
    group = pd.concat([known["group"], pd.Series("never_complained", index=never)])
    moment = pd.concat([known["moment"], pd.Series(reference, index=never)])
    later = expected[expected["submitted_at"] > expected["customer_id"].map(moment)]
    first = later.sort_values("submitted_at", kind="stable").groupby("customer_id").first()
    first["group"] = first.index.map(group)
    first = first.dropna(subset=["group"])
    means = first.groupby("group")[["expected", "expected_no_shift"]].mean()
    diffs, parts = {}, {}
    for other in ("never_complained", "resolved_badly"):
        name = f"resolved_well - {other}"
        diffs[name] = float(means.at["resolved_well", "expected"] - means.at[other, "expected"])
        base = means.at["resolved_well", "expected_no_shift"] - means.at[other,
                                                                          "expected_no_shift"]
        parts[name] = float(diffs[name] - base)
    done = desk_cases.dropna(subset=["resolved_at"])
    return DeskTruth(
        item=PULSE_ITEM, recovery_shift=dict(RECOVERY_SHIFT),
        expected_means={g: float(v) for g, v in means["expected"].items()},
        n={g: int(v) for g, v in first["group"].value_counts().items()},
        expected_differences=diffs, shift_part=parts,
        sla_compliance=float((done["resolved_at"] <= done["resolution_due_at"]).mean()),
        reopen_rate=float((done["round"] > 1).mean()))


__all__ = [
    "PULSE_CODE",
    "PULSE_ITEM",
    "RECOVERY_SHIFT",
    "DeskTruth",
    "desk_truth",
    "expected_answer",
    "generate_pulse",
    "recovery_groups",
]
