"""Initial schema: equipment, sessions, results, baselines, tolerances, reviews, audit log.

Insert-only tables get triggers refusing UPDATE and DELETE, so history cannot be rewritten
even by a tool other than imgqa (the role grants of `imgqa db init-roles` add a second wall).

Revision ID: 0001
Revises:
Create Date: 2026-11-23 03:59:15.308385
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_user',
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('added_by', sa.String(length=200), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('technologist','physicist','admin')", name=op.f('ck_app_user_role')),
    sa.PrimaryKeyConstraint('username', name=op.f('pk_app_user'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_log_hash'))
    )
    op.create_table('site',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site')),
    sa.UniqueConstraint('name', name=op.f('uq_site_name'))
    )
    op.create_table('equipment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('modality', sa.String(length=16), nullable=False),
    sa.Column('manufacturer', sa.String(length=200), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('serial', sa.String(length=200), nullable=False),
    sa.Column('station_name', sa.String(length=200), nullable=False),
    sa.Column('institution', sa.String(length=200), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('field_strength_t', sa.Float(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('match_rules', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_equipment_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equipment'))
    )
    op.create_table('baseline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('protocol', sa.String(length=100), nullable=False),
    sa.Column('measurement', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('old_value', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('set_by', sa.String(length=200), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_baseline_equipment_id_equipment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_baseline'))
    )
    with op.batch_alter_table('baseline', schema=None) as batch_op:
        batch_op.create_index('ix_baseline_key', ['equipment_id', 'protocol', 'measurement'], unique=False)

    op.create_table('protocol_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('protocol', sa.String(length=100), nullable=False),
    sa.Column('frequency', sa.String(length=16), nullable=False),
    sa.Column('next_due', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint("frequency IN ('daily','weekly','monthly','quarterly','annual')", name=op.f('ck_protocol_assignment_frequency')),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_protocol_assignment_equipment_id_equipment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protocol_assignment')),
    sa.UniqueConstraint('equipment_id', 'protocol', name=op.f('uq_protocol_assignment_equipment_id'))
    )
    op.create_table('qc_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('performed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('performed_by', sa.String(length=200), nullable=False),
    sa.Column('saved_by', sa.String(length=200), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_qc_session_equipment_id_equipment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qc_session')),
    sa.UniqueConstraint('uid', name=op.f('uq_qc_session_uid'))
    )
    with op.batch_alter_table('qc_session', schema=None) as batch_op:
        batch_op.create_index('ix_qc_session_equipment_time', ['equipment_id', 'performed_at'], unique=False)

    op.create_table('tolerance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('protocol', sa.String(length=100), nullable=False),
    sa.Column('measurement', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('act_low', sa.Float(), nullable=True),
    sa.Column('tol_low', sa.Float(), nullable=True),
    sa.Column('tol_high', sa.Float(), nullable=True),
    sa.Column('act_high', sa.Float(), nullable=True),
    sa.Column('old', sa.JSON(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('set_by', sa.String(length=200), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('absolute','percent')", name=op.f('ck_tolerance_kind')),
    sa.CheckConstraint('act_low IS NULL OR tol_low IS NULL OR act_low <= tol_low', name=op.f('ck_tolerance_act_low_le_tol_low')),
    sa.CheckConstraint('tol_high IS NULL OR act_high IS NULL OR tol_high <= act_high', name=op.f('ck_tolerance_tol_high_le_act_high')),
    sa.CheckConstraint('tol_low IS NULL OR tol_high IS NULL OR tol_low <= tol_high', name=op.f('ck_tolerance_tol_low_le_tol_high')),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_tolerance_equipment_id_equipment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tolerance'))
    )
    with op.batch_alter_table('tolerance', schema=None) as batch_op:
        batch_op.create_index('ix_tolerance_key', ['equipment_id', 'protocol', 'measurement'], unique=False)

    op.create_table('analysis',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('protocol', sa.String(length=100), nullable=False),
    sa.Column('protocol_version', sa.String(length=32), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('series', sa.JSON(), nullable=False),
    sa.Column('warnings', sa.JSON(), nullable=False),
    sa.Column('imgqa_version', sa.String(length=32), nullable=False),
    sa.Column('analysed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['qc_session.id'], name=op.f('fk_analysis_session_id_qc_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis'))
    )
    with op.batch_alter_table('analysis', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analysis_session_id'), ['session_id'], unique=False)

    op.create_table('review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('reviewer', sa.String(length=200), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("decision IN ('approved','rejected')", name=op.f('ck_review_decision')),
    sa.ForeignKeyConstraint(['session_id'], ['qc_session.id'], name=op.f('fk_review_session_id_qc_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review'))
    )
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_session_id'), ['session_id'], unique=False)

    op.create_table('input_image',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('analysis_id', sa.Integer(), nullable=False),
    sa.Column('sop_instance_uid', sa.String(length=64), nullable=False),
    sa.Column('pixel_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['analysis_id'], ['analysis.id'], name=op.f('fk_input_image_analysis_id_analysis')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_input_image'))
    )
    with op.batch_alter_table('input_image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_input_image_analysis_id'), ['analysis_id'], unique=False)

    op.create_table('result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('analysis_id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('performed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('protocol', sa.String(length=100), nullable=False),
    sa.Column('measurement', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('reference', sa.Float(), nullable=True),
    sa.Column('tol_kind', sa.String(length=16), nullable=True),
    sa.Column('act_low', sa.Float(), nullable=True),
    sa.Column('tol_low', sa.Float(), nullable=True),
    sa.Column('tol_high', sa.Float(), nullable=True),
    sa.Column('act_high', sa.Float(), nullable=True),
    sa.Column('baseline_id', sa.Integer(), nullable=True),
    sa.Column('tolerance_id', sa.Integer(), nullable=True),
    sa.Column('tolerance_source', sa.String(length=100), nullable=False),
    sa.CheckConstraint("status IS NULL OR status IN ('OK','TOLERANCE','ACTION','NO_TOL')", name=op.f('ck_result_status')),
    sa.CheckConstraint("tol_kind IS NULL OR tol_kind IN ('absolute','percent')", name=op.f('ck_result_tol_kind')),
    sa.ForeignKeyConstraint(['analysis_id'], ['analysis.id'], name=op.f('fk_result_analysis_id_analysis')),
    sa.ForeignKeyConstraint(['baseline_id'], ['baseline.id'], name=op.f('fk_result_baseline_id_baseline')),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_result_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['session_id'], ['qc_session.id'], name=op.f('fk_result_session_id_qc_session')),
    sa.ForeignKeyConstraint(['tolerance_id'], ['tolerance.id'], name=op.f('fk_result_tolerance_id_tolerance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result'))
    )
    with op.batch_alter_table('result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_result_session_id'), ['session_id'], unique=False)
        batch_op.create_index('ix_result_trend', ['equipment_id', 'protocol', 'measurement', 'performed_at'], unique=False)

    op.create_table('comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=True),
    sa.Column('author', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['result_id'], ['result.id'], name=op.f('fk_comment_result_id_result')),
    sa.ForeignKeyConstraint(['session_id'], ['qc_session.id'], name=op.f('fk_comment_session_id_qc_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment'))
    )
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comment_session_id'), ['session_id'], unique=False)


    _create_immutability_triggers()

def downgrade() -> None:
    _drop_immutability_triggers()
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comment_session_id'))

    op.drop_table('comment')
    with op.batch_alter_table('result', schema=None) as batch_op:
        batch_op.drop_index('ix_result_trend')
        batch_op.drop_index(batch_op.f('ix_result_session_id'))

    op.drop_table('result')
    with op.batch_alter_table('input_image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_input_image_analysis_id'))

    op.drop_table('input_image')
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_session_id'))

    op.drop_table('review')
    with op.batch_alter_table('analysis', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_session_id'))

    op.drop_table('analysis')
    with op.batch_alter_table('tolerance', schema=None) as batch_op:
        batch_op.drop_index('ix_tolerance_key')

    op.drop_table('tolerance')
    with op.batch_alter_table('qc_session', schema=None) as batch_op:
        batch_op.drop_index('ix_qc_session_equipment_time')

    op.drop_table('qc_session')
    op.drop_table('protocol_assignment')
    with op.batch_alter_table('baseline', schema=None) as batch_op:
        batch_op.drop_index('ix_baseline_key')

    op.drop_table('baseline')
    op.drop_table('equipment')
    op.drop_table('site')
    op.drop_table('audit_log')
    op.drop_table('app_user')


# Tables whose rows are never updated or deleted (frozen here: later revisions add their own).
_IMMUTABLE = ("qc_session", "analysis", "input_image", "result", "baseline", "tolerance",
              "review", "comment", "audit_log")


def _create_immutability_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in _IMMUTABLE:
            for what in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER imgqa_{table}_no_{what.lower()} BEFORE {what} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'imgqa: {table} rows are read-only "
                    f"(history is never rewritten)'); END")
    elif dialect == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION imgqa_refuse_change() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
            "'imgqa: % rows are read-only (history is never rewritten)', TG_TABLE_NAME "
            "USING ERRCODE = 'insufficient_privilege'; END $$")
        for table in _IMMUTABLE:
            op.execute(f"CREATE TRIGGER imgqa_{table}_read_only BEFORE UPDATE OR DELETE ON "
                       f"{table} FOR EACH ROW EXECUTE FUNCTION imgqa_refuse_change()")
            op.execute(f"CREATE TRIGGER imgqa_{table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION imgqa_refuse_change()")


def _drop_immutability_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in _IMMUTABLE:
            for what in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS imgqa_{table}_no_{what}")
    elif dialect == "postgresql":
        for table in _IMMUTABLE:
            op.execute(f"DROP TRIGGER IF EXISTS imgqa_{table}_read_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS imgqa_{table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS imgqa_refuse_change()")
