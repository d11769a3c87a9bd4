"""invitations and password resets: single-use links to choose a dashboard password (only their hash)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cchc.models.types


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', cchc.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('expires_at', cchc.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', cchc.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', cchc.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_invitation_person_id'), 'invitation', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_invitation_person_id'), table_name='invitation')
    op.drop_table('invitation')
