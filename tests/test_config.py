"""Config loading: defaults, overrides, secrets from the environment, clear errors."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, default_config_path, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_carry_the_taxonomy_directory() -> None:
    config = load_config(None, environ={})
    assert len(config.agencies) == 16
    assert len(config.categories) == 24
    assert config.category("nhung-nhieu") is not None
    assert config.category("nhung-nhieu").track == "to-cao"  # type: ignore[union-attr]
    assert config.category("tre-han").sla_hours == 24  # type: ignore[union-attr]
    assert config.category("khac").agency is None  # type: ignore[union-attr]
    assert config.calendar.work_hours[1] == (time(13), time(17))
    assert config.storage.url.startswith("sqlite+aiosqlite://")


def test_file_overrides_sections_key_by_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[telegram]
operators_chat_id = -100123
[calendar]
extra_days_off = ["2026-12-31"]
[triage]
confidence_threshold = 0.7
fixed_threshold = true
""",
    )
    config = load_config(path, environ={})
    assert config.telegram.operators_chat_id == -100123
    assert config.telegram.base_url == "https://api.telegram.org/bot"
    assert config.calendar.extra_days_off == frozenset({date(2026, 12, 31)})
    assert config.triage.confidence_threshold == 0.7
    assert config.triage.fixed_threshold
    assert not load_config(None, environ={}).triage.fixed_threshold  # measured by default
    assert len(config.agencies) == 16  # arrays not given keep the defaults


def test_secrets_come_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[telegram]\ntoken = "from-file"\n')
    config = load_config(path, environ={"HOTLINE_TELEGRAM_TOKEN": "123:from-env"})
    assert config.telegram.token == "123:from-env"
    assert config.telegram.enabled


def test_config_path_prefers_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_config_path({}) is None
    write(tmp_path, "")
    assert default_config_path({}) == Path("config.toml")
    assert default_config_path({"HOTLINE_CONFIG": "/etc/hotline.toml"}) == Path(
        "/etc/hotline.toml"
    )


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("[telegram]\nmode = 'push'", "telegram.mode", "must be 'polling' or 'webhook'"),
        ("[telegram]\nmode = 'webhook'", "telegram.webhook_url", "is required"),
        ("[telegram]\noperators_chat_id = 'abc'", "telegram.operators_chat_id", "chat id"),
        ("[storage]\nurl = 'mysql://x'", "storage.url", "must start with"),
        ("[calendar]\nwork_hours = ['13:00-11:00']", "calendar.work_hours", "13:00-11:00"),
        (
            "[calendar]\nextra_days_off = ['31/12/2026']",
            "calendar.extra_days_off[0]",
            "not a date",
        ),
        ("[triage]\nconfidence_threshold = 2", "triage.confidence_threshold", "between 0 and 1"),
        ("[triage]\nfixed_threshold = 'yes'", "triage.fixed_threshold", "expected"),
        ("[web]\nport = 'eighty'", "web.port", "expected a number"),
        (
            "[[agency]]\nid = 'a'\nname = 'A'\nsupervisor = 'zzz'",
            "agency[0].supervisor",
            "unknown agency 'zzz'",
        ),
        ("[[agency]]\nid = 'Bad Id'\nname = 'A'", "agency[0].id", "lower-case"),
        (
            "[[agency]]\nid = 'a'\nname = 'A'\n[[agency]]\nid = 'a'\nname = 'B'",
            "agency[1].id",
            "duplicate",
        ),
        (
            "[[category]]\nid = 'x'\nname = 'X'\nagency = 'nowhere'",
            "category[0].agency",
            "unknown agency",
        ),
        (
            "[[category]]\nid = 'x'\nname = 'X'\ntrack = 'other'",
            "category[0].track",
            "must be one of",
        ),
        (
            "[[category]]\nid = 'x'\nname = 'X'\nkeywords = [3]",
            "category[0].keywords[0]",
            "phrase",
        ),
    ],
)
def test_bad_config_names_file_key_and_reason(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.source == str(path)
    assert caught.value.key == key
    assert reason in caught.value.reason
    assert str(path) in str(caught.value)


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[telegram\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, environ={})


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", environ={})


def test_weighted_keywords_are_parsed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[category]]
id = "x"
name = "X"
fallback = true
keywords = ["một", { phrase = "hai", weight = 2.5 }]
negative_keywords = [{ phrase = "ba", weight = -1 }]
""",
    )
    category = load_config(path, environ={}).categories[0]
    assert [(k.phrase, k.weight) for k in category.keywords] == [("một", 1.0), ("hai", 2.5)]
    assert category.negative_keywords[0].weight == -1


def test_ward_agencies_are_found_by_official_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
category = []
[[agency]]
id = "ubnd-xa"
name = "UBND cấp xã"
[[agency]]
id = "ubnd-tam-hiep"
name = "UBND phường Tam Hiệp"
wards = ["Phường Tam Hiệp"]
""",
    )
    config = load_config(path, environ={})
    found = config.ward_agency("phường  tam hiệp")
    assert found is not None
    assert found.id == "ubnd-tam-hiep"
    assert config.ward_agency("Phường Long Bình") is None
    assert config.ward_agency(None) is None


