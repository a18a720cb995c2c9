"""``review_pair``: the borderline pairs dedupe leaves for a person, stored by every rebuild.

Before it, the review workflow (``ocop_publish``'s review tasks, ``ocop dedupe review``) ran
dedupe read-only over every record of the warehouse to list them: on a warehouse of 1M source
records that took about 20 s and 2 GB. Now each consolidation writes the pairs of what it
re-clusters (``ocop.warehouse.rebuild``), and the workflow reads the table. Upgrade creates the
table and fills it once with that same read-only dedupe over the stored records.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from ocop.warehouse import schema

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if schema.review_pair.name in set(sa.inspect(bind).get_table_names()):
        return
    schema.review_pair.create(bind)
    from ocop.dedupe import assign_products
    from ocop.warehouse.rebuild import borderline_pairs, write_review_pairs

    write_review_pairs(bind, borderline_pairs(bind, assign_products), "migration-0006")


def downgrade() -> None:
    schema.review_pair.drop(op.get_bind(), checkfirst=True)
