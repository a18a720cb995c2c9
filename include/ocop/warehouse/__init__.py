"""The national warehouse: schema and migrations, consolidation (load + product identities +
SCD2 history), the official counts, publications and the read-only role.

See docs/warehouse.md for the tables and views and how to query them.
"""

from ocop.warehouse.counts import (Counts, counts_as_of, counts_csv, counts_json, export_links,
                                   format_counts_table, registered_products)
from ocop.warehouse.db import downgrade, make_engine, upgrade
from ocop.warehouse.load import Bundle, ConsolidationResult, consolidate, rebuild_all, record_override, review_pairs
from ocop.warehouse.rebuild import RebuildStats, rebuild_products

__all__ = [
    "Bundle", "ConsolidationResult", "Counts", "RebuildStats", "consolidate", "counts_as_of",
    "counts_csv", "counts_json", "downgrade", "export_links", "format_counts_table", "make_engine",
    "rebuild_all", "rebuild_products", "record_override", "registered_products", "review_pairs", "upgrade",
]
