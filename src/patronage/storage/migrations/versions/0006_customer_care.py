"""customer care: follow-up rules and tasks, outcomes, the contact log, care occasions and
greetings, the SMS outbox, win-back campaigns, profile edit history; customers get a language,
time zone, contract date, visit plan, preferences and lost-customer fields

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('care_occasions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('name_zh_hans', sa.String(length=100), nullable=False),
    sa.Column('name_zh_hant', sa.String(length=100), nullable=False),
    sa.Column('month', sa.Integer(), nullable=True),
    sa.Column('day', sa.Integer(), nullable=True),
    sa.Column('lunar', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=True),
    sa.Column('action', sa.String(length=10), server_default='greeting', nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=True),
    sa.Column('template_en', sa.Text(), nullable=True),
    sa.Column('template_zh_hans', sa.Text(), nullable=True),
    sa.Column('template_zh_hant', sa.Text(), nullable=True),
    sa.Column('task_type', sa.String(length=10), nullable=True),
    sa.Column('gift', sa.String(length=200), nullable=True),
    sa.Column('gift_cost', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=True),
    sa.Column('tiers', sa.JSON(), nullable=True),
    sa.Column('days_before', sa.Integer(), server_default='0', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("action IN ('greeting', 'task')", name=op.f('ck_care_occasions_action')),
    sa.CheckConstraint("channel IS NULL OR channel IN ('sms', 'email')", name=op.f('ck_care_occasions_channel')),
    sa.CheckConstraint("kind IN ('birthday', 'first_purchase', 'contract', 'festival', 'company')", name=op.f('ck_care_occasions_kind')),
    sa.CheckConstraint("task_type IS NULL OR task_type IN ('call', 'visit', 'message')", name=op.f('ck_care_occasions_task_type')),
    sa.CheckConstraint('day IS NULL OR (day BETWEEN 1 AND 31)', name=op.f('ck_care_occasions_day')),
    sa.CheckConstraint('days_before >= 0', name=op.f('ck_care_occasions_days_before')),
    sa.CheckConstraint('gift_cost IS NULL OR gift_cost >= 0', name=op.f('ck_care_occasions_gift_cost')),
    sa.CheckConstraint('month IS NULL OR (month BETWEEN 1 AND 12)', name=op.f('ck_care_occasions_month')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_occasions')),
    sa.UniqueConstraint('code', name=op.f('uq_care_occasions_code'))
    )
    op.create_table('care_outcomes',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('name_zh_hans', sa.String(length=100), nullable=False),
    sa.Column('name_zh_hant', sa.String(length=100), nullable=False),
    sa.Column('effect', sa.String(length=20), nullable=False),
    sa.Column('reached', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('retry_after_hours', sa.Integer(), nullable=True),
    sa.Column('max_attempts', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.CheckConstraint("effect IN ('done', 'open_case', 'retry', 'wrong_number', 'do_not_call')", name=op.f('ck_care_outcomes_effect')),
    sa.CheckConstraint('max_attempts IS NULL OR max_attempts > 0', name=op.f('ck_care_outcomes_max_attempts')),
    sa.CheckConstraint('retry_after_hours IS NULL OR retry_after_hours > 0', name=op.f('ck_care_outcomes_retry_hours')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_care_outcomes'))
    )
    op.create_table('care_campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=10), server_default='win_back', nullable=False),
    sa.Column('status', sa.String(length=10), server_default='draft', nullable=False),
    sa.Column('offer', sa.Text(), nullable=True),
    sa.Column('task_type', sa.String(length=10), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=True),
    sa.Column('template_en', sa.Text(), nullable=True),
    sa.Column('template_zh_hans', sa.Text(), nullable=True),
    sa.Column('template_zh_hant', sa.Text(), nullable=True),
    sa.Column('control_share', sa.Float(), server_default='0.2', nullable=False),
    sa.Column('seed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('measure_days', sa.Integer(), server_default='90', nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("channel IS NULL OR channel IN ('sms', 'email')", name=op.f('ck_care_campaigns_channel')),
    sa.CheckConstraint("kind IN ('win_back', 'care')", name=op.f('ck_care_campaigns_kind')),
    sa.CheckConstraint("status IN ('draft', 'running', 'closed')", name=op.f('ck_care_campaigns_status')),
    sa.CheckConstraint("task_type IS NULL OR task_type IN ('call', 'visit', 'message')", name=op.f('ck_care_campaigns_task_type')),
    sa.CheckConstraint('control_share >= 0 AND control_share < 1', name=op.f('ck_care_campaigns_control_share')),
    sa.CheckConstraint('measure_days > 0', name=op.f('ck_care_campaigns_measure_days')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_care_campaigns_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_campaigns')),
    sa.UniqueConstraint('code', name=op.f('uq_care_campaigns_code'))
    )
    op.create_table('care_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('task_type', sa.String(length=10), server_default='call', nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('to_account_owner', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('script_en', sa.Text(), nullable=True),
    sa.Column('script_zh_hans', sa.Text(), nullable=True),
    sa.Column('script_zh_hant', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('checked_up_to', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_run_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("task_type IN ('call', 'visit', 'message')", name=op.f('ck_care_rules_task_type')),
    sa.CheckConstraint("trigger IN ('purchase', 'touchpoint', 'case_resolved', 'visit_due', 'alive_drop')", name=op.f('ck_care_rules_trigger')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_care_rules_assignee_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_care_rules_team_id_teams'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_rules')),
    sa.UniqueConstraint('code', name=op.f('uq_care_rules_code'))
    )
    op.create_table('customer_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=60), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_changes_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_customer_changes_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_changes'))
    )
    with op.batch_alter_table('customer_changes', schema=None) as batch_op:
        batch_op.create_index('ix_customer_changes_customer', ['customer_id', 'at'], unique=False)

    op.create_table('sms_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('to_number', sa.String(length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('message_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('gateway_ref', sa.String(length=100), nullable=True),
    sa.Column('not_before', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name=op.f('ck_sms_outbox_status')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_sms_outbox_customer_id_customers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_outbox')),
    sa.UniqueConstraint('message_key', name=op.f('uq_sms_outbox_message_key'))
    )
    with op.batch_alter_table('sms_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_sms_outbox_status', ['status', 'id'], unique=False)

    op.create_table('care_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('source_key', sa.String(length=160), nullable=True),
    sa.Column('type', sa.String(length=10), server_default='call', nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('script', sa.Text(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), server_default='open', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('gift', sa.String(length=200), nullable=True),
    sa.Column('gift_cost', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('completed_by', sa.Integer(), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'done', 'cancelled')", name=op.f('ck_care_tasks_status')),
    sa.CheckConstraint("type IN ('call', 'visit', 'message')", name=op.f('ck_care_tasks_type')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_care_tasks_attempts')),
    sa.CheckConstraint('gift_cost IS NULL OR gift_cost >= 0', name=op.f('ck_care_tasks_gift_cost')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_care_tasks_assignee_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['campaign_id'], ['care_campaigns.id'], name=op.f('fk_care_tasks_campaign_id_care_campaigns'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_care_tasks_case_id_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['completed_by'], ['users.id'], name=op.f('fk_care_tasks_completed_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_care_tasks_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_care_tasks_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['outcome'], ['care_outcomes.code'], name=op.f('fk_care_tasks_outcome_care_outcomes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rule_id'], ['care_rules.id'], name=op.f('fk_care_tasks_rule_id_care_rules'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_care_tasks_team_id_teams'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_tasks')),
    sa.UniqueConstraint('source_key', name=op.f('uq_care_tasks_source_key'))
    )
    with op.batch_alter_table('care_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_care_tasks_assignee', ['assignee_id', 'status'], unique=False)
        batch_op.create_index('ix_care_tasks_customer', ['customer_id'], unique=False)
        batch_op.create_index('ix_care_tasks_status_due', ['status', 'due_at'], unique=False)

    op.create_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('direction', sa.String(length=3), server_default='out', nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('cost', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("channel IN ('phone', 'visit', 'sms', 'email', 'wechat', 'letter', 'web', 'other')", name=op.f('ck_contacts_channel')),
    sa.CheckConstraint("direction IN ('out', 'in')", name=op.f('ck_contacts_direction')),
    sa.CheckConstraint("kind IN ('call', 'visit', 'message', 'greeting', 'gift', 'note', 'survey', 'case', 'reply', 'opt_out')", name=op.f('ck_contacts_kind')),
    sa.CheckConstraint('cost IS NULL OR cost >= 0', name=op.f('ck_contacts_cost')),
    sa.ForeignKeyConstraint(['campaign_id'], ['care_campaigns.id'], name=op.f('fk_contacts_campaign_id_care_campaigns'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_contacts_case_id_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_contacts_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['care_tasks.id'], name=op.f('fk_contacts_task_id_care_tasks'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_contacts_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('external_id', name=op.f('uq_contacts_external_id'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index('ix_contacts_customer_at', ['customer_id', 'at'], unique=False)

    op.create_table('campaign_members',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('group', sa.String(length=10), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('"group" IN (\'target\', \'control\')', name=op.f('ck_campaign_members_group')),
    sa.ForeignKeyConstraint(['campaign_id'], ['care_campaigns.id'], name=op.f('fk_campaign_members_campaign_id_care_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_campaign_members_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_campaign_members_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['care_tasks.id'], name=op.f('fk_campaign_members_task_id_care_tasks'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('campaign_id', 'customer_id', name=op.f('pk_campaign_members'))
    )
    op.create_table('care_greetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('occasion_id', sa.Integer(), nullable=False),
    sa.Column('occasion_on', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_care_greetings_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_care_greetings_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['occasion_id'], ['care_occasions.id'], name=op.f('fk_care_greetings_occasion_id_care_occasions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['care_tasks.id'], name=op.f('fk_care_greetings_task_id_care_tasks'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_greetings')),
    sa.UniqueConstraint('customer_id', 'occasion_id', 'occasion_on', name='uq_care_greetings_once')
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('contract_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('visit_every_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('preferences', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('lost_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('lost_reason', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('lost_to', sa.String(length=200), nullable=True))
        batch_op.create_check_constraint(
            'language', "language IS NULL OR language IN ('en', 'zh_Hans', 'zh_Hant')")
        batch_op.create_check_constraint(
            'visit_every_days', 'visit_every_days IS NULL OR visit_every_days > 0')



def downgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_constraint('visit_every_days', type_='check')
        batch_op.drop_constraint('language', type_='check')
        batch_op.drop_column('lost_to')
        batch_op.drop_column('lost_reason')
        batch_op.drop_column('lost_on')
        batch_op.drop_column('preferences')
        batch_op.drop_column('visit_every_days')
        batch_op.drop_column('contract_on')
        batch_op.drop_column('timezone')
        batch_op.drop_column('language')

    op.drop_table('care_greetings')
    op.drop_table('campaign_members')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_customer_at')

    op.drop_table('contacts')
    with op.batch_alter_table('care_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_care_tasks_status_due')
        batch_op.drop_index('ix_care_tasks_customer')
        batch_op.drop_index('ix_care_tasks_assignee')

    op.drop_table('care_tasks')
    with op.batch_alter_table('sms_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_sms_outbox_status')

    op.drop_table('sms_outbox')
    with op.batch_alter_table('customer_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_changes_customer')

    op.drop_table('customer_changes')
    op.drop_table('care_rules')
    op.drop_table('care_campaigns')
    op.drop_table('care_outcomes')
    op.drop_table('care_occasions')
