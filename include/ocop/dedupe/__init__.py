"""Deduplication: source records -> stable product ids (outputs.md §3).

normalise (``normalize``) -> block (``block``) -> score (``score``) -> cluster (``cluster``)
-> stable ids and overrides (``identity``). ``review`` and ``evaluate`` are helpers for people
and for measuring against the generator's ground truth. See docs/dedupe.md.
"""

from ocop.dedupe.assign import DedupeResult, assign_products

__all__ = ["DedupeResult", "assign_products"]
