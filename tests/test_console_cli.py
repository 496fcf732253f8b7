"""`hotline users add / list / disable`: exit statuses and what they print."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.__main__ import main


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path / "users.db"}"\n')
    return path


def run(monkeypatch: pytest.MonkeyPatch, config_file: Path, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main([*argv, "--config", str(config_file)])


def test_users_add_list_disable(
    monkeypatch: pytest.MonkeyPatch, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            monkeypatch,
            config_file,
            "users",
            "add",
            "binh",
            "--role",
            "operator",
            stdin="mat-khau-dai-lam\n",
        )
        == 0
    )
    assert (
        run(
            monkeypatch,
            config_file,
            "users",
            "add",
            "xd",
            "--role",
            "agency:xay-dung",
            stdin="mat-khau-dai-lam\n",
        )
        == 0
    )
    assert run(monkeypatch, config_file, "users", "disable", "binh") == 0
    capsys.readouterr()
    assert run(monkeypatch, config_file, "users", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["binh\toperator\tdisabled", "xd\tagency:xay-dung\tactive"]


@pytest.mark.parametrize(
    ("role", "message"),
    [("agency:khong-co", "no such agency"), ("admin", "the role must be"), ("agency", "the role")],
)
def test_users_add_with_a_bad_role_exits_2(
    monkeypatch: pytest.MonkeyPatch,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
    role: str,
    message: str,
) -> None:
    status = run(
        monkeypatch, config_file, "users", "add", "x", "--role", role, stdin="mat-khau-dai-lam\n"
    )
    assert status == 2
    assert message in capsys.readouterr().err


def test_users_add_without_password_or_twice_exits_2(
    monkeypatch: pytest.MonkeyPatch, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, config_file, "users", "add", "binh", "--role", "operator") == 2
    assert (
        run(monkeypatch, config_file, "users", "add", "binh", "--role", "operator", stdin="ngan\n")
        == 2
    )
    assert "at least 8" in capsys.readouterr().err
    assert (
        run(
            monkeypatch,
            config_file,
            "users",
            "add",
            "binh",
            "--role",
            "operator",
            stdin="mat-khau-dai-lam\n",
        )
        == 0
    )
    assert (
        run(
            monkeypatch,
            config_file,
            "users",
            "add",
            "binh",
            "--role",
            "leader",
            stdin="mat-khau-dai-lam\n",
        )
        == 2
    )
    assert "exists" in capsys.readouterr().err


def test_users_disable_unknown_exits_2(
    monkeypatch: pytest.MonkeyPatch, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, config_file, "users", "disable", "ai-do") == 2
    assert "no such user" in capsys.readouterr().err
