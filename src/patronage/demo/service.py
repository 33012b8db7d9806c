"""Service side of the demo company: moments of truth, complaints, cases, competitors, defections.

Touchpoints (moments of truth) follow the purchases of the last year (order, invoice,
delivery, installation, training, payment, proposal and quote before equipment), the survey
responses, maintenance visits, parts returns for refunds, promotions and a stream of inquiries
and complaints. Complaints are more frequent for customers with a poor latent service level, and
waits are longer overseas. Cases come from complaints, some inquiries, detractor answers (NPS <= 6,
with probability ``DETRACTOR_CASE_SHARE``) and negative comments.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

COMPETITORS = (
    ("Hengtai Machinery 恒泰机械", "Domestic rival; aggressive on price in East and South China."),
    ("Apex Industrial Systems", "International brand; strong in key accounts and automation."),
    ("Kunlun Equipment 昆仑装备", "State-owned group; wins tenders in energy and logistics."),
    ("Meridian Tools GmbH", "German premium supplier; known for service contracts."),
)
COMPETITOR_SHARES = (0.4, 0.25, 0.2, 0.15)
DEFECTION_REASONS = ("price", "service response too slow", "product quality",
                     "delivery delays", "relationship with sales rep", "moved production")
DEFECTION_REASON_SHARES = (0.3, 0.22, 0.18, 0.14, 0.1, 0.06)
DEFECTION_RECORDED_SHARE = 0.45
DETRACTOR_CASE_SHARE = 0.5
INQUIRIES_PER_YEAR = 1.5
COMPLAINTS_PER_YEAR = 0.35

_COMPLAINT_TOPICS = {
    "delivery": ("Late delivery", "Delivery arrived damaged", "交货延迟"),
    "installation": ("Installation not finished on time", "安装质量问题"),
    "maintenance": ("Engineer did not arrive", "Repeated breakdown after repair", "维修不及时"),
    "invoice": ("Wrong invoice amount", "发票信息错误"),
    "order": ("Order confirmation missing", "订单数量错误"),
    "parts_return": ("Refund still not received", "退货流程太复杂"),
}
_INQUIRY_TOPICS = ("Spare part availability", "Quote for a second machine", "Warranty question",
                   "Training schedule", "配件价格咨询", "保修期咨询", "设备操作问题")

#: How a complaint reached the company, in the words of a Chinese case note.
_VIA = {"phone": "电话", "wechat": "微信", "email": "邮件", "web": "网站"}

_DAY = 86400.0


def _lognormal(rng, median, sigma, n):
    return np.round(rng.lognormal(np.log(median), sigma, size=n), 1)


def _frame(customer_ids, times, kind, channel, waiting=None, handling=None) -> pd.DataFrame:
    n = len(customer_ids)
    return pd.DataFrame({
        "customer_id": np.asarray(customer_ids, dtype=object),
        "occurred_at": pd.to_datetime(pd.Series(times)).to_numpy(),
        "kind": kind,
        "channel": np.asarray(channel, dtype=object) if not isinstance(channel, str) else channel,
        "waiting_seconds": np.full(n, np.nan) if waiting is None else waiting,
        "handling_seconds": np.full(n, np.nan) if handling is None else handling,
    })


def _poisson_events(rng, customers, params, rate_per_year, end):
    """Event times of a Poisson process per customer over the customer's active period."""
    start = params["acquired_at"].to_numpy()
    stop = params["defected_at"].fillna(end).to_numpy()
    stop = np.minimum(stop, np.datetime64(end))
    years = np.maximum((stop - start) / np.timedelta64(1, "D"), 0) / 365.25
    count = rng.poisson(rate_per_year * years)
    owner = np.repeat(np.arange(len(customers)), count)
    frac = rng.random(owner.size)
    span = (stop - start)[owner]
    times = (start[owner] + (span * frac).astype("timedelta64[s]")).astype("datetime64[D]")
    office = np.round((8 + 10 * rng.random(owner.size)) * 3600).astype("timedelta64[s]")
    return owner, times.astype("datetime64[s]") + office


