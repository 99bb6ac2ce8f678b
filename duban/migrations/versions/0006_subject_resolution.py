"""subjects resolved by name; a repeat complaint's own subject

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 09:40:00

A subject given by name only is resolved to the org it names (duban.services.subjects), and how is
kept in subjects.resolution (code, name; ambiguous, unknown and conflict are flagged for the
dispatcher). A repeat complaint linked to a case keeps its own subject (repeat_contacts.subject_id),
so avoidance keeps the case from whomever any of its complaints is about.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subjects') as batch:
        batch.add_column(sa.Column('resolution', sa.String(length=16), nullable=False, server_default=''))
    with op.batch_alter_table('repeat_contacts') as batch:
        batch.add_column(sa.Column('subject_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_repeat_contacts_subject_id_subjects', 'subjects',
                                 ['subject_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('repeat_contacts') as batch:
        batch.drop_constraint('fk_repeat_contacts_subject_id_subjects', type_='foreignkey')
        batch.drop_column('subject_id')
    with op.batch_alter_table('subjects') as batch:
        batch.drop_column('resolution')
