"""cases.subject_id and subjects.name indexed: the complained-about unit's filter

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-05 16:30:00

The list filter "被反映单位" (duban.services.search.filter_clauses: subject) asks for the cases
whose subject has the name typed, or is one of the orgs so named. Neither column was indexed: at a
million cases the filter read every subject and walked every case's entry of the work-order index
to count an org's 1,568 cases (0.2 s on SQLite). Indexed, both are found at once.
"""

from __future__ import annotations

from alembic import op

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_subjects_name", "subjects", ["name"])
    op.create_index("ix_cases_subject_id", "cases", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_cases_subject_id", table_name="cases")
    op.drop_index("ix_subjects_name", table_name="subjects")
