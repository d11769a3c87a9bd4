"""the unit's explanation per sub-criterion (giải trình), kept beside its note

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 13:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('score') as batch:
        batch.add_column(sa.Column('explanation', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('score') as batch:
        batch.drop_column('explanation')
