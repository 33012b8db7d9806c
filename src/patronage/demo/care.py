"""The demo company's customer care (issue 12, item 9): follow-up rules and six months of
follow-up history, the care calendar and its greetings, key-account visit plans, lost customers
and a win-back campaign with a control group, all with a known truth (:class:`CareTruth`).

Everything is drawn from one generator seeded from the demo's seed (``spawn_key=(13,)``), so the
same seed gives the same care frames. Customers are referred to by external id, staff by e-mail,
teams by name, cases by the case frame's ``case_id``, rules, occasions and the campaign by code;
:mod:`patronage.demo.care_install` maps them to database keys.

What is planted, and what the tests recover:

* **Follow-up calls.** Every call task is worked by its team with a known chance of reaching the
  customer on each attempt (:data:`TEAM_REACH`); an unanswered attempt is retried (the default
  outcome list: ``no_answer`` retries up to 3 attempts), a few numbers are wrong. The expected
  reach per task and per attempt of each team is in the truth. Tasks come from the rules'
  triggers since each rule was created (complaints resolved, installations, equipment
  purchases) and from the win-back campaign; customers without care consent or a phone are not
  called.
* **Greetings.** 中秋 (2025-10-06) and 春节 (2026-02-17) greetings by text message (e-mail
  without a phone) to every customer who consents to care and was a customer (and not lost)
  then, in the customer's language; birthday greetings for gold and platinum customers. Never
  twice, never without consent. (The 春节 gift visits of platinum customers are configured but
  have no history: their tasks would mix visits into the call teams' reach rates.)
* **Key accounts.** Every key account the company still serves has a visit plan (60 days for
  gold and platinum, else 90) and a year of visit reports by its owner; a known set of accounts
  is overdue at the demo's today (:attr:`CareTruth.overdue_visits`).
* **Win-back.** Customers with a recorded defection are marked lost (date, reason, competitor).
  On 2026-03-01 a win-back campaign calls the lost customers, with a random 25 % held out as the
  control group (never contacted); within the 90 days measured, a target customer buys again with
  probability 0.20 and a control customer with 0.07 (true uplift 0.13). These purchases are
  added to the demo's transactions, with amounts from the customer's own mean spend.

**The "today" list.** The demo's history ends on its today (2026-06-30), but people open the demo
on a later real date. The last few dozen follow-up tasks are left open and marked ``shift``: the
installer moves their due and creation times by the days between the demo's today and the real
date of installation (``date.today()``), so that about 30 are due on the real today, a few are
overdue by one to three days and a few fall due in the next days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from patronage.care.campaigns import draw_control
from patronage.demo.desk import MANAGER, TEAMS, UTC_OFFSET, email_of
from patronage.demo.care_texts import NOTES_OK, NOTES_PROBLEM, OCCASIONS, SCRIPTS, VISIT_REPORTS
from patronage.demo.purchases import PRODUCTS, SPEND_SHAPE

#: Chance that one call attempt reaches the customer, per team (the planted truth).
TEAM_REACH = {"华东组": 0.55, "华北组": 0.45, "华南西南组": 0.38, "海外组": 0.28,
              "大客户组": 0.70}
MAX_ATTEMPTS = 3
RETRY_HOURS = 4
WRONG_NUMBER = 0.02
PROBLEM_SHARE = 0.12
HISTORY_DAYS = 182
OPEN_TODAY, OPEN_OVERDUE, OPEN_AHEAD = 30, 6, 6
CAMPAIGN_CODE = "winback-2026-spring"
CAMPAIGN_START = date(2026, 3, 1)
CONTROL_SHARE = 0.25
MEASURE_DAYS = 90
TARGET_RATE, CONTROL_RATE = 0.20, 0.07
CAMPAIGN_SEED = 20260301
#: The campaign's list: customers lost in the year before it started (the services' "lost").
LIST_DAYS = 365
OVERDUE_SHARE = 0.12
QUIET_DAYS = 3
#: (code, name, trigger, params, task type, to account owner, created on). New tasks of key
#: accounts go to their owners; the history's other calls were given to the region's team.
RULES = (
    ("case_followup", "工单解决后回访", "case_resolved", {"days": 2}, "call", True,
     date(2026, 3, 15)),
    ("install_followup", "安装后回访", "touchpoint", {"kind": "installation", "days": 1}, "call",
     True, date(2026, 2, 1)),
    ("purchase_followup", "购买后回访", "purchase", {"days": 3, "category": "equipment"}, "call",
     True, date(2026, 5, 1)),
    ("key_account_visit", "大客户拜访", "visit_due", {"every_days": 90}, "visit", True,
     date(2025, 6, 1)),
    ("top_tier_alive_drop", "高价值客户流失预警", "alive_drop",
     {"below": 0.5, "tiers": ["platinum", "gold"], "within_days": 365}, "call", True,
     date(2026, 6, 1)),
)
CAMPAIGN_NAME = "2026春季老客户召回"
#: A rule's task is named as its rule, a campaign's as its campaign (as the services do).
SUBJECTS = {**{code: name for code, name, *_r in RULES}, CAMPAIGN_CODE: CAMPAIGN_NAME}
#: Occasions whose greetings are in the history: (occasion code, date).
GREETED = (("mid_autumn", date(2025, 10, 6)), ("spring_festival", date(2026, 2, 17)))
_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class CareTruth:
    """What the care history was generated from.

    * ``reach_per_attempt``: per team, the chance that one call attempt reaches the customer;
    * ``reach_per_task``: per team, the expected share of finished call tasks that reached the
      customer (``(1 − wrong number share) · (1 − (1 − q)^3)``);
    * ``reach_of_attempts``: per team, the expected share of call attempts that reached
      (reached tasks over expected attempts);
    * ``problem_share``: share of reached calls with a problem;
    * ``overdue_visits``: key accounts (external ids) whose visit is overdue at the demo's today;
    * ``visit_plans``: key account -> days between visits;
    * ``campaign``: the win-back campaign's code, and ``target_rate``, ``control_rate``,
      ``uplift`` (target − control chance of buying again within ``measure_days``);
    * ``won_back``: customers with a planted purchase after the campaign started;
    * ``greeted``: occasion code -> the date whose greetings are in the history.
    """

    reach_per_attempt: dict
    reach_per_task: dict
    reach_of_attempts: dict
    problem_share: float
    overdue_visits: frozenset
    visit_plans: dict
    campaign: str = CAMPAIGN_CODE
    campaign_start: date = CAMPAIGN_START
    control_share: float = CONTROL_SHARE
    measure_days: int = MEASURE_DAYS
    target_rate: float = TARGET_RATE
    control_rate: float = CONTROL_RATE
    uplift: float = TARGET_RATE - CONTROL_RATE
    won_back: frozenset = frozenset()
    greeted: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DemoCare:
    """The care frames (see the module docstring for their keys).

    ``customers`` is indexed by external id with the care columns of the customers table;
    ``purchases`` are the planted win-back purchases (already part of the company's
    transactions); ``tasks.shift`` marks the open tasks the installer moves to the real today.
    """

    rules: pd.DataFrame
    occasions: pd.DataFrame
    customers: pd.DataFrame
    tasks: pd.DataFrame
    contacts: pd.DataFrame
    greetings: pd.DataFrame
    campaigns: pd.DataFrame
    members: pd.DataFrame
    purchases: pd.DataFrame
    truth: CareTruth
    today: date = date(2026, 6, 30)


def expected_reach(q: float) -> tuple[float, float]:
    """(share of tasks reached, share of attempts reached) for per-attempt reach ``q``."""
    tasks = (1 - WRONG_NUMBER) * (1 - (1 - q) ** MAX_ATTEMPTS)
    attempts = WRONG_NUMBER + (1 - WRONG_NUMBER) * (1 - (1 - q) ** MAX_ATTEMPTS) / q
    return tasks, tasks / attempts


def _stored(day, hour: float) -> pd.Timestamp:
    """A Shanghai wall-clock hour on ``day`` as a stored (naive UTC) time."""
    return (pd.Timestamp(day).normalize() + pd.Timedelta(hours=hour) - UTC_OFFSET).floor("s")


def _rules_frame() -> pd.DataFrame:
    return pd.DataFrame([{
        "code": code, "name": name, "trigger": trigger, "params": params, "task_type": task_type,
        "to_account_owner": owner, "created_at": _stored(created, 9).to_pydatetime(),
        "script_en": SCRIPTS[code][0], "script_zh_hans": SCRIPTS[code][1],
        "script_zh_hant": SCRIPTS[code][2]}
        for code, name, trigger, params, task_type, owner, created in RULES])


def _occasions_frame(today: date) -> pd.DataFrame:
    created = _stored(today - timedelta(days=400), 9).to_pydatetime()
    return pd.DataFrame([{
        "code": code, "kind": kind, "name_en": names[0], "name_zh_hans": names[1],
        "name_zh_hant": names[2], "month": month, "day": day, "lunar": lunar, "on_date": None,
        "action": action, "channel": channel, "task_type": task_type, "gift": gift,
        "gift_cost": cost, "tiers": tiers, "days_before": before, "template_en": texts[0],
        "template_zh_hans": texts[1], "template_zh_hant": texts[2], "created_at": created}
        for code, kind, names, month, day, lunar, action, channel, task_type, gift, cost, tiers,
        before, texts in OCCASIONS], dtype=object)  # whole months and days, None kept


_TIMEZONES = {"新加坡": "Asia/Singapore", "香港": "Asia/Hong_Kong", "吉隆坡": "Asia/Kuala_Lumpur",
              "曼谷": "Asia/Bangkok"}


def _languages(rng, customers: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Language and time zone per customer: Hong Kong in Traditional Chinese, English-named
    overseas companies in English (in Singapore, or Berlin/Los Angeles by their legal form),
    a few English-named mainland companies in English, everyone else in Simplified Chinese."""
    name = customers["name"].astype(str)
    chinese = name.str.contains(r"[\u4e00-\u9fff]", regex=True).to_numpy()
    overseas = customers["region"].eq("Overseas").to_numpy()
    language = np.where(chinese, "zh_Hans", "en").astype(object)
    mainland_en = ~chinese & ~overseas
    language[mainland_en & (rng.random(len(name)) < 0.7)] = "zh_Hans"
    zone = np.full(len(name), None, dtype=object)
    for city, tz in _TIMEZONES.items():
        zone[overseas & name.str.startswith(city).to_numpy()] = tz
    language[overseas & name.str.startswith("香港").to_numpy()] = "zh_Hant"
    english = overseas & ~chinese
    zone[english] = "Asia/Singapore"
    zone[english & name.str.endswith("GmbH").to_numpy()] = "Europe/Berlin"
    zone[english & name.str.endswith(("Inc.", "LLC")).to_numpy()] = "America/Los_Angeles"
    zone[overseas & (zone == None)] = "Asia/Singapore"  # noqa: E711 (element-wise)
    return language, zone


