"""An action's measured effect: its metric before (the baseline wave, or the responses answered
before the baseline day) and after (the newest wave after the baseline, or the responses answered
since that day), for the customers of its segment against the others
(:func:`~patronage.analytics.effect.difference_in_differences`), or before against after without
a comparison group (Welch's test for means, the z test for NPS); and the sentence a manager reads
("服务响应速度 +0.6，显著；目标 +0.5 已达成"). An action on a service standard is measured by
:mod:`patronage.actions.standard_effect`, in percentage points ("电话咨询 90 秒内接听 +8.0 个百分点，
显著；目标 +5.0 个百分点 已达成").

An action is **achieved** when its change is significant (p < 0.05) and reaches its target
(at least the target, or at most a negative target; without a target, any significant rise),
on enough answers (``min_sample`` in the smallest group; fewer: the effect is shown, with the
sample called small, and neither verdict is given).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from patronage.actions.records import segment_pairs
from patronage.analytics import csi_scores
from patronage.analytics.effect import (
    Effect, difference_in_differences, mean_change, nps_change, nps_points,
)
from patronage.index_system import load_index_system
from patronage.messages import N_, UserError
from patronage.satisfaction.sources import SurveyData, survey_data_from_db

#: Why an action has no measured effect (yet).
REASONS = {
    "no_survey": N_("Its survey is gone."),
    "no_later": N_("No later wave or answers after the baseline yet."),
    "no_baseline": N_("No answers in the baseline."),
    "no_standard": N_("Its service standard is gone."),
    "no_metric": N_("The survey has no answers for this metric."),
    "too_few": N_("Too few answers before and after to compare."),
}
SIGNIFICANT = N_("{metric} {change}, significant")
NOT_SIGNIFICANT = N_("{metric} {change}, not significant")
AGAINST_OTHERS = N_(" (against the other customers)")
REACHED = N_("; target {target} reached")
NOT_REACHED = N_("; target {target} not reached")
SMALL = N_("; small sample (n = {n}), read with care")
POINTS = N_("{value} percentage points")


@dataclass(frozen=True)
class Measurement:
    """``effect`` with the waves (or days) it compares; ``reason`` (a key of :data:`REASONS`)
    when there is none. ``achieved``: True, False, or None when not (yet) decided. ``unit``
    ``"pp"``: the metric is a share and the change is in percentage points."""

    effect: Effect | None
    before_label: str | None = None
    after_label: str | None = None
    reason: str | None = None
    small: bool = False
    achieved: bool | None = None
    decimals: int = 1
    unit: str = ""


def metric_values(data: SurveyData, kind: str, code: str | None) -> pd.Series | None:
    """Each response's value of the metric (NaN where unanswered): an item as answered, a
    dimension or CSI on 0–100, NPS as the 0–10 answer."""
    if kind == "item":
        return data.answers[code] if code in data.answers.columns else None
    if kind == "nps":
        return data.answers["nps"] if "nps" in data.answers.columns else None
    if kind in ("dimension", "csi"):
        system = load_index_system()
        items = system.items[system.items["item_code"].isin(data.answers.columns)]
        if items.empty:
            return None
        scores = csi_scores(data.answers, items)
        column = "csi" if kind == "csi" else code
        return scores[column] if column in scores.columns else None
    return None


def _periods(action: dict, data: SurveyData) -> tuple[pd.Series, pd.Series, str, str] | None:
    """Masks of the responses before and after, and their labels; None without a later
    period."""
    meta = data.meta
    if action.get("baseline_wave"):
        order = data.waves_in_order()
        if action["baseline_wave"] not in order:
            return None
        later = order[order.index(action["baseline_wave"]) + 1:]
        if not later:
            return None
        return (meta["wave"].eq(action["baseline_wave"]), meta["wave"].eq(later[-1]),
                str(action["baseline_wave"]), str(later[-1]))
    until = action.get("baseline_until")
    if until is None:
        return None
    days = pd.to_datetime(meta["submitted_at"]).dt.date
    before, after = days.lt(until).fillna(False), days.ge(until).fillna(False)
    if not after.any():
        return None
    return before.astype(bool), after.astype(bool), f"< {until}", f"≥ {until}"


def _treated(action: dict, data: SurveyData) -> pd.Series | None:
    pairs = segment_pairs(action.get("segment"))
    if not pairs:
        return None
    keep = pd.Series(True, index=data.meta.index)
    for key, value in pairs:
        column = f"customer_{key}"
        if column not in data.meta.columns:
            return pd.Series(False, index=data.meta.index)
        keep &= data.meta[column].eq(value).fillna(False).astype(bool)
    return keep


def achieved(effect: Effect, target: float | None) -> bool:
    """Significant and reaching ``target`` (any significant rise without one)."""
    if not effect.significant():
        return False
    if target is None or target == 0:
        return effect.change > 0
    return effect.change >= target if target > 0 else effect.change <= target


def measure(action: dict, data: SurveyData | None, *, min_sample: int = 30) -> Measurement:
    """The measured effect of ``action`` (a row of :func:`~patronage.actions.records.list_actions`)
    on its survey's ``data`` (None when the survey is gone)."""
    kind, code = action["metric_kind"], action["metric_code"]
    decimals = 2 if kind == "item" else 1
    if kind == "standard":  # measured on its events by actions.standard_effect
        return Measurement(None, reason="no_standard", decimals=decimals, unit="pp")
    if data is None:
        return Measurement(None, reason="no_survey", decimals=decimals)
    values = metric_values(data, kind, code)
    if values is None or values.notna().sum() == 0:
        return Measurement(None, reason="no_metric", decimals=decimals)
    periods = _periods(action, data)
    if periods is None:
        return Measurement(None, reason="no_later", decimals=decimals)
    before, after, before_label, after_label = periods
    if not (before & values.notna()).any():
        return Measurement(None, before_label, after_label, reason="no_baseline",
                           decimals=decimals)
    treated = _treated(action, data)
    effect = None
    try:
        if treated is not None:
            effect = _did(values, before, after, treated, nps=kind == "nps")
        if effect is None:
            keep = treated if treated is not None else pd.Series(True, index=values.index)
            pick = (lambda mask: values[mask & keep].dropna().to_numpy())
            effect = (nps_change if kind == "nps" else mean_change)(pick(before), pick(after))
    except ValueError:
        return Measurement(None, before_label, after_label, reason="too_few", decimals=decimals)
    small = effect.smallest_n < min_sample
    return Measurement(effect, before_label, after_label, small=small,
                       achieved=None if small else achieved(effect, action.get("target_change")),
                       decimals=decimals)


