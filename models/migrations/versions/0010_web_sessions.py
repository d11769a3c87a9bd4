"""web sessions and the login throttle: server-side dashboard sessions (only the SHA-256 of their id), failed
logins counted per account and per address

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cchc.models.types


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_session',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('created_at', cchc.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', cchc.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', cchc.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_why', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_agent', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_web_session_person_id'), 'web_session', ['person_id'], unique=False)
    op.create_table('login_throttle',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', cchc.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lockouts', sa.Integer(), nullable=False),
    sa.Column('locked_until', cchc.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refusal_noted', sa.Boolean(), nullable=False),
    sa.Column('updated_at', cchc.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_index(op.f('ix_login_throttle_updated_at'), 'login_throttle', ['updated_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_login_throttle_updated_at'), table_name='login_throttle')
    op.drop_table('login_throttle')
    op.drop_index(op.f('ix_web_session_person_id'), table_name='web_session')
    op.drop_table('web_session')