def _customer_columns(rng, customers, params, transactions, today) -> pd.DataFrame:
    ext = customers["external_id"]
    language, zone = _languages(rng, customers)
    contracts = transactions[transactions["category"].eq("service contract")
                             & ~transactions["is_refund"]]
    contract_on = contracts.groupby("customer_id")["occurred_at"].min().dt.date
    lost = pd.DataFrame([(e, a["defected_to"], a["defection_reason"])
                         for e, a in zip(ext, customers["attributes"]) if "defected_to" in a],
                        columns=["external_id", "lost_to", "lost_reason"]).set_index("external_id")
    # Noticed 20 to 75 days after the last purchase (sooner when that was recent: by today).
    last = pd.to_datetime(params.loc[lost.index, "defected_at"]).dt.normalize()
    span = np.minimum(75, (pd.Timestamp(today) - last).dt.days.to_numpy())
    lag = np.floor(span * rng.uniform(0.27, 1.0, size=len(lost))).astype(int)
    lost["lost_on"] = (last + pd.to_timedelta(lag, unit="D")).dt.date.to_numpy()
    frame = pd.DataFrame({"language": language, "timezone": zone}, index=ext.to_numpy())
    frame["contract_on"] = pd.Series(contract_on).reindex(frame.index).astype(object)
    frame = frame.join(lost[["lost_on", "lost_reason", "lost_to"]])
    frame["visit_every_days"] = None
    frame.index.name = "external_id"
    return frame.astype(object).where(frame.notna(), None)