def generate_touchpoints(rng: np.random.Generator, customers: pd.DataFrame, params: pd.DataFrame,
                         transactions: pd.DataFrame, responses: pd.DataFrame,
                         today: date) -> pd.DataFrame:
    """Touchpoints with the customer's external id in ``customer_id``, sorted by time."""
    end = pd.Timestamp(datetime.combine(today, datetime.max.time().replace(microsecond=0)))
    year_ago = end - pd.Timedelta(days=365)
    region = customers.set_index("external_id")["region"]
    parts = []
    recent = transactions[(transactions["occurred_at"] > year_ago) & ~transactions["is_refund"]]
    n = len(recent)
    # Orders through the sales desk (not online self-service) are the recorded order touchpoints.
    desk = recent[(recent["channel"] != "online").to_numpy() & (rng.random(n) < 0.6)]
    parts.append(_frame(desk["customer_id"], desk["occurred_at"], "order", desk["channel"],
                        handling=_lognormal(rng, 600, 0.5, len(desk))))
    goods = recent[recent["category"].isin(["equipment", "spare parts", "consumables"])]
    goods = goods[rng.random(len(goods)) < 0.4]
    overseas = (goods["customer_id"].map(region) == "Overseas").to_numpy()
    lead = _lognormal(rng, 3 * _DAY, 0.5, len(goods)) * np.where(overseas, 3.0, 1.0)
    delivered = goods["occurred_at"] + pd.to_timedelta(np.round(lead), unit="s")
    keep = (delivered <= end).to_numpy()
    parts.append(_frame(goods["customer_id"][keep], delivered[keep], "delivery", "logistics",
                        waiting=lead[keep]))
    for kind, share in (("invoice", 0.12), ("payment", 0.12)):
        chosen = recent[rng.random(n) < share]
        shift = pd.to_timedelta(rng.integers(1, 20, size=len(chosen)), unit="D")
        when = chosen["occurred_at"] + shift
        keep = (when <= end).to_numpy()
        parts.append(_frame(chosen["customer_id"][keep], when[keep], kind, "email"))
    equipment = recent[recent["category"] == "equipment"]
    m = len(equipment)
    quoted = rng.random(m) < 0.5
    for kind, days in (("proposal", 20), ("quote", 10)):
        lead = pd.to_timedelta(days + rng.integers(0, 7, size=m), unit="D")
        when = equipment["occurred_at"] - lead
        parts.append(_frame(equipment["customer_id"][quoted], when[quoted], kind, "direct",
                            handling=_lognormal(rng, 2 * 3600, 0.6, m)[quoted]))
    install_wait = _lognormal(rng, 5 * _DAY, 0.5, m)
    when = equipment["occurred_at"] + pd.to_timedelta(np.round(install_wait), unit="s")
    keep = (when <= end).to_numpy()
    parts.append(_frame(equipment["customer_id"][keep], when[keep], "installation", "onsite",
                        waiting=install_wait[keep],
                        handling=_lognormal(rng, 3 * 3600, 0.4, m)[keep]))
    maintenance_wait = _lognormal(rng, 6 * 3600, 0.8, m)
    when = equipment["occurred_at"] + pd.to_timedelta(rng.integers(90, 270, size=m), unit="D")
    keep = (when <= end).to_numpy()
    parts.append(_frame(equipment["customer_id"][keep], when[keep], "maintenance", "onsite",
                        waiting=maintenance_wait[keep],
                        handling=_lognormal(rng, 2 * 3600, 0.5, m)[keep]))
    training = recent[recent["category"] == "training"]
    parts.append(_frame(training["customer_id"], training["occurred_at"] + pd.Timedelta(days=7),
                        "training", "onsite", handling=_lognormal(rng, 6 * 3600, 0.2,
                                                                  len(training))))
    refunds = transactions[transactions["is_refund"]]
    parts.append(_frame(refunds["customer_id"], refunds["occurred_at"] - pd.Timedelta(days=1),
                        "parts_return", "logistics"))
    parts.append(_frame(responses["customer_id"], responses["submitted_at"], "survey",
                        responses["channel"]))
    marketing = customers[customers["consent_marketing"].to_numpy()]
    owner, times = _poisson_events(rng, marketing, params.loc[marketing["external_id"]], 1.0, end)
    parts.append(_frame(marketing["external_id"].to_numpy()[owner], times, "promotion", "email"))
    ids = customers["external_id"].to_numpy()
    channels = np.asarray(("phone", "wechat", "email", "web"), dtype=object)
    owner, times = _poisson_events(rng, customers, params, INQUIRIES_PER_YEAR, end)
    k = owner.size
    via = channels[rng.choice(4, size=k, p=[.45, .3, .15, .1])]
    parts.append(_frame(ids[owner], times, "inquiry", via,
                        waiting=_lognormal(rng, 45, 0.8, k), handling=_lognormal(rng, 360, 0.6, k)))
    # Complaints: thinning of a Poisson process, more for a poor latent service level.
    rate = COMPLAINTS_PER_YEAR * 3
    owner, times = _poisson_events(rng, customers, params, rate, end)
    accept = np.exp(-0.6 * customers["u_service"].to_numpy()[owner]) / 3
    keep = rng.random(owner.size) < np.minimum(accept, 1)
    owner, times = owner[keep], times[keep]
    k = owner.size
    slow = (customers["region"].to_numpy()[owner] == "Overseas") * 1.0 + 1.0
    via = channels[rng.choice(4, size=k, p=[.5, .25, .15, .1])]
    parts.append(_frame(ids[owner], times, "complaint", via,
                        waiting=_lognormal(rng, 90, 0.8, k) * slow,
                        handling=_lognormal(rng, 1200, 0.7, k)))
    frame = pd.concat(parts, ignore_index=True)
    frame["occurred_at"] = frame["occurred_at"].dt.floor("s")
    frame = frame[frame["occurred_at"] <= end]
    frame = frame.sort_values(["occurred_at", "customer_id", "kind"], kind="stable")
    return frame.reset_index(drop=True)


