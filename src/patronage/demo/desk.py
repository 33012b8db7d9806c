"""The demo company's case desk (issue 11, item 12): staff, teams, categories, service levels,
alert and assignment rules, and a desk history for every demo case.

Everything here is drawn from a generator seeded from the demo's seed, so the same seed gives the
same desk. Staff are referred to by e-mail, teams by name and cases by the frame's ``case_id``;
:mod:`patronage.demo.desk_install` maps them to database keys.

The history follows the desk's own rules: due times are business time (working hours and the
Chinese working-day calendar of :class:`~patronage.cases.calendar.BusinessCalendar`, in the
settings' default time zone) from the opening; a breach and the policy's escalation steps are
recorded as the worker's timers would have recorded them; a reopened case starts round 2 with a
fresh resolution target; paid remedies above the approval limit are decided by the manager.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from patronage.cases.calendar import DEFAULT_HOURS, BusinessCalendar
from patronage.demo.desk_history import history
from patronage.demo.desk_setup import (  # the set-up's names, for the installers that read it
    ACCOUNT_OWNERS,
    ALERT_RULES,
    APPROVAL_ABOVE,
    CATEGORIES,
    KEY_TEAM,
    MANAGER,
    POLICIES,
    PRINTED,
    STAFF,
    TEAMS,
    TIMEZONE,
    UTC_OFFSET,
    email_of,
)

_BY_TOUCHPOINT = {"delivery": "delivery", "installation": "installation",
                  "maintenance": "after_sales", "invoice": "billing", "order": "delivery",
                  "parts_return": "returns", "inquiry": "inquiry"}
_SURVEY_CATEGORIES = (("product_quality", 0.35), ("after_sales", 0.25), ("attitude", 0.2),
                      ("survey_feedback", 0.2))
_SEVERITIES = ("low", "normal", "high", "urgent")
_CHANNELS = {"phone": "phone", "email": "email", "web": "web", "wechat": "agent"}


@dataclass(frozen=True)
class DemoDesk:
    """The desk's frames. ``cases`` has one row per demo case (``case_id`` as in
    :attr:`DemoCompany.cases`) with the desk columns; owners and users are e-mails, teams names;
    ``events.changes`` may name staff by e-mail (``owner``/``user``) and remedies by their row
    in ``remedies`` (``remedy``), which the installer turns into database keys."""

    cases: pd.DataFrame
    events: pd.DataFrame
    escalations: pd.DataFrame
    remedies: pd.DataFrame
    account_owners: pd.Series  # customer external id -> owner e-mail (key accounts)
    staff: tuple = STAFF


class BusinessClock:
    """Vectorised business time for the demo's period, equal to :class:`BusinessCalendar`
    with one span of working hours (checked against it in the tests), but fast enough for
    thousands of cases. Times in and out are naive UTC."""

    def __init__(self, first: date, last: date, hours: str = DEFAULT_HOURS):
        cal = BusinessCalendar(hours, timezone=TIMEZONE)
        (start, end), = cal.spans_
        self.calendar = cal
        self.first = pd.Timestamp(first)
        self.open_min = start.hour * 60 + start.minute
        self.length = end.hour * 60 + end.minute - self.open_min
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        self.work = np.array([cal.is_workday(d) for d in days])
        self.ends = np.cumsum(self.work * self.length).astype(float)  # minutes at each day's end
        self.starts = self.ends - self.work * self.length

    def minutes(self, stored) -> np.ndarray:
        """Business minutes from the first day to each time."""
        local = pd.DatetimeIndex(pd.to_datetime(stored)) + UTC_OFFSET
        day = np.asarray((local.normalize() - self.first).days, dtype=int)
        into = np.asarray((local - local.normalize()).total_seconds() / 60.0) - self.open_min
        return self.starts[day] + self.work[day] * np.clip(into, 0, self.length)

    def at(self, minutes) -> pd.DatetimeIndex:
        """The earliest stored time at which ``minutes`` business minutes have passed."""
        minutes = np.atleast_1d(np.asarray(minutes, dtype=float))
        day = np.searchsorted(self.ends, minutes, side="left")
        local = (self.first + pd.to_timedelta(day, unit="D")
                 + pd.to_timedelta(self.open_min + minutes - self.starts[day], unit="m"))
        return (local - UTC_OFFSET).round("s")

    def add(self, stored, minutes) -> pd.DatetimeIndex:
        return self.at(self.minutes(stored) + np.asarray(minutes, dtype=float))


def _categories(rng, frame: pd.DataFrame) -> np.ndarray:
    category = frame["touchpoint_kind"].map(_BY_TOUCHPOINT).to_numpy(dtype=object)
    survey = frame["touchpoint_kind"].eq("survey").to_numpy()
    codes, shares = zip(*_SURVEY_CATEGORIES)
    category[survey] = np.asarray(codes, dtype=object)[
        rng.choice(len(codes), size=int(survey.sum()), p=shares)]
    breakdown = frame["subject"].eq("Repeated breakdown after repair").to_numpy()
    category[breakdown] = "product_quality"
    return category


def _severities(rng, frame: pd.DataFrame, key: np.ndarray) -> np.ndarray:
    n = len(frame)
    level = np.where(frame["type"].eq("complaint"),
                     rng.choice(4, size=n, p=[0.05, 0.6, 0.28, 0.07]), 1)
    level = np.where(frame["type"].eq("inquiry"), 0, level)
    nps = frame["subject"].str.extract(r"NPS (\d+)")[0].astype(float).to_numpy()
    level = np.where(frame["type"].eq("detractor") & (nps <= 3), 2, level)
    level = np.where(key & ~frame["type"].eq("inquiry"), np.minimum(level + 1, 3), level)
    return np.asarray(_SEVERITIES, dtype=object)[level]


def _owners(frame: pd.DataFrame, customers: pd.DataFrame, account_owners: pd.Series):
    """Team by region (key accounts: the key-account team) and owner in rotation per team."""
    team_of_region = {region: name for name, _, _, regions in TEAMS for region in regions}
    region = frame["customer_id"].map(customers.set_index("external_id")["region"])
    team = region.map(team_of_region).to_numpy(dtype=object)
    owner = np.full(len(frame), None, dtype=object)
    key_owner = frame["customer_id"].map(account_owners)
    key = key_owner.notna().to_numpy()
    team[key] = KEY_TEAM
    owner[key] = key_owner[key].to_numpy()
    for name, _, agents, _ in TEAMS[:-1]:
        rows = np.flatnonzero((team == name) & ~key)
        owner[rows] = np.asarray([email_of(a) for a in agents], dtype=object)[
            np.arange(len(rows)) % len(agents)]
    return team, owner, key


def _channels(frame: pd.DataFrame) -> np.ndarray:
    via = frame["description"].astype(str).str.extract(r"via (\w+)\.")[0].map(_CHANNELS)
    channel = np.where(frame["touchpoint_kind"].eq("survey"), "survey", "phone")
    return np.where(via.notna(), via, channel).astype(object)


def generate_desk(seed: int, customers: pd.DataFrame, cases: pd.DataFrame,
                  today: date) -> DemoDesk:
    """The desk for the demo ``cases`` (statuses as :func:`generate_cases` drew them)."""
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(11,)))
    end = pd.Timestamp(datetime.combine(today, datetime.max.time().replace(microsecond=0)))
    keys = customers.loc[customers["size"].eq("key account"), "external_id"].to_numpy()
    account_owners = pd.Series(np.asarray(ACCOUNT_OWNERS, dtype=object)[
        np.arange(len(keys)) % len(ACCOUNT_OWNERS)], index=keys, name="owner")
    frame = cases[["case_id", "customer_id", "type", "status", "subject", "description",
                   "touchpoint_kind", "response_id", "opened_at", "closed_at"]].copy()
    frame["category"] = _categories(rng, frame)
    team, owner, key = _owners(frame, customers, account_owners)
    frame["severity"] = _severities(rng, frame, key)
    frame["team"], frame["owner"], frame["channel"] = team, owner, _channels(frame)
    frame["key_account"] = key
    first = pd.Timestamp(cases["opened_at"].min()).date() - timedelta(days=2)
    clock = BusinessClock(first, today + timedelta(days=120))
    events, escalations, remedies = history(rng, frame, clock, end)
    return DemoDesk(cases=frame, events=events, escalations=escalations, remedies=remedies,
                    account_owners=account_owners)


def build_desk(seed: int, customers: pd.DataFrame, params: pd.DataFrame,
               satisfaction: pd.Series, cases: pd.DataFrame, waves: pd.DataFrame, extra,
               transactions: pd.DataFrame, today: date):
    """The desk, the pulse survey and their truth for :func:`patronage.demo.generate`.

    Returns ``(desk, cases, extra, truth)``: ``cases`` with the desk's statuses (the only
    change to the demo's case frame), ``extra`` with the pulse survey added.
    """
    from patronage.demo.extra_surveys import DemoExtra
    from patronage.demo.pulse import desk_truth, generate_pulse

    desk = generate_desk(seed, customers, cases, today)
    survey, pulse_waves, responses, answers, expected = generate_pulse(
        seed, customers, params, satisfaction, desk.cases, waves, today)
    bought = transactions.loc[~transactions["is_refund"], "occurred_at"].max()
    truth = desk_truth(desk.cases, customers["external_id"], expected,
                       max(pd.Timestamp(bought), responses["submitted_at"].max()))
    extra = DemoExtra(
        surveys=pd.concat([extra.surveys, survey], ignore_index=True),
        waves=pd.concat([extra.waves, pulse_waves], ignore_index=True),
        responses=pd.concat([extra.responses, responses], ignore_index=True),
        answers=pd.concat([extra.answers, answers], ignore_index=True))
    return desk, cases.assign(status=desk.cases["status"].to_numpy()), extra, truth


__all__ = [
    "ACCOUNT_OWNERS",
    "ALERT_RULES",
    "APPROVAL_ABOVE",
    "CATEGORIES",
    "MANAGER",
    "POLICIES",
    "PRINTED",
    "STAFF",
    "TEAMS",
    "TIMEZONE",
    "BusinessClock",
    "DemoDesk",
    "build_desk",
    "email_of",
    "generate_desk",
]
