"""The demo company's improvement cycle (issue 15, item 7): sites and teams, a service standard
that slips, an employee survey with a planted service-profit chain, and two actions whose effects
are known.

Everything is drawn from one generator seeded from the demo's seed (``spawn_key=(15,)``), after
every other part of the demo, so the draws of the rest of the demo are those without it.
:mod:`patronage.demo.improvement_install` writes the employee survey and, once the logins exist,
the standard and the actions through their services.

What is planted, and what the tests recover:

* **Sites and teams.** The service organisation has ten sites (:data:`SITES`) of two teams each,
  three agents a team. Each team has a quality ``q`` (standard normal). Customers are allotted to
  teams by their latent satisfaction plus noise, the more satisfied customers to the better teams,
  and every touchpoint of a customer is served by the customer's team (an agent of it at random).
* **A standard that slips.** The standard :data:`STANDARD` promises that 80 % of phone inquiries
  are answered within 90 s (about 81 % are). At :data:`SLIP_SITE` in the months of
  :data:`SLIP_MONTHS` the waiting times of its phone inquiries are :data:`SLIP_FACTOR` times
  longer (about 20 % within): the site's p chart flags those months as special causes.
* **The service-profit chain.** An anonymous employee survey (the employee template, two waves,
  6–9 answers per team and wave, site and team answered) whose ratings rise with the team's
  ``q``: employee satisfaction and the CSI of the team's customers go together across teams.
* **Actions.** Two actions made at the relationship survey's third wave: one for the service
  dimension of :data:`WORKS_SEGMENT` customers whose fourth-wave service answers are raised (each
  by one point with probability :data:`RISE_SHARE`, at most 10), one for the communication
  dimension of :data:`IDLE_SEGMENT` customers with nothing planted. Their measured effect is
  achieved and not achieved.
* **An action on the standard.** :data:`STANDARD_ACTION`, made at the same time for the phone
  inquiries of :data:`STANDARD_SEGMENT` customers: from the first day of the fourth wave their
  waiting times are :data:`SPEEDUP` of what they would have been. The in-sample rise of their
  share answered within the standard (``ImprovementTruth.standard_rise``, percentage points) is
  what the action's difference in differences against the other customers recovers, achieved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from patronage.chain.employees import RATING_ITEMS
from patronage.index_system import load_index_system
from patronage.surveys.templates import load_template

STREAM_KEY = 15
SITES = ("上海", "北京", "广州", "深圳", "成都", "武汉", "杭州", "南京", "西安", "天津")
TEAMS_PER_SITE, AGENTS_PER_TEAM = 2, 3
SLIP_SITE = "广州"
SLIP_MONTHS = ("2025-10", "2025-11", "2025-12")
SLIP_FACTOR = 4.0
STANDARD = {"code": "inquiry-answer-90s", "name": "电话咨询 90 秒内接听", "metric": "waiting",
            "touchpoint": "inquiry", "channel": "phone", "threshold": "90s", "target": "80%",
            "period": "month"}
EMPLOYEE_CODE = "employee-2026"
EMPLOYEE_WAVES = (("2025年下半年", "2025-12-01", "2025-12-20"),
                  ("2026年上半年", "2026-06-01", "2026-06-20"))
EMPLOYEE_RATING_CENTER, EMPLOYEE_RATING_EFFECT, EMPLOYEE_RATING_NOISE = 3.5, 0.3, 0.8
ENPS_CENTER, ENPS_EFFECT, ENPS_NOISE = 7.0, 0.9, 1.8
WORKS_SEGMENT = ("region", "Southwest China")
IDLE_SEGMENT = ("region", "North China")
RISE_SHARE = 0.7
STANDARD_SEGMENT = ("region", "South China")
SPEEDUP = 0.5
STANDARD_ACTION = {"key": "standard", "title": "华南区电话咨询专席：高峰时段增派坐席",
                   "segment": "region=South+China", "target": "5", "budget": "120000",
                   "source": "manual"}
ACTIONS = (
    {"key": "works", "title": "西南区服务响应提速：成都备件库与 24 小时热线",
     "metric": "dimension:service", "segment": "region=Southwest+China", "target": "5",
     "budget": "380000", "source": "ipa", "source_ref": "service"},
    {"key": "idle", "title": "华北区客户经理每月主动通报订单进度",
     "metric": "dimension:communication", "segment": "region=North+China", "target": "5",
     "budget": "60000", "source": "driver", "source_ref": "communication"},
)


@dataclass(frozen=True)
class ImprovementTruth:
    """What was planted: ``team_quality`` per team, the slipping site and months, the action
    keys expected achieved (``works``) or not (``idle``) and the rise per fourth-wave answer."""

    team_quality: dict = field(default_factory=dict)
    slip_site: str = SLIP_SITE
    slip_months: tuple = SLIP_MONTHS
    achieved: dict = field(default_factory=lambda: {"works": True, "idle": False,
                                                    "standard": True})
    rise_share: float = RISE_SHARE
    standard_rise: float = 0.0


@dataclass(frozen=True)
class DemoImprovement:
    """The employee survey's rows (keyed like the demo's other frames), the customer → team
    allotment and the truth; the touchpoints' site/team/agent are in the demo's touchpoints."""

    surveys: pd.DataFrame
    waves: pd.DataFrame
    responses: pd.DataFrame
    answers: pd.DataFrame
    teams: pd.Series
    truth: ImprovementTruth


def team_names() -> list[tuple[str, str]]:
    """(site, team) of every team, in order."""
    return [(site, f"{site}{'一二三四'[k]}组") for site in SITES for k in range(TEAMS_PER_SITE)]


def _allot(rng, satisfaction: pd.Series, quality: np.ndarray) -> pd.Series:
    """Customer → team index: ranked by satisfaction plus noise, cut into equal shares, the
    better teams (higher ``quality``) serving the more satisfied customers."""
    score = satisfaction.to_numpy() + rng.normal(0, 1.5, len(satisfaction))
    rank = np.argsort(np.argsort(score))
    share = (rank * len(quality)) // len(score)
    by_quality = np.argsort(quality)
    return pd.Series(by_quality[share], index=satisfaction.index)


def _touchpoints(rng, touchpoints: pd.DataFrame, team_of: pd.Series) -> pd.DataFrame:
    names = team_names()
    index = team_of.reindex(touchpoints["customer_id"]).to_numpy()
    agents = rng.integers(1, AGENTS_PER_TEAM + 1, len(touchpoints))
    site = np.array([names[i][0] for i in index], dtype=object)
    team = np.array([names[i][1] for i in index], dtype=object)
    agent = np.array([f"{t}{a:02d}号" for t, a in zip(team, agents, strict=True)], dtype=object)
    out = touchpoints.assign(site=site, team=team, agent=agent)
    month = out["occurred_at"].dt.strftime("%Y-%m")
    slip = ((out["site"] == SLIP_SITE) & month.isin(SLIP_MONTHS) & (out["kind"] == "inquiry")
            & (out["channel"] == "phone")).to_numpy()
    out.loc[slip, "waiting_seconds"] = np.round(out.loc[slip, "waiting_seconds"] * SLIP_FACTOR, 1)
    return out


def _speed_up(touchpoints: pd.DataFrame, customers: pd.DataFrame,
              first_day) -> tuple[pd.DataFrame, float]:
    """The standard's touchpoints of :data:`STANDARD_SEGMENT` customers from ``first_day`` on,
    answered :data:`SPEEDUP` times as long after; and the rise (percentage points) of their
    share within the standard that this makes."""
    key, value = STANDARD_SEGMENT
    who = set(customers.loc[customers[key] == value, "external_id"])
    rows = ((touchpoints["kind"] == STANDARD["touchpoint"])
            & (touchpoints["channel"] == STANDARD["channel"])
            & touchpoints["customer_id"].isin(who)
            & (touchpoints["occurred_at"] >= pd.Timestamp(first_day))
            & touchpoints["waiting_seconds"].notna()).to_numpy()
    limit = float(STANDARD["threshold"].rstrip("s"))
    waits = touchpoints.loc[rows, "waiting_seconds"].astype(float)
    faster = np.round(waits * SPEEDUP, 1)
    out = touchpoints.copy()
    out.loc[rows, "waiting_seconds"] = faster
    rise = 100.0 * float((faster <= limit).mean() - (waits <= limit).mean()) if rows.any() else 0.0
    return out, rise


def _employees(rng, quality: np.ndarray):
    names = team_names()
    items = list(RATING_ITEMS)
    responses, answers = [], []
    for wave, starts, _ends in EMPLOYEE_WAVES:
        start = pd.Timestamp(starts)
        for (site, team), q in zip(names, quality, strict=True):
            for _ in range(int(rng.integers(6, 10))):
                rid = f"E{len(responses) + 1:05d}"
                at = start + pd.Timedelta(minutes=int(rng.integers(9 * 60, 19 * 24 * 60)))
                responses.append({"external_id": rid, "wave": wave, "customer_id": None,
                                  "invitation_token": None, "channel": "web",
                                  "language": "zh_Hans", "started_at": at - pd.Timedelta(
                                      minutes=6), "submitted_at": at, "weight": 1.0,
                                  "quality_flags": {}, "survey": EMPLOYEE_CODE})
                ratings = np.clip(np.round(EMPLOYEE_RATING_CENTER + EMPLOYEE_RATING_EFFECT * q
                                           + rng.normal(0, EMPLOYEE_RATING_NOISE, len(items))),
                                  1, 5)
                answers += [(rid, item, float(v), None) for item, v in zip(items, ratings,
                                                                           strict=True)]
                answers.append((rid, "enps", float(np.clip(round(
                    ENPS_CENTER + ENPS_EFFECT * q + rng.normal(0, ENPS_NOISE)), 0, 10)), None))
                answers += [(rid, "site.text", None, site), (rid, "team.text", None, team)]
    waves = pd.DataFrame([{"survey": EMPLOYEE_CODE, "name": name,
                           "starts_on": pd.Timestamp(s).date(), "ends_on": pd.Timestamp(e).date()}
                          for name, s, e in EMPLOYEE_WAVES])
    return (waves, pd.DataFrame(responses),
            pd.DataFrame(answers, columns=["response_id", "item_code", "value_num",
                                           "value_text"]))


def _raise_service(rng, answers: pd.DataFrame, responses: pd.DataFrame,
                   customers: pd.DataFrame, last_wave: str) -> pd.DataFrame:
    """The fourth-wave service answers of :data:`WORKS_SEGMENT` customers, each one point higher
    with probability :data:`RISE_SHARE` (at most 10)."""
    key, value = WORKS_SEGMENT
    who = set(customers.loc[customers[key] == value, "external_id"])
    chosen = responses.loc[(responses["wave"] == last_wave)
                           & responses["customer_id"].isin(who), "external_id"]
    items = load_index_system().items
    service = set(items.loc[items["dimension"] == "service", "item_code"])
    rows = (answers["response_id"].isin(set(chosen)) & answers["item_code"].isin(service)
            & answers["value_num"].notna()).to_numpy()
    up = rng.random(int(rows.sum())) < RISE_SHARE
    out = answers.copy()
    out.loc[rows, "value_num"] = np.minimum(out.loc[rows, "value_num"].to_numpy() + up, 10.0)
    return out


def generate_improvement(seed: int, customers: pd.DataFrame, satisfaction: pd.Series,
                         touchpoints: pd.DataFrame, responses: pd.DataFrame,
                         answers: pd.DataFrame, waves: pd.DataFrame):
    """``(improvement, touchpoints, answers)``: the improvement cycle's frames and the demo's
    touchpoints (with site, team, agent and the slip) and answers (with the planted rise)."""
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(STREAM_KEY,)))
    allot_rng, touch_rng, staff_rng, rise_rng = rng.spawn(4)
    quality = allot_rng.normal(0, 1, len(SITES) * TEAMS_PER_SITE)
    team_of = _allot(allot_rng, satisfaction.reindex(customers["external_id"]).fillna(0.0),
                     quality)
    touchpoints = _touchpoints(touch_rng, touchpoints, team_of)
    touchpoints, standard_rise = _speed_up(touchpoints, customers, waves["starts_on"].iloc[-1])
    staff_waves, staff_responses, staff_answers = _employees(staff_rng, quality)
    answers = _raise_service(rise_rng, answers, responses, customers, waves["name"].iloc[-1])
    surveys = pd.DataFrame([{
        "code": EMPLOYEE_CODE, "title": "员工满意度调查", "language": "zh_Hans",
        "status": "closed", "definition": load_template("employee").to_dict(),
        "created_at": pd.Timestamp(EMPLOYEE_WAVES[0][1]) - pd.Timedelta(days=7)}])
    names = team_names()
    truth = ImprovementTruth(team_quality={names[i][1]: float(q) for i, q in enumerate(quality)},
                             standard_rise=standard_rise)
    improvement = DemoImprovement(
        surveys=surveys, waves=staff_waves, responses=staff_responses, answers=staff_answers,
        teams=team_of.map(lambda i: names[i][1]), truth=truth)
    return improvement, touchpoints, answers


__all__ = ["ACTIONS", "DemoImprovement", "EMPLOYEE_CODE", "ImprovementTruth", "SITES",
           "SLIP_MONTHS", "SLIP_SITE", "SPEEDUP", "STANDARD", "STANDARD_ACTION",
           "STANDARD_SEGMENT", "WORKS_SEGMENT", "generate_improvement",
           "team_names"]
