"""touchpoints with their source id, site, team, agent, answer and end times and right first
time; labels for touchpoint kinds, sites and teams; service standards (measurable promises with a target and a period) and the breaches their
owners were alerted of

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_LABELS = ("'region', 'industry', 'size', 'channel', 'tier', 'product', 'category', "
           "'churn_reason', 'competitor', 'case_subject'")
_KINDS = ("proposal", "quote", "order", "invoice", "delivery", "installation", "training",
          "survey", "promotion", "payment", "inquiry", "complaint", "maintenance", "parts_return")


def upgrade() -> None:
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('site', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('team', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('agent', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('answered_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('ended_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('right_first_time', sa.Boolean(), nullable=True))
        batch_op.create_unique_constraint('uq_touchpoints_external_id', ['external_id'])
    # Touchpoint kinds, sites and teams get labels in each language like other category values.
    with op.batch_alter_table('category_labels', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_category_labels_kind'), type_='check')
        batch_op.create_check_constraint(
            'kind', f"kind IN ({_LABELS}, 'touchpoint', 'site', 'team')")
    kinds = ", ".join(f"'{k}'" for k in _KINDS)
    op.create_table(
        'service_standards',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=60), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('source', sa.String(length=12), server_default='touchpoint', nullable=False),
        sa.Column('touchpoint_kind', sa.String(length=30), nullable=True),
        sa.Column('channel', sa.String(length=50), nullable=True),
        sa.Column('case_category', sa.String(length=60), nullable=True),
        sa.Column('metric', sa.String(length=20), nullable=False),
        sa.Column('threshold_seconds', sa.Float(), nullable=True),
        sa.Column('working_hours', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('target', sa.Float(), nullable=False),
        sa.Column('period', sa.String(length=5), server_default='month', nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("source IN ('touchpoint', 'case')",
                           name=op.f('ck_service_standards_source')),
        sa.CheckConstraint("metric IN ('waiting', 'handling', 'total', 'right_first_time', "
                           "'resolution')", name=op.f('ck_service_standards_metric')),
        sa.CheckConstraint("period IN ('week', 'month')",
                           name=op.f('ck_service_standards_period')),
        sa.CheckConstraint('target > 0 AND target <= 1',
                           name=op.f('ck_service_standards_target')),
        sa.CheckConstraint("(metric = 'right_first_time' AND threshold_seconds IS NULL) OR "
                           "(metric <> 'right_first_time' AND threshold_seconds > 0)",
                           name=op.f('ck_service_standards_threshold')),
        sa.CheckConstraint("(source = 'touchpoint' AND metric <> 'resolution' AND "
                           f"touchpoint_kind IN ({kinds})) OR "
                           "(source = 'case' AND metric = 'resolution')",
                           name=op.f('ck_service_standards_source_metric')),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_service_standards_owner_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_standards')),
        sa.UniqueConstraint('code', name=op.f('uq_service_standards_code')),
    )
    op.create_table(
        'standard_breaches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('standard_id', sa.Integer(), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('unit', sa.String(length=150), server_default='', nullable=False),
        sa.Column('share', sa.Float(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('alerted_at', sa.DateTime(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('share >= 0 AND share <= 1', name=op.f('ck_standard_breaches_share')),
        sa.CheckConstraint('n > 0', name=op.f('ck_standard_breaches_n')),
        sa.ForeignKeyConstraint(['standard_id'], ['service_standards.id'], ondelete='CASCADE',
                                name=op.f('fk_standard_breaches_standard_id_service_standards')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_standard_breaches_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_standard_breaches')),
        sa.UniqueConstraint('standard_id', 'period_start', 'unit',
                            name='uq_standard_breaches_period'),
    )
    op.create_index('ix_standard_breaches_standard', 'standard_breaches',
                    ['standard_id', 'period_start'])


def downgrade() -> None:
    op.drop_index('ix_standard_breaches_standard', table_name='standard_breaches')
    op.drop_table('standard_breaches')
    op.drop_table('service_standards')
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.drop_constraint('uq_touchpoints_external_id', type_='unique')
        batch_op.drop_column('right_first_time')
        batch_op.drop_column('ended_at')
        batch_op.drop_column('answered_at')
        batch_op.drop_column('agent')
        batch_op.drop_column('team')
        batch_op.drop_column('site')
        batch_op.drop_column('external_id')
    with op.batch_alter_table('category_labels', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_category_labels_kind'), type_='check')
        batch_op.create_check_constraint('kind', f"kind IN ({_LABELS})")
