"""The measured effect of an action whose metric is a service standard (``standard:<number>``):
the share of the standard's events within it (:func:`patronage.standards.compliance.events`)
before the action against after it, in percentage points.

* **Before and after.** With a baseline wave: the events in the baseline wave's days (from its
  first to its last day) against those in the newest later wave's days, as an action on a
  survey metric compares those waves' answers. With a baseline day: the events before that day
  against those since.
* **Comparison.** The events of the customers of the action's segment against the other
  customers' events: the difference in differences of the 0/1 outcome "within the standard"
  (the linear probability model, HC1 errors;
  :func:`~patronage.analytics.effect.difference_in_differences`); without a segment, or when the
  other customers have fewer than two events before or after, the segment's (or every) share
  after against before with the two-proportion z test
  (:func:`~patronage.analytics.effect.share_change`). Each share before and after comes with
  its Wilson interval.

Verdicts (achieved, small sample) follow :mod:`patronage.actions.measure`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import Engine, select

from patronage.actions.measure import Measurement, achieved
from patronage.actions.records import segment_pairs
from patronage.analytics.effect import difference_in_differences, share_change, share_interval
from patronage.reporting.filters import SEGMENTS
from patronage.standards.compliance import events
from patronage.storage.schema import customers, waves
from patronage.storage.schema_standards import service_standards

#: Shares are measured in percentage points.
SCALE = 100.0


def _windows(action: dict, rows: list[tuple[str, date, date | None]]):
    """``(before, after, before_label, after_label)`` with ``before``/``after`` as
    ``(first day, day after the last or None)``; None without a later wave."""
    named = action.get("baseline_wave")
    if named:
        names = [name for name, _s, _e in rows]
        if named not in names:
            return None
        at = names.index(named)
        if at + 1 >= len(rows):
            return None

        def span(k: int):
            starts, ends = rows[k][1], rows[k][2]
            if ends is not None:
                return starts, ends + timedelta(days=1)
            return starts, rows[k + 1][1] if k + 1 < len(rows) else None

        return span(at), span(len(rows) - 1), named, rows[-1][0]
    until = action.get("baseline_until")
    if until is None:
        return None
    return (None, until), (until, None), f"< {until}", f"≥ {until}"


def _mask(days: pd.Series, window) -> pd.Series:
    first, end = window
    keep = pd.Series(True, index=days.index)
    if first is not None:
        keep &= days >= first
    if end is not None:
        keep &= days < end
    return keep


def _treated(action: dict, frame: pd.DataFrame) -> pd.Series | None:
    pairs = segment_pairs(action.get("segment"))
    if not pairs:
        return None
    keep = pd.Series(True, index=frame.index)
    for key, value in pairs:
        column = f"customer_{key}"
        if column not in frame.columns:
            return pd.Series(False, index=frame.index)
        keep &= frame[column].eq(value).fillna(False).astype(bool)
    return keep


def _intervals(effect, within: pd.Series, before, after, treated) -> dict:
    """Each share's Wilson interval (in points), which stays within 0–100."""
    group = treated if treated is not None else pd.Series(True, index=within.index)
    cells = {"before": group & before, "after": group & after}
    if effect.method == "did":
        cells.update(other_before=~group & before, other_after=~group & after)
    return {name: share_interval(float(within[mask].sum()), int(mask.sum()), scale=SCALE)
            for name, mask in cells.items()}


def measure_standard(action: dict, frame: pd.DataFrame | None,
                     wave_rows: list[tuple[str, date, date | None]], *,
                     min_sample: int = 30) -> Measurement:
    """The effect of ``action`` on its standard's events ``frame`` (:func:`standard_events`;
    None when the standard is gone), ``wave_rows`` its survey's waves ``(name, first day, last
    day)`` in order."""
    if frame is None:
        return Measurement(None, reason="no_standard", unit="pp")
    windows = _windows(action, wave_rows)
    if windows is None:
        return Measurement(None, reason="no_later", unit="pp")
    before_window, after_window, before_label, after_label = windows
    days = pd.to_datetime(frame["at"]).dt.date
    before, after = _mask(days, before_window), _mask(days, after_window)
    if not after.any():
        return Measurement(None, before_label, after_label, reason="no_later", unit="pp")
    if not before.any():
        return Measurement(None, before_label, after_label, reason="no_baseline", unit="pp")
    within = frame["within"].astype(bool).astype(float)
    treated = _treated(action, frame)
    try:
        effect = None
        if treated is not None:
            others = ~treated
            if (others & before).sum() >= 2 and (others & after).sum() >= 2:
                rows = before | after
                effect = difference_in_differences(
                    SCALE * within[rows].to_numpy(), after[rows].astype(int).to_numpy(),
                    treated[rows].astype(int).to_numpy())
        if effect is None:
            keep = treated if treated is not None else pd.Series(True, index=frame.index)
            effect = share_change(within[before & keep], within[after & keep], scale=SCALE)
    except ValueError:
        return Measurement(None, before_label, after_label, reason="too_few", unit="pp")
    effect = replace(effect, intervals=_intervals(effect, within, before, after, treated))
    small = effect.smallest_n < min_sample
    return Measurement(effect, before_label, after_label, small=small,
                       achieved=None if small else achieved(effect,
                                                            action.get("target_change")),
                       unit="pp")


def standard_events(engine: Engine, number) -> tuple[dict | None, pd.DataFrame | None]:
    """The standard numbered ``number`` and its events with each customer's segments
    (``customer_region`` ...); ``(None, None)`` when there is no such standard."""
    with engine.connect() as conn:
        row = conn.execute(select(service_standards).where(
            service_standards.c.id == int(number))).mappings().first()
        if row is None:
            return None, None
        panel = pd.DataFrame(conn.execute(select(customers.c.id, *[customers.c[k]
                                                                   for k in SEGMENTS])).all(),
                             columns=["customer_id", *[f"customer_{k}" for k in SEGMENTS]])
    row = dict(row)
    frame = events(engine, row)
    frame = frame.merge(panel, on="customer_id", how="left") if len(frame) else \
        frame.assign(**{f"customer_{k}": pd.Series(dtype=object) for k in SEGMENTS})
    return row, frame


def wave_rows(engine: Engine, survey_id: int | None) -> list[tuple[str, date, date | None]]:
    """A survey's waves ``(name, first day, last day)``, oldest first."""
    if survey_id is None:
        return []
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(waves.c.name, waves.c.starts_on, waves.c.ends_on)
            .where(waves.c.survey_id == survey_id).order_by(waves.c.starts_on, waves.c.id))]


class StandardCache:
    """Each standard's events and each survey's waves read once for a board."""

    def __init__(self, engine: Engine):
        self.engine, self.standards, self.waves = engine, {}, {}

    def standard(self, number) -> tuple[dict | None, pd.DataFrame | None]:
        key = str(number)
        if key not in self.standards:
            self.standards[key] = (standard_events(self.engine, key) if key.isdigit()
                                   else (None, None))
        return self.standards[key]

    def measure(self, action: dict, *, min_sample: int) -> tuple[Measurement, dict | None]:
        """The action's measurement and its standard (None when gone)."""
        row, frame = self.standard(action["metric_code"])
        survey = action.get("survey_id")
        if survey not in self.waves:
            self.waves[survey] = wave_rows(self.engine, survey)
        return measure_standard(action, frame, self.waves[survey], min_sample=min_sample), row


__all__ = ["SCALE", "StandardCache", "measure_standard", "standard_events", "wave_rows"]
