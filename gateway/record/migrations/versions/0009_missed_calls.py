"""Missed calls: "give a missed call to report" leaves a call-back request for the DCPU (issue 19).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'missedcall',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_key', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column('phone_encrypted', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('phone_tag', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('called_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column('district_lgd', sa.BigInteger(), nullable=True),
        sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('reply_message_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('called_back_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('called_back_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('source_key'),
    )
    op.create_index('ix_missedcall_phone_tag', 'missedcall', ['phone_tag'])
    op.create_index('ix_missedcall_district_status', 'missedcall', ['district_lgd', 'status', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_missedcall_district_status', table_name='missedcall')
    op.drop_index('ix_missedcall_phone_tag', table_name='missedcall')
    op.drop_table('missedcall')
