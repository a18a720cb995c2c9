"""``source_record.match_key``: the matching key of every record, stored and indexed.

Incremental consolidation (``ocop.warehouse.rebuild``) re-clusters only the provinces that
received a new snapshot. It finds their products' twins in other provinces through this
column (owner key + ``\\x1f`` + product key, as ``ocop.dedupe`` computes them) instead of
reading every province. Upgrade adds the column and its index and fills it for the records
already stored, per distinct owner and product name. ``ocop rebuild`` recomputes it too.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns("source_record")}
    if "match_key" not in columns:
        op.add_column("source_record", sa.Column("match_key", sa.Text))
    indexes = {i["name"] for i in sa.inspect(bind).get_indexes("source_record")}
    if "ix_source_record_match_key" not in indexes:
        op.create_index("ix_source_record_match_key", "source_record", ["match_key"])
    from ocop.warehouse.rebuild import fill_match_keys

    fill_match_keys(bind)


def downgrade() -> None:
    op.drop_index("ix_source_record_match_key", table_name="source_record")
    # Plain ALTER (SQLite >= 3.35 has DROP COLUMN): a batch copy of source_record would trip
    # the foreign keys that point at it.
    op.execute("ALTER TABLE source_record DROP COLUMN match_key")
