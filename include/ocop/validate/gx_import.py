"""Import Great Expectations without loading what this project never runs.

``import great_expectations`` imports every expectation GX ships. One of them,
``ExpectColumnKlDivergenceToBeLessThan``, imports ``scipy.stats`` and ``altair`` at module
level (about 1.3 s of the 3 s of CPU the import costs here) and uses them only inside its
methods; two distribution metrics do the same with ``scipy.stats``. None of the rules runs
them. :func:`import_gx` puts a stand-in for each of those two modules into ``sys.modules``
before importing GX: the first attribute looked up on a stand-in imports the real module and
answers from it, so anything that does use them still gets the real thing, only later.

A module already imported is left alone, and so is one that is not installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types

DEFERRED = ("scipy.stats", "altair")


class _Deferred(types.ModuleType):
    """Stands in for a module until one of its attributes is looked up."""

    def __getattr__(self, attr: str):
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        return getattr(importlib.import_module(name), attr)


def defer(name: str) -> bool:
    """Put a stand-in for module ``name`` into ``sys.modules``; False if it is imported already
    or not installed."""
    if name in sys.modules:
        return False
    parent = name.rpartition(".")[0]
    try:
        if importlib.util.find_spec(name) is None:  # (imports the parent package, e.g. scipy)
            return False
    except (ImportError, ValueError):
        return False
    stand_in = _Deferred(name)
    stand_in.__spec__ = stand_in.__loader__ = stand_in.__file__ = None
    sys.modules[name] = stand_in
    if parent:  # ``from scipy import stats`` finds the stand-in as the package's attribute
        setattr(sys.modules[parent], name.rpartition(".")[2], stand_in)
    return True


def import_gx():
    """``great_expectations``, imported once per process with :data:`DEFERRED` deferred."""
    if "great_expectations" not in sys.modules:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no network: never phone home
        for name in DEFERRED:
            defer(name)
    import great_expectations

    return great_expectations