def _did(values: pd.Series, before, after, treated, *, nps: bool) -> Effect | None:
    """The difference in differences, or None when the other customers lack answers before
    or after (then the targeted customers are compared with themselves)."""
    rows = (before | after) & values.notna()
    others = rows & ~treated
    if (others & before).sum() < 2 or (others & after).sum() < 2:
        return None
    y = nps_points(values[rows]) if nps else values[rows]
    return difference_in_differences(y.to_numpy(), after[rows].astype(int).to_numpy(),
                                     treated[rows].astype(int).to_numpy())


def signed(value: float, decimals: int) -> str:
    """``+0.6`` / ``−1.25`` / ``0.0``."""
    text = f"{abs(value):.{decimals}f}"
    if float(text) == 0:
        return text
    return ("+" if value > 0 else "−") + text


def sentence(measurement: Measurement, metric: str, target: float | None, gettext) -> str:
    """What the measurement says, in the reader's language: "服务响应速度 +0.6，显著；目标 +0.5
    已达成"."""
    effect = measurement.effect
    if effect is None:
        return gettext(REASONS[measurement.reason])
    decimals = measurement.decimals

    def amount(value: float) -> str:
        text = signed(value, decimals)
        return gettext(POINTS).format(value=text) if measurement.unit == "pp" else text

    words = gettext(SIGNIFICANT if effect.significant() else NOT_SIGNIFICANT).format(
        metric=metric, change=amount(effect.change))
    if effect.method == "did":
        words += gettext(AGAINST_OTHERS)
    if target is not None:
        reached = measurement.achieved if measurement.achieved is not None else \
            achieved(effect, target)
        words += gettext(REACHED if reached else NOT_REACHED).format(target=amount(target))
    if measurement.small:
        words += gettext(SMALL).format(n=effect.smallest_n)
    return words


def _read(engine: Engine, survey: str) -> SurveyData | None:
    try:
        return survey_data_from_db(engine, survey)
    except UserError:
        return None


class SurveyStore:
    """Surveys' data kept between requests while ``version()`` (a
    :class:`~patronage.storage.DataVersion`) returns the same token."""

    def __init__(self, version):
        self.version, self.lock, self.kept = version, threading.Lock(), {}

    def get(self, engine: Engine, survey: str) -> SurveyData | None:
        token = self.version()
        with self.lock:
            found = self.kept.get(survey)
        if found is not None and token is not None and found[0] == token:
            return found[1]
        data = _read(engine, survey)
        with self.lock:
            self.kept[survey] = (token, data)
        return data


class SurveyCache:
    """Each survey's data read once (a board measures many actions on few surveys), or taken
    from ``store`` when the data have not changed since it was read."""

    def __init__(self, engine: Engine, store: SurveyStore | None = None):
        self.engine, self.store, self.found = engine, store, {}

    def __call__(self, survey: str | None) -> SurveyData | None:
        if survey is None:
            return None
        if survey not in self.found:
            self.found[survey] = (self.store.get(self.engine, survey) if self.store is not None
                                  else _read(self.engine, survey))
        return self.found[survey]


__all__ = ["Measurement", "REASONS", "SurveyCache", "SurveyStore", "achieved", "measure",
           "metric_values", "sentence", "signed"]
