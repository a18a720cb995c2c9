"""Shared fixtures. PostgreSQL is real: each test that asks for ``pg_url`` gets a fresh database
on the server at 127.0.0.1:5432 (``OCOP_TEST_PG`` overrides the server URL), dropped afterwards."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import NamedTuple

import pytest

PG_SERVER = os.environ.get("OCOP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


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