def _status(rng, opened: pd.Series, end: pd.Timestamp):
    age = ((end - opened) / pd.Timedelta(days=1)).to_numpy()
    u = rng.random(len(age))
    status = np.where(age < 7, np.where(u < 0.6, "open", "in_progress"),
                      np.where(age < 30, np.select([u < 0.3, u < 0.6], ["in_progress", "resolved"],
                                                   "closed"),
                               np.select([u < 0.03, u < 0.2], ["new", "resolved"], "closed")))
    took = pd.to_timedelta(np.round(rng.lognormal(np.log(3 * _DAY), 0.9, size=len(age))), unit="s")
    closed = opened + took
    done = np.isin(status, ["resolved", "closed"])
    overdue = done & (closed > end).to_numpy()
    status = np.where(overdue, "in_progress", status).astype(object)
    closed = closed.where(done & ~overdue)
    return status, closed


def generate_cases(rng: np.random.Generator, touchpoints: pd.DataFrame, responses: pd.DataFrame,
                   answers: pd.DataFrame, today: date) -> pd.DataFrame:
    """Cases from complaints, inquiries, detractor answers and negative comments.

    ``response_id`` holds the response's external id for survey-born cases, ``touchpoint_ref``
    the touchpoint frame's index of the complaint or inquiry contact that raised a case.
    """
    end = pd.Timestamp(datetime.combine(today, datetime.max.time().replace(microsecond=0)))
    parts = []
    complaints = touchpoints[touchpoints["kind"] == "complaint"]
    kinds = np.asarray(list(_COMPLAINT_TOPICS), dtype=object)
    kind = kinds[rng.choice(len(kinds), size=len(complaints), p=[.3, .1, .25, .1, .1, .15])]
    pick = rng.random(len(complaints))
    subjects = [_COMPLAINT_TOPICS[k][int(u * len(_COMPLAINT_TOPICS[k]))]
                for k, u in zip(kind, pick)]
    parts.append(pd.DataFrame({
        "customer_id": complaints["customer_id"].to_numpy(), "type": "complaint",
        "subject": subjects,
        "description": [f"客户通过{_VIA.get(c, c)}投诉。" for c in complaints["channel"]],
        "touchpoint_kind": kind, "response_id": None,
        "opened_at": complaints["occurred_at"].to_numpy(),
        "touchpoint_ref": complaints.index.to_numpy(),
    }))
    inquiries = touchpoints[touchpoints["kind"] == "inquiry"]
    inquiries = inquiries[rng.random(len(inquiries)) < 0.25]
    topics = np.asarray(_INQUIRY_TOPICS, dtype=object)[rng.integers(0, len(_INQUIRY_TOPICS),
                                                                    size=len(inquiries))]
    parts.append(pd.DataFrame({
        "customer_id": inquiries["customer_id"].to_numpy(), "type": "inquiry", "subject": topics,
        "description": None, "touchpoint_kind": "inquiry", "response_id": None,
        "opened_at": inquiries["occurred_at"].to_numpy(),
        "touchpoint_ref": inquiries.index.to_numpy(),
    }))
    wide = answers[answers["item_code"].isin(["nps", "overall_satisfaction"])].pivot(
        index="response_id", columns="item_code", values="value_num")
    comment = answers[answers["item_code"] == "comment"].set_index("response_id")["value_text"]
    resp = responses.set_index("external_id")
    nps = wide["nps"].reindex(resp.index)
    overall = wide["overall_satisfaction"].reindex(resp.index)
    detractor = (nps <= 6).to_numpy() & (rng.random(len(resp)) < DETRACTOR_CASE_SHARE)
    negative = (comment.reindex(resp.index).notna() & (overall <= 5)).to_numpy() & ~detractor
    negative &= rng.random(len(resp)) < 0.5
    delay = pd.to_timedelta(rng.integers(600, 4 * 3600, size=len(resp)), unit="s")
    opened = resp["submitted_at"] + delay
    for mask, case_type in ((detractor, "detractor"), (negative, "negative_comment")):
        sub = resp[mask]
        parts.append(pd.DataFrame({
            "customer_id": sub["customer_id"].to_numpy(), "type": case_type,
            "subject": [f"Follow up survey answer (NPS {int(v)})" if v == v
                        else "Follow up survey answer" for v in nps[mask]],
            "description": comment.reindex(sub.index).to_numpy(),
            "touchpoint_kind": "survey", "response_id": sub.index.to_numpy(),
            "opened_at": opened[mask].to_numpy(),
        }))
    frame = pd.concat(parts, ignore_index=True)
    frame["opened_at"] = frame["opened_at"].dt.floor("s")
    frame = frame[frame["opened_at"] <= end]
    frame = frame.sort_values(["opened_at", "customer_id", "type"], kind="stable")
    frame = frame.reset_index(drop=True)
    status, closed = _status(rng, frame["opened_at"], end)
    frame["status"] = status
    frame["closed_at"] = closed.dt.floor("s")
    for column in ("description", "response_id", "touchpoint_ref"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    frame.insert(0, "case_id", np.arange(1, len(frame) + 1))
    return frame[["case_id", "customer_id", "type", "status", "subject", "description",
                  "touchpoint_kind", "response_id", "opened_at", "closed_at", "touchpoint_ref"]]


def competitor_frame() -> pd.DataFrame:
    return pd.DataFrame({"name": [c[0] for c in COMPETITORS], "note": [c[1] for c in COMPETITORS]})


def defections(rng: np.random.Generator, params: pd.DataFrame) -> pd.DataFrame:
    """Recorded defections: destination competitor and reason for some dropped-out customers."""
    gone = params.index[~params["alive"].to_numpy()]
    recorded = gone[rng.random(len(gone)) < DEFECTION_RECORDED_SHARE]
    names = np.asarray([c[0] for c in COMPETITORS], dtype=object)
    reasons = np.asarray(DEFECTION_REASONS, dtype=object)
    return pd.DataFrame({
        "defected_to": names[rng.choice(len(names), size=len(recorded), p=COMPETITOR_SHARES)],
        "defection_reason": reasons[rng.choice(len(reasons), size=len(recorded),
                                               p=DEFECTION_REASON_SHARES)],
    }, index=recorded)


__all__ = [
    "COMPETITORS",
    "competitor_frame",
    "defections",
    "generate_cases",
    "generate_touchpoints",
]
