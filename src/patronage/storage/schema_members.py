"""The membership programme's tables: the programme's policy, tiers (VIP cards), members, earning
rules, the points ledger, the rewards catalogue with its redemptions and refusals, and tier
history (migrations 0007, 0008 and 0009).

The ledger is double-entry and append-only. Every movement of points is one row of
``point_transfers`` that takes ``points`` (always positive) from a debit account and gives them
to a credit account; an account's balance is its credits minus its debits, so the balances of
all accounts always add up to zero. Each member has two accounts: ``points`` (what they can
spend; a check constraint keeps it from going below zero) and ``owed`` (a negative pending
balance left by a refund of points already spent, settled from future earnings). The programme
has one account per kind of movement: ``issue`` (points created by earning, bonuses and
compensation), ``redemption``, ``expiry``, ``adjustment`` and ``write_off``. The balance cached
on ``point_accounts`` is updated in the transaction that writes the transfer; a test checks it
always equals the sum of the transfers.

Exactly-once work is kept by unique constraints: a transfer per ``source_key`` (a transaction's
earning, a refund, a bonus, an expiry, a redemption and its cancellation) and a redemption per
``idempotency_key``. A trigger refuses to change a transfer once written.

What guards a transfer, and why each constraint of ``point_transfers`` is kept (every one is
paid on each of the million rows an accrual may write): the foreign keys to its two accounts
(a movement between accounts that do not exist is no movement) and to its member (the member
of a write-off names no member account; deleting a member takes its lines with it); ``points
> 0``, two distinct accounts and a known kind; the unique ``source_key`` (exactly once); the
append-only trigger; and on ``point_accounts`` the checks that keep a spendable balance from
going below zero and a pending one above it. The rows a movement came from (purchase, rule,
response, redemption, case, staff member) are named by plain ids, history that outlives them
(migration 0009); the ledger is indexed by member only.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)

from patronage.storage.schema_base import Money, _in, any_of, metadata

TIER_BASES = ("points", "spend")
EXPIRY_POLICIES = ("none", "rolling", "fixed")
#: What happens when a refund takes back more points than the member still has: ``carry`` the
#: rest as a negative pending balance that future earnings settle, or ``write_off`` the rest.
SHORTFALL_POLICIES = ("carry", "write_off")
MEMBER_STATUSES = ("active", "closed")
#: Earning rules: points per ¥ on a purchase, multipliers on member days and in the birthday
#: month, and fixed bonuses for a first purchase, a completed survey and a referral.
EARN_RULE_KINDS = ("purchase", "member_day", "birthday_month", "first_purchase",
                   "survey_completed", "referral")
#: A member's two accounts and the programme's accounts.
MEMBER_ACCOUNT_KINDS = ("points", "owed")
PROGRAMME_ACCOUNT_KINDS = ("issue", "redemption", "expiry", "adjustment", "write_off")
ACCOUNT_KINDS = MEMBER_ACCOUNT_KINDS + PROGRAMME_ACCOUNT_KINDS
#: What a transfer is; its source row (transaction, rule, redemption, case, response, member)
#: is on the transfer, and ``adjust`` carries who made it and why.
TRANSFER_KINDS = ("earn", "bonus", "refund", "settle", "redeem", "cancel", "expire", "adjust",
                  "compensation", "write_off")
REWARD_KINDS = ("gift", "coupon", "service")
REDEMPTION_STATUSES = ("done", "cancelled")
REDEMPTION_CHANNELS = ("profile", "agent", "api", "cli", "tier_gift")
TIER_CHANGE_KINDS = ("enrol", "upgrade", "downgrade", "grace", "kept", "manual")

member_programme = Table(
    "member_programme",
    metadata,
    # One row: the programme's policy.
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("card_prefix", String(8), nullable=False, server_default="8"),
    # Tiers qualify by base points (before multipliers) or by spend in a rolling window.
    Column("tier_basis", String(10), nullable=False, server_default="spend"),
    Column("tier_window_months", Integer, nullable=False, server_default="12"),
    # A tier is reviewed this many months after it was reached or last reviewed; a member who
    # no longer qualifies keeps it for the grace period, then moves down.
    Column("review_months", Integer, nullable=False, server_default="12"),
    Column("grace_days", Integer, nullable=False, server_default="90"),
    # rolling: points expire expiry_months after they were earned (oldest spent first);
    # fixed: points earned in a year expire on expiry_month/expiry_day, expiry_years later.
    Column("expiry_policy", String(10), nullable=False, server_default="rolling"),
    Column("expiry_months", Integer, nullable=False, server_default="24"),
    Column("expiry_month", Integer, nullable=False, server_default="12"),
    Column("expiry_day", Integer, nullable=False, server_default="31"),
    Column("expiry_years", Integer, nullable=False, server_default="1"),
    # What one point costs the company (¥), to value outstanding points as a liability.
    Column("cost_per_point", Numeric(12, 4, asdecimal=False), nullable=False,
           server_default="0.01"),
    Column("refund_shortfall", String(10), nullable=False, server_default="carry"),
    # A member with a purchase or a point movement in this many months is active.
    Column("active_months", Integer, nullable=False, server_default="12"),
    Column("updated_at", DateTime, nullable=False),
    CheckConstraint("id = 1", name="one_row"),
    CheckConstraint(_in("tier_basis", TIER_BASES), name="tier_basis"),
    CheckConstraint(_in("expiry_policy", EXPIRY_POLICIES), name="expiry_policy"),
    CheckConstraint(_in("refund_shortfall", SHORTFALL_POLICIES), name="refund_shortfall"),
    CheckConstraint("tier_window_months > 0 AND review_months > 0 AND grace_days >= 0 "
                    "AND expiry_months > 0 AND expiry_years >= 0 AND active_months > 0",
                    name="positive_periods"),
    CheckConstraint("expiry_month BETWEEN 1 AND 12 AND expiry_day BETWEEN 1 AND 31",
                    name="expiry_date"),
    CheckConstraint("cost_per_point >= 0", name="cost_per_point"),
)

member_tiers = Table(
    "member_tiers",
    metadata,
    Column("code", String(30), primary_key=True),
    Column("name_en", String(100), nullable=False),
    Column("name_zh_hans", String(100), nullable=False),
    Column("name_zh_hant", String(100), nullable=False),
    # 0 is the entry tier; a higher rank is a better card.
    Column("rank", Integer, nullable=False, unique=True),
    # Base points or spend (¥) in the window that reach the tier (0 for the entry tier).
    Column("qualify_value", Money, nullable=False, server_default="0"),
    Column("multiplier", Float, nullable=False, server_default="1"),
    # Service priority: a case of a member on this tier opens at least at this severity, so
    # the case desk's service levels for that severity apply.
    Column("case_severity", String(10)),
    # Reward codes given free (a redemption at no points) when a member reaches the tier.
    Column("gift_rewards", JSON),
    Column("benefits_en", Text),
    Column("benefits_zh_hans", Text),
    Column("benefits_zh_hant", Text),
    Column("active", Boolean, nullable=False, server_default=true()),
    CheckConstraint("rank >= 0", name="rank"),
    CheckConstraint("qualify_value >= 0", name="qualify_value"),
    CheckConstraint("multiplier > 0", name="multiplier"),
    CheckConstraint("case_severity IS NULL OR case_severity IN ('low', 'normal', 'high', "
                    "'urgent')", name="case_severity"),
)

members = Table(
    "members",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"),
           nullable=False, unique=True),
    Column("card_no", String(32), nullable=False, unique=True),
    Column("joined_on", Date, nullable=False),
    Column("channel", String(50)),
    # Consent to the programme's terms and its messages.
    Column("consent", Boolean, nullable=False, server_default=true()),
    Column("status", String(10), nullable=False, server_default="active"),
    Column("tier_code", String(30), ForeignKey("member_tiers.code", ondelete="RESTRICT")),
    Column("tier_since", Date),
    # The next tier review, and the end of a grace period once a review found the member short.
    Column("review_on", Date),
    Column("grace_until", Date),
    Column("referred_by", Integer, ForeignKey("members.id", ondelete="SET NULL")),
    Column("created_at", DateTime, nullable=False),
    Column("closed_at", DateTime),
    CheckConstraint(_in("status", MEMBER_STATUSES), name="status"),
)
Index("ix_members_tier", members.c.tier_code)

earn_rules = Table(
    "earn_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(60), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    # A purchase rule applies to purchases in this category / on this channel (NULL: any).
    Column("category", String(100)),
    Column("channel", String(50)),
    # Tier codes the rule applies to (NULL: every tier).
    Column("tiers", JSON),
    Column("points_per_yuan", Float),
    Column("multiplier", Float),
    Column("points", Integer),
    # {"weekday": 2} (0 = Monday) or {"day_of_month": 8} for a member day.
    Column("params", JSON),
    Column("cap_per_transaction", Integer),
    Column("cap_per_month", Integer),
    Column("starts_on", Date),
    Column("ends_on", Date),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint(_in("kind", EARN_RULE_KINDS), name="kind"),
    CheckConstraint("(points_per_yuan IS NULL OR points_per_yuan >= 0) AND "
                    "(multiplier IS NULL OR multiplier > 0) AND (points IS NULL OR points >= 0)",
                    name="amounts"),
    CheckConstraint("(cap_per_transaction IS NULL OR cap_per_transaction >= 0) AND "
                    "(cap_per_month IS NULL OR cap_per_month >= 0)", name="caps"),
)

point_accounts = Table(
    "point_accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    # "issue", "redemption" ... for the programme; "m<member id>:points" / ":owed" for members.
    Column("code", String(40), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("member_id", Integer, ForeignKey("members.id", ondelete="CASCADE")),
    # Credits minus debits, kept in the transaction that writes each transfer.
    Column("balance", Integer, nullable=False, server_default="0"),
    CheckConstraint(_in("kind", ACCOUNT_KINDS), name="kind"),
    CheckConstraint("kind <> 'points' OR balance >= 0", name="spendable_not_negative"),
    CheckConstraint("kind <> 'owed' OR balance <= 0", name="owed_not_positive"),
    CheckConstraint("(member_id IS NULL) = (kind NOT IN ('points', 'owed'))", name="owner"),
    UniqueConstraint("member_id", "kind", name="uq_point_accounts_member_kind"),
)

rewards = Table(
    "rewards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(60), nullable=False, unique=True),
    Column("name_en", String(200), nullable=False),
    Column("name_zh_hans", String(200), nullable=False),
    Column("name_zh_hant", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("points", Integer, nullable=False),
    # What one costs the company (¥); NULL when unknown.
    Column("cost", Money),
    # Units left (NULL: unlimited); the check keeps two redemptions of the last one from both
    # succeeding.
    Column("stock", Integer),
    Column("per_member_limit", Integer),
    Column("min_tier_rank", Integer),
    Column("valid_from", Date),
    Column("valid_until", Date),
    Column("description", Text),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint(_in("kind", REWARD_KINDS), name="kind"),
    CheckConstraint("points >= 0", name="points"),
    CheckConstraint("stock IS NULL OR stock >= 0", name="stock"),
    CheckConstraint("per_member_limit IS NULL OR per_member_limit > 0", name="per_member_limit"),
)

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("reward_id", Integer, ForeignKey("rewards.id", ondelete="RESTRICT"), nullable=False),
    Column("quantity", Integer, nullable=False, server_default="1"),
    Column("points", Integer, nullable=False),
    Column("status", String(10), nullable=False, server_default="done"),
    # A replayed request with the same key returns the first result.
    Column("idempotency_key", String(100), nullable=False, unique=True),
    # SHA-256 of what was asked (card, reward, quantity): the same key for another request is
    # a conflict, not a replay.
    Column("request_hash", String(64), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("coupon_code", String(40), unique=True),
    Column("actor_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("api_key_id", Integer, ForeignKey("api_keys.id", ondelete="SET NULL")),
    Column("created_at", DateTime, nullable=False),
    Column("cancelled_at", DateTime),
    Column("cancelled_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("cancel_reason", Text),
    CheckConstraint(_in("status", REDEMPTION_STATUSES), name="status"),
    CheckConstraint(_in("channel", REDEMPTION_CHANNELS), name="channel"),
    CheckConstraint("quantity > 0 AND points >= 0", name="amounts"),
)
Index("ix_redemptions_member", redemptions.c.member_id)

# A redemption refused (too few points, out of stock, over the member's limit ...), kept under
# its idempotency key so that a retry of the same request gets the same refusal rather than a
# different answer later (migration 0008).
redemption_refusals = Table(
    "redemption_refusals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("idempotency_key", String(100), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("member_id", Integer, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("reward_id", Integer, ForeignKey("rewards.id", ondelete="SET NULL")),
    Column("quantity", Integer, nullable=False),
    # Why, as a code the pages translate, and the message as first given (its English template
    # and values as JSON, so a replay is shown in the reader's language).
    Column("reason", String(30), nullable=False),
    Column("message", Text, nullable=False),
    Column("channel", String(10), nullable=False),
    Column("actor_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("api_key_id", Integer, ForeignKey("api_keys.id", ondelete="SET NULL")),
    Column("created_at", DateTime, nullable=False),
)

point_transfers = Table(
    "point_transfers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("debit_account_id", Integer, ForeignKey("point_accounts.id", ondelete="CASCADE"),
           nullable=False),
    Column("credit_account_id", Integer, ForeignKey("point_accounts.id", ondelete="CASCADE"),
           nullable=False),
    Column("points", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    # The member the movement concerns (every transfer has one).
    Column("member_id", Integer, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    # What made it, once: "txn:<id>", "refund:<id>", "bonus:<rule>:<id>", "expire:<member>:<date>",
    # "redeem:<id>", "cancel:<id>", "adjust:<uuid>" ...
    # Unique: each source moves points once. Compared bytewise on PostgreSQL (collation "C"):
    # keys are ASCII, and a locale's collation makes every insert into the index slower.
    Column("source_key", String(120).with_variant(String(120, collation="C"), "postgresql"),
           nullable=False, unique=True),
    # The ids of the source rows, kept as history (no foreign keys since migration 0009: the
    # ledger keeps the id of what made a movement even after that row is gone, and a foreign
    # key would check, and on PostgreSQL lock, the source row of every transfer written).
    Column("transaction_id", Integer),
    Column("rule_id", Integer),
    Column("redemption_id", Integer),
    Column("case_id", Integer),
    Column("response_id", Integer),
    # When it happened in business terms (the purchase, the redemption), and for points given to
    # a member, the day they count as earned (oldest spent first) and when they expire.
    Column("occurred_at", DateTime, nullable=False),
    Column("earned_on", Date),
    Column("expires_on", Date),
    # The staff member who made an adjustment (history too: no foreign key).
    Column("actor_id", Integer),
    Column("reason", Text),
    Column("created_at", DateTime, nullable=False),
    # A purchase's earning: its base points, before the tier's and the day's multipliers (what
    # points-based tiers count; migration 0008). Empty on every other transfer.
    Column("base_points", Integer),
    CheckConstraint("points > 0", name="points"),
    CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
    # Equalities rather than IN: the accrual writes a million transfers (migration 0020).
    CheckConstraint(any_of("kind", TRANSFER_KINDS), name="kind"),
)
#: On PostgreSQL the foreign keys of a transfer to its accounts and member are checked by a
#: statement-level trigger instead (migration 0017: one set-based check and lock per statement
#: rather than three row triggers per transfer); SQLite keeps them as foreign keys.
TRANSFER_FKS_CHECKED_BY_TRIGGER = ("fk_point_transfers_debit_account_id_point_accounts",
                                   "fk_point_transfers_credit_account_id_point_accounts",
                                   "fk_point_transfers_member_id_members")
# A member's lines (statements, lots and expiry, the profile, qualifying values of a few
# members), and the cascade when a member is deleted. The only index besides the key and the
# unique source key: every index is one more write per transfer, and nothing reads the ledger
# by account alone often enough to pay for one (the whole-ledger sums scan it anyway).
Index("ix_point_transfers_member_time", point_transfers.c.member_id,
      point_transfers.c.occurred_at)

member_tier_changes = Table(
    "member_tier_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("from_tier", String(30)),
    Column("to_tier", String(30)),
    Column("kind", String(10), nullable=False),
    # The qualifying value (base points or spend in the window) the decision was made on.
    Column("qualify_value", Money),
    Column("changed_on", Date, nullable=False),
    # Once per decision: "upgrade:<member>:<tier>:<date>", "review:<member>:<date>" ...
    Column("source_key", String(120), nullable=False, unique=True),
    Column("actor_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("reason", Text),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint(_in("kind", TIER_CHANGE_KINDS), name="kind"),
)
Index("ix_member_tier_changes_member", member_tier_changes.c.member_id)

__all__ = [
    "ACCOUNT_KINDS", "EARN_RULE_KINDS", "EXPIRY_POLICIES", "MEMBER_ACCOUNT_KINDS",
    "MEMBER_STATUSES", "PROGRAMME_ACCOUNT_KINDS", "REDEMPTION_CHANNELS", "REDEMPTION_STATUSES",
    "REWARD_KINDS", "SHORTFALL_POLICIES", "TIER_BASES", "TIER_CHANGE_KINDS", "TRANSFER_KINDS",
    "earn_rules", "member_programme", "member_tier_changes", "member_tiers", "members",
    "point_accounts", "point_transfers", "redemption_refusals", "redemptions", "rewards",
]
