"""Redeeming rewards for points, cancelling a redemption, and a tier's free gifts.

A redemption is one transaction: the member's accounts are locked
(:func:`patronage.members.ledger.lock_member`) and then the reward's row, so concurrent
redemptions against one balance or one stock queue up and can never overspend either; the
member's points past their expiry day are expired first; the reward's validity, the lowest tier,
the limit per member and the stock are checked; the redemption is written under its unique
idempotency key, the stock goes down only where enough is left (``stock >= quantity``), and the
points go to the programme's ``redemption`` account (source ``redeem:<redemption id>``).

Every request carries an idempotency key. A request with a key already used for the same card,
reward and quantity returns that redemption as it is now (a retry after a lost answer is safe);
the same key for another request is refused (:class:`KeyReused`). A request the rules refuse
changes nothing in the programme, and the refusal is kept under its key in a transaction of its
own (:mod:`patronage.members.refusals`): the same request with the same key gets the same
refusal; a later try needs a new key.

Cancelling gives the points back (kind ``cancel``, from the ``redemption`` account; they count as
earned on the redemption's day, so they expire as points earned then) and restores the stock.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.cases.inputs import user_id_of
from patronage.members.catalogue import reward_row
from patronage.members.enrolment import member_of_card
from patronage.members.expiry import expire_member
from patronage.members.ledger import (
    Movement,
    NotEnoughPoints,
    give,
    lock_member,
    points_accounts,
    take,
)
from patronage.members.programme import (
    company_day,
    company_today,
    company_zone,
    expiry_date,
    load_policy,
    local_moment,
)
from patronage.members.refusals import KeyReused, RedemptionRefused, keep, lock_key, replay
from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema import customers, users
from patronage.storage.schema_members import (
    REDEMPTION_CHANNELS,
    member_tiers,
    members,
    point_transfers,
    redemptions,
    rewards,
)

MAX_QUANTITY = 100
MAX_POINTS = 2_000_000_000
_COUPON_LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CHANNEL_NAMES = {"profile": N_("on the profile"), "agent": N_("by an agent"),
                 "api": N_("by the API"), "cli": N_("on the command line"),
                 "tier_gift": N_("tier gift")}


class UnknownCard(UserError):
    """No member has the card number."""


KEY_REQUIRED = N_("An idempotency key of 1 to 100 printable characters is required.")


@dataclass(frozen=True)
class Redeemed:
    """The redemption as the API answers it, and whether it was made by an earlier request."""

    body: dict
    replayed: bool


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def request_hash(card: str, reward: str, quantity: int) -> str:
    """SHA-256 of what a redemption request asks for (card, reward, quantity)."""
    return hashlib.sha256(f"{card}\n{reward}\n{quantity}".encode()).hexdigest()


def clean_key(key) -> str:
    text = "" if key is None else str(key).strip()
    if not 1 <= len(text) <= 100 or not text.isprintable():
        raise UserError(KEY_REQUIRED)
    return text


def _quantity(value) -> int:
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        quantity = 0
    if not 1 <= quantity <= MAX_QUANTITY:
        raise RedemptionRefused("quantity", N_("The quantity must be a whole number from 1 to "
                                               "{maximum}; not {value!r}."),
                                maximum=MAX_QUANTITY, value=str(value)[:20])
    return quantity


def _coupon() -> str:
    return "CP" + "".join(secrets.choice(_COUPON_LETTERS) for _ in range(10))


def redemption_body(conn: Connection, redemption_id: int) -> dict:
    """A redemption as the API shows it: ``redemption, card, reward, quantity, points, status,
    coupon_code, created_at, balance_after`` (the spendable points right after it)."""
    d = redemptions.c
    row = conn.execute(select(d.id, members.c.card_no, rewards.c.code, d.quantity, d.points,
                              d.status, d.coupon_code, d.created_at, d.member_id)
                       .join(members, members.c.id == d.member_id)
                       .join(rewards, rewards.c.id == d.reward_id)
                       .where(d.id == redemption_id)).mappings().one()
    return {"redemption": int(row["id"]), "card": row["card_no"], "reward": row["code"],
            "quantity": int(row["quantity"]), "points": int(row["points"]),
            "status": row["status"], "coupon_code": row["coupon_code"],
            "created_at": row["created_at"].isoformat(timespec="seconds"),
            "balance_after": _balance_after(conn, row["member_id"], redemption_id)}


def _balance_after(conn: Connection, member_id: int, redemption_id: int) -> int | None:
    """The spendable balance right after the redemption's transfer (None when it took no
    points), summed from the ledger so a replay shows what the first answer showed."""
    t = point_transfers.c
    transfer = conn.execute(select(t.id).where(t.source_key == f"redeem:{redemption_id}")).scalar()
    if transfer is None:
        return None
    account = points_accounts(conn, [member_id])[member_id]
    # The member's own transfers (the ledger's member index), then their spendable account.
    mine = (t.member_id == member_id, t.id <= transfer)
    credit = conn.execute(select(func.coalesce(func.sum(t.points), 0))
                          .where(*mine, t.credit_account_id == account)).scalar()
    debit = conn.execute(select(func.coalesce(func.sum(t.points), 0))
                         .where(*mine, t.debit_account_id == account)).scalar()
    return int(credit) - int(debit)


def _replay(conn: Connection, key: str, digest: str) -> Redeemed | None:
    """The earlier answer under ``key``: its redemption, or its refusal raised again."""
    found = replay(conn, key, digest)
    return None if found is None else Redeemed(redemption_body(conn, found), True)


def _tier_rank(conn: Connection, member: dict) -> int:
    if member["tier_code"] is None:
        return 0
    rank = conn.execute(select(member_tiers.c.rank)
                        .where(member_tiers.c.code == member["tier_code"])).scalar()
    return int(rank or 0)


def _redeemed(conn: Connection, member_id: int, reward_id: int) -> int:
    d = redemptions.c
    return int(conn.execute(select(func.coalesce(func.sum(d.quantity), 0))
                            .where(d.member_id == member_id, d.reward_id == reward_id,
                                   d.status == "done")).scalar())


def _check_reward(reward: dict, today) -> None:
    if not reward["active"] or (reward["valid_from"] and today < reward["valid_from"]) or (
            reward["valid_until"] and today > reward["valid_until"]):
        raise RedemptionRefused("not_valid", N_("The reward {reward!r} cannot be redeemed "
                                                "today (it is switched off or not valid)."),
                                reward=reward["code"])


def _write(conn: Connection, member_id: int, reward: dict, quantity: int, points: int, *,
           key: str, digest: str, channel: str, actor_id, api_key_id, now: datetime) -> int | None:
    """Insert the redemption and take the stock; None when the stock ran short."""
    redemption_id = conn.execute(insert(redemptions).values(
        member_id=member_id, reward_id=reward["id"], quantity=quantity, points=points,
        status="done", idempotency_key=key, request_hash=digest, channel=channel,
        coupon_code=_coupon() if reward["kind"] == "coupon" else None, actor_id=actor_id,
        api_key_id=api_key_id, created_at=now)).inserted_primary_key[0]
    if reward["stock"] is not None:
        taken = conn.execute(update(rewards).where(rewards.c.id == reward["id"],
                                                   rewards.c.stock >= quantity)
                             .values(stock=rewards.c.stock - quantity)).rowcount
        if taken != 1:
            return None
    return int(redemption_id)


def redeem_member(conn: Connection, member_id: int, reward_code: str, quantity=1, *, key: str,
                  digest: str, channel: str, actor_id: int | None = None,
                  api_key_id: int | None = None, now: datetime | None = None,
                  timezone: str | None = None) -> Redeemed:
    """Redeem on the write connection ``conn`` (see the module's description); the reward's
    validity and the points due to expire go by the company's day (``timezone``, default the
    setting)."""
    if channel not in REDEMPTION_CHANNELS:
        raise ValueError(f"channel is one of {list(REDEMPTION_CHANNELS)}; not {channel!r}")
    now = now or _now()
    today = company_today(now, timezone)
    quantity = _quantity(quantity)
    lock_member(conn, member_id)
    replayed = _replay(conn, key, digest)
    if replayed is not None:
        return replayed
    member = dict(conn.execute(select(members).where(members.c.id == member_id)).mappings().one())
    if member["status"] != "active":
        raise RedemptionRefused("closed", N_("The membership of card {card} is closed."),
                                card=member["card_no"])
    try:
        reward = reward_row(conn, reward_code, lock=True)
    except UserError as exc:
        raise RedemptionRefused("unknown_reward", exc.message, **exc.params) from None
    _check_reward(reward, today)
    if reward["min_tier_rank"] is not None and _tier_rank(conn, member) < reward["min_tier_rank"]:
        raise RedemptionRefused("tier", N_("The reward {reward!r} is for higher tiers than the "
                                           "member's."), reward=reward["code"])
    limit = reward["per_member_limit"]
    if limit is not None and _redeemed(conn, member_id, reward["id"]) + quantity > limit:
        raise RedemptionRefused("limit", N_("A member can redeem {reward!r} at most {limit} "
                                            "times; this member has redeemed it {done} times."),
                                reward=reward["code"], limit=limit,
                                done=_redeemed(conn, member_id, reward["id"]))
    if reward["stock"] is not None and reward["stock"] < quantity:
        raise RedemptionRefused("stock", N_("Only {stock} of {reward!r} are left; {quantity} "
                                            "were asked for."), stock=reward["stock"],
                                reward=reward["code"], quantity=quantity)
    points = int(reward["points"]) * quantity
    if points > MAX_POINTS:
        raise RedemptionRefused("quantity", N_("The quantity must be a whole number from 1 to "
                                               "{maximum}; not {value!r}."),
                                maximum=MAX_QUANTITY, value=str(quantity))
    expire_member(conn, member_id, today, timezone=timezone)
    redemption_id = _write(conn, member_id, reward, quantity, points, key=key, digest=digest,
                           channel=channel, actor_id=actor_id, api_key_id=api_key_id, now=now)
    if redemption_id is None:  # a concurrent redemption took the stock (not on a locked row)
        raise RedemptionRefused("stock", N_("Only {stock} of {reward!r} are left; {quantity} "
                                            "were asked for."), stock=0, reward=reward["code"],
                                quantity=quantity)
    if points:
        take(conn, member_id, Movement(kind="redeem", points=points,
                                       source_key=f"redeem:{redemption_id}",
                                       redemption_id=redemption_id, occurred_at=now,
                                       actor_id=actor_id), to="redemption")
    return Redeemed(redemption_body(conn, redemption_id), False)


def redeem(engine: Engine, card: str, reward: str, quantity=1, *, key: str,
           channel: str = "cli", by: str | int | None = None, api_key_id: int | None = None,
           now: datetime | None = None, timezone: str | None = None) -> Redeemed:
    """Redeem ``quantity`` of the reward ``reward`` for the member with card ``card``, once per
    idempotency ``key``, by the staff member ``by`` (e-mail or id) or the API key
    ``api_key_id``. Raises :class:`NotEnoughPoints`, :class:`RedemptionRefused`,
    :class:`KeyReused` or a UserError for an unknown card or reward."""
    key = clean_key(key)
    card, reward, quantity = str(card or "").strip(), str(reward or "").strip(), _quantity(quantity)
    digest = request_hash(card, reward, quantity)
    now = now or _now()
    asked = {"key": key, "digest": digest, "reward_code": reward, "quantity": quantity,
             "channel": channel, "api_key_id": api_key_id, "now": now}
    member_id = actor_id = None
    try:
        with write_transaction(engine) as conn:
            lock_key(conn, key)
            try:
                member_id = member_of_card(conn, card)
            except UserError as exc:
                raise UnknownCard(exc.message, **exc.params) from None
            actor_id = user_id_of(conn, by)
            return redeem_member(conn, member_id, reward, quantity, key=key, digest=digest,
                                 channel=channel, actor_id=actor_id,
                                 api_key_id=api_key_id, now=now, timezone=timezone)
    except (RedemptionRefused, NotEnoughPoints) as exc:
        if getattr(exc, "replayed", False) or member_id is None:
            raise
        return _keep_refusal(engine, exc, member_id=member_id, actor_id=actor_id, **asked)
    except IntegrityError:
        # The same key was being used at the same moment for another card (whose lock is not
        # this one): the first request has committed by now.
        with engine.connect() as conn:
            replayed = _replay(conn, key, digest)
        if replayed is None:
            raise
        return replayed


def _keep_refusal(engine: Engine, exc: UserError, **asked) -> Redeemed:
    """Keep the refusal ``exc`` under its key (its own transaction, the refused one having
    rolled back) and raise it; a redemption or refusal written under the key meanwhile by a
    concurrent request wins (see :func:`patronage.members.refusals.keep`)."""
    try:
        with write_transaction(engine) as conn:
            lock_key(conn, asked["key"])
            made = keep(conn, exc, **asked)
            if made is not None:
                return Redeemed(redemption_body(conn, made), True)
    except IntegrityError:  # a refusal written meanwhile where no key lock is held
        with engine.connect() as conn:
            replayed = _replay(conn, asked["key"], asked["digest"])
        if replayed is None:
            raise
        return replayed
    raise exc


def redeem_for_customer(engine: Engine, customer_pk: int, reward: str, quantity=1, *, key: str,
                        by: str | int | None = None, now: datetime | None = None,
                        timezone: str | None = None) -> Redeemed:
    """Redeem for the member who is the customer ``customer_pk`` (on their profile)."""
    with engine.connect() as conn:
        card = conn.execute(select(members.c.card_no)
                            .where(members.c.customer_id == customer_pk)).scalar()
    if card is None:
        raise UserError(N_("This customer is not a member of the programme."))
    return redeem(engine, card, reward, quantity, key=key, channel="profile", by=by, now=now,
                  timezone=timezone)


def cancel(engine: Engine, redemption_id, reason: str, *, by: str | int | None = None,
           now: datetime | None = None, timezone: str | None = None) -> dict:
    """Cancel a redemption, by the staff member ``by`` (e-mail or id): its points go back to
    the member and its units back in stock; returns ``{"redemption", "member_id",
    "customer_id", "points"}``."""
    now = now or _now()
    reason = str(reason or "").strip()
    if not reason or len(reason) > 500 or "\x00" in reason:
        raise UserError(N_("Say why the redemption is cancelled (up to 500 characters)."))
    try:
        redemption_id = int(str(redemption_id).strip())
    except ValueError:
        redemption_id = 0
    with write_transaction(engine) as conn:
        d = redemptions.c
        member_id = conn.execute(select(d.member_id).where(d.id == redemption_id)).scalar()
        if member_id is None:
            raise UserError(N_("There is no redemption {redemption}."), redemption=redemption_id)
        by = user_id_of(conn, by)
        lock_member(conn, member_id)
        query = select(redemptions).where(d.id == redemption_id)
        row = dict(conn.execute(query if conn.dialect.name == "sqlite"
                                else query.with_for_update()).mappings().one())
        if row["status"] != "done":
            raise UserError(N_("The redemption {redemption} was cancelled already."),
                            redemption=redemption_id)
        conn.execute(update(redemptions).where(d.id == redemption_id).values(
            status="cancelled", cancelled_at=now, cancelled_by=by, cancel_reason=reason))
        conn.execute(update(rewards).where(rewards.c.id == row["reward_id"],
                                           rewards.c.stock.is_not(None))
                     .values(stock=rewards.c.stock + row["quantity"]))
        if row["points"]:
            earned = company_day(row["created_at"], timezone)
            give(conn, member_id, Movement(
                kind="cancel", points=int(row["points"]), source_key=f"cancel:{redemption_id}",
                redemption_id=redemption_id, occurred_at=now, actor_id=by, reason=reason,
                earned_on=earned, expires_on=expiry_date(load_policy(conn), earned)),
                source="redemption")
        customer_id = conn.execute(select(members.c.customer_id)
                                   .where(members.c.id == member_id)).scalar()
    return {"redemption": redemption_id, "member_id": int(member_id),
            "customer_id": int(customer_id), "points": int(row["points"])}


def give_free(conn, member_id: int, reward_code: str, *, source_key: str, now=None,
              timezone: str | None = None) -> int | None:
    """Give the member one ``reward_code`` at no points (a tier's gift), once per
    ``source_key``; returns the redemption id, or None when given already or out of stock
    (or when the reward is unknown, switched off, not valid today or over its limit per
    member)."""
    now = now or _now()
    key = str(source_key)[:100]
    if conn.execute(select(redemptions.c.id)
                    .where(redemptions.c.idempotency_key == key)).first() is not None:
        return None
    try:
        reward = reward_row(conn, reward_code, lock=True)
        _check_reward(reward, company_today(now, timezone))
    except UserError:
        return None
    limit = reward["per_member_limit"]
    if (reward["stock"] is not None and reward["stock"] < 1) or (
            limit is not None and _redeemed(conn, member_id, reward["id"]) >= limit):
        return None
    savepoint = conn.begin_nested()
    try:
        redemption_id = _write(conn, member_id, reward, 1, 0, key=key,
                               digest=request_hash(f"member:{member_id}", reward["code"], 1),
                               channel="tier_gift", actor_id=None, api_key_id=None, now=now)
    except IntegrityError:  # given by a concurrent run
        savepoint.rollback()
        return None
    if redemption_id is None:
        savepoint.rollback()
        return None
    savepoint.commit()
    return redemption_id


def redemptions_table(engine: Engine, *, member_id: int | None = None, limit: int = 50,
                      language: str = "en", timezone: str | None = None) -> pd.DataFrame:
    """The latest redemptions (of one member, or of everyone): ``id, created_at, customer_id,
    customer, card_no, reward, kind, quantity, points, channel, status, coupon_code, by,
    cancelled_at, cancel_reason``, their times in the company's time zone (``timezone``,
    default the setting) as people read them."""
    column = {"zh_Hans": "name_zh_hans", "zh_Hant": "name_zh_hant"}.get(language, "name_en")
    d = redemptions.c
    query = (select(d.id, d.created_at, members.c.customer_id, customers.c.name.label("customer"),
                    members.c.card_no, rewards.c[column].label("reward"), rewards.c.kind,
                    d.quantity, d.points, d.channel, d.status, d.coupon_code,
                    users.c.email.label("by"), d.cancelled_at, d.cancel_reason)
             .join(members, members.c.id == d.member_id)
             .join(customers, customers.c.id == members.c.customer_id)
             .join(rewards, rewards.c.id == d.reward_id)
             .outerjoin(users, users.c.id == d.actor_id)
             .order_by(d.id.desc()).limit(limit))
    if member_id is not None:
        query = query.where(d.member_id == member_id)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    zone = company_zone(timezone)
    for row in rows:
        row["created_at"] = local_moment(row["created_at"], zone)
        row["cancelled_at"] = local_moment(row["cancelled_at"], zone)
    return pd.DataFrame(rows, columns=["id", "created_at", "customer_id", "customer", "card_no",
                                       "reward", "kind", "quantity", "points", "channel",
                                       "status", "coupon_code", "by", "cancelled_at",
                                       "cancel_reason"])


__all__ = ["CHANNEL_NAMES", "KEY_REQUIRED", "MAX_QUANTITY", "KeyReused", "NotEnoughPoints",
           "Redeemed", "RedemptionRefused", "UnknownCard", "cancel", "clean_key", "give_free",
           "redeem", "redeem_for_customer", "redeem_member", "redemption_body",
           "redemptions_table", "request_hash"]
