"""Publication approval and review decisions: who approved a publication, every approval
answer (rejections with their reason), every answer to a review item.

- ``publication.approved_by`` / ``approved_at``;
- ``publication_decision`` and ``review_decision`` (see ``ocop.warehouse.schema``).

Revision 0001 builds its tables from the current ``schema.metadata``, so a warehouse created at
this revision already has these; this revision adds only what an older warehouse lacks, and
its downgrade removes them.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from ocop.warehouse import schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NEW_COLUMNS = ("approved_by", "approved_at")
NEW_TABLES = (schema.publication_decision, schema.review_decision)


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    have = {c["name"] for c in inspector.get_columns("publication")}
    for name in NEW_COLUMNS:
        if name not in have:  # ADD COLUMN: no table rebuild on either dialect
            op.add_column("publication", schema.publication.c[name].copy())
    tables = set(inspector.get_table_names())
    for table in NEW_TABLES:
        if table.name not in tables:
            table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(NEW_TABLES):
        table.drop(bind, checkfirst=True)
    for name in NEW_COLUMNS:  # SQLite >= 3.35 drops a plain column in place
        op.execute(f"ALTER TABLE publication DROP COLUMN {name}")
