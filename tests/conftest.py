"""Shared fixtures. PostgreSQL is real: each test that asks for ``pg_url`` gets a fresh database
on the server at 127.0.0.1:5432 (``OCOP_TEST_PG`` overrides the server URL), dropped afterwards."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import NamedTuple

import pytest

PG_SERVER = os.environ.get("OCOP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


# The tests that run Airflow itself (DAG runs, the live deployment, the reliability corpus, the
# monitor's real failed task, the REST API probe): one work unit under ``make test`` (``-n 2
# --dist loadgroup``), so two of them never share the machine's two cores against their wait
# limits. Each is also marked ``xdist_group("airflow")``; the check below keeps both in step.
AIRFLOW_GROUP = "airflow"
AIRFLOW_SERIAL = (
    "tests/test_dags.py",
    "tests/test_deploy_live.py",
    "tests/test_reliability_corpus.py",
    "tests/test_monitor.py::test_failure_callback_mails_from_a_real_failed_task",
    "tests/test_reliability_security.py::test_airflow_rest_api_refuses_anonymous_callers",
)


# Work units that take minutes of waiting on processes: handed out first (longest first, so
# neither xdist worker is left with a long unit at the end). xdist otherwise orders units by
# their number of tests, which put the one-test Celery deployment last, alone, on the tail.
# Longest units first (longest-processing-time order), so no long one is left alone on the tail:
# the serial Airflow unit, the Celery deployment, then the national end-to-end runs and the
# property tests.
FIRST_UNITS = (AIRFLOW_GROUP, "tests/test_deploy_celery.py", "tests/test_pipeline_e2e.py",
               "tests/test_warehouse_history.py", "tests/test_warehouse_incremental.py",
               "tests/test_bench_incremental.py")


def _serial(nodeid: str) -> bool:
    return any(nodeid == p or nodeid.startswith((p + "::", p + "[")) for p in AIRFLOW_SERIAL)


def pytest_collection_modifyitems(config, items):
    """Every ``xdist_group("airflow")`` test is in :data:`AIRFLOW_SERIAL` and the other way round."""
    wrong = [item.nodeid for item in items
             if any(m.args[:1] == (AIRFLOW_GROUP,) for m in item.iter_markers("xdist_group")) != _serial(item.nodeid)]
    if wrong:
        raise pytest.UsageError("xdist_group('airflow') and tests/conftest.py AIRFLOW_SERIAL disagree on: "
                                + ", ".join(wrong))


@pytest.hookimpl(optionalhook=True)  # xdist's hook: fine without xdist (-p no:xdist)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup`` with work units of our own: the :data:`AIRFLOW_SERIAL` tests form one
    unit, every other test file is one unit (as ``--dist loadfile``: a module's fixtures are built
    once, files spread over both workers). xdist's own loadgroup cannot do this under pytest 9: it
    renames ``item._nodeid`` to add the group, which pytest 9 no longer reads (``nodeid`` comes
    from ``item._id``), so ``xdist_group`` marks were silently ignored."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class AirflowApart(LoadScopeScheduling):
        _ordered = False

        def _split_scope(self, nodeid: str) -> str:
            return AIRFLOW_GROUP if _serial(nodeid) else nodeid.split("::", 1)[0]

        def _assign_work_unit(self, node):
            if not self._ordered:  # the queue is complete when the first unit is handed out
                self._ordered = True
                for scope in reversed([s for s in FIRST_UNITS if s in self.workqueue]):
                    self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return AirflowApart(config, log)


def _admin_connect():
    import psycopg

    return psycopg.connect(PG_SERVER, autocommit=True)


@pytest.fixture
def pg_url():
    """URL of a brand-new empty PostgreSQL database (SQLAlchemy form, psycopg 3 driver)."""
    name = f"ocop_test_{uuid.uuid4().hex[:10]}"
    with _admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_SERVER.rsplit("/", 1)[0]
    yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    with _admin_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'warehouse.db'}"


@pytest.fixture(scope="session")
def small_national(tmp_path_factory):
    """A small national data set (all 34 provinces, two snapshots) and its ground truth."""
    import json

    from ocop.generate import generate

    out = tmp_path_factory.mktemp("national")
    truth_path = generate(out, seed=7, scale=0.03)
    return out / "inbox", json.loads(Path(truth_path).read_text(encoding="utf-8"))


class SmtpSink(NamedTuple):
    host: str
    port: int
    messages: list  # aiosmtpd envelopes, in arrival order


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free loopback port (aiosmtpd), collecting what it receives."""
    import socket

    from aiosmtpd.controller import Controller

    class Collect:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpSink("127.0.0.1", port, handler.messages)
    finally:
        controller.stop()
