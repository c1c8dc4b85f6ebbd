"""Service events: tube change, detector recalibration, software upgrade, part replacement...

Physicists read drift and step changes on a trend chart relative to what was done to the
equipment, and often restart the baseline after it. The table is insert-only like the other
history tables (same triggers as revision 0001: UPDATE and DELETE refused on SQLite; UPDATE,
DELETE and TRUNCATE refused on PostgreSQL). Run `imgqa db init-roles` after this upgrade on
PostgreSQL to refresh all grants; when the group roles of `init-roles` already exist this
revision grants SELECT and INSERT on the new table to ``imgqa_technologist`` itself (and so
to physicists and admins, its members), so trends keep working for every login right after
the owner upgrades. Nobody gets UPDATE or DELETE.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_TABLE = "service_event"


def upgrade() -> None:
    op.create_table(_TABLE,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('performed_by', sa.String(length=200), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_service_event_equipment_id_equipment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_event'))
    )
    with op.batch_alter_table(_TABLE, schema=None) as batch_op:
        batch_op.create_index('ix_service_event_equipment_time', ['equipment_id', 'occurred_at'], unique=False)
    _create_immutability_triggers()
    _grant_if_roles_exist()


def downgrade() -> None:
    _drop_immutability_triggers()
    with op.batch_alter_table(_TABLE, schema=None) as batch_op:
        batch_op.drop_index('ix_service_event_equipment_time')
    op.drop_table(_TABLE)


def _grant_if_roles_exist() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'imgqa_technologist') "
        f"THEN GRANT SELECT, INSERT ON {_TABLE} TO imgqa_technologist; "
        f"GRANT USAGE, SELECT ON SEQUENCE {_TABLE}_id_seq TO imgqa_technologist; "
        "END IF; END $$")


# The same triggers as revision 0001 (the PostgreSQL function imgqa_refuse_change() it made
# is reused; it is dropped only by 0001's downgrade).
def _create_immutability_triggers() -> None:
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


def _drop_immutability_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for what in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS imgqa_{_TABLE}_no_{what}")
    elif dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS imgqa_{_TABLE}_read_only ON {_TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS imgqa_{_TABLE}_no_truncate ON {_TABLE}")
