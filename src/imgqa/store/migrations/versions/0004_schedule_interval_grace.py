"""Schedules every N days with a grace window (issue 12).

``protocol_assignment`` gains ``interval_days`` (the period when ``frequency`` is ``'days'``,
i.e. ``imgqa schedule set ... --every 10d``; NULL for the named frequencies) and
``grace_days`` (how many days past its due date a test is "overdue within grace" before it is
reported overdue; 0 by default). The frequency CHECK constraint now also allows ``'days'``,
and a second CHECK keeps ``interval_days`` set exactly when the frequency is ``'days'``.
Existing rows keep their frequency, get a grace of 0 and no interval. SQLite rebuilds the
table (Alembic batch mode, the file is backed up before as for every upgrade).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_OLD = "frequency IN ('daily','weekly','monthly','quarterly','annual')"
_NEW = "frequency IN ('daily','weekly','monthly','quarterly','annual','days')"
_INTERVAL = ("(frequency = 'days' AND interval_days IS NOT NULL AND interval_days >= 1) "
             "OR (frequency <> 'days' AND interval_days IS NULL)")
_GRACE = "grace_days >= 0"


def upgrade() -> None:
    with op.batch_alter_table('protocol_assignment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interval_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('grace_days', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.drop_constraint(op.f('ck_protocol_assignment_frequency'), type_='check')
        batch_op.create_check_constraint('frequency', _NEW)
        batch_op.create_check_constraint('interval_days', _INTERVAL)
        batch_op.create_check_constraint('grace_days', _GRACE)


def downgrade() -> None:
    op.execute("DELETE FROM protocol_assignment WHERE frequency = 'days'")
    with op.batch_alter_table('protocol_assignment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_protocol_assignment_grace_days'), type_='check')
        batch_op.drop_constraint(op.f('ck_protocol_assignment_interval_days'), type_='check')
        batch_op.drop_constraint(op.f('ck_protocol_assignment_frequency'), type_='check')
        batch_op.create_check_constraint('frequency', _OLD)
        batch_op.drop_column('grace_days')
        batch_op.drop_column('interval_days')
