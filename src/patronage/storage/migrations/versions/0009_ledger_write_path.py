"""points ledger: a transfer keeps the ids of what made it (a purchase, a rule, a response, a
redemption, a case, a staff member) as plain columns rather than foreign keys, the indexes by
debit and credit account go (nothing reads the ledger by account alone often enough to pay for
two more index writes per transfer), and on PostgreSQL the source key compares bytewise

Each foreign key of a transfer was a check per written row (on PostgreSQL a trigger that also
locks the referenced row: the accrual of a million purchases locked a million transaction
rows), for references that are history: the ledger keeps the id of what made a movement even
after that row is gone, and ``source_key`` names it. The constraints that guard the ledger stay:
the two accounts (foreign keys), the member, positive points, two distinct accounts, the kind,
the unique source key, the append-only trigger and the balances' checks on the accounts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

#: The columns of a transfer that must never change once written (as in 0008).
_FIXED = ("debit_account_id, credit_account_id, points, kind, member_id, source_key, "
          "occurred_at, earned_on, expires_on, actor_id, reason, created_at, base_points")
#: Provenance references that stop being foreign keys: column, table referred to.
_PROVENANCE = (("transaction_id", "transactions"), ("rule_id", "earn_rules"),
               ("redemption_id", "redemptions"), ("case_id", "cases"),
               ("response_id", "responses"), ("actor_id", "users"))
_BY_ACCOUNT = (("ix_point_transfers_debit", "debit_account_id"),
               ("ix_point_transfers_credit", "credit_account_id"))


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _drop_append_only() -> None:
    op.execute("DROP TRIGGER IF EXISTS point_transfers_append_only"
               + (" ON point_transfers" if _postgres() else ""))


def _append_only() -> None:
    """The trigger again: a SQLite table rebuild drops it, and PostgreSQL refuses to change a
    column's type while a trigger names it."""
    if _postgres():
        op.execute(f"CREATE TRIGGER point_transfers_append_only BEFORE UPDATE OF {_FIXED} "
                   "ON point_transfers FOR EACH ROW "
                   "EXECUTE FUNCTION point_transfers_append_only()")
    else:
        op.execute(f"CREATE TRIGGER point_transfers_append_only BEFORE UPDATE OF {_FIXED} "
                   "ON point_transfers BEGIN "
                   "SELECT RAISE(ABORT, 'point transfers are append-only'); END")


def upgrade() -> None:
    _drop_append_only()
    with op.batch_alter_table('point_transfers', schema=None) as batch_op:
        for column, table in _PROVENANCE:
            batch_op.drop_constraint(f'fk_point_transfers_{column}_{table}', type_='foreignkey')
        for name, _column in _BY_ACCOUNT:
            batch_op.drop_index(name)
        if _postgres():
            batch_op.alter_column('source_key', existing_type=sa.String(length=120),
                                  type_=sa.String(length=120, collation='C'),
                                  existing_nullable=False)
    _append_only()


def downgrade() -> None:
    _drop_append_only()
    # A reference to a row deleted meanwhile is cleared, as the foreign key's SET NULL did.
    for column, table in _PROVENANCE:
        op.execute(f"UPDATE point_transfers SET {column} = NULL WHERE {column} IS NOT NULL "
                   f"AND NOT EXISTS (SELECT 1 FROM {table} WHERE {table}.id = {column})")
    with op.batch_alter_table('point_transfers', schema=None) as batch_op:
        if _postgres():
            batch_op.alter_column('source_key', existing_type=sa.String(length=120,
                                                                        collation='C'),
                                  type_=sa.String(length=120), existing_nullable=False)
        for name, column in _BY_ACCOUNT:
            batch_op.create_index(name, [column], unique=False)
        for column, table in _PROVENANCE:
            batch_op.create_foreign_key(f'fk_point_transfers_{column}_{table}', table,
                                        [column], ['id'], ondelete='SET NULL')
    _append_only()
