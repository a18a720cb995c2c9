"""OCOP national registry pipeline: the domain package.

Stages, in the order a row travels: ``ingest`` -> ``validate`` -> ``report`` -> ``dedupe`` ->
``warehouse``. ``pipeline`` chains them; the Airflow DAGs and the ``ocop`` CLI call only
``pipeline``. Nothing in this package imports Airflow.
"""

__version__ = "0.1.0"
