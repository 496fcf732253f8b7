"""Shared fixtures: a real database (SQLite, and PostgreSQL where reachable), config, clock."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from bot.config import Config, load_config
from storage.db import Database

PG_URL = os.environ.get("HOTLINE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
PG_REQUIRED = bool(os.environ.get("HOTLINE_REQUIRE_PG"))


def _run_in_thread(factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine on its own loop in a thread (session fixtures may be set up in a loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: asyncio.run(factory())).result()


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _create_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(_dsn(admin_url), timeout=5)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _drop_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(_dsn(admin_url), timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this run; skipped (failed in CI) if absent."""
    name = f"hotline_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        _run_in_thread(lambda: _create_database(PG_URL, name))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"PostgreSQL not reachable at {PG_URL} ({exc}); set HOTLINE_TEST_PG_URL"
        if PG_REQUIRED:
            pytest.fail(message + " (required: HOTLINE_REQUIRE_PG is set)")
        pytest.skip(message)
    url = PG_URL.rsplit("/", 1)[0] + "/" + name

    async def migrate() -> None:
        database = Database(url)
        await database.upgrade()
        await database.dispose()

    _run_in_thread(migrate)
    yield url
    _run_in_thread(lambda: _drop_database(PG_URL, name))


async def _truncate_all(database: Database) -> None:
    from sqlmodel import SQLModel

    names = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    async with database.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


async def empty_postgres(url: str) -> None:
    """Empty every table of the PostgreSQL database at `url` (for tests that start apps on it)."""
    database = Database(url)
    try:
        await _truncate_all(database)
    finally:
        await database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database: SQLite in a temp file, and PostgreSQL."""
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
        await database.upgrade()
    else:
        database = Database(request.getfixturevalue("pg_url"))
        await _truncate_all(database)
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty SQLite database (for tests that need only one backend)."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    await database.upgrade()
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def config() -> Config:
    """The built-in default configuration (the directory of config.example.toml)."""
    return load_config(None, environ={})
