"""A place is (level, code): LGD numbers each level separately (issue 15).

Places and contacts are rebuilt (their keys change, which SQLite cannot alter in place) and their
rows copied: until now a code was unique across levels, so every contact's place and every
place's parent is found without ambiguity, and their levels are filled in from it. Places gain
the sub-district and urban local body ancestors; cases, the level of the place reported (village
or ward; "village" for every existing case).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_CODE = sa.BigInteger()
_LEVEL = sqlmodel.sql.sqltypes.AutoString(length=16)


def _place_table(name: str, *, with_levels: bool) -> sa.Table:
    columns = [
        sa.Column('lgd_code', _CODE, autoincrement=False, nullable=False),
        sa.Column('level', _LEVEL, nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('names', sa.JSON(), nullable=False),
        sa.Column('parent_level', _LEVEL, nullable=True),
        sa.Column('parent_lgd_code', _CODE, nullable=True),
        sa.Column('state_lgd', _CODE, nullable=True),
        sa.Column('district_lgd', _CODE, nullable=True),
        sa.Column('sub_district_lgd', _CODE, nullable=True),
        sa.Column('block_lgd', _CODE, nullable=True),
        sa.Column('gram_panchayat_lgd', _CODE, nullable=True),
        sa.Column('urban_local_body_lgd', _CODE, nullable=True),
    ]
    key = ['lgd_code', 'level'] if with_levels else ['lgd_code']
    return op.create_table(name, *columns, sa.PrimaryKeyConstraint(*key, name=f'{name}_pkey'))


def _contact_table(name: str, *, with_levels: bool) -> sa.Table:
    unique = ['phone', 'unit', 'place_level', 'place_lgd_code'] if with_levels else ['phone', 'unit', 'place_lgd_code']
    return op.create_table(
        name,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        *([sa.Column('place_level', _LEVEL, nullable=False)] if with_levels else []),
        sa.Column('place_lgd_code', _CODE, nullable=False),
        sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=f'{name}_pkey'),
        sa.UniqueConstraint(*unique, name=_UNIQUE if _sqlite() else f'uq_{name}_phone_unit_place'),
    )


_UNIQUE = 'uq_contact_phone_unit_place'


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


_COMMON_PLACE = ('lgd_code, level, name, names, parent_lgd_code, state_lgd, district_lgd, block_lgd, '
                 'gram_panchayat_lgd')
_COMMON_CONTACT = 'id, name, phone, unit, place_lgd_code, role, language, active'


def _swap(old: str, new: str) -> None:
    """The new table takes the old one's name, and on PostgreSQL its constraints' names too (their
    names are unique per schema, so the new table was made with its own)."""
    op.drop_table(old)
    op.rename_table(new, old)
    if _sqlite():
        return
    op.execute(f'ALTER TABLE {old} RENAME CONSTRAINT {new}_pkey TO {old}_pkey')
    if old == 'contact':
        op.execute(f'ALTER TABLE contact RENAME CONSTRAINT uq_{new}_phone_unit_place TO {_UNIQUE}')


def _place_indexes(*, with_levels: bool) -> None:
    op.create_index('ix_place_district_lgd', 'place', ['district_lgd'])
    if with_levels:
        op.create_index('ix_place_parent', 'place', ['parent_level', 'parent_lgd_code'])
    else:
        op.create_index('ix_place_parent_lgd_code', 'place', ['parent_lgd_code'])


def _contact_indexes(*, with_levels: bool) -> None:
    op.create_index('ix_contact_phone', 'contact', ['phone'])
    op.create_index('ix_contact_place_unit', 'contact',
                    ['place_lgd_code', 'place_level', 'unit'] if with_levels else ['place_lgd_code', 'unit'])


def _drop_old_indexes(place_parent: str, contact_place: str = 'ix_contact_place_unit') -> None:
    op.drop_index('ix_place_district_lgd', table_name='place')
    op.drop_index(place_parent, table_name='place')
    op.drop_index('ix_contact_phone', table_name='contact')
    op.drop_index(contact_place, table_name='contact')


def upgrade() -> None:
    _drop_old_indexes('ix_place_parent_lgd_code')
    _place_table('place_v2', with_levels=True)
    op.execute(
        f"INSERT INTO place_v2 ({_COMMON_PLACE}, parent_level) "
        f"SELECT {', '.join('p.' + c.strip() for c in _COMMON_PLACE.split(','))}, "
        "(SELECT up.level FROM place up WHERE up.lgd_code = p.parent_lgd_code) FROM place p"
    )
    _contact_table('contact_v2', with_levels=True)
    op.execute(
        f"INSERT INTO contact_v2 ({_COMMON_CONTACT}, place_level) "
        f"SELECT {', '.join('c.' + c.strip() for c in _COMMON_CONTACT.split(','))}, "
        "COALESCE((SELECT p.level FROM place p WHERE p.lgd_code = c.place_lgd_code), 'village') FROM contact c"
    )
    _swap('place', 'place_v2')
    _swap('contact', 'contact_v2')
    _place_indexes(with_levels=True)
    _contact_indexes(with_levels=True)
    _fix_sequence()
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('village_level', _LEVEL, nullable=False, server_default='village'))


def _fix_sequence() -> None:
    """PostgreSQL: the copied contacts keep their ids; the new table's sequence must start above."""
    if not _sqlite():
        op.execute("SELECT setval(pg_get_serial_sequence('contact', 'id'), COALESCE(MAX(id), 0) + 1, false) "
                   "FROM contact")


def downgrade() -> None:
    """Back to codes alone: refused while two places share a code (the old schema cannot hold them)."""
    shared = op.get_bind().execute(sa.text(
        "SELECT lgd_code FROM place GROUP BY lgd_code HAVING COUNT(*) > 1 LIMIT 1")).first()
    if shared is not None:
        raise RuntimeError(f"cannot downgrade: LGD code {shared[0]} names places at two levels")
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('village_level')
    _drop_old_indexes('ix_place_parent')
    _place_table('place_v1', with_levels=False)
    op.execute(f"INSERT INTO place_v1 ({_COMMON_PLACE}) SELECT {_COMMON_PLACE} FROM place")
    _contact_table('contact_v1', with_levels=False)
    op.execute(f"INSERT INTO contact_v1 ({_COMMON_CONTACT}) SELECT {_COMMON_CONTACT} FROM contact")
    _swap('place', 'place_v1')
    _swap('contact', 'contact_v1')
    _place_indexes(with_levels=False)
    _contact_indexes(with_levels=False)
    _fix_sequence()
