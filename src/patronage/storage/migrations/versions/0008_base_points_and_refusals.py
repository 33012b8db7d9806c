"""points ledger: a purchase's base points (before multipliers) on its transfer, counted by
points-based tiers; refused redemptions kept under their idempotency key, so that a retry gets
the same refusal

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa

#: The columns of a transfer that must never change once written: those of 0007 and the base
#: points (the references to source rows may still be cleared when such a row is deleted).
_FIXED_BEFORE = ("debit_account_id, credit_account_id, points, kind, member_id, source_key, "
                 "occurred_at, earned_on, expires_on, actor_id, reason, created_at")
_FIXED = _FIXED_BEFORE + ", base_points"

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _append_only(columns: str) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute("DROP TRIGGER IF EXISTS point_transfers_append_only"
               + (" ON point_transfers" if postgres else ""))
    if postgres:
        op.execute(f"CREATE TRIGGER point_transfers_append_only BEFORE UPDATE OF {columns} "
                   "ON point_transfers FOR EACH ROW "
                   "EXECUTE FUNCTION point_transfers_append_only()")
    else:
        op.execute(f"CREATE TRIGGER point_transfers_append_only BEFORE UPDATE OF {columns} "
                   "ON point_transfers BEGIN "
                   "SELECT RAISE(ABORT, 'point transfers are append-only'); END")


def upgrade() -> None:
    op.add_column('point_transfers', sa.Column('base_points', sa.Integer(), nullable=True))
    _append_only(_FIXED)
    op.create_table('redemption_refusals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('reward_id', sa.Integer(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('api_key_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_redemption_refusals_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_redemption_refusals_api_key_id_api_keys'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_redemption_refusals_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reward_id'], ['rewards.id'], name=op.f('fk_redemption_refusals_reward_id_rewards'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemption_refusals')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_redemption_refusals_idempotency_key'))
    )


def downgrade() -> None:
    op.drop_table('redemption_refusals')
    op.execute("DROP TRIGGER IF EXISTS point_transfers_append_only"
               + (" ON point_transfers" if op.get_bind().dialect.name == "postgresql" else ""))
    with op.batch_alter_table('point_transfers', schema=None) as batch_op:
        batch_op.drop_column('base_points')
    _append_only(_FIXED_BEFORE)
