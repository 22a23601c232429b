"""Fixtures shared by every test package: database URLs for SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.helpers import FeedServer, Sink, SmtpSink

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - dev extra installs it
        return f"psycopg not installed: {exc}"
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:
        return f"PostgreSQL at 127.0.0.1:5432 not reachable: {exc}"


_PG_REASON: str | None = None
_PG_CHECKED = False


def require_postgres() -> None:
    """Skip (or fail, with NEWSMON_TEST_POSTGRES=required) when PostgreSQL is absent."""
    global _PG_REASON, _PG_CHECKED
    if not _PG_CHECKED:
        _PG_REASON = _postgres_available()
        _PG_CHECKED = True
    if _PG_REASON is not None:
        if os.environ.get("NEWSMON_TEST_POSTGRES") == "required":
            pytest.fail(f"NEWSMON_TEST_POSTGRES=required but {_PG_REASON}")
        pytest.skip(_PG_REASON)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    require_postgres()
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
        )
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'newsmon.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs twice: on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'newsmon.db'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def corpus() -> Path:
    """The shared real-world corpus; tests using it skip when it is absent.

    With NEWSMON_TEST_CORPUS=required (set by .ci/run) a missing corpus fails
    the test instead, so CI can never pass by skipping them.
    """
    if not CORPUS.is_dir():
        message = f"shared corpus not found at {CORPUS}"
        if os.environ.get("NEWSMON_TEST_CORPUS") == "required":
            pytest.fail(f"{message} (NEWSMON_TEST_CORPUS=required)")
        pytest.skip(message)
    return CORPUS


@pytest.fixture
def feeds(httpserver: HTTPServer) -> FeedServer:
    """Feeds and pages on a real HTTP server on 127.0.0.1, with ETag/304."""
    return FeedServer(httpserver)


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A local HTTP sink for the Telegram Bot API and webhooks."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield Sink(server)
    finally:
        server.clear()
        server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1."""
    server = SmtpSink()
    server.start()
    try:
        yield server
    finally:
        server.stop()