def test_a_ward_cannot_belong_to_two_agencies(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[agency]]
id = "a"
name = "A"
wards = ["Phường Tam Hiệp"]
[[agency]]
id = "b"
name = "B"
wards = ["Phường Tam Hiệp"]
""",
    )
    with pytest.raises(ConfigError, match="already belongs to agency 'a'") as caught:
        load_config(path, environ={})
    assert caught.value.key == "agency[1].wards"


def test_routing_flags_are_parsed_from_the_defaults() -> None:
    config = load_config(None, environ={})
    conflict = {c.id for c in config.categories if c.conflict_of_interest}
    assert conflict == {"nhung-nhieu", "dun-day", "thai-do"}
    assert {c.id for c in config.categories if c.follows_dossier} == {"tre-han"}
    assert {c.id for c in config.categories if c.is_process} == conflict | {"tre-han", "thu-tuc"}
    assert config.fallback_category_id == "khac"
    assert config.commune_agency_id == "ubnd-xa"
    assert [a.id for a in config.agencies if a.commune_level] == ["ubnd-xa"]


def test_routing_flags_are_parsed_from_a_user_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[category]]
id = "tieu-cuc"
name = "Tiêu cực"
conflict_of_interest = true
about_process = false
[[category]]
id = "chua-ro"
name = "Chưa rõ"
fallback = true
""",
    )
    config = load_config(path, environ={})
    conduct, unsure = config.categories
    assert (conduct.conflict_of_interest, conduct.is_process, conduct.fallback) == (
        True,
        True,
        False,
    )
    assert (unsure.fallback, unsure.conflict_of_interest, unsure.follows_dossier) == (
        True,
        False,
        False,
    )
    assert config.fallback_category_id == "chua-ro"


def test_config_without_directory_has_no_commune_agency_or_fallback() -> None:
    config = Config()
    assert config.commune_agency_id is None
    assert config.fallback_category_id is None


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        (
            "[[category]]\nid = 'x'\nname = 'X'\nfallback = 'yes'",
            "category[0].fallback",
            "expected true or false, got str",
        ),
        (
            "[[category]]\nid = 'x'\nname = 'X'\nfallback = true\nconflict_of_interest = 1",
            "category[0].conflict_of_interest",
            "expected true or false, got int",
        ),
        (
            "[[agency]]\nid = 'a'\nname = 'A'\ncommune_level = 'true'",
            "agency[0].commune_level",
            "expected true or false",
        ),
        (
            "[[category]]\nid = 'x'\nname = 'X'\nfallback = true\n"
            "[[category]]\nid = 'y'\nname = 'Y'\nfallback = true",
            "category[1].fallback",
            "only one category may be; 'x' already is",
        ),
        (
            "[[agency]]\nid = 'a'\nname = 'A'\ncommune_level = true\n"
            "[[agency]]\nid = 'b'\nname = 'B'\n"
            "[[agency]]\nid = 'c'\nname = 'C'\ncommune_level = true",
            "agency[2].commune_level",
            "only one agency may be; 'a' already is",
        ),
        (
            "[[category]]\nid = 'x'\nname = 'X'\nconflict_of_interest = true",
            "category",
            "no category has fallback = true",
        ),
    ],
)
def test_bad_routing_flags_name_file_key_and_reason(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.source == str(path)
    assert caught.value.key == key
    assert reason in caught.value.reason
    assert str(path) in str(caught.value)
