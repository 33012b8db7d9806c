"""report schedules: reports mailed every day, week or month, the periods sent, and files
attached to outbox mail

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_EVERY = ("day", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
          "month")


def upgrade() -> None:
    op.create_table(
        'report_schedules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('survey', sa.String(length=60), nullable=True),
        sa.Column('every', sa.String(length=10), nullable=False),
        sa.Column('recipients', sa.JSON(), nullable=False),
        sa.Column('format', sa.String(length=10), nullable=False),
        sa.Column('language', sa.String(length=10), nullable=False),
        sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("every IN (" + ", ".join(repr(e) for e in _EVERY) + ")",
                           name=op.f('ck_report_schedules_every')),
        sa.CheckConstraint("format IN ('pdf', 'xlsx', 'html')",
                           name=op.f('ck_report_schedules_format')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_schedules')),
    )
    op.create_table(
        'report_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('schedule_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=10), nullable=False),
        sa.Column('mails', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['schedule_id'], ['report_schedules.id'], ondelete='CASCADE',
                                name=op.f('fk_report_deliveries_schedule_id_report_schedules')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_deliveries')),
        sa.UniqueConstraint('schedule_id', 'period', name=op.f('uq_report_deliveries_schedule_id')),
    )
    op.create_table(
        'outbox_attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('media_type', sa.String(length=100), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ondelete='CASCADE',
                                name=op.f('fk_outbox_attachments_outbox_id_outbox')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_attachments')),
    )
    op.create_index(op.f('ix_outbox_attachments_outbox_id'), 'outbox_attachments', ['outbox_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_outbox_attachments_outbox_id'), table_name='outbox_attachments')
    op.drop_table('outbox_attachments')
    op.drop_table('report_deliveries')
    op.drop_table('report_schedules')
