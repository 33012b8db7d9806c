"""The demo desk's history: per case its clocks, replies, resolutions, reopenings, timers'
records and remedies, with every moment in order (opened <= replied <= resolved <= closed).

Resolution times are the demo's case durations (``closed_at``); a closed case was resolved
somewhat before it was closed. Round 1 of a reopened case ends at 45 % of its span, the customer
comes back at 60 % and round 2 gets a fresh resolution target from there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patronage.demo.desk_setup import (
    APPROVAL_ABOVE,
    MANAGER,
    POLICIES,
    TEAMS,
    email_of,
    escalation_steps,
)

REOPEN_SHARE = 0.08
#: Median wall-clock hours to the first reply, by severity.
REPLY_HOURS = {"low": 6.0, "normal": 2.5, "high": 1.2, "urgent": 0.5}
#: Share of a closed case's span at which it was resolved: severe cases are resolved earlier.
RESOLVED_SHARE = {"low": (0.55, 0.95), "normal": (0.45, 0.9), "high": (0.3, 0.7),
                  "urgent": (0.15, 0.45)}
REMEDY_KINDS = ("apology", "repair", "replacement", "refund", "compensation", "goodwill_points")
REMEDY_SHARES = (0.3, 0.2, 0.1, 0.18, 0.12, 0.1)
REPLIES = ("您好，我们已收到您的反馈，工程师正在核实，今天内给您答复。",
           "Thank you for telling us. We are checking with the team and will call you back.",
           "非常抱歉给您带来不便，我们已安排专人跟进。",
           "您好，已为您登记，配件已安排发出，请留意物流信息。")
NOTES = ("已联系物流公司核实。", "Called the customer; engineer visit booked.",
         "已与销售确认订单信息。", "客户情绪较大，需要主管关注。", "Checked the invoice with finance.")
REOPEN_REASON = "客户反馈问题仍未解决 / The customer says the problem is back"
_SECOND = pd.Timedelta(seconds=1)


def _between(a: pd.Series, b: pd.Series, share) -> pd.Series:
    return (a + (b - a) * share).dt.floor("s")


def _mid(a: pd.Timestamp, b: pd.Timestamp, share: float) -> pd.Timestamp:
    return (a + (b - a) * share).floor("s")


def _clocks(rng, frame, clock, end):
    """Statuses, policy targets, reply and resolution moments, reopenings (vectorised)."""
    n = len(frame)
    status = frame["status"].replace({"open": "assigned"}).to_numpy(dtype=object)
    status[(status == "in_progress") & (rng.random(n) < 0.2)] = "waiting"
    frame.loc[status == "new", "owner"] = None
    severity = frame["severity"]
    first_min = severity.map({k: v[1] for k, v in POLICIES.items()}).to_numpy(float)
    res_min = severity.map({k: v[2] for k, v in POLICIES.items()}).to_numpy(float)
    opened, closed = frame["opened_at"], frame["closed_at"]
    done = np.isin(status, ["resolved", "closed"])
    low, high = (severity.map({k: v[i] for k, v in RESOLVED_SHARE.items()}).to_numpy(float)
                 for i in (0, 1))
    share = np.where(status == "closed", low + (high - low) * rng.random(n), 1.0)
    resolved = _between(opened, closed, share).where(done)
    reopened = done & (rng.random(n) < REOPEN_SHARE) & frame["type"].isin(
        ["complaint", "detractor", "negative_comment"]).to_numpy() \
        & ((resolved - opened) > pd.Timedelta(hours=2)).to_numpy()
    delay = pd.to_timedelta(np.round(3600 * severity.map(REPLY_HOURS).to_numpy(float)
                                     * rng.lognormal(0, 1.0, n)), unit="s")
    limit = (resolved.fillna(end) - opened) * np.where(reopened, 0.3, 0.5)
    replied = (opened + np.minimum(delay, limit)).dt.floor("s")
    replied = replied.where(~np.isin(status, ["new", "assigned"]))
    frame["status"], frame["round"] = status, np.where(reopened, 2, 1)
    frame["first_responded_at"], frame["resolved_at"] = replied, resolved
    frame["round1_resolved_at"] = _between(opened, resolved, 0.45).where(reopened)
    frame["reopened_at"] = _between(opened, resolved, 0.6).where(reopened)
    frame["first_response_due_at"] = clock.add(opened, first_min)
    frame["round1_due_at"] = clock.add(opened, res_min)
    start2 = frame["reopened_at"].fillna(opened)
    frame["resolution_due_at"] = np.where(reopened, clock.add(start2, res_min),
                                          frame["round1_due_at"])
    frame["waiting_since"] = _between(replied, pd.Series(end, index=frame.index), 0.5) \
        .where(status == "waiting")
    frame["policy"] = severity
    return frame


def _timer_moments(frame, clock):
    """Per round: when the warning, breach and escalation steps came due."""
    out = {}
    for rnd, due_col in ((1, "round1_due_at"), (2, "resolution_due_at")):
        minutes = clock.minutes(frame[due_col])
        moments = {"warning": clock.at(minutes - 60), "breach": frame[due_col]}
        for index, step in enumerate(escalation_steps(), start=1):
            moments[index] = clock.at(minutes + int(step["after_minutes"]))
        out[rnd] = {k: pd.DatetimeIndex(v).to_numpy() for k, v in moments.items()}
    return out


class _Recorder:
    def __init__(self, rng, leads, manager):
        self.rng, self.leads, self.manager = rng, leads, manager
        self.events, self.escalations, self.remedies = [], [], []

    def event(self, case_id, at, kind, user=None, body=None, changes=None, visibility="internal"):
        self.events.append({"case_id": case_id, "at": at, "user": user, "kind": kind,
                            "visibility": visibility, "body": body, "changes": changes})

    def timer(self, row, kind, step, rnd, notify, due_at, stop):
        at = due_at + pd.Timedelta(seconds=int(self.rng.integers(5, 120)))
        if at >= stop:
            at = due_at
        user = {"owner": row.owner, "team_lead": self.leads.get(row.team),
                "manager": self.manager}[notify]
        self.escalations.append({"case_id": row.case_id, "kind": kind, "step": step,
                                 "round": rnd, "notify": notify, "user": user, "at": at})
        target = "first response" if step == -1 else "resolution"
        self.event(row.case_id, at, {"warning": "sla_warning", "breach": "sla_breach",
                                     "escalation": "escalated"}[kind],
                   changes={"step": step, "notify": notify, "user": user, "target": target,
                            "round": rnd})

    def rounds(self, row, i, moments, end):
        reply = row.first_responded_at
        if row.first_response_due_at < (reply if pd.notna(reply) else end) and \
                row.first_response_due_at < end:
            self.timer(row, "breach", -1, 1, "owner", row.first_response_due_at, end)
        spans = [(1, row.opened_at, row.round1_resolved_at if row.round == 2 else row.resolved_at)]
        if row.round == 2:
            spans.append((2, row.reopened_at, row.resolved_at))
        for rnd, start, stop in spans:
            stop = stop if pd.notna(stop) else end
            m = moments[rnd]
            warning, breach = pd.Timestamp(m["warning"][i]), pd.Timestamp(m["breach"][i])
            if start <= warning < stop:
                self.timer(row, "warning", 0, rnd, "owner", warning, stop)
            if breach < stop:
                self.timer(row, "breach", 0, rnd, "owner", breach, stop)
                for index, step in enumerate(escalation_steps(), start=1):
                    moment = pd.Timestamp(m[index][i])
                    if moment < stop:
                        self.timer(row, "escalation", index, rnd, step["notify"], moment, stop)

    def remedy(self, row, created, stop, approval_above):
        rng = self.rng
        kind = REMEDY_KINDS[rng.choice(len(REMEDY_KINDS), p=REMEDY_SHARES)]
        amount = {"refund": rng.lognormal(np.log(600), 0.8),
                  "compensation": rng.lognormal(np.log(400), 0.8),
                  "replacement": rng.lognormal(np.log(900), 0.5)}.get(kind, 0.0)
        amount = float(round(amount, -1))
        points = int(rng.integers(5, 21) * 100) if kind == "goodwill_points" else 0
        paid = kind in ("refund", "compensation")
        pending = paid and amount > approval_above
        index = len(self.remedies)
        decided = _mid(created, stop, 0.5)
        status = ("approved" if rng.random() < 0.9 else "rejected") if pending else "approved"
        self.remedies.append({
            "case_id": row.case_id, "kind": kind, "amount": amount, "points": points,
            "note": None, "status": status, "requested_by": row.owner,
            "decided_by": self.manager if pending else row.owner, "created_at": created,
            "decided_at": decided if pending else created})
        self.event(row.case_id, created, "remedy", row.owner, changes={
            "remedy": index, "kind": kind, "amount": amount, "points": points,
            "status": "pending" if pending else "approved"})
        if pending:
            self.event(row.case_id, decided, "approval", self.manager,
                       changes={"remedy": index, "status": status})


def history(rng, frame: pd.DataFrame, clock, end: pd.Timestamp):
    """Fill ``frame``'s desk columns; return the events, escalations and remedies frames."""
    _clocks(rng, frame, clock, end)
    moments = _timer_moments(frame, clock)
    leads = {name: email_of(lead) for name, lead, _, _ in TEAMS}
    rec = _Recorder(rng, leads, MANAGER)
    u = rng.random((len(frame), 4))
    for i, row in enumerate(frame.itertuples(index=False)):
        cid, owner = row.case_id, row.owner
        rec.event(cid, row.opened_at, "opened", body=row.description,
                  changes={"channel": row.channel, "severity": row.severity,
                           "category": row.category})
        rec.event(cid, row.opened_at, "assigned", changes={"team": row.team, "owner": owner})
        reply = row.first_responded_at
        if pd.notna(reply):
            rec.event(cid, reply, "reply", owner, REPLIES[int(u[i, 0] * len(REPLIES))],
                      visibility="customer")
            rec.event(cid, reply, "status", owner, changes={"from": "assigned",
                                                            "to": "in_progress"})
        rec.rounds(row, i, moments, end)
        if row.status == "waiting":
            rec.event(cid, row.waiting_since, "status", owner,
                      changes={"from": "in_progress", "to": "waiting"})
        if pd.isna(row.resolved_at):
            continue
        if u[i, 1] < 0.4:
            note_at = _mid(reply, row.resolved_at, 0.1)
            rec.event(cid, note_at, "note", owner, NOTES[int(u[i, 2] * len(NOTES))])
        if row.round == 2:
            rec.event(cid, row.round1_resolved_at, "status", owner,
                      changes={"from": "in_progress", "to": "resolved"})
            rec.event(cid, row.reopened_at, "reopened", None, REOPEN_REASON,
                      changes={"from": "resolved", "to": "assigned", "round": 2})
            again = _mid(row.reopened_at, row.resolved_at, 0.3)
            rec.event(cid, again, "reply", owner, REPLIES[2], visibility="customer")
            rec.event(cid, again, "status", owner, changes={"from": "assigned",
                                                            "to": "in_progress"})
        remedy_share = {"complaint": 0.35, "detractor": 0.15}.get(row.type, 0.0)
        if u[i, 3] < remedy_share and owner is not None:
            created = _mid(reply, row.resolved_at, 0.5)
            rec.remedy(row, created, row.resolved_at, APPROVAL_ABOVE)
        rec.event(cid, row.resolved_at, "status", owner,
                  changes={"from": "in_progress", "to": "resolved"})
        if row.status == "closed":
            rec.event(cid, row.closed_at, "status", owner,
                      changes={"from": "resolved", "to": "closed"})
    events = pd.DataFrame(rec.events).sort_values(["case_id", "at"], kind="stable")
    frame["updated_at"] = events.groupby("case_id")["at"].max().reindex(frame["case_id"]) \
        .to_numpy()
    return (events.reset_index(drop=True), pd.DataFrame(rec.escalations),
            pd.DataFrame(rec.remedies))


__all__ = ["REOPEN_SHARE", "history"]
