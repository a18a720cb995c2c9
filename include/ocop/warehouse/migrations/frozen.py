"""Tables as an earlier revision created them, for the revisions that create or restore them.

Revision 0001 builds the tables from ``ocop.warehouse.schema``; a table that a later revision
changed is created by 0001 from its frozen definition here instead, and the later revision's
downgrade restores that definition.
"""

from __future__ import annotations

import sqlalchemy as sa

CHANGED_LATER = {"province_conflict"}   # tables 0001 does not take from ocop.warehouse.schema


def province_conflict_0001() -> sa.Table:
    """``province_conflict`` until 0003: one row per product for all time."""
    from ocop.warehouse import schema

    metadata = sa.MetaData()
    schema.product.to_metadata(metadata)  # the table its key refers to
    return sa.Table(
        "province_conflict", metadata,
        sa.Column("product_id", sa.Integer, sa.ForeignKey("product.product_id"), primary_key=True,
                  autoincrement=False),
        sa.Column("provinces", sa.Text, nullable=False),
        sa.Column("chosen_province", sa.String(2), nullable=False),
        sa.Column("decision_dates", sa.Text, nullable=False),
        sa.Column("detected_run", sa.String(128), nullable=False),
    )
