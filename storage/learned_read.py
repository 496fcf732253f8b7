"""Read the learned triage weights with the database driver alone, for `hotline classify`.

`hotline classify` is a filter started again and again by scripts; its start-up is part of its
speed. Importing SQLAlchemy and SQLModel to read one table cost half a second, more than the
rest of the start-up, so the two databases the bot ships for are read here with their own
drivers (the standard `sqlite3`, and asyncpg). Any other URL goes through the usual storage
layer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Coroutine, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

Weight = tuple[str, str, float, int]
# The one query, here and in `storage.learned`: the table `storage.models.LearnedPhrase` maps.
QUERY = "SELECT phrase, category_id, weight, tickets FROM learned_phrase"


class LearnedUnreadable(Exception):
    """The learned weights could not be read (no such table, database away)."""


def read_learned_weights(
    url: str, fallback: Callable[[], Coroutine[Any, Any, list[Weight]]]
) -> list[Weight]:
    """Return every learned weight as (phrase, category, weight, tickets); none for a SQLite
    file that does not exist (reading must not create it). `fallback` reads other URLs."""
    scheme, _, rest = url.partition("://")
    if scheme.split("+")[0] == "sqlite":
        return _read_sqlite(rest)
    import asyncio  # only here: importing it costs the command's start-up a tenth of a second

    if scheme in ("postgresql+asyncpg", "postgresql", "postgres"):
        return asyncio.run(_read_postgresql("postgresql://" + rest))
    return asyncio.run(fallback())


def _read_sqlite(rest: str) -> list[Weight]:
    path = unquote(rest[1:].split("?", 1)[0])  # "sqlite:///x.db" leaves "/x.db"
    if not path or path == ":memory:" or not Path(path).is_file():
        return []
    try:
        connection = sqlite3.connect(path, timeout=30)
    except sqlite3.Error as exc:
        raise LearnedUnreadable(str(exc)) from exc
    try:
        # typed already: the table's columns give SQLite's values their types (TEXT, REAL,
        # INTEGER), and converting 100,000 rows again costs the start-up a tenth of a second
        rows: list[Weight] = connection.execute(QUERY).fetchall()
        return rows
    except sqlite3.Error as exc:
        raise LearnedUnreadable(str(exc)) from exc
    finally:
        connection.close()


async def _read_postgresql(dsn: str) -> list[Weight]:
    import asyncpg

    try:
        connection = await asyncpg.connect(dsn, timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise LearnedUnreadable(str(exc)) from exc
    try:
        rows = await connection.fetch(QUERY)
    except asyncpg.PostgresError as exc:
        raise LearnedUnreadable(str(exc)) from exc
    finally:
        await connection.close()
    return weights_of(rows)


def weights_of(rows: Iterable[Sequence[Any]]) -> list[Weight]:
    """The rows of QUERY, whichever driver read them, as typed tuples."""
    return [(str(p), str(c), float(w), int(t)) for p, c, w, t in rows]
