"""Synthetic national OCOP data set and its ground truth (deterministic by seed).

``generate(out_dir, seed, scale)`` writes ``<out_dir>/inbox/<code>/<file>`` (every province's
register at 2025-06-30 and 2025-12-31 in its own file design, plus one file rejected as a
whole) and ``<out_dir>/truth.json`` (see :mod:`ocop.generate.truth`).

Modules: ``names`` (vocabularies), ``model`` (the true world of owners and products),
``layout`` (each province's file design), ``noise`` (harmless rewrites), ``submissions``
(rows per file, injected problems), ``render`` (cells and files), ``truth`` (ground truth).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ocop.generate.layout import design_layouts
from ocop.generate.model import build_world
from ocop.generate.render import write
from ocop.generate.submissions import build_submissions
from ocop.generate.truth import build_truth

__all__ = ["generate"]


def generate(out_dir: Path, seed: int = 2025, scale: float = 1.0) -> Path:
    """Write the inbox and ``truth.json`` under ``out_dir``; returns the path of truth.json."""
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    layouts = design_layouts(rng)
    world = build_world(rng, scale)
    subs = build_submissions(world, layouts, rng)
    grids = [write(sub, out_dir / "inbox", np.random.default_rng([seed, i])) for i, sub in enumerate(subs)]
    truth = build_truth(subs, grids, seed, scale)
    path = out_dir / "truth.json"
    path.write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
