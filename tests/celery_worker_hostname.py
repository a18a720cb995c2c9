"""``[core] hostname_callable`` of tests/test_deploy_celery.py's Celery workers.

Both workers run on this one machine, so the fully qualified host name Airflow records on each
task instance (``ti.hostname``) would be the same for both. Each worker is given its Celery
node name (``airflow celery worker -H``) in ``OCOP_TEST_WORKER_HOSTNAME``, and its task
instances record that name instead: the test can then tell which worker ran which task."""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("OCOP_TEST_WORKER_HOSTNAME") or socket.getfqdn()
