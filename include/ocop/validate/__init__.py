"""Validation: the rule table (``rules``), the GX suites built from it (``suite``), the pandas
helper checks (``checks``) and ``run.validate`` / ``run.file_rejected``.

Import ``ocop.validate.run`` for ``validate``; this package does not import Great Expectations
itself, so ``ocop.validate.rules`` stays cheap to import (reports use it).
"""
