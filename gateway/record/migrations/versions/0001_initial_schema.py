"""Initial schema: directory (places, contacts), cases, events, reporter contacts, API tokens.

Revision ID: 0001
Revises: 
Create Date: 2026-11-24
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('apitoken',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('district_lgd', sa.BigInteger(), nullable=True),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('case',
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('concern', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('village_lgd', sa.BigInteger(), nullable=False),
    sa.Column('district_lgd', sa.BigInteger(), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('callback', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('block_lgd', sa.BigInteger(), nullable=True),
    sa.Column('ladder', sa.JSON(), nullable=True),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('acknowledged_unit', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('acknowledged_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ref'),
    sa.UniqueConstraint('source_key')
    )
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_district_lgd'), ['district_lgd'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_overdue'), ['overdue'], unique=False)

    op.create_table('contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('place_lgd_code', sa.BigInteger(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('phone', 'unit', 'place_lgd_code', name='uq_contact_phone_unit_place')
    )
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_phone'), ['phone'], unique=False)
        batch_op.create_index('ix_contact_place_unit', ['place_lgd_code', 'unit'], unique=False)

    op.create_table('place',
    sa.Column('lgd_code', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('parent_lgd_code', sa.BigInteger(), nullable=True),
    sa.Column('state_lgd', sa.BigInteger(), nullable=True),
    sa.Column('district_lgd', sa.BigInteger(), nullable=True),
    sa.Column('block_lgd', sa.BigInteger(), nullable=True),
    sa.Column('gram_panchayat_lgd', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('lgd_code')
    )
    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_place_district_lgd'), ['district_lgd'], unique=False)
        batch_op.create_index(batch_op.f('ix_place_parent_lgd_code'), ['parent_lgd_code'], unique=False)

    op.create_table('caseevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('caseevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_caseevent_case_id'), ['case_id'], unique=False)

    op.create_table('reportercontact',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('phone_encrypted', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )


def downgrade() -> None:
    op.drop_table('reportercontact')
    with op.batch_alter_table('caseevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_caseevent_case_id'))

    op.drop_table('caseevent')
    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_place_parent_lgd_code'))
        batch_op.drop_index(batch_op.f('ix_place_district_lgd'))

    op.drop_table('place')
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_place_unit')
        batch_op.drop_index(batch_op.f('ix_contact_phone'))

    op.drop_table('contact')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_overdue'))
        batch_op.drop_index(batch_op.f('ix_case_status'))
        batch_op.drop_index(batch_op.f('ix_case_district_lgd'))
        batch_op.drop_index(batch_op.f('ix_case_created_at'))

    op.drop_table('case')
    op.drop_table('apitoken')
