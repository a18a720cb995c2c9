"""The dedupe modules' docstring examples are their specification: run them as doctests.

``make test`` runs pytest on ``tests/`` only, so the examples are collected here, one test per
module, rather than through ``--doctest-modules`` on ``include/``.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import ocop.dedupe

MODULES = sorted(f"ocop.dedupe.{m.name}" for m in pkgutil.iter_modules(ocop.dedupe.__path__))
WITH_EXAMPLES = {"ocop.dedupe.normalize", "ocop.dedupe.score"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if name in WITH_EXAMPLES:
        assert result.attempted >= 5  # the examples exist: a deleted docstring fails too
