"""Routing rules (issue 12): which test runs on a series that arrives without a person.

``routing_rule`` is versioned and insert-only like ``tolerance``: every change (a new rule, a
rule disabled) is a new row with the same ``rule_id``, a ``version`` one higher, the reason,
who and when; the newest version of a rule is in force, and a disabled rule is a version with
``active`` false, never a deleted row. Conditions on the series header (modality, station name,
device serial number, manufacturer, model, a regular expression on SeriesDescription or
ProtocolName, image rows/columns; empty = any) lead to a protocol with parameters and to an
equipment (``equipment_id``) or to registering the device from the header
(``create_equipment``).

Same triggers as the other history tables (UPDATE and DELETE refused; TRUNCATE too on
PostgreSQL). On PostgreSQL, when the group roles exist, ``imgqa_physicist`` gets SELECT and
INSERT (and ``imgqa_technologist`` SELECT, as the automatic analysis reads the rules), and the
audit function of revision 0003 learns that ``set_rule`` is a physicist's action.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 18:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_TABLE = "routing_rule"
_FN = "imgqa_audit_append(timestamptz, text, text, text, integer, text, text, text)"
_OLD_LIST = "'set_tolerance', 'review', 'assign_protocol')"
_NEW_LIST = "'set_tolerance', 'review', 'assign_protocol', 'set_rule')"


def upgrade() -> None:
    op.create_table(_TABLE,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('protocol', sa.String(length=100), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=True),
    sa.Column('create_equipment', sa.Boolean(), nullable=False),
    sa.Column('modality', sa.String(length=16), nullable=False),
    sa.Column('station_name', sa.String(length=200), nullable=False),
    sa.Column('serial', sa.String(length=200), nullable=False),
    sa.Column('manufacturer', sa.String(length=200), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=True),
    sa.Column('columns', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('version >= 1', name=op.f('ck_routing_rule_version')),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_routing_rule_equipment_id_equipment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_rule')),
    sa.UniqueConstraint('rule_id', 'version', name=op.f('uq_routing_rule_rule_id'))
    )
    _create_immutability_triggers()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'imgqa_physicist') "
            f"THEN GRANT SELECT, INSERT ON {_TABLE} TO imgqa_physicist; "
            f"GRANT USAGE, SELECT ON SEQUENCE {_TABLE}_id_seq TO imgqa_physicist; "
            f"GRANT SELECT ON {_TABLE} TO imgqa_technologist; END IF; END $$")
        _swap_audit_action_list(_OLD_LIST, _NEW_LIST)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _swap_audit_action_list(_NEW_LIST, _OLD_LIST)
        op.execute(f"DROP TRIGGER IF EXISTS imgqa_{_TABLE}_read_only ON {_TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS imgqa_{_TABLE}_no_truncate ON {_TABLE}")
    op.drop_table(_TABLE)


def _swap_audit_action_list(old: str, new: str) -> None:
    """Rewrite the physicist's action list in 0003's audit function (the rest unchanged)."""
    bind = op.get_bind()
    src = bind.exec_driver_sql(
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.proname = "
        "'imgqa_audit_append' AND pg_function_is_visible(p.oid)").scalar_one_or_none()
    if src is None or old not in src:
        return
    # exec_driver_sql hands psycopg a parameter tuple, so a literal % is written %%.
    bind.exec_driver_sql(src.replace(old, new).replace("%", "%%"))
    op.execute(f"REVOKE ALL ON FUNCTION {_FN} FROM PUBLIC")


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
