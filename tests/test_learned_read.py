"""`hotline classify` reads the learned weights with the database driver alone."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.__main__ import main
from storage.db import Database
from storage.learned import learned_weights, replace_phrases
from storage.learned_read import LearnedUnreadable, read_learned_weights

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
ROWS = [("vòi nước khô", "cap-nuoc", 1.25, 7), ("", "cap-nuoc", -0.5, 0)]


async def never() -> list[tuple[str, str, float, int]]:
    raise AssertionError("the storage layer must not be needed for this URL")


async def test_both_databases_give_what_the_storage_layer_gives(db: Database) -> None:
    async with db.transaction() as session:
        await replace_phrases(session, ROWS, NOW)
    async with db.transaction() as session:
        expected = await learned_weights(session)
    # The reader runs its own event loop, as the command does.
    read = await asyncio.to_thread(read_learned_weights, db.url, never)
    assert sorted(read) == sorted(expected) == sorted(ROWS)
    assert {tuple(map(type, row)) for row in read} == {(str, str, float, int)}


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    target = tmp_path / "none.db"
    assert read_learned_weights(f"sqlite+aiosqlite:///{target}", never) == []
    assert not target.exists()


def test_a_database_without_the_table_is_unreadable(tmp_path: Path) -> None:
    target = tmp_path / "other.db"
    sqlite3.connect(target).close()
    with pytest.raises(LearnedUnreadable, match="learned_phrase"):
        read_learned_weights(f"sqlite:///{target}", never)


def test_an_unreachable_postgresql_is_unreadable() -> None:
    with pytest.raises(LearnedUnreadable):
        read_learned_weights("postgresql+asyncpg://nobody@127.0.0.1:9/none", never)


def test_other_databases_go_through_the_storage_layer() -> None:
    async def through_storage() -> list[tuple[str, str, float, int]]:
        return ROWS

    assert read_learned_weights("mysql+aiomysql://u@h/db", through_storage) == ROWS


def test_classify_without_the_table_warns_and_still_classifies(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    target = tmp_path / "other.db"
    sqlite3.connect(target).close()
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "sqlite+aiosqlite:///{target}"\n', "utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("Nhà tôi mất nước ba ngày nay rồi\n"))
    assert main(["classify", "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out)["category"] == "cap-nuoc"
    assert "no learned triage phrases read" in caplog.text