def _teams(customers: pd.DataFrame, owners: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Team and default assignee per customer: the key-account team and the account's owner,
    else the region's team (assignees drawn in rotation later)."""
    team_of_region = {region: name for name, _, _, regions in TEAMS for region in regions}
    ext = customers["external_id"].to_numpy()
    team = pd.Series(customers["region"].map(team_of_region).to_numpy(), index=ext, dtype=object)
    owner = owners.reindex(ext)
    team[owner.notna().to_numpy()] = TEAMS[-1][0]
    return team, owner


def _triggers(customers, transactions, touchpoints, desk_cases, today) -> pd.DataFrame:
    """The rules' triggering events since each rule was made, in the history window."""
    start = pd.Timestamp(today) - pd.Timedelta(days=HISTORY_DAYS)
    created = {code: pd.Timestamp(on) for code, *_rest, on in RULES}
    parts = []
    done = desk_cases[desk_cases["resolved_at"].notna()]
    at = pd.to_datetime(done["resolved_at"])
    keep = (at >= max(start, created["case_followup"])).to_numpy()
    parts.append(pd.DataFrame({"rule": "case_followup", "customer_id": done["customer_id"][keep],
                               "event": at[keep], "source": "case",
                               "ref": done["case_id"][keep].astype(object),
                               "product": None}))
    inst = touchpoints[touchpoints["kind"].eq("installation")]
    keep = (inst["occurred_at"] >= max(start, created["install_followup"])).to_numpy()
    parts.append(pd.DataFrame({"rule": "install_followup",
                               "customer_id": inst["customer_id"][keep],
                               "event": inst["occurred_at"][keep], "source": "touchpoint",
                               "ref": inst.index[keep].astype(object), "product": None}))
    buy = transactions[transactions["category"].eq("equipment") & ~transactions["is_refund"]]
    keep = (buy["occurred_at"] >= max(start, created["purchase_followup"])).to_numpy()
    parts.append(pd.DataFrame({"rule": "purchase_followup", "customer_id": buy["customer_id"][keep],
                               "event": buy["occurred_at"][keep], "source": "transaction",
                               "ref": buy["external_id"][keep], "product": buy["product"][keep]}))
    events = pd.concat(parts, ignore_index=True)
    days = events["rule"].map({code: p["days"] for code, _n, _t, p, *_r in RULES if "days" in p})
    events["due_at"] = (events["event"].dt.normalize() + pd.to_timedelta(days, unit="D")
                        + pd.Timedelta(hours=9) - UTC_OFFSET)
    events = events[events["due_at"] <= pd.Timestamp(today) + pd.Timedelta(days=3)]
    return events.sort_values(["due_at", "customer_id", "rule"], kind="stable")


def _callable(customers: pd.DataFrame, columns: pd.DataFrame, ids: pd.Series,
              at: pd.Series) -> np.ndarray:
    """Who may be called at ``at``: consents to care, has a phone, not marked lost by then."""
    c = customers.set_index("external_id")
    ok = (c["consent_care"] & c["phone"].notna()).reindex(ids).to_numpy()
    lost_on = pd.to_datetime(columns["lost_on"].reindex(ids)).to_numpy()
    not_lost = pd.isna(lost_on) | (pd.to_datetime(at).to_numpy() < lost_on)
    return ok & not_lost


def _work_calls(rng, tasks: pd.DataFrame, team_members: dict) -> tuple[pd.DataFrame, list]:
    """Assignees, attempts, outcomes and contacts of finished call tasks (the planted reach)."""
    n = len(tasks)
    q = tasks["team"].map(TEAM_REACH).to_numpy(float)
    assignee = tasks["assignee"].to_numpy(dtype=object)
    for team, members in team_members.items():
        rows = np.flatnonzero((tasks["team"].to_numpy() == team) & pd.isna(assignee))
        assignee[rows] = np.asarray(members, dtype=object)[rng.integers(0, len(members),
                                                                        size=len(rows))]
    wrong = rng.random(n) < WRONG_NUMBER
    # attempt at which the customer is reached (1..), > MAX_ATTEMPTS: never
    reached_at = rng.geometric(q)
    reached = ~wrong & (reached_at <= MAX_ATTEMPTS)
    attempts = np.where(wrong, 1, np.minimum(reached_at, MAX_ATTEMPTS))
    problem = reached & (rng.random(n) < PROBLEM_SHARE)
    outcome = np.where(wrong, "wrong_number", np.where(
        reached, np.where(problem, "reached_problem", "reached_ok"), "no_answer"))
    first = tasks["due_at"] + pd.to_timedelta(rng.uniform(0, 7 * 3600, size=n).round(), unit="s")
    gaps = rng.uniform(RETRY_HOURS, RETRY_HOURS + 20, size=(n, MAX_ATTEMPTS)) * 3600
    gaps[:, 0] = 0
    offsets = np.cumsum(gaps, axis=1)
    note = np.where(problem, np.asarray(NOTES_PROBLEM, dtype=object)[
        rng.integers(0, len(NOTES_PROBLEM), size=n)], np.asarray(NOTES_OK, dtype=object)[
        rng.integers(0, len(NOTES_OK), size=n)])
    note = np.where(reached, note, None)
    done_at = first + pd.to_timedelta(offsets[np.arange(n), attempts - 1].round(), unit="s")
    row = np.repeat(np.arange(n), attempts)
    k = np.arange(row.size) - np.repeat(np.cumsum(attempts) - attempts, attempts)
    last = k == attempts[row] - 1
    at = (first.to_numpy()[row] + pd.to_timedelta(offsets[row, k].round(), unit="s")).floor("s")
    contacts = pd.DataFrame({
        "task": tasks["task"].to_numpy()[row], "customer_id": tasks["customer_id"].to_numpy()[row],
        "at": at, "user": assignee[row], "channel": "phone", "kind": "call",
        "outcome": np.where(last, outcome[row], "no_answer"),
        "subject": tasks["subject"].to_numpy()[row], "body": np.where(last, note[row], None),
        "campaign": tasks["campaign"].to_numpy()[row]}).to_dict("records")
    worked = tasks.assign(assignee=assignee, status="done", attempts=attempts, outcome=outcome,
                          note=note, completed_by=assignee, completed_at=done_at.dt.floor("s"))
    return worked, contacts


def _link_cases(tasks: pd.DataFrame, contacts: list, cases: pd.DataFrame) -> pd.DataFrame:
    """A call that reached a customer with a problem opened the customer's next case when one
    was opened within a week after it: the task names the case and ends just before it."""
    problem = tasks[tasks["outcome"].eq("reached_problem") & tasks["campaign"].isna()]
    opened = cases[["case_id", "customer_id", "opened_at"]].sort_values("opened_at")
    joined = pd.merge_asof(
        problem[["task", "customer_id", "completed_at", "due_at"]].sort_values("completed_at"),
        opened, left_on="completed_at", right_on="opened_at", by="customer_id",
        direction="forward", tolerance=pd.Timedelta(days=7))
    joined = joined.dropna(subset=["case_id"])
    joined = joined[joined["opened_at"] - pd.Timedelta(minutes=5) > joined["due_at"]]
    tasks = tasks.assign(case_id=pd.Series([None] * len(tasks), index=tasks.index, dtype=object))
    by_task = tasks.reset_index().set_index("task")["index"]
    last_contact = {c["task"]: c for c in contacts}  # the last attempt of each task
    for row in joined.itertuples(index=False):
        done = row.opened_at - pd.Timedelta(minutes=5)
        call = last_contact[row.task]
        earlier = [c["at"] for c in contacts if c["task"] == row.task and c is not call]
        if earlier and max(earlier) >= done:
            continue
        tasks.at[by_task[row.task], "case_id"] = int(row.case_id)
        tasks.at[by_task[row.task], "completed_at"] = done
        call["at"], call["case_id"] = done, int(row.case_id)
    return tasks


def _open_tasks(tasks: pd.DataFrame, today: date) -> pd.DataFrame:
    """Leave the newest tasks open (see "The today list" in the module docstring)."""
    end = pd.Timestamp(today) + _DAY
    ahead = tasks.index[tasks["due_at"] >= end][:OPEN_AHEAD]
    tasks = tasks.drop(tasks.index[tasks["due_at"] >= end].difference(ahead))
    past = tasks.index[(tasks["due_at"] < end) & tasks["campaign"].isna()]
    today_rows, overdue_rows = past[-OPEN_TODAY:], past[-(OPEN_TODAY + OPEN_OVERDUE):-OPEN_TODAY]
    hours = np.linspace(9, 17, len(today_rows))
    tasks.loc[today_rows, "due_at"] = [_stored(today, h) for h in hours]
    tasks.loc[overdue_rows, "due_at"] = [_stored(today - timedelta(days=1 + i % 3), 9 + i % 6)
                                         for i in range(len(overdue_rows))]
    rows = ahead.union(today_rows).union(overdue_rows)
    tasks["shift"] = tasks.index.isin(rows)
    tasks.loc[rows, "created_at"] = [min(c, d - pd.Timedelta(hours=20)) for c, d in
                                     zip(tasks.loc[rows, "created_at"], tasks.loc[rows, "due_at"])]
    return tasks


def _greetings(customers, columns, today) -> tuple[list, list]:
    """Festival greetings of the history and birthday greetings of gold and platinum
    customers in the last half year: consenting customers only, by text message (by e-mail
    when they have no phone, as the calendar's worker does), once each, none within the quiet
    period (``QUIET_DAYS``) after another."""
    from patronage.care.texts import fill, pick

    c = customers.set_index("external_id")
    templates = {code: dict(zip(("en", "zh_Hans", "zh_Hant"), texts, strict=True))
                 for code, *_r, texts in OCCASIONS}
    names = {code: dict(zip(("en", "zh_Hans", "zh_Hant"), n, strict=True))
             for code, _k, n, *_r in OCCASIONS}
    ok = c["consent_care"] & (c["phone"].notna() | c["email"].notna())
    channel_of = pd.Series(np.where(c["phone"].notna(), "sms", "email"), index=c.index).to_dict()
    lost_on = pd.to_datetime(columns["lost_on"])
    created = pd.to_datetime(c["created_at"])
    sends = []
    for code, day in GREETED:
        when = pd.Timestamp(day)
        chosen = ok & (created < when) & ~(lost_on <= when)
        sends += [(ext, code, day) for ext in c.index[chosen.to_numpy()]]
    start = pd.Timestamp(today) - pd.Timedelta(days=HISTORY_DAYS)
    top = ok & c["tier"].isin(["gold", "platinum"]) & c["birthday"].notna()
    for ext, born in c.loc[top, "birthday"].items():
        for year in (start.year, today.year):
            day = date(year, born.month, min(born.day, 28 if born.month == 2 else 31))
            if start <= pd.Timestamp(day) <= pd.Timestamp(today) and not (
                    pd.notna(lost_on.get(ext)) and lost_on[ext] <= pd.Timestamp(day)):
                sends.append((ext, "birthday", day))
    # The quiet period (the setting's default): no greeting within days of another one.
    kept, last = [], {}
    for ext, code, day in sorted(sends, key=lambda send: (send[0], send[2])):
        if ext in last and (day - last[ext]).days <= QUIET_DAYS:
            continue
        kept.append((ext, code, day))
        last[ext] = day
    sends = sorted(kept, key=lambda send: (send[2], send[1], send[0]))
    languages, people = columns["language"].to_dict(), c["name"].to_dict()
    greetings, contacts, times = [], [], {}
    for ext, code, day in sends:
        language = languages[ext] or "zh_Hans"
        if day not in times:
            times[day] = _stored(day, 9)
        at = times[day]
        greetings.append({"customer_id": ext, "occasion": code, "occasion_on": day,
                          "channel": channel_of[ext], "created_at": at,
                          "contact": len(contacts)})
        contacts.append({"customer_id": ext, "at": at, "user": None, "channel": channel_of[ext],
                         "kind": "greeting", "outcome": None, "subject": names[code][language],
                         "body": fill(pick(templates[code], language), {"name": people[ext]}),
                         "task": None, "campaign": None})
    return greetings, contacts


def _visits(rng, customers, columns, owners: pd.Series, today: date):
    """Visit plans and a year of visit reports of the key accounts still served; returns
    ``(plans, contacts, overdue)``."""
    c = customers.set_index("external_id")
    today_ts = pd.Timestamp(today)
    since = (today_ts - pd.to_datetime(c["created_at"]).dt.normalize()).dt.days
    served = owners.index[(since.reindex(owners.index) >= 30).to_numpy()
                          & columns["lost_on"].reindex(owners.index).isna().to_numpy()]
    every = np.where(c.loc[served, "tier"].isin(["gold", "platinum"]), 60, 90)
    old = since.reindex(served).to_numpy() >= every + 90
    overdue = old & (rng.random(len(served)) < OVERDUE_SHARE / old.mean())
    back = np.where(overdue, every + rng.integers(10, 75, size=len(served)),
                    rng.integers(3, every - 4, size=len(served)))
    back = np.minimum(back, since.reindex(served).to_numpy() - 1)
    contacts = []
    for i, ext in enumerate(served):
        day, first = today_ts - pd.Timedelta(days=int(back[i])), today_ts - pd.Timedelta(days=365)
        created = pd.Timestamp(c.at[ext, "created_at"]).normalize()
        while day >= max(first, created):
            contacts.append({"customer_id": ext, "at": day,
                             "user": owners[ext], "channel": "visit", "kind": "visit",
                             "outcome": None, "subject": "大客户拜访",
                             "body": VISIT_REPORTS[int(rng.integers(len(VISIT_REPORTS)))],
                             "task": None, "campaign": None})
            day -= pd.Timedelta(days=int(every[i] * rng.uniform(0.75, 1.0)))
    hours = pd.to_timedelta(np.round((10 + 5 * rng.random(len(contacts))) * 3600), unit="s")
    for contact, hour in zip(contacts, hours - UTC_OFFSET, strict=True):
        contact["at"] += hour
    plans = pd.Series(every, index=served)
    return plans, contacts, frozenset(served[overdue])


def _campaign(rng, customers, columns, params, transactions, today):
    """The win-back campaign's list (lost in the year before it started), its random control
    group and the planted purchases of the 90 days measured."""
    c = customers.set_index("external_id")
    lost_on = pd.to_datetime(columns["lost_on"])
    start_day = pd.Timestamp(CAMPAIGN_START)
    listed = columns.index[(lost_on.lt(start_day) & lost_on.ge(start_day - pd.Timedelta(
        days=LIST_DAYS))).to_numpy()]
    # The services' draw over the customers' numbers (= database ids in a fresh database).
    control = draw_control([int(e[1:]) for e in listed], CONTROL_SHARE, CAMPAIGN_SEED)
    group = np.where([int(e[1:]) in control for e in listed], "control", "target").astype(object)
    start = _stored(CAMPAIGN_START, 9)
    members = pd.DataFrame({"customer_id": listed, "group": group, "added_at": start})
    rate = np.where(group == "target", TARGET_RATE, CONTROL_RATE)
    buys = rng.random(len(listed)) < rate
    buyers = listed[buys]
    m = len(buyers)
    day = rng.integers(3, MEASURE_DAYS - 2, size=m)
    at = (pd.Timestamp(CAMPAIGN_START) + pd.to_timedelta(day, unit="D")
          + pd.to_timedelta(np.round((8 + 10 * rng.random(m)) * 3600), unit="s"))
    spend = params.loc[buyers, "mean_spend"].to_numpy()
    amount = np.round(rng.gamma(SPEND_SHAPE, 1.0, size=m) * spend / SPEND_SHAPE, 2)
    kinds = ("spare parts", "consumables", "service contract")
    category = np.asarray(kinds, dtype=object)[rng.choice(3, size=m, p=[0.4, 0.45, 0.15])]
    product = [PRODUCTS[k][int(u * len(PRODUCTS[k]))] for k, u in zip(category, rng.random(m))]
    number = int(transactions["external_id"].str[1:].astype(int).max())
    purchases = pd.DataFrame({
        "external_id": [f"T{number + i:07d}" for i in range(1, m + 1)],
        "customer_id": buyers.to_numpy(), "occurred_at": at.to_numpy(), "amount": amount,
        "cost": np.round(amount * rng.uniform(0.6, 0.75, size=m), 2), "product": product,
        "category": category, "channel": c.loc[buyers, "channel"].to_numpy(),
        "is_refund": np.zeros(m, dtype=bool)})
    campaigns = pd.DataFrame([{
        "code": CAMPAIGN_CODE, "name": CAMPAIGN_NAME, "kind": "win_back",
        "status": "closed", "offer": "再次下单享免费设备保养一次及备件九折", "task_type": "call",
        "channel": None, "template_en": SCRIPTS["win_back"][0],
        "template_zh_hans": SCRIPTS["win_back"][1],
        "template_zh_hant": SCRIPTS["win_back"][2], "control_share": CONTROL_SHARE,
        "seed": CAMPAIGN_SEED, "measure_days": MEASURE_DAYS, "created_by": MANAGER,
        "created_at": start - pd.Timedelta(days=3), "started_at": start}])
    return campaigns, members, purchases



def generate_care(seed: int, customers: pd.DataFrame, params: pd.DataFrame,
                  transactions: pd.DataFrame, touchpoints: pd.DataFrame, desk,
                  today: date) -> DemoCare:
    """The demo's care frames and their truth (``customers`` as published, with tiers)."""
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(13,)))
    columns = _customer_columns(rng, customers, params, transactions, today)
    owners = desk.account_owners
    team, owner = _teams(customers, owners)
    members_of = {name: [email_of(x) for x in (lead, *agents)] for name, lead, agents, _ in TEAMS}

    events = _triggers(customers, transactions, touchpoints, desk.cases, today)
    events = events[_callable(customers, columns, events["customer_id"], events["due_at"])]
    campaigns, members, purchases = _campaign(rng, customers, columns, params, transactions,
                                              today)
    target = members[members["group"].eq("target")]
    target = target[customers.set_index("external_id").loc[target["customer_id"], "phone"]
                    .notna().to_numpy()]  # no number, no call
    starts = pd.Timestamp(CAMPAIGN_START) + pd.to_timedelta(
        rng.integers(0, 5, size=len(target)), unit="D")
    calls = pd.concat([
        pd.DataFrame({"customer_id": events["customer_id"].to_numpy(),
                      "rule": events["rule"].to_numpy(), "campaign": None,
                      "source": events["source"].to_numpy(), "ref": events["ref"].to_numpy(),
                      "product": events["product"].to_numpy(),
                      "due_at": events["due_at"].to_numpy(),
                      "created_at": (events["event"] + pd.Timedelta(minutes=10)).to_numpy()}),
        pd.DataFrame({"customer_id": target["customer_id"].to_numpy(), "rule": None,
                      "campaign": CAMPAIGN_CODE, "source": "campaign",
                      "ref": target["customer_id"].to_numpy(), "product": None,
                      "due_at": [_stored(d, 9) for d in starts],
                      "created_at": _stored(CAMPAIGN_START, 9)}),
    ], ignore_index=True).sort_values(["due_at", "customer_id"], kind="stable")
    calls = calls.reset_index(drop=True)
    calls["task"] = np.arange(len(calls))
    calls["team"] = calls["customer_id"].map(team).to_numpy()
    calls["assignee"] = calls["customer_id"].map(owner).to_numpy(dtype=object)
    calls["subject"] = calls["rule"].fillna(CAMPAIGN_CODE).map(SUBJECTS)
    calls["type"] = "call"
    calls = _open_tasks(calls, today)
    shifted = calls[calls["shift"]]
    worked, contacts = _work_calls(rng, calls[~calls["shift"]].reset_index(drop=True), members_of)
    assignees = shifted["assignee"].to_numpy(dtype=object)
    for i, t in enumerate(shifted["team"]):
        if pd.isna(assignees[i]):
            assignees[i] = members_of[t][i % len(members_of[t])]
    still_open = shifted.assign(assignee=assignees, status="open", attempts=0, outcome=None,
                                note=None, completed_by=None, completed_at=pd.NaT)
    worked = _link_cases(worked, contacts, desk.cases)
    tasks = pd.concat([worked, still_open.assign(case_id=None)], ignore_index=True)
    tasks = tasks.sort_values("task", kind="stable").reset_index(drop=True)
    tasks["script"] = _scripts(tasks, customers, columns)

    greetings, greeting_contacts = _greetings(customers, columns, today)
    plans, visit_contacts, overdue = _visits(rng, customers, columns, owners, today)
    columns.loc[plans.index, "visit_every_days"] = plans.astype(int).tolist()
    first_call = {}
    for contact in contacts:
        first_call.setdefault(contact["task"], contact)
    members = members.assign(task=members["customer_id"].map(
        tasks.loc[tasks["campaign"].notna()].set_index("customer_id")["task"]))
    contact_rows = pd.DataFrame(contacts + greeting_contacts + visit_contacts)
    greetings = pd.DataFrame(greetings)
    greetings["contact"] += len(contacts)
    reach = {name: expected_reach(q) for name, q in TEAM_REACH.items()}
    truth = CareTruth(
        reach_per_attempt=dict(TEAM_REACH),
        reach_per_task={name: r[0] for name, r in reach.items()},
        reach_of_attempts={name: r[1] for name, r in reach.items()},
        problem_share=PROBLEM_SHARE, overdue_visits=overdue,
        visit_plans={ext: int(d) for ext, d in plans.items()},
        won_back=frozenset(purchases["customer_id"]), greeted=dict(GREETED))
    return DemoCare(rules=_rules_frame(), occasions=_occasions_frame(today), customers=columns,
                    tasks=tasks, contacts=contact_rows, greetings=greetings,
                    campaigns=campaigns, members=members, purchases=purchases, truth=truth,
                    today=today)


def _scripts(tasks: pd.DataFrame, customers: pd.DataFrame, columns: pd.DataFrame) -> list:
    """Each task's script in its customer's language with the customer's fields filled."""
    from patronage.care.texts import fill, pick
    from patronage.demo.labels import LABELS

    names = customers.set_index("external_id")["name"]
    out = []
    for code, product, ext in zip(tasks["rule"].fillna("win_back"), tasks["product"],
                                  tasks["customer_id"]):
        language = columns.at[ext, "language"] or "zh_Hans"
        texts = dict(zip(("en", "zh_Hans", "zh_Hant"), SCRIPTS[code], strict=True))
        labels = LABELS["product"].get(product) if isinstance(product, str) else None
        shown = labels[("en", "zh_Hans", "zh_Hant").index(language)] if labels else ""
        out.append(fill(pick(texts, language), {"name": names[ext]}, {"product": shown}))
    return out


__all__ = ["CAMPAIGN_CODE", "OCCASIONS", "RULES", "TEAM_REACH", "CareTruth", "DemoCare",
           "expected_reach", "generate_care"]
