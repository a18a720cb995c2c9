"""OCOP national registry pipeline: the domain package.

Stages, in the order a row travels: ``ingest`` -> ``validate`` -> ``report`` -> ``dedupe`` ->
``warehouse``. ``pipeline`` chains them; the Airflow DAGs and the ``ocop`` CLI call only
``pipeline``. Nothing in this package imports Airflow.
"""

__version__ = "0.1.0"

import os as _os

# Arrow buffers (pandas' string columns, Parquet) from the C library's allocator, not Arrow's
# bundled mimalloc: mimalloc keeps freed pages for reuse, so a process's peak grew with every
# frame it had ever dropped. One Hà Nội file into the 1M-record warehouse: peak 624 -> 559 MB,
# no slower (bench/incremental.py; issue 15). Arrow reads the variable when it is imported;
# imported already (pandas first), its default pool is switched. An explicit setting is kept.
if "ARROW_DEFAULT_MEMORY_POOL" not in _os.environ:
    _os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    import sys as _sys

    if "pyarrow" in _sys.modules:
        _pa = _sys.modules["pyarrow"]
        _pa.set_memory_pool(_pa.system_memory_pool())
