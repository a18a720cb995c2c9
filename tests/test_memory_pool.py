"""Arrow buffers come from the C library's allocator in every ocop process (``ocop/__init__``):
Arrow's bundled mimalloc keeps freed pages, which raised the peak of a one-file run into the
1M-record warehouse from 559 to 624 MB (bench/incremental.py). An explicit choice is kept."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

POOL = "import pyarrow as pa; print(pa.default_memory_pool().backend_name)"


@pytest.mark.parametrize("first", ["import ocop", "import pandas, pyarrow; import ocop"])
def test_ocop_processes_allocate_arrow_buffers_with_the_system_allocator(first):
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    out = subprocess.run([sys.executable, "-c", f"{first}; {POOL}"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "system"


def test_an_explicit_arrow_pool_is_kept():
    env = {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": "mimalloc"}
    out = subprocess.run([sys.executable, "-c", f"import ocop; {POOL}"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.split()[-1] == "mimalloc", out.stderr
