"""account record: a keyed, append-only chain of account administration

Revision ID: 0024
Revises: 0019
Create Date: 2026-12-05 02:00:00

Who gave whom which role and org decides who sees complainants' identities: every change to an
account is an event of this chain (duban/services/accountaudit.py). The users already there get
one `account_recorded` event each, sealed under the audit keys, so that `duban audit verify`
compares each of them with the record from now on.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlmodel
from alembic import op

import duban.models.base
from duban.models.account import ACCOUNT_APPEND_ONLY_DDL, ACCOUNT_REVOKE

revision = '0024'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', duban.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('actor_role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('alg', sa.String(length=8), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq')
    )
    with op.batch_alter_table('account_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_events_username'), ['username'], unique=False)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("account_seq", sa.Integer(), nullable=False, server_default="0"))
    bind = op.get_bind()
    for statement in ACCOUNT_APPEND_ONLY_DDL.get(bind.dialect.name, []):
        op.execute(statement)
    if bind.dialect.name == "postgresql":
        op.execute(ACCOUNT_REVOKE)
    if bind.execute(sa.text("SELECT count(*) FROM users")).scalar():
        from duban.services.accountaudit import record_existing

        record_existing(bind, at=dt.datetime.now(dt.UTC))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS account_events_append_only ON account_events")
        op.execute("DROP FUNCTION IF EXISTS account_events_append_only()")
    with op.batch_alter_table('account_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_events_username'))
    op.drop_table('account_events')
    with op.batch_alter_table("users") as batch:
        batch.drop_column("account_seq")
