"""The `hotline` command line: exit statuses and outputs other programs rely on."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main

CLASSIFY_FIELDS = {
    "category",
    "agency",
    "confidence",
    "track",
    "ward",
    "subject_agency",
    "evidence",
}


def config_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path / "cli.db"}"\n{extra}', encoding="utf-8"
    )
    return path


def test_classify_prints_one_json_decision_per_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = "Đường Nguyễn Ái Quốc có nhiều ổ gà nguy hiểm\n\ncan bo xa doi phong bi moi ky\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    status = main(["classify", "--config", str(config_file(tmp_path))])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 0
    assert len(out) == 3
    assert all(set(item) >= CLASSIFY_FIELDS for item in out)
    assert out[0]["category"] == "giao-thong"
    assert out[0]["agency"] == "xay-dung"
    assert out[1]["agency"] == "triage"  # an empty line is nobody's complaint
    assert 0.0 <= out[2]["confidence"] <= 1.0


def test_console_script_module_runs_classify(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "classify", "--config", str(config_file(tmp_path))],
        input="Khu phố 3 mất nước sinh hoạt ba ngày nay\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["category"] == "cap-nuoc"


class _PidDecision:
    def __init__(self, text: str) -> None:
        self.text = text

    def to_json(self) -> dict[str, object]:
        return {"text": self.text, "pid": os.getpid()}


class _PidClassifier:
    """Says which process classified each line."""

    def classify(self, text: str) -> _PidDecision:
        return _PidDecision(text)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import classify_stream as stream

    monkeypatch.setattr(stream, "PARALLEL_FROM", 20)
    monkeypatch.setattr(stream, "CHUNK", 7)
    monkeypatch.setattr(stream, "worker_count", lambda: 2)


@pytest.mark.usefixtures("small_batches")
def test_large_input_is_classified_by_workers_in_input_order() -> None:
    from bot.classify_stream import classify_stream

    source = "".join(f"line {i}\n" for i in range(60))
    out = io.StringIO()
    classify_stream(_PidClassifier(), io.StringIO(source), out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["text"] for r in rows] == [f"line {i}" for i in range(60)]
    # the first chunk here (it fills the caches the workers inherit), the rest by the workers
    assert {r["pid"] for r in rows[:7]} == {os.getpid()}
    assert os.getpid() not in {r["pid"] for r in rows[7:]}


@pytest.mark.usefixtures("small_batches")
def test_small_input_is_classified_in_this_process() -> None:
    from bot.classify_stream import classify_stream

    out = io.StringIO()
    classify_stream(_PidClassifier(), io.StringIO("a\nb\n"), out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["text"], r["pid"]) for r in rows] == [("a", os.getpid()), ("b", os.getpid())]


@pytest.mark.usefixtures("small_batches")
def test_parallel_decisions_equal_sequential_ones() -> None:
    from bot.classify_stream import classify_lines, classify_stream
    from bot.config import load_config
    from bot.domain.triage import Classifier

    classifier = Classifier.from_config(load_config(None))
    texts = ["Đường Nguyễn Ái Quốc có nhiều ổ gà", "mat nuoc 3 ngay", "", "hàng xóm hát karaoke"]
    source = "".join(f"{texts[i % len(texts)]} số {i}\n" for i in range(60))
    out = io.StringIO()
    classify_stream(classifier, io.StringIO(source), out)
    assert out.getvalue() == classify_lines(classifier, source.splitlines())


def test_a_reader_that_leaves_early_ends_the_command_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class ClosedPipe(io.StringIO):
        def __init__(self, fd: int) -> None:
            super().__init__()
            self.fd = fd

        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self) -> int:
            return self.fd

    with (tmp_path / "out").open("w") as sink:
        monkeypatch.setattr(sys, "stdout", ClosedPipe(sink.fileno()))
        monkeypatch.setattr(sys, "stdin", io.StringIO("mất nước\n"))
        status = main(["classify", "--config", str(config_file(tmp_path))])
    assert status == 1


def test_bad_config_exits_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_file(tmp_path, "[telegram]\nmode = 'push'\n")
    status = main(["db", "upgrade", "--config", str(path)])
    err = capsys.readouterr().err
    assert status == 2
    assert str(path) in err
    assert "telegram.mode" in err


def test_db_upgrade_creates_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["db", "upgrade", "--config", str(config_file(tmp_path))])
    assert status == 0
    assert (tmp_path / "cli.db").is_file()
    assert "up to date" in capsys.readouterr().out


def test_run_without_a_channel_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["run", "--config", str(config_file(tmp_path))])
    assert status == 2
    assert "no channel configured" in capsys.readouterr().err


def test_run_with_unreachable_telegram_exits_1_without_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = '[telegram]\ntoken = "123456:SECRET-TOKEN"\nbase_url = "http://127.0.0.1:9/bot"\n'
    extra += "[web]\nport = 0\n"
    status = main(["run", "--config", str(config_file(tmp_path, extra))])
    captured = capsys.readouterr()
    assert status == 1
    assert "cannot start the Telegram channel" in captured.err
    assert "SECRET-TOKEN" not in captured.err + captured.out


def test_import_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["dossiers", "import", str(tmp_path / "none.csv"), "--config", str(config_file(tmp_path))]
    )
    assert status == 2
    assert "file not found" in capsys.readouterr().err


def test_import_lists_bad_rows_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "dossiers.csv"
    data.write_text(
        "code,procedure,agency,received_at,due_at,status\n"
        "H23.22-230825-0001,Cấp sổ đỏ,nn-mt,2025-08-23,2025-09-10,4\n"
        "H23.22-230825-0002,Cấp sổ đỏ,so-khong-co,2025-08-23,2025-09-10,4\n",
        encoding="utf-8",
    )
    status = main(["dossiers", "import", str(data), "--config", str(config_file(tmp_path))])
    out = capsys.readouterr().out
    assert status == 2
    assert "line 3" in out


def test_import_unreadable_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "dossiers.csv"
    data.write_bytes(b"\xff\xfe\x00garbage")
    status = main(["dossiers", "import", str(data), "--config", str(config_file(tmp_path))])
    assert status == 2
    assert str(data) in capsys.readouterr().err


def test_sweep_rejects_a_naive_now(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["sweep", "--once", "--now", "2026-11-23T09:00", "--config", str(config_file(tmp_path))]
    )
    assert status == 2
    assert "UTC offset" in capsys.readouterr().err
