"""The province of a product is a dated fact: ``province_conflict`` gets one row per period.

Until this revision a product listed by several provinces was placed, for all time, in the
province of its most recent decision, so a later snapshot elsewhere changed past counts. Now
``product_version`` holds one version per period in the province chosen for that period
(``ocop.warehouse.rebuild.resolve_provinces``), and ``province_conflict`` lists the choice per
period: its key becomes ``(product_id, valid_from)``, with ``valid_to``.

The table's rows are derived: upgrade recreates it empty; ``ocop rebuild`` (or the next
consolidation, which rebuilds both) recomputes it together with ``product_version``. Downgrade restores the
0001 table, empty likewise.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from ocop.warehouse import schema
from ocop.warehouse.migrations.frozen import province_conflict_0001

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("province_conflict")
    schema.province_conflict.create(op.get_bind())


def downgrade() -> None:
    op.drop_table("province_conflict")
    province_conflict_0001().create(op.get_bind())
