"""Fresh, empty databases for tests: a SQLite file, or a new PostgreSQL database dropped afterwards.

conftest.py registers this module as a plugin, so every test can use its fixtures.
`db_url` is parametrized over both backends and yields an empty database's URL;
`database` yields an `openmaas.db.session.Database` on that URL, migrated to head.
PostgreSQL tests are skipped only when the server cannot be reached
(set OPENMAAS_TEST_POSTGRES to point them at another server).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from openmaas.db.migrate import upgrade
from openmaas.db.session import Database

POSTGRES_SERVER = os.environ.get("OPENMAAS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'openmaas.db'}"


@contextmanager
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database (as a plain `postgresql://` URL), dropped on exit."""
    name = f"openmaas_test_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_SERVER}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{POSTGRES_SERVER}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
    else:
        with postgres_url() as url:
            yield url


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    upgrade(db_url)
    db = Database(db_url)
    try:
        yield db
    finally:
        db.dispose()
