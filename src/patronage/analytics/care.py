"""How care work went: completion rate, reach rate and outcome mix of follow-up tasks per
group (a team) and ISO week.

Definitions (each rate comes with its n):

* a task counts in the ISO week of its due date; cancelled tasks do not count;
* completion rate = completed tasks / tasks due (n = tasks due);
* reach rate = completed tasks whose final outcome reached the customer / completed tasks
  (n = completed tasks);
* outcome mix = each final outcome's share of the completed tasks (n = completed tasks).

Rates are proportions with a Wilson score interval (Wilson 1927, as in
:func:`patronage.analytics.ratings.wilson_interval`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patronage.analytics.ratings import wilson_interval


def iso_week(dates) -> pd.Series:
    """``"2026-W23"`` per date (ISO 8601 year and week)."""
    stamps = pd.to_datetime(pd.Series(dates))
    calendar = stamps.dt.isocalendar()
    return (calendar["year"].astype(str) + "-W"
            + calendar["week"].astype(int).map("{:02d}".format)).where(stamps.notna())


def _interval(successes: int, n: int) -> tuple[float, float]:
    if n <= 0:
        return (np.nan, np.nan)
    low, high = wilson_interval(successes / n, n)
    return float(low), float(high)


def care_rates(tasks: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group of ``by``: tasks due, completed, completion rate, reached, reach rate and the
    Wilson 95% intervals of both rates.

    ``tasks`` has the ``by`` columns and ``status`` (open/done/cancelled) and ``reached`` (True
    when the final outcome reached the customer; read only for done tasks).
    """
    columns = [*by, "tasks", "completed", "completion_rate", "completion_low",
               "completion_high", "reached", "reach_rate", "reach_low", "reach_high"]
    live = tasks[tasks["status"] != "cancelled"]
    if live.empty:
        return pd.DataFrame(columns=columns)
    done = live["status"] == "done"
    frame = live.assign(_done=done.astype(int),
                        _reached=(done & live["reached"].fillna(False).astype(bool)).astype(int))
    grouped = frame.groupby(by, dropna=False, sort=True)
    table = pd.DataFrame({"tasks": grouped.size(), "completed": grouped["_done"].sum(),
                          "reached": grouped["_reached"].sum()}).reset_index()
    table["completion_rate"] = table["completed"] / table["tasks"]
    table["reach_rate"] = (table["reached"] / table["completed"]).where(table["completed"] > 0)
    completion = [_interval(int(d), int(n)) for d, n in zip(table["completed"], table["tasks"],
                                                            strict=True)]
    reach = [_interval(int(r), int(n)) for r, n in zip(table["reached"], table["completed"],
                                                       strict=True)]
    table["completion_low"], table["completion_high"] = zip(*completion, strict=True)
    table["reach_low"], table["reach_high"] = zip(*reach, strict=True)
    return table[columns]


def outcome_mix(tasks: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group of ``by`` and final outcome of the completed tasks: ``n``, the group's
    completed tasks ``of`` and the ``share``."""
    done = tasks[(tasks["status"] == "done") & tasks["outcome"].notna()]
    if done.empty:
        return pd.DataFrame(columns=[*by, "outcome", "n", "of", "share"])
    counts = done.groupby([*by, "outcome"], dropna=False).size().rename("n").reset_index()
    totals = done.groupby(by, dropna=False).size().rename("of").reset_index()
    mix = counts.merge(totals, on=by, how="left")
    mix["share"] = mix["n"] / mix["of"]
    return mix.sort_values([*by, "n"], ascending=[True] * len(by) + [False],
                           ignore_index=True)


__all__ = ["care_rates", "iso_week", "outcome_mix"]
