"""action plans: improvement actions with owner, team, due date, budget, status, the metric
they should move and its baseline, and their history

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('source', sa.String(length=10), server_default='manual', nullable=False),
        sa.Column('source_ref', sa.String(length=200), nullable=True),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('team_id', sa.Integer(), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('budget', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=True),
        sa.Column('status', sa.String(length=12), server_default='planned', nullable=False),
        sa.Column('survey_id', sa.Integer(), nullable=True),
        sa.Column('metric_kind', sa.String(length=10), nullable=False),
        sa.Column('metric_code', sa.String(length=100), nullable=True),
        sa.Column('segment', sa.String(length=500), nullable=True),
        sa.Column('target_change', sa.Float(), nullable=True),
        sa.Column('baseline_wave_id', sa.Integer(), nullable=True),
        sa.Column('baseline_until', sa.Date(), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('length(title) BETWEEN 1 AND 200', name=op.f('ck_actions_title_length')),
        sa.CheckConstraint("source IN ('ipa', 'driver', 'kano', 'complaint', 'theme', 'manual')",
                           name=op.f('ck_actions_source')),
        sa.CheckConstraint("source = 'manual' OR source_ref IS NOT NULL",
                           name=op.f('ck_actions_source_ref')),
        sa.CheckConstraint("status IN ('planned', 'in_progress', 'done', 'cancelled')",
                           name=op.f('ck_actions_status')),
        sa.CheckConstraint("metric_kind IN ('item', 'dimension', 'nps', 'csi', 'standard')",
                           name=op.f('ck_actions_metric_kind')),
        sa.CheckConstraint("metric_kind IN ('nps', 'csi') OR metric_code IS NOT NULL",
                           name=op.f('ck_actions_metric_code')),
        sa.CheckConstraint('budget IS NULL OR budget >= 0', name=op.f('ck_actions_budget')),
        sa.CheckConstraint('updated_at >= created_at',
                           name=op.f('ck_actions_updated_after_created')),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_actions_owner_id_users')),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='SET NULL',
                                name=op.f('fk_actions_team_id_teams')),
        sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], ondelete='SET NULL',
                                name=op.f('fk_actions_survey_id_surveys')),
        sa.ForeignKeyConstraint(['baseline_wave_id'], ['waves.id'], ondelete='SET NULL',
                                name=op.f('fk_actions_baseline_wave_id_waves')),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_actions_created_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_actions')),
    )
    op.create_index('ix_actions_status_due', 'actions', ['status', 'due_on'])
    op.create_index('ix_actions_owner', 'actions', ['owner_id'])
    op.create_table(
        'action_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('action_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('status_from', sa.String(length=12), nullable=True),
        sa.Column('status_to', sa.String(length=12), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.CheckConstraint("kind IN ('created', 'status', 'note', 'edit', 'reminder')",
                           name=op.f('ck_action_events_kind')),
        sa.CheckConstraint("kind <> 'status' OR status_to IS NOT NULL",
                           name=op.f('ck_action_events_status_to')),
        sa.CheckConstraint("(kind = 'reminder' AND due_on IS NOT NULL) OR "
                           "(kind <> 'reminder' AND due_on IS NULL)",
                           name=op.f('ck_action_events_reminder_due')),
        sa.ForeignKeyConstraint(['action_id'], ['actions.id'], ondelete='CASCADE',
                                name=op.f('fk_action_events_action_id_actions')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_action_events_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_action_events')),
        sa.UniqueConstraint('action_id', 'kind', 'due_on', name='uq_action_events_reminder'),
    )
    op.create_index('ix_action_events_action', 'action_events', ['action_id', 'at'])


def downgrade() -> None:
    op.drop_index('ix_action_events_action', table_name='action_events')
    op.drop_table('action_events')
    op.drop_index('ix_actions_owner', table_name='actions')
    op.drop_index('ix_actions_status_due', table_name='actions')
    op.drop_table('actions')
