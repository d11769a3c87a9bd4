"""document files: the file of a unit's own plan, remediation plan or breakthrough registration

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 17:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cchc.models.types


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('document_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('suffix', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('added_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('added_at', cchc.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('assessment_id', 'kind', 'sha256')
    )
    op.create_index(op.f('ix_document_file_assessment_id'), 'document_file', ['assessment_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_document_file_assessment_id'), table_name='document_file')
    op.drop_table('document_file')
