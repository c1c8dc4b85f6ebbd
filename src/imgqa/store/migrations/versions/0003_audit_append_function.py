"""Audit log appended through a SECURITY DEFINER function on PostgreSQL.

Until 0002 technologists had INSERT on ``audit_log``, so a login with psql could write any
well-formed entry (any actor, any action). From 0003 no login role has INSERT on it; entries
go through ``imgqa_audit_append(at, actor, action, entity, entity_id, details, prev_hash,
hash)``, which runs with the owner's rights and refuses an entry

* whose actor is not the caller's login (``session_user``),
* whose action needs a higher role than the caller holds (save_session, comment,
  service_event: technologist; set_baseline, set_tolerance, review, assign_protocol:
  physicist; anything else: admin; the owner and superusers may do all),
* that does not follow the newest entry (``prev_hash``), or whose hash is not 64 hex digits.

It takes the writers' advisory lock itself, so entries stay in one line. When the group roles
of ``imgqa db init-roles`` exist, this revision revokes INSERT on ``audit_log`` from
``imgqa_technologist`` and grants it EXECUTE on the function (run ``init-roles`` again after
the upgrade as usual). Hashes are still computed by the client: with a department key the
server never sees the key. SQLite has no roles: nothing changes there (the revision is recorded
and the file backed up before, as for every upgrade).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 14:00:00
"""
from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Frozen copy of imgqa.store.db.PG_WRITE_LOCK (the writers' advisory lock key) at this revision.
_PG_WRITE_LOCK = 0x1A6_0A
_SIGNATURE = "imgqa_audit_append(timestamptz, text, text, text, integer, text, text, text)"
_PARAMS = ("p_at timestamptz, p_actor text, p_action text, p_entity text, p_entity_id integer, "
           "p_details text, p_prev_hash text, p_hash text")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar_one()
    op.execute(f"""
CREATE OR REPLACE FUNCTION imgqa_audit_append({_PARAMS})
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path = "{schema}", pg_temp AS $fn$
DECLARE
    head text;
    need text;
    owner_name name;
    new_id integer;
BEGIN
    IF p_actor IS DISTINCT FROM CAST(session_user AS text) THEN
        RAISE EXCEPTION 'imgqa: audit entries are recorded under your login (%), not %',
            session_user, p_actor USING ERRCODE = '42501';
    END IF;
    need := CASE
        WHEN p_action IN ('save_session', 'comment', 'service_event')
            THEN 'imgqa_technologist'
        WHEN p_action IN ('set_baseline', 'set_tolerance', 'review', 'assign_protocol')
            THEN 'imgqa_physicist'
        ELSE 'imgqa_admin' END;
    SELECT tableowner INTO owner_name FROM pg_tables
        WHERE schemaname = '{schema}' AND tablename = 'audit_log';
    IF NOT (COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = session_user), false)
            OR pg_has_role(session_user, owner_name, 'MEMBER')
            OR (EXISTS (SELECT 1 FROM pg_roles WHERE rolname = need)
                AND pg_has_role(session_user, need, 'MEMBER'))) THEN
        RAISE EXCEPTION 'imgqa: % may not record %: this needs role %', session_user, p_action,
            need USING ERRCODE = '42501';
    END IF;
    IF p_hash IS NULL OR p_hash !~ '^[0-9a-f]{{64}}$' THEN
        RAISE EXCEPTION 'imgqa: an audit hash is 64 hex digits' USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock({_PG_WRITE_LOCK});
    SELECT hash INTO head FROM audit_log ORDER BY id DESC LIMIT 1;
    IF p_prev_hash IS DISTINCT FROM COALESCE(head, repeat('0', 64)) THEN
        RAISE EXCEPTION 'imgqa: the audit entry does not follow the newest entry'
            USING ERRCODE = '40001';
    END IF;
    INSERT INTO audit_log (at, actor, action, entity, entity_id, details, prev_hash, hash)
        VALUES (p_at, p_actor, p_action, p_entity, p_entity_id, p_details, p_prev_hash, p_hash)
        RETURNING id INTO new_id;
    RETURN new_id;
END
$fn$""")
    op.execute(f"REVOKE ALL ON FUNCTION {_SIGNATURE} FROM PUBLIC")
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'imgqa_technologist') "
        "THEN REVOKE INSERT ON audit_log FROM imgqa_technologist; "
        f"GRANT EXECUTE ON FUNCTION {_SIGNATURE} TO imgqa_technologist; "
        "END IF; END $$")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {_SIGNATURE}")
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'imgqa_technologist') "
        "THEN GRANT INSERT ON audit_log TO imgqa_technologist; END IF; END $$")
