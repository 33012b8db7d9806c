"""case desk: teams, categories, service levels, alert and assignment rules, case timeline,
remedies, escalations, company working days, API keys; cases get owner, team, severity and clocks

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('open', 'in_progress', 'resolved', 'closed')"
NEW_STATUSES = "status IN ('new', 'assigned', 'in_progress', 'waiting', 'resolved', 'closed')"
# The timeline is never rewritten: the database refuses an UPDATE of an event.
SQLITE_TRIGGER = """
CREATE TRIGGER case_events_append_only BEFORE UPDATE ON case_events
BEGIN SELECT RAISE(ABORT, 'case events are never rewritten; add a new event'); END
"""
PG_FUNCTION = """
CREATE FUNCTION case_events_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'case events are never rewritten; add a new event'; END
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = """
CREATE TRIGGER case_events_append_only BEFORE UPDATE ON case_events
FOR EACH ROW EXECUTE FUNCTION case_events_append_only()
"""


def _id(name):
    return sa.Column(name, sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table('teams',
    _id('id'),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('manager_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['users.id'], name=op.f('fk_teams_lead_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['manager_id'], ['users.id'], name=op.f('fk_teams_manager_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('name', name=op.f('uq_teams_name'))
    )
    op.create_table('team_members',
    _id('team_id'),
    _id('user_id'),
    sa.Column('last_assigned_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_members_team_id_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_team_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'user_id', name=op.f('pk_team_members'))
    )
    op.create_table('case_categories',
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('parent_code', sa.String(length=60), nullable=True),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('name_zh_hans', sa.String(length=100), nullable=False),
    sa.Column('name_zh_hant', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['case_categories.code'], name=op.f('fk_case_categories_parent_code_case_categories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_case_categories'))
    )
    op.create_table('sla_policies',
    _id('id'),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=True),
    sa.Column('category', sa.String(length=60), nullable=True),
    sa.Column('first_response_minutes', sa.Integer(), nullable=False),
    sa.Column('resolution_minutes', sa.Integer(), nullable=False),
    sa.Column('warn_minutes', sa.Integer(), server_default='60', nullable=False),
    sa.Column('escalation', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.CheckConstraint('first_response_minutes > 0 AND resolution_minutes > 0 AND warn_minutes >= 0', name=op.f('ck_sla_policies_positive_targets')),
    sa.ForeignKeyConstraint(['category'], ['case_categories.code'], name=op.f('fk_sla_policies_category_case_categories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_policies')),
    sa.UniqueConstraint('name', name=op.f('uq_sla_policies_name'))
    )
    op.create_table('case_rules',
    _id('id'),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=True),
    sa.Column('condition', sa.JSON(), nullable=False),
    sa.Column('case_type', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=60), nullable=True),
    sa.Column('severity', sa.String(length=10), server_default='normal', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('checked_up_to', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['category'], ['case_categories.code'], name=op.f('fk_case_rules_category_case_categories'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_case_rules_survey_id_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_rules')),
    sa.UniqueConstraint('code', name=op.f('uq_case_rules_code'))
    )
    op.create_table('assignment_rules',
    _id('id'),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.Column('category', sa.String(length=60), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('key_account', sa.Boolean(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.CheckConstraint('team_id IS NOT NULL OR owner_id IS NOT NULL', name=op.f('ck_assignment_rules_has_target')),
    sa.ForeignKeyConstraint(['category'], ['case_categories.code'], name=op.f('fk_assignment_rules_category_case_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_assignment_rules_owner_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_assignment_rules_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment_rules'))
    )
    op.create_table('business_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_workday', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_business_days'))
    )
    op.create_table('api_keys',
    _id('id'),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_api_keys_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash')),
    sa.UniqueConstraint('name', name=op.f('uq_api_keys_name'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_owner_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_customers_account_owner_id_users'), 'users', ['account_owner_id'], ['id'], ondelete='SET NULL')
    op.execute("UPDATE cases SET status = 'new' WHERE status = 'open'")
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cases_status'), type_='check')
        batch_op.alter_column('status', server_default='new', existing_type=sa.String(length=20),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('external_ref', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('channel', sa.String(length=10), server_default='agent', nullable=False))
        batch_op.add_column(sa.Column('category', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('severity', sa.String(length=10), server_default='normal', nullable=False))
        batch_op.add_column(sa.Column('contact', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('survey_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rule_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sla_policy_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('first_response_due_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolution_due_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('first_responded_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('waiting_since', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('round', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_cases_external_ref'), ['external_ref'])
        batch_op.create_unique_constraint('uq_cases_rule_response', ['rule_id', 'response_id'])
        batch_op.create_check_constraint('status', NEW_STATUSES)
        batch_op.create_check_constraint('severity', "severity IN ('low', 'normal', 'high', 'urgent')")
        batch_op.create_check_constraint('channel', "channel IN ('agent', 'phone', 'email', 'web', 'import', 'api', 'survey', 'system')")
        batch_op.create_foreign_key(batch_op.f('fk_cases_category_case_categories'), 'case_categories', ['category'], ['code'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_cases_survey_id_surveys'), 'surveys', ['survey_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_cases_rule_id_case_rules'), 'case_rules', ['rule_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_cases_team_id_teams'), 'teams', ['team_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_cases_owner_id_users'), 'users', ['owner_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_cases_sla_policy_id_sla_policies'), 'sla_policies', ['sla_policy_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_cases_status', ['status', 'resolution_due_at'], unique=False)
        batch_op.create_index('ix_cases_owner', ['owner_id'], unique=False)
        batch_op.create_index('ix_cases_team', ['team_id'], unique=False)
    op.create_table('case_events',
    _id('id'),
    _id('case_id'),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('visibility', sa.String(length=10), server_default='internal', nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=True),
    sa.CheckConstraint("kind IN ('opened', 'assigned', 'status', 'note', 'reply', 'field', 'remedy', 'approval', 'sla_warning', 'sla_breach', 'escalated', 'survey_sent', 'survey_answer', 'reopened')", name=op.f('ck_case_events_kind')),
    sa.CheckConstraint("visibility IN ('internal', 'customer')", name=op.f('ck_case_events_visibility')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_events_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_case_events_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    op.create_index('ix_case_events_case', 'case_events', ['case_id', 'at'], unique=False)
    op.create_table('case_remedies',
    _id('id'),
    _id('case_id'),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), server_default='0', nullable=False),
    sa.Column('points', sa.Integer(), server_default='0', nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('apology', 'repair', 'replacement', 'refund', 'compensation', 'goodwill_points')", name=op.f('ck_case_remedies_kind')),
    sa.CheckConstraint("status IN ('approved', 'pending', 'rejected')", name=op.f('ck_case_remedies_status')),
    sa.CheckConstraint('amount >= 0 AND points >= 0', name=op.f('ck_case_remedies_not_negative')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_remedies_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_case_remedies_decided_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_case_remedies_requested_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_remedies'))
    )
    op.create_index('ix_case_remedies_case', 'case_remedies', ['case_id'], unique=False)
    op.create_table('case_escalations',
    _id('id'),
    _id('case_id'),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('notify', sa.String(length=10), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('warning', 'breach', 'escalation')", name=op.f('ck_case_escalations_kind')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_escalations_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_case_escalations_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_escalations')),
    sa.UniqueConstraint('case_id', 'kind', 'step', 'round', name='uq_case_escalations_once')
    )
    op.create_table('worker_cursors',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_worker_cursors'))
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_invitations_case_id_cases'), 'cases', ['case_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('survey_triggers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reopen_condition', sa.JSON(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_events_append_only ON case_events")
        op.execute("DROP FUNCTION IF EXISTS case_events_append_only()")
    with op.batch_alter_table('survey_triggers', schema=None) as batch_op:
        batch_op.drop_column('reopen_condition')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_invitations_case_id_cases'), type_='foreignkey')
        batch_op.drop_column('case_id')
    op.drop_table('worker_cursors')
    op.drop_table('case_escalations')
    op.drop_index('ix_case_remedies_case', table_name='case_remedies')
    op.drop_table('case_remedies')
    op.drop_index('ix_case_events_case', table_name='case_events')
    op.drop_table('case_events')
    op.execute("UPDATE cases SET status = 'open' WHERE status IN ('new', 'assigned', 'waiting')")
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_team')
        batch_op.drop_index('ix_cases_owner')
        batch_op.drop_index('ix_cases_status')
        for name in ('fk_cases_sla_policy_id_sla_policies', 'fk_cases_owner_id_users',
                     'fk_cases_team_id_teams', 'fk_cases_rule_id_case_rules',
                     'fk_cases_survey_id_surveys', 'fk_cases_category_case_categories'):
            batch_op.drop_constraint(op.f(name), type_='foreignkey')
        for name in ('ck_cases_channel', 'ck_cases_severity', 'ck_cases_status'):
            batch_op.drop_constraint(op.f(name), type_='check')
        batch_op.drop_constraint(op.f('uq_cases_rule_response'), type_='unique')
        batch_op.drop_constraint(op.f('uq_cases_external_ref'), type_='unique')
        for column in ('updated_at', 'round', 'waiting_since', 'resolved_at', 'first_responded_at',
                       'resolution_due_at', 'first_response_due_at', 'sla_policy_id', 'owner_id',
                       'team_id', 'rule_id', 'survey_id', 'contact', 'severity', 'category',
                       'channel', 'external_ref'):
            batch_op.drop_column(column)
        batch_op.alter_column('status', server_default='open', existing_type=sa.String(length=20),
                              existing_nullable=False)
        batch_op.create_check_constraint('status', OLD_STATUSES)
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_customers_account_owner_id_users'), type_='foreignkey')
        batch_op.drop_column('account_owner_id')
    op.drop_table('api_keys')
    op.drop_table('business_days')
    op.drop_table('assignment_rules')
    op.drop_table('case_rules')
    op.drop_table('sla_policies')
    op.drop_table('case_categories')
    op.drop_table('team_members')
    op.drop_table('teams')
