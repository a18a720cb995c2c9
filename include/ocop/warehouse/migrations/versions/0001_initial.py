"""Initial warehouse: every table of ``ocop.warehouse.schema``, reference data, views, triggers.

This first revision builds the tables from ``schema.metadata`` (the single definition), except
those a later revision changed: those come from their frozen definitions in
``ocop.warehouse.migrations.frozen`` (``province_conflict``, changed by 0003).

Revision ID: 0001
Revises:
"""

from alembic import op

from ocop.reference.groups import GROUPS_148
from ocop.reference.provinces import OLD_PROVINCES, PROVINCES, SCHEME_2008, SCHEME_2025
from ocop.warehouse import schema
from ocop.warehouse.migrations.frozen import CHANGED_LATER, province_conflict_0001

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    schema.metadata.create_all(bind, tables=[t for t in schema.metadata.sorted_tables if t.name not in CHANGED_LATER])
    province_conflict_0001().create(bind)
    op.bulk_insert(schema.ref_province, [
        *({"scheme": SCHEME_2025, "code": p.code, "name": p.short_name, "new_code": p.code}
          for p in PROVINCES.values()),
        *({"scheme": SCHEME_2008, "code": o.code, "name": o.name, "new_code": o.new_code}
          for o in OLD_PROVINCES.values()),
    ])
    op.bulk_insert(schema.ref_product_group, [{"code": c, "name": n} for c, n in GROUPS_148.items()])
    for name, select in schema.view_ddl(bind.dialect).items():
        op.execute(f"CREATE VIEW {name} AS {select}")
    for ddl in schema.trigger_ddl(bind.dialect):
        op.execute(ddl)


def downgrade() -> None:
    bind = op.get_bind()
    for ddl in schema.drop_trigger_ddl(bind.dialect):
        op.execute(ddl)
    for name in schema.view_ddl(bind.dialect):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.drop_table("province_conflict")
    schema.metadata.drop_all(bind, tables=[t for t in schema.metadata.sorted_tables if t.name not in CHANGED_LATER])
