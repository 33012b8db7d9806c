"""membership programme: the programme's policy, tiers, members, earning rules, the double-entry
points ledger (append-only: a trigger refuses to change a transfer), rewards and redemptions,
tier history; transactions get the purchase a refund is for

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

#: The columns of a transfer that must never change once written (the references to source rows
#: may still be cleared when such a row is deleted).
_FIXED = ("debit_account_id, credit_account_id, points, kind, member_id, source_key, "
          "occurred_at, earned_on, expires_on, actor_id, reason, created_at")
_PROGRAMME_ACCOUNTS = ("issue", "redemption", "expiry", "adjustment", "write_off")


def _append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION point_transfers_append_only() RETURNS trigger AS $$ "
                   "BEGIN RAISE EXCEPTION 'point transfers are append-only'; END $$ "
                   "LANGUAGE plpgsql")
        op.execute(f"CREATE TRIGGER point_transfers_append_only BEFORE UPDATE OF {_FIXED} "
                   "ON point_transfers FOR EACH ROW "
                   "EXECUTE FUNCTION point_transfers_append_only()")
    else:
        op.execute(f"CREATE TRIGGER point_transfers_append_only BEFORE UPDATE OF {_FIXED} "
                   "ON point_transfers BEGIN "
                   "SELECT RAISE(ABORT, 'point transfers are append-only'); END")


def _seed() -> None:
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    programme = sa.table("member_programme", sa.column("id"), sa.column("name"),
                         sa.column("updated_at"))
    op.bulk_insert(programme, [{"id": 1, "name": "Membership", "updated_at": now}])
    accounts = sa.table("point_accounts", sa.column("code"), sa.column("kind"))
    op.bulk_insert(accounts, [{"code": kind, "kind": kind} for kind in _PROGRAMME_ACCOUNTS])


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('earn_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('channel', sa.String(length=50), nullable=True),
    sa.Column('tiers', sa.JSON(), nullable=True),
    sa.Column('points_per_yuan', sa.Float(), nullable=True),
    sa.Column('multiplier', sa.Float(), nullable=True),
    sa.Column('points', sa.Integer(), nullable=True),
    sa.Column('params', sa.JSON(), nullable=True),
    sa.Column('cap_per_transaction', sa.Integer(), nullable=True),
    sa.Column('cap_per_month', sa.Integer(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('purchase', 'member_day', 'birthday_month', 'first_purchase', 'survey_completed', 'referral')", name=op.f('ck_earn_rules_kind')),
    sa.CheckConstraint('(cap_per_transaction IS NULL OR cap_per_transaction >= 0) AND (cap_per_month IS NULL OR cap_per_month >= 0)', name=op.f('ck_earn_rules_caps')),
    sa.CheckConstraint('(points_per_yuan IS NULL OR points_per_yuan >= 0) AND (multiplier IS NULL OR multiplier > 0) AND (points IS NULL OR points >= 0)', name=op.f('ck_earn_rules_amounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_earn_rules')),
    sa.UniqueConstraint('code', name=op.f('uq_earn_rules_code'))
    )
    op.create_table('member_programme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('card_prefix', sa.String(length=8), server_default='8', nullable=False),
    sa.Column('tier_basis', sa.String(length=10), server_default='spend', nullable=False),
    sa.Column('tier_window_months', sa.Integer(), server_default='12', nullable=False),
    sa.Column('review_months', sa.Integer(), server_default='12', nullable=False),
    sa.Column('grace_days', sa.Integer(), server_default='90', nullable=False),
    sa.Column('expiry_policy', sa.String(length=10), server_default='rolling', nullable=False),
    sa.Column('expiry_months', sa.Integer(), server_default='24', nullable=False),
    sa.Column('expiry_month', sa.Integer(), server_default='12', nullable=False),
    sa.Column('expiry_day', sa.Integer(), server_default='31', nullable=False),
    sa.Column('expiry_years', sa.Integer(), server_default='1', nullable=False),
    sa.Column('cost_per_point', sa.Numeric(precision=12, scale=4, asdecimal=False), server_default='0.01', nullable=False),
    sa.Column('refund_shortfall', sa.String(length=10), server_default='carry', nullable=False),
    sa.Column('active_months', sa.Integer(), server_default='12', nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("expiry_policy IN ('none', 'rolling', 'fixed')", name=op.f('ck_member_programme_expiry_policy')),
    sa.CheckConstraint("refund_shortfall IN ('carry', 'write_off')", name=op.f('ck_member_programme_refund_shortfall')),
    sa.CheckConstraint("tier_basis IN ('points', 'spend')", name=op.f('ck_member_programme_tier_basis')),
    sa.CheckConstraint('cost_per_point >= 0', name=op.f('ck_member_programme_cost_per_point')),
    sa.CheckConstraint('expiry_month BETWEEN 1 AND 12 AND expiry_day BETWEEN 1 AND 31', name=op.f('ck_member_programme_expiry_date')),
    sa.CheckConstraint('id = 1', name=op.f('ck_member_programme_one_row')),
    sa.CheckConstraint('tier_window_months > 0 AND review_months > 0 AND grace_days >= 0 AND expiry_months > 0 AND expiry_years >= 0 AND active_months > 0', name=op.f('ck_member_programme_positive_periods')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_programme'))
    )
    op.create_table('member_tiers',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('name_zh_hans', sa.String(length=100), nullable=False),
    sa.Column('name_zh_hant', sa.String(length=100), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('qualify_value', sa.Numeric(precision=14, scale=2, asdecimal=False), server_default='0', nullable=False),
    sa.Column('multiplier', sa.Float(), server_default='1', nullable=False),
    sa.Column('case_severity', sa.String(length=10), nullable=True),
    sa.Column('gift_rewards', sa.JSON(), nullable=True),
    sa.Column('benefits_en', sa.Text(), nullable=True),
    sa.Column('benefits_zh_hans', sa.Text(), nullable=True),
    sa.Column('benefits_zh_hant', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.CheckConstraint("case_severity IS NULL OR case_severity IN ('low', 'normal', 'high', 'urgent')", name=op.f('ck_member_tiers_case_severity')),
    sa.CheckConstraint('multiplier > 0', name=op.f('ck_member_tiers_multiplier')),
    sa.CheckConstraint('qualify_value >= 0', name=op.f('ck_member_tiers_qualify_value')),
    sa.CheckConstraint('rank >= 0', name=op.f('ck_member_tiers_rank')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_member_tiers')),
    sa.UniqueConstraint('rank', name=op.f('uq_member_tiers_rank'))
    )
    op.create_table('rewards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_zh_hans', sa.String(length=200), nullable=False),
    sa.Column('name_zh_hant', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('cost', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=True),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('per_member_limit', sa.Integer(), nullable=True),
    sa.Column('min_tier_rank', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('gift', 'coupon', 'service')", name=op.f('ck_rewards_kind')),
    sa.CheckConstraint('per_member_limit IS NULL OR per_member_limit > 0', name=op.f('ck_rewards_per_member_limit')),
    sa.CheckConstraint('points >= 0', name=op.f('ck_rewards_points')),
    sa.CheckConstraint('stock IS NULL OR stock >= 0', name=op.f('ck_rewards_stock')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rewards')),
    sa.UniqueConstraint('code', name=op.f('uq_rewards_code'))
    )
    op.create_table('members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('card_no', sa.String(length=32), nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=50), nullable=True),
    sa.Column('consent', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='active', nullable=False),
    sa.Column('tier_code', sa.String(length=30), nullable=True),
    sa.Column('tier_since', sa.Date(), nullable=True),
    sa.Column('review_on', sa.Date(), nullable=True),
    sa.Column('grace_until', sa.Date(), nullable=True),
    sa.Column('referred_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('active', 'closed')", name=op.f('ck_members_status')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_members_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['referred_by'], ['members.id'], name=op.f('fk_members_referred_by_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tier_code'], ['member_tiers.code'], name=op.f('fk_members_tier_code_member_tiers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('card_no', name=op.f('uq_members_card_no')),
    sa.UniqueConstraint('customer_id', name=op.f('uq_members_customer_id'))
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index('ix_members_tier', ['tier_code'], unique=False)

    op.create_table('member_tier_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('from_tier', sa.String(length=30), nullable=True),
    sa.Column('to_tier', sa.String(length=30), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('qualify_value', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=True),
    sa.Column('changed_on', sa.Date(), nullable=False),
    sa.Column('source_key', sa.String(length=120), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('enrol', 'upgrade', 'downgrade', 'grace', 'kept', 'manual')", name=op.f('ck_member_tier_changes_kind')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_member_tier_changes_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_tier_changes_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_tier_changes')),
    sa.UniqueConstraint('source_key', name=op.f('uq_member_tier_changes_source_key'))
    )
    with op.batch_alter_table('member_tier_changes', schema=None) as batch_op:
        batch_op.create_index('ix_member_tier_changes_member', ['member_id'], unique=False)

    op.create_table('point_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('balance', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint("(member_id IS NULL) = (kind NOT IN ('points', 'owed'))", name=op.f('ck_point_accounts_owner')),
    sa.CheckConstraint("kind <> 'owed' OR balance <= 0", name=op.f('ck_point_accounts_owed_not_positive')),
    sa.CheckConstraint("kind <> 'points' OR balance >= 0", name=op.f('ck_point_accounts_spendable_not_negative')),
    sa.CheckConstraint("kind IN ('points', 'owed', 'issue', 'redemption', 'expiry', 'adjustment', 'write_off')", name=op.f('ck_point_accounts_kind')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_point_accounts_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_accounts')),
    sa.UniqueConstraint('code', name=op.f('uq_point_accounts_code')),
    sa.UniqueConstraint('member_id', 'kind', name='uq_point_accounts_member_kind')
    )
    op.create_table('redemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('reward_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), server_default='1', nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='done', nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('coupon_code', sa.String(length=40), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('api_key_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_by', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("channel IN ('profile', 'agent', 'api', 'cli', 'tier_gift')", name=op.f('ck_redemptions_channel')),
    sa.CheckConstraint("status IN ('done', 'cancelled')", name=op.f('ck_redemptions_status')),
    sa.CheckConstraint('quantity > 0 AND points >= 0', name=op.f('ck_redemptions_amounts')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_redemptions_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_redemptions_api_key_id_api_keys'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cancelled_by'], ['users.id'], name=op.f('fk_redemptions_cancelled_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_redemptions_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reward_id'], ['rewards.id'], name=op.f('fk_redemptions_reward_id_rewards'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('coupon_code', name=op.f('uq_redemptions_coupon_code')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_redemptions_idempotency_key'))
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_redemptions_member', ['member_id'], unique=False)

    op.create_table('point_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('debit_account_id', sa.Integer(), nullable=False),
    sa.Column('credit_account_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('source_key', sa.String(length=120), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=True),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('redemption_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('response_id', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('earned_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('earn', 'bonus', 'refund', 'settle', 'redeem', 'cancel', 'expire', 'adjust', 'compensation', 'write_off')", name=op.f('ck_point_transfers_kind')),
    sa.CheckConstraint('debit_account_id <> credit_account_id', name=op.f('ck_point_transfers_two_accounts')),
    sa.CheckConstraint('points > 0', name=op.f('ck_point_transfers_points')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_point_transfers_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_point_transfers_case_id_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['credit_account_id'], ['point_accounts.id'], name=op.f('fk_point_transfers_credit_account_id_point_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['debit_account_id'], ['point_accounts.id'], name=op.f('fk_point_transfers_debit_account_id_point_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_point_transfers_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], name=op.f('fk_point_transfers_redemption_id_redemptions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_point_transfers_response_id_responses'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rule_id'], ['earn_rules.id'], name=op.f('fk_point_transfers_rule_id_earn_rules'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], name=op.f('fk_point_transfers_transaction_id_transactions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_transfers')),
    sa.UniqueConstraint('source_key', name=op.f('uq_point_transfers_source_key'))
    )
    with op.batch_alter_table('point_transfers', schema=None) as batch_op:
        batch_op.create_index('ix_point_transfers_credit', ['credit_account_id'], unique=False)
        batch_op.create_index('ix_point_transfers_debit', ['debit_account_id'], unique=False)
        batch_op.create_index('ix_point_transfers_member_time', ['member_id', 'occurred_at'], unique=False)

    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_of', sa.String(length=64), nullable=True))
    _append_only()
    _seed()



def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS point_transfers_append_only"
               + (" ON point_transfers" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS point_transfers_append_only()")
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_column('refund_of')

    with op.batch_alter_table('point_transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_point_transfers_member_time')
        batch_op.drop_index('ix_point_transfers_debit')
        batch_op.drop_index('ix_point_transfers_credit')

    op.drop_table('point_transfers')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_redemptions_member')

    op.drop_table('redemptions')
    op.drop_table('point_accounts')
    with op.batch_alter_table('member_tier_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_member_tier_changes_member')

    op.drop_table('member_tier_changes')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('ix_members_tier')

    op.drop_table('members')
    op.drop_table('rewards')
    op.drop_table('member_tiers')
    op.drop_table('member_programme')
    op.drop_table('earn_rules')
