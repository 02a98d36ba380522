"""The referral loop: messages (the outbox's record), opt-outs, a case's deadline and repeat round.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('optout',
    sa.Column('phone_tag', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('phone_tag')
    )
    op.create_table('message',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('priority', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('to_phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('from_phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('contact_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('step', sa.Integer(), nullable=True),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=1600), nullable=False),
    sa.Column('template', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('provider_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('provider_status', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('failure_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key'),
    sa.UniqueConstraint('provider_id')
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_case_created', ['case_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_to_phone'), ['to_phone'], unique=False)

    with op.batch_alter_table('reportercontact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_tag', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_reportercontact_phone_tag'), ['phone_tag'], unique=False)

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('reportercontact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reportercontact_phone_tag'))
        batch_op.drop_column('phone_tag')

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('due_at')
        batch_op.drop_column('round')

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_to_phone'))
        batch_op.drop_index(batch_op.f('ix_message_status'))
        batch_op.drop_index('ix_message_case_created')

    op.drop_table('message')
    op.drop_table('optout')
