"""survey responses, cases and invitations name the touchpoint they concern; triggers can
invite after a touchpoint (of one kind)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('responses', 'cases', 'invitations'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('touchpoint_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_touchpoint_id_touchpoints'),
                                        'touchpoints', ['touchpoint_id'], ['id'],
                                        ondelete='SET NULL')
            if table != 'invitations':
                batch_op.create_index(f'ix_{table}_touchpoint', ['touchpoint_id'], unique=False)
    with op.batch_alter_table('survey_triggers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('touchpoint_kind', sa.String(length=30), nullable=True))
        batch_op.drop_constraint(op.f('ck_survey_triggers_event'), type_='check')
        batch_op.create_check_constraint(
            'event', "event IN ('purchase', 'case_closed', 'touchpoint')")
        batch_op.create_check_constraint(
            'touchpoint_kind', "touchpoint_kind IS NULL OR event = 'touchpoint'")


def downgrade() -> None:
    op.execute("DELETE FROM survey_triggers WHERE event = 'touchpoint'")
    with op.batch_alter_table('survey_triggers', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_survey_triggers_touchpoint_kind'), type_='check')
        batch_op.drop_constraint(op.f('ck_survey_triggers_event'), type_='check')
        batch_op.create_check_constraint('event', "event IN ('purchase', 'case_closed')")
        batch_op.drop_column('touchpoint_kind')
    for table in ('invitations', 'cases', 'responses'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table != 'invitations':
                batch_op.drop_index(f'ix_{table}_touchpoint')
            batch_op.drop_constraint(op.f(f'fk_{table}_touchpoint_id_touchpoints'),
                                     type_='foreignkey')
            batch_op.drop_column('touchpoint_id')
