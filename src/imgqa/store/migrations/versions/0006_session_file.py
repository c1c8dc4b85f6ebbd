"""Images kept with the record (issue 12): ``session_file``, one row per source file of a
session copied into the image archive.

``path`` is relative to the archive root (a per-workstation setting: the same share is mounted
at different places), ``sha256`` and ``size`` are the whole file's, so ``imgqa db verify`` can
report a missing or altered file and any workstation can reopen a session's images. A new
table rather than columns on ``input_image``: that table has one row per analysed *frame and
analysis* (a multi-frame file, or one series analysed by two tests, gives several rows for one
file), its rows are insert-only and covered by the audit digests of earlier sessions, and a
session saved without an archive simply has no ``session_file`` rows.

Insert-only like the other history tables (UPDATE and DELETE refused; TRUNCATE too on
PostgreSQL). On PostgreSQL, when the group roles exist, ``imgqa_technologist`` gets INSERT
(it saves sessions) and everyone SELECT through it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 19:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_TABLE = "session_file"


def upgrade() -> None:
    op.create_table(_TABLE,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sop_instance_uid', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['qc_session.id'], name=op.f('fk_session_file_session_id_qc_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_file')),
    sa.UniqueConstraint('session_id', 'path', name=op.f('uq_session_file_session_id'))
    )
    op.create_index(op.f('ix_session_file_session_id'), _TABLE, ['session_id'], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for what in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER imgqa_{_TABLE}_no_{what.lower()} BEFORE {what} ON {_TABLE} "
                f"BEGIN SELECT RAISE(ABORT, 'imgqa: {_TABLE} rows are read-only "
                f"(history is never rewritten)'); END")
    elif dialect == "postgresql":
        op.execute(f"CREATE TRIGGER imgqa_{_TABLE}_read_only BEFORE UPDATE OR DELETE ON "
                   f"{_TABLE} FOR EACH ROW EXECUTE FUNCTION imgqa_refuse_change()")
        op.execute(f"CREATE TRIGGER imgqa_{_TABLE}_no_truncate BEFORE TRUNCATE ON {_TABLE} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION imgqa_refuse_change()")
        op.execute(
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
            "'imgqa_technologist') "
            f"THEN GRANT SELECT, INSERT ON {_TABLE} TO imgqa_technologist; "
            f"GRANT USAGE, SELECT ON SEQUENCE {_TABLE}_id_seq TO imgqa_technologist; "
            "END IF; END $$")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS imgqa_{_TABLE}_read_only ON {_TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS imgqa_{_TABLE}_no_truncate ON {_TABLE}")
    op.drop_index(op.f('ix_session_file_session_id'), table_name=_TABLE)
    op.drop_table(_TABLE)
