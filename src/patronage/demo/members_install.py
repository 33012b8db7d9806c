"""Installing the demo's membership programme and replaying its two years.

:func:`install` runs after the demo company is written (it needs the company's customers,
transactions, cases and staff). It configures the programme through the services a company
would use — the policy (:func:`patronage.members.programme.update_policy`), four VIP cards,
the rewards catalogue and the earning rules — enrols the members of
:mod:`patronage.demo.members` on their historical join days, and then replays the programme
month by month, as the worker would have run it:

1. the month's redemptions, in time order, by members who can afford a reward then (a wish
   picks among the rewards the member's points and tier allow, in proportion to their points, and
   vouchers for up to half the member's points; the redemption itself expires the member's due
   points first), and the month's cancellations;
2. the month's manual adjustments (a negative one only when the points are there) and the
   points of approved goodwill remedies of members' cases (case compensation);
3. the accrual of every purchase, refund and survey answer dated in the month (tier upgrades
   follow at once);
4. the expiry of points due by the month's last day, and the tier reviews due by then.

So a redemption sees the points earned up to the end of the previous month. The same seed gives
the same programme; nothing here draws random numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import Engine, bindparam, event, func, insert, select, update

from patronage.demo.desk import MANAGER, STAFF
from patronage.demo.members import PROGRAMME_START, month_starts
from patronage.members.accrual import accrue
from patronage.members.adjustments import adjust, compensate
from patronage.members.catalogue import add_reward
from patronage.members.earning import add_rule
from patronage.members.enrolment import CARD_DIGITS, luhn_digit
from patronage.members.expiry import run_expiry
from patronage.members.ledger import NotEnoughPoints
from patronage.members.programme import (
    add_months,
    add_tier,
    load_policy,
    load_tiers,
    update_policy,
    update_tier,
)
from patronage.members.rewards import cancel, redeem_member, request_hash
from patronage.members.tiers import run_reviews
from patronage.messages import UserError
from patronage.storage import make_engine, write_transaction
from patronage.storage.schema import cases, customers, users
from patronage.storage.schema_cases import case_remedies
from patronage.storage.schema_members import (
    MEMBER_ACCOUNT_KINDS,
    member_tier_changes,
    member_tiers,
    members,
    point_accounts,
    redemptions,
    rewards,
)

if TYPE_CHECKING:
    from patronage.demo import DemoCompany

Say = Callable[[str], None]

#: The programme's policy. Points expire 12 months after they were earned (a 24-month rule
#: would let nothing expire in a two-year history).
POLICY = {"name": "金钥匙会员计划", "card_prefix": "8", "tier_basis": "spend",
          "tier_window_months": 12, "review_months": 12, "grace_days": 90,
          "expiry_policy": "rolling", "expiry_months": 12, "cost_per_point": 0.01,
          "refund_shortfall": "carry", "active_months": 12}
#: (code, en, zh_Hans, zh_Hant, rank, spend (¥) in 12 months, multiplier, case severity,
#: benefits en, zh_Hans, zh_Hant)
TIERS = (
    ("classic", "Classic card", "普卡", "普卡", 0, 0, 1.0, None,
     "1 point per ¥1; member day and birthday month double points",
     "每消费 ¥1 得 1 分；会员日与生日月积分翻倍", "每消費 ¥1 得 1 分；會員日與生日月積分翻倍"),
    ("silver", "Silver card", "银卡", "銀卡", 1, 50_000, 1.2, None,
     "Points ×1.2; 4-hour express engineer call-outs in the rewards",
     "积分 ×1.2；可兑换工程师 4 小时加急响应", "積分 ×1.2；可兌換工程師 4 小時加急回應"),
    ("gold", "Gold card", "金卡", "金卡", 2, 150_000, 1.5, None,
     "Points ×1.5; a welcome pack on reaching the card",
     "积分 ×1.5；升级即送金卡礼包", "積分 ×1.5；升級即送金卡禮包"),
    ("diamond", "Diamond card", "钻石卡", "鑽石卡", 3, 500_000, 2.0, "high",
     "Points ×2; cases handled at high priority; an annual equipment health check",
     "积分 ×2；工单按高优先级处理；每年一次设备健康检查",
     "積分 ×2；工單按高優先級處理；每年一次設備健康檢查"),
)
GIFTS = {"gold": ["gold-welcome"], "diamond": ["diamond-health-check"]}
#: (code, kind, points, cost ¥, stock, per-member limit, lowest tier, valid from, until,
#: en, zh_Hans, zh_Hant)
REWARDS = (
    ("flask", "gift", 3_000, 35, None, 2, None, None, None,
     "Branded vacuum flask", "品牌保温杯", "品牌保溫杯"),
    ("tool-case", "gift", 15_000, 160, 150, 1, None, None, None,
     "Custom tool case", "定制工具箱", "訂製工具箱"),
    ("parts-voucher-200", "coupon", 20_000, 200, None, None, None, None, None,
     "¥200 spare-parts voucher", "¥200 备件代金券", "¥200 備件代金券"),
    ("service-voucher-1000", "coupon", 100_000, 1_000, None, None, None, None, None,
     "¥1,000 maintenance voucher", "¥1,000 维保代金券", "¥1,000 維保代金券"),
    ("maintenance-visit", "service", 40_000, 450, None, 2, None, None, None,
     "One free on-site maintenance visit", "免费上门保养一次", "免費到府保養一次"),
    ("express-engineer", "service", 25_000, 300, None, None, "silver", None, None,
     "4-hour express engineer call-out", "工程师 4 小时加急响应", "工程師 4 小時加急回應"),
    ("training-seat", "service", 60_000, 800, 80, 1, None, None, None,
     "A seat on the operator training course", "操作员培训名额", "操作員培訓名額"),
    ("service-voucher-5000", "coupon", 500_000, 5_000, None, None, "silver", None, None,
     "¥5,000 maintenance voucher", "¥5,000 维保代金券", "¥5,000 維保代金券"),
    ("maintenance-year", "service", 1_200_000, 12_000, None, 1, "gold", None, None,
     "A year's maintenance contract", "一年期设备维保服务", "一年期設備維保服務"),
    ("spring-gift-box", "gift", 8_000, 90, 300, 1, None, date(2026, 1, 10), date(2026, 2, 28),
     "Spring Festival gift box", "春节礼盒", "春節禮盒"),
    ("gold-welcome", "gift", 30_000, 200, None, 1, "gold", None, None,
     "Gold card welcome pack", "金卡礼包", "金卡禮包"),
    ("diamond-health-check", "service", 80_000, 900, None, 1, "diamond", None, None,
     "Annual equipment health check", "年度设备健康检查", "年度設備健康檢查"),
)
#: (code, kind, name, values)
RULES = (
    ("base", "purchase", "每消费 ¥1 得 1 分", {"points_per_yuan": 1, "cap_per_transaction": 100_000}),
    ("contracts", "purchase", "服务合同每 ¥1 得 2 分",
     {"points_per_yuan": 2, "category": "service contract"}),
    ("member-day", "member_day", "会员日（每月 18 日）积分翻倍",
     {"multiplier": 2, "day_of_month": 18, "cap_per_month": 50_000}),
    ("birthday", "birthday_month", "生日月积分翻倍（每月最多多得 20,000 分）",
     {"multiplier": 2, "cap_per_month": 20_000}),
    ("first-purchase", "first_purchase", "入会首单奖励 500 分", {"points": 500}),
    ("survey", "survey_completed", "完成满意度问卷奖励 200 分", {"points": 200}),
    ("referral", "referral", "推荐新会员奖励 1,000 分", {"points": 1_000}),
)
#: How redemptions reach the programme: (channel, share, by an agent).
CHANNELS = (("api", 0.5, False), ("agent", 0.35, True), ("profile", 0.15, True))
COMPENSATION_NOTE = "工单补偿积分"
#: The most vouchers redeemed at once.
VOUCHERS_AT_ONCE = 10
_AGENTS = tuple(email for email, _name, role in STAFF if role == "agent")


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour))


def _configure(engine: Engine) -> None:
    start = _at(PROGRAMME_START - timedelta(days=10))
    update_policy(engine, now=start, **POLICY)
    for (code, en, hans, hant, rank, spend, multiplier, severity, b_en, b_hans,
         b_hant) in TIERS:
        add_tier(engine, code, name_en=en, name_zh_hans=hans, name_zh_hant=hant, rank=rank,
                 qualify_value=spend, multiplier=multiplier, case_severity=severity,
                 benefits_en=b_en, benefits_zh_hans=b_hans, benefits_zh_hant=b_hant)
    for (code, kind, points, cost, stock, limit, tier, valid_from, valid_until, en, hans,
         hant) in REWARDS:
        created = start if valid_from is None else _at(valid_from - timedelta(days=20))
        add_reward(engine, code, now=created, kind=kind, points=points, cost=cost, stock=stock,
                   per_member_limit=limit, min_tier=tier, valid_from=valid_from,
                   valid_until=valid_until, name_en=en, name_zh_hans=hans, name_zh_hant=hant)
    for code, gifts in GIFTS.items():
        update_tier(engine, code, gift_rewards=gifts)
    for code, kind, name, values in RULES:
        add_rule(engine, kind, code=code, name=name, now=start, starts_on=PROGRAMME_START,
                 **values)


def _enrol(engine: Engine, frame: pd.DataFrame) -> dict[str, tuple[int, str]]:
    """Enrol the members in joining order, in bulk, writing what
    :func:`patronage.members.enrolment.enrol_member` writes for each (the member on the entry
    card with its next review, their two accounts, the tier history's first line, a card
    number from the running number); returns external id -> (member id, card)."""
    with write_transaction(engine) as conn:
        policy = load_policy(conn)
        entry = load_tiers(conn)[0].code
        customer_pk = dict(conn.execute(select(customers.c.external_id, customers.c.id)).all())
        first = (conn.execute(select(func.max(members.c.id))).scalar() or 0) + 1
        rows = []
        for number, row in enumerate(frame.itertuples(index=False), start=first):
            body = f"{policy.card_prefix}{number:0{CARD_DIGITS}d}"
            rows.append({"customer_id": customer_pk[row.customer_id],
                         "card_no": body + luhn_digit(body), "joined_on": row.joined_on,
                         "channel": row.channel, "consent": bool(row.consent),
                         "status": "active", "tier_code": entry, "tier_since": row.joined_on,
                         "review_on": add_months(row.joined_on, policy.review_months),
                         "created_at": _at(row.joined_on, 10)})
        conn.execute(insert(members), rows)
        made = {customer: (member, card) for customer, member, card in conn.execute(
            select(members.c.customer_id, members.c.id, members.c.card_no))}
        pk_of = {ext: made[pk] for ext, pk in customer_pk.items() if pk in made}
        referred = [{"member": pk_of[row.customer_id][0], "referrer": pk_of[row.referred_by][0]}
                    for row in frame.itertuples(index=False) if isinstance(row.referred_by, str)]
        if referred:
            conn.execute(update(members).where(members.c.id == bindparam("member"))
                         .values(referred_by=bindparam("referrer")), referred)
        ids = [member for member, _card in pk_of.values()]
        conn.execute(insert(point_accounts), [
            {"code": f"m{member}:{kind}", "kind": kind, "member_id": member, "balance": 0}
            for member in ids for kind in MEMBER_ACCOUNT_KINDS])
        conn.execute(insert(member_tier_changes), [
            {"member_id": pk_of[row.customer_id][0], "from_tier": None, "to_tier": entry,
             "kind": "enrol", "changed_on": row.joined_on,
             "source_key": f"enrol:{pk_of[row.customer_id][0]}",
             "created_at": _at(row.joined_on, 10)} for row in frame.itertuples(index=False)])
    return pk_of


class _Replay:
    """The month-by-month replay (see the module's description)."""

    def __init__(self, engine: Engine, company: DemoCompany, cards: dict):
        self.engine, self.cards = engine, cards
        self.demo = company.members
        self.counts = {"redemptions": 0, "refused": 0, "cancelled": 0, "adjustments": 0,
                       "compensations": 0}
        self.redeemed: dict[int, int] = {}  # wish row -> redemption id
        # Nothing expires, and no tier is reviewed, before a year of the programme.
        self.first_expiry = add_months(PROGRAMME_START, POLICY["expiry_months"])
        self.first_review = add_months(PROGRAMME_START, POLICY["review_months"])
        with engine.connect() as conn:
            self.catalogue = [dict(r) for r in conn.execute(
                select(rewards).order_by(rewards.c.points, rewards.c.id)).mappings()]
            self.points = {r["code"]: int(r["points"]) for r in self.catalogue}
            self.ranks = dict(conn.execute(select(member_tiers.c.code, member_tiers.c.rank))
                              .all())
            self.agents = [conn.execute(select(users.c.id).where(users.c.email == email))
                           .scalar_one() for email in _AGENTS]
            r = case_remedies.c
            self.remedies = pd.DataFrame(conn.execute(
                select(r.id, r.case_id, r.points, r.decided_by, r.decided_at,
                       cases.c.customer_id, customers.c.external_id)
                .join(cases, cases.c.id == r.case_id)
                .join(customers, customers.c.id == cases.c.customer_id)
                .where(r.kind == "goodwill_points", r.status == "approved", r.points > 0)
                .order_by(r.decided_at, r.id)).all(),
                columns=["id", "case_id", "points", "decided_by", "decided_at", "customer_id",
                         "external_id"])
        joined = self.demo.members.set_index("customer_id")["joined_on"]
        on = self.remedies["external_id"].map(joined)
        keep = on.notna() & (pd.to_datetime(on) <= pd.to_datetime(self.remedies["decided_at"]))
        self.remedies = self.remedies[keep.to_numpy()]

    def _state(self, conn, member_id: int) -> tuple[int, int]:
        points = conn.execute(select(point_accounts.c.balance).where(
            point_accounts.c.member_id == member_id,
            point_accounts.c.kind == "points")).scalar_one()
        tier = conn.execute(select(members.c.tier_code).where(members.c.id == member_id)).scalar()
        return int(points), self.ranks.get(tier, 0)

    def _choices(self, day: date, points: int, rank: int) -> list[str]:
        return [r["code"] for r in self.catalogue
                if 0 < r["points"] <= points and (r["min_tier_rank"] or 0) <= rank
                and (r["valid_from"] is None or r["valid_from"] <= day)
                and (r["valid_until"] is None or day <= r["valid_until"])]

    def _quantity(self, code: str, points: int) -> int:
        """Vouchers (no stock, no limit) are taken for up to half the member's points."""
        reward = next(r for r in self.catalogue if r["code"] == code)
        if reward["kind"] != "coupon" or reward["stock"] is not None \
                or reward["per_member_limit"] is not None:
            return 1
        return max(1, min(VOUCHERS_AT_ONCE, points // 2 // reward["points"]))

    def redeem(self, wishes: pd.DataFrame) -> None:
        """The wishes' redemptions, in one write transaction (each in a savepoint, as
        :func:`patronage.members.rewards.redeem` would make it in a transaction of its own)."""
        if wishes.empty:
            return
        with write_transaction(self.engine) as conn:
            for index, wish in wishes.iterrows():
                member_id, card = self.cards[wish["customer_id"]]
                at = wish["at"].to_pydatetime()
                points, rank = self._state(conn, member_id)
                choices = self._choices(at.date(), points, rank)
                if not choices:
                    continue
                # Members choose among what they can afford, in proportion to its points.
                weights = np.cumsum([self.points[code] for code in choices])
                pick = int(np.searchsorted(weights, wish["pick"] * weights[-1], side="right"))
                reward = choices[min(pick, len(choices) - 1)]
                share, channel, actor = wish["pick"], CHANNELS[0][0], None
                for name, part, agent in CHANNELS:  # the pick again, read as a channel
                    if share < part:
                        channel = name
                        actor = self.agents[index % len(self.agents)] if agent else None
                        break
                    share -= part
                quantity = self._quantity(reward, points)
                savepoint = conn.begin_nested()
                try:
                    done = redeem_member(conn, member_id, reward, quantity,
                                         key=f"demo-wish-{index}",
                                         digest=request_hash(card, reward, quantity),
                                         channel=channel, actor_id=actor, now=at)
                except (NotEnoughPoints, UserError):
                    # Points expired first, the stock ran out, the limit is reached.
                    savepoint.rollback()
                    self.counts["refused"] += 1
                    continue
                savepoint.commit()
                self.redeemed[index] = int(done.body["redemption"])
                self.counts["redemptions"] += 1

    def cancel(self, wishes: pd.DataFrame) -> None:
        for index, wish in wishes.iterrows():
            if index in self.redeemed:
                cancel(self.engine, self.redeemed[index], wish["cancel_reason"], by=MANAGER,
                       now=wish["cancel_at"].to_pydatetime())
                self.counts["cancelled"] += 1

    def adjust(self, rows: pd.DataFrame) -> None:
        for row in rows.itertuples(index=False):
            member_id, card = self.cards[row.customer_id]
            with self.engine.connect() as conn:
                points = self._state(conn, member_id)[0]
            if row.points < 0 and points < -row.points:
                continue
            adjust(self.engine, card, int(row.points), row.reason, by=MANAGER,
                   now=row.at.to_pydatetime())
            self.counts["adjustments"] += 1

    def compensate(self, rows: pd.DataFrame) -> None:
        if rows.empty:
            return
        with write_transaction(self.engine) as conn:
            for row in rows.itertuples(index=False):
                given = compensate(conn, int(row.customer_id), case_id=int(row.case_id),
                                   remedy_id=int(row.id), points=int(row.points),
                                   by=None if pd.isna(row.decided_by) else int(row.decided_by),
                                   note=COMPENSATION_NOTE,
                                   now=pd.Timestamp(row.decided_at).to_pydatetime())
                self.counts["compensations"] += given is not None

    def month(self, start: date, end: datetime) -> None:
        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
        wishes = self.demo.wishes
        self.redeem(wishes[wishes["at"].between(lo, hi)])
        self.cancel(wishes[wishes["cancel_at"].between(lo, hi)])
        adjustments = self.demo.adjustments
        self.adjust(adjustments[adjustments["at"].between(lo, hi)])
        decided = pd.to_datetime(self.remedies["decided_at"])
        self.compensate(self.remedies[decided.between(lo, hi).to_numpy()])
        accrue(self.engine, until=end, now=end)
        if end.date() >= self.first_expiry:
            run_expiry(self.engine, now=end)
        if end.date() >= self.first_review:
            run_reviews(self.engine, now=end)


def _quick_commits(engine: Engine) -> Engine:
    """An engine on the same database whose commits do not wait for the disk (SQLite
    ``synchronous=OFF``, PostgreSQL ``synchronous_commit=off``): the replay commits thousands of
    small steps, and a demo interrupted by a crash is simply built again."""
    quick = make_engine(engine.url.render_as_string(hide_password=False))
    statement = ("PRAGMA synchronous=OFF" if quick.dialect.name == "sqlite"
                 else "SET synchronous_commit TO OFF")

    @event.listens_for(quick, "connect")
    def _quick(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if quick.dialect.name != "sqlite":
            dbapi_connection.commit()

    return quick


#: The tables the replay reads, whose PostgreSQL statistics are refreshed as they fill.
_LOADED = ("customers", "transactions", "responses", "cases", "case_remedies")
_GROWING = ("members", "point_accounts", "point_transfers", "redemptions",
            "member_tier_changes")


def _analyze(engine: Engine, tables) -> None:
    """Refresh PostgreSQL's statistics of ``tables``: the company was just loaded and the ledger
    grows as the replay goes, and plans made for empty tables turn the accrual's reads into
    scans."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql(f"ANALYZE {', '.join(tables)}")


def install(engine: Engine, company: DemoCompany, say: Say | None = None) -> dict[str, int]:
    """Configure the programme, enrol the demo's members and replay the programme's history up
    to the demo's today; returns counts for the summary."""
    say = say or (lambda message: None)
    demo = company.members
    say(f"Membership programme: configuring it and enrolling {len(demo.members):,} members")
    quick = _quick_commits(engine)
    try:
        _configure(quick)
        cards = _enrol(quick, demo.members)
        replay = _Replay(quick, company, cards)
        months = month_starts(PROGRAMME_START, demo.today)
        say(f"Replaying the programme's {len(months)} months: points, redemptions, expiry, "
            "tiers")
        for number, first in enumerate(months):
            if number % 6 == 0:
                _analyze(quick, _GROWING + (_LOADED if number == 0 else ()))
            following = (pd.Timestamp(first) + pd.DateOffset(months=1)).date()
            last = min(following - timedelta(days=1), demo.today)
            replay.month(first, datetime.combine(last, time(23, 59, 59)))
        with quick.connect() as conn:
            tiers = dict(conn.execute(select(members.c.tier_code, func.count())
                                      .group_by(members.c.tier_code)).all())
            done = conn.execute(select(func.count()).select_from(redemptions)).scalar_one()
    finally:
        quick.dispose()
    return {"members": len(cards), **replay.counts, "all_redemptions": int(done),
            **{f"tier_{code}": int(n) for code, n in tiers.items()}}


__all__ = ["GIFTS", "POLICY", "REWARDS", "RULES", "TIERS", "install"]
