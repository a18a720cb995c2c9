"""Great Expectations imported with scipy.stats and altair deferred (ocop.validate.gx_import)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_gx_import_leaves_scipy_stats_and_altair_unloaded_until_used():
    out = _run("""
        import sys
        import ocop.validate.suite
        print("scipy.stats._stats_py" in sys.modules, "altair.vegalite" in sys.modules)
        from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl
        print(round(float(kl.stats.entropy([0.5, 0.5], [0.25, 0.75])), 6), kl.alt.Chart.__module__)
        print("scipy.stats._stats_py" in sys.modules, type(sys.modules["scipy.stats"]).__name__)
        import scipy.stats
        print(scipy.stats.norm.cdf(0))
    """).splitlines()
    assert out[0] == "False False"
    assert out[1] == "0.143841 altair.vegalite.v6.api"  # the real functions, loaded on first use
    assert out[2] == "True module"
    assert out[3] == "0.5"


def test_a_module_already_imported_is_left_alone():
    out = _run("""
        import sys
        import scipy.stats
        real = sys.modules["scipy.stats"]
        from ocop.validate.gx_import import defer, import_gx
        import_gx()
        print(sys.modules["scipy.stats"] is real, defer("no_such_module_here"))
    """)
    assert out == "True False"
