"""Typed configuration read from TOML, with secrets also from the environment.

Every problem is reported as a `ConfigError` naming the file, the key and the reason, so a bad
file fails at start instead of half-way through the night.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from bot.domain.workdays import WorkCalendar, parse_work_hours

DEFAULTS_FILE = Path(__file__).with_name("config.example.toml")
DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_ZALO_BASE_URL = "https://bot-api.zaloplatforms.com/bot"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
TRACKS = ("pakn", "to-cao")
DEFAULT_WORK_HOURS = ("07:30-11:30", "13:00-17:00")

Mode = Literal["polling", "webhook"]


class ConfigError(ValueError):
    """A configuration problem: which file, which key, and why."""

    def __init__(self, source: str, key: str, reason: str) -> None:
        super().__init__(f"{source}: {key}: {reason}")
        self.source = source
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class Keyword:
    """A phrase that points to a category, with how strongly it does."""

    phrase: str
    weight: float = 1.0


@dataclass(frozen=True)
class AgencyConfig:
    """An agency of the directory and where its staff read their tickets."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    telegram_chat_id: int | None = None
    zalo_chat_id: str | None = None
    supervisor: str | None = None
    wards: tuple[str, ...] = ()  # communes/wards whose own People's Committee this agency is
    commune_level: bool = False  # stands for the commune/ward named in the complaint (rule 3)


@dataclass(frozen=True)
class CategoryConfig:
    """A complaint category: its default agency, SLA and keywords."""

    id: str
    name: str
    agency: str | None
    sla_hours: float
    track: str = "pakn"
    name_en: str = ""
    keywords: tuple[Keyword, ...] = ()
    negative_keywords: tuple[Keyword, ...] = ()
    conflict_of_interest: bool = False  # rule 1: never routed to the agency accused
    follows_dossier: bool = False  # rule 2: goes to the agency holding the dossier named
    fallback: bool = False  # what fits no category; the operators decide
    about_process: bool = False  # how a service is delivered, not what it is about

    @property
    def is_process(self) -> bool:
        """Tell whether the category is about how a service is delivered (delay, conduct)."""
        return self.about_process or self.conflict_of_interest or self.follows_dossier


@dataclass(frozen=True)
class HotlineConfig:
    """Who the hotline is: province, phone number, public name."""

    name: str = "Tổng đài phản ánh, kiến nghị"
    phone: str = "1022"
    province: str = "Đồng Nai"


@dataclass(frozen=True)
class StorageConfig:
    """Where tickets live."""

    url: str = "sqlite+aiosqlite:///hotline.db"


@dataclass(frozen=True)
class TelegramConfig:
    """The Telegram channel."""

    token: str = ""
    base_url: str = DEFAULT_TELEGRAM_BASE_URL
    base_file_url: str = ""
    mode: Mode = "polling"
    webhook_url: str = ""
    secret_token: str = ""
    operators_chat_id: int | None = None
    leaders_chat_id: int | None = None
    supervisor_chat_id: int | None = None

    @property
    def enabled(self) -> bool:
        """Tell whether the channel has a token to run with."""
        return bool(self.token)


@dataclass(frozen=True)
class ZaloConfig:
    """The Zalo channel."""

    token: str = ""
    base_url: str = DEFAULT_ZALO_BASE_URL
    mode: Mode = "polling"
    webhook_url: str = ""
    secret_token: str = ""
    operators_chat_id: str | None = None

    @property
    def enabled(self) -> bool:
        """Tell whether the channel has a token to run with."""
        return bool(self.token)


@dataclass(frozen=True)
class WebConfig:
    """The HTTP server: webhooks, Open311, console, metrics."""

    host: str = "127.0.0.1"
    port: int = 8080
    # --- console (issue 8): where users reach the server; https makes the cookie Secure ---
    public_url: str = ""


@dataclass(frozen=True)
class CalendarConfig:
    """Working hours and the province's own days off and make-up days."""

    work_hours: tuple[tuple[time, time], ...] = ((time(7, 30), time(11, 30)), (time(13), time(17)))
    extra_days_off: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()


@dataclass(frozen=True)
class TriageConfig:
    """When the machine decides and when operators do."""

    confidence_threshold: float = 0.75
    # true: always route from confidence_threshold, never from the threshold measured on the
    # province's own tickets by `hotline triage learn`
    fixed_threshold: bool = False
    similar_ticket_days: int = 14


@dataclass(frozen=True)
class DeadlinesConfig:
    """The clocks every ticket carries."""

    triage_hours: float = 4
    accept_hours: float = 8
    reminder_fraction: float = 0.75
    escalate_after_hours: float = 16
    reopen_days: int = 7


@dataclass(frozen=True)
class DeliveryConfig:
    """How the outbox delivers."""

    # A message claimed by a sender that died becomes deliverable again after this long;
    # it must exceed the longest send (network timeouts), or a slow send could be doubled.
    lease_seconds: float = 60
    max_attempts: int = 10


@dataclass(frozen=True)
class LookupConfig:
    """Limits that keep dossier lookups from being abused."""

    per_minute: int = 10
    max_wrong_last4: int = 3
    lockout_minutes: int = 30


# --- Zalo Official Account and evidence links (issue 11) ---
DEFAULT_ZALO_OA_API_BASE = "https://openapi.zalo.me"
DEFAULT_ZALO_OA_OAUTH_BASE = "https://oauth.zaloapp.com"


@dataclass(frozen=True)
class ZaloOAConfig:
    """The Zalo Official Account channel (Open API v3)."""

    app_id: str = ""
    secret_key: str = ""  # the OA secret key: checks the webhook's X-ZEvent-Signature
    app_secret: str = ""  # the app's secret: sent when refreshing the access token
    access_token: str = ""
    refresh_token: str = ""
    api_base: str = DEFAULT_ZALO_OA_API_BASE
    oauth_base: str = DEFAULT_ZALO_OA_OAUTH_BASE
    # Outside the 48-hour reply window, send notices as paid transaction messages.
    proactive: bool = False

    @property
    def enabled(self) -> bool:
        """Tell whether the channel is configured."""
        return bool(self.app_id)


# --- Open311 GeoReport v2 (issue 9) ---
@dataclass(frozen=True)
class Open311Config:
    """Other systems that file complaints over Open311: their API keys."""

    api_keys: tuple[str, ...] = ()
    max_requests: int = 1000  # rows of one requests.json answer, at most


@dataclass(frozen=True)
class EvidenceConfig:
    """Files that cross channels: download limit and signed links served by the web server."""

    public_url: str = ""  # how agencies reach this server; empty: http://[web] host:port
    signing_key: str = ""  # empty: derived from the channel secrets
    link_hours: float = 72
    max_bytes: int = 20 * 1024 * 1024


@dataclass(frozen=True)
class Config:
    """The whole configuration of one hotline deployment."""

    source: str = "<defaults>"
    hotline: HotlineConfig = field(default_factory=HotlineConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    zalo: ZaloConfig = field(default_factory=ZaloConfig)
    web: WebConfig = field(default_factory=WebConfig)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    triage: TriageConfig = field(default_factory=TriageConfig)
    deadlines: DeadlinesConfig = field(default_factory=DeadlinesConfig)
    lookup: LookupConfig = field(default_factory=LookupConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    agencies: tuple[AgencyConfig, ...] = ()
    categories: tuple[CategoryConfig, ...] = ()
    # --- Zalo Official Account and evidence links (issue 11) ---
    zalo_oa: ZaloOAConfig = field(default_factory=ZaloOAConfig)
    evidence: EvidenceConfig = field(default_factory=EvidenceConfig)
    # --- Open311 (issue 9) ---
    open311: Open311Config = field(default_factory=Open311Config)

    @cached_property
    def work_calendar(self) -> WorkCalendar:
        """Return the working-hour calendar of this deployment."""
        return WorkCalendar(
            windows=self.calendar.work_hours,
            extra_days_off=self.calendar.extra_days_off,
            extra_working_days=self.calendar.extra_working_days,
        )

    def agency(self, agency_id: str) -> AgencyConfig | None:
        """Return the agency with this id, if the directory has one."""
        return next((a for a in self.agencies if a.id == agency_id), None)

    def ward_agency(self, ward: str | None) -> AgencyConfig | None:
        """Return the agency configured as this commune's or ward's own People's Committee."""
        if not ward:
            return None
        wanted = _ward_key(ward)
        return next((a for a in self.agencies if wanted in map(_ward_key, a.wards)), None)

    def category(self, category_id: str) -> CategoryConfig | None:
        """Return the category with this id, if configured."""
        return next((c for c in self.categories if c.id == category_id), None)

    @property
    def commune_agency_id(self) -> str | None:
        """Return the agency that stands for the commune/ward named (rule 3), if configured."""
        return next((a.id for a in self.agencies if a.commune_level), None)

    @property
    def fallback_category_id(self) -> str | None:
        """Return the category for what fits no other, if configured."""
        return next((c.id for c in self.categories if c.fallback), None)


def _ward_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


ENV_SECRETS: dict[tuple[str, str], str] = {
    ("telegram", "token"): "HOTLINE_TELEGRAM_TOKEN",
    ("telegram", "secret_token"): "HOTLINE_TELEGRAM_SECRET_TOKEN",
    ("zalo", "token"): "HOTLINE_ZALO_TOKEN",
    ("zalo", "secret_token"): "HOTLINE_ZALO_SECRET_TOKEN",
    ("storage", "url"): "HOTLINE_STORAGE_URL",
}
# --- Zalo Official Account and evidence links (issue 11) ---
ENV_SECRETS.update(
    {
        ("zalo_oa", "secret_key"): "HOTLINE_ZALO_OA_SECRET_KEY",
        ("zalo_oa", "app_secret"): "HOTLINE_ZALO_OA_APP_SECRET",
        ("zalo_oa", "access_token"): "HOTLINE_ZALO_OA_ACCESS_TOKEN",
        ("zalo_oa", "refresh_token"): "HOTLINE_ZALO_OA_REFRESH_TOKEN",
        ("evidence", "signing_key"): "HOTLINE_EVIDENCE_SIGNING_KEY",
    }
)


OPEN311_KEYS_VARIABLE = "HOTLINE_OPEN311_API_KEYS"


def default_config_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """Find the config file: $HOTLINE_CONFIG, else ./config.toml, else none (built-in defaults)."""
    env = os.environ if environ is None else environ
    if env.get("HOTLINE_CONFIG"):
        return Path(env["HOTLINE_CONFIG"])
    local = Path("config.toml")
    return local if local.is_file() else None


def load_config(
    path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Load the defaults, overlay `path` (if any) and the environment's secrets, and validate."""
    env = os.environ if environ is None else environ
    data = _read_toml(DEFAULTS_FILE)
    source = "<defaults>"
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise ConfigError(source, "-", "file not found")
        data = _merge(data, _read_toml(path))
    for (section, key), variable in ENV_SECRETS.items():
        if env.get(variable):
            data.setdefault(section, {})[key] = env[variable]
    # --- Open311 (issue 9): a list of keys, comma-separated in the environment ---
    if env.get(OPEN311_KEYS_VARIABLE):
        keys = [key.strip() for key in env[OPEN311_KEYS_VARIABLE].split(",") if key.strip()]
        data.setdefault("open311", {})["api_keys"] = keys
    return parse_config(data, source)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "-", f"not valid TOML ({exc})") from exc
    except OSError as exc:
        raise ConfigError(str(path), "-", f"cannot read ({exc.strerror})") from exc


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Overlay sections key by key; arrays of tables (agency, category) replace wholesale."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


class _Reader:
    """Typed access to one TOML table, raising ConfigError with the full key path."""

    def __init__(self, source: str, prefix: str, table: Any) -> None:
        if not isinstance(table, dict):
            raise ConfigError(source, prefix, "must be a table")
        self.source, self.prefix, self.table = source, prefix, table

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, reason: str) -> ConfigError:
        return ConfigError(self.source, self.key(name), reason)

    def get(self, name: str, kind: type | tuple[type, ...], default: Any) -> Any:
        value = self.table.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) and kind is not bool:
            raise self.fail(name, f"expected {_kind_name(kind)}, got a boolean")
        if not isinstance(value, kind):
            raise self.fail(name, f"expected {_kind_name(kind)}, got {type(value).__name__}")
        return value

    def text(self, name: str, default: str = "", required: bool = False) -> str:
        value = self.get(name, str, None if required else default)
        if required and not (value or "").strip():
            raise self.fail(name, "is required")
        return str(value).strip()

    def number(self, name: str, default: float, minimum: float = 0, maximum: float = 1e9) -> float:
        value = float(self.get(name, (int, float), default))
        if not minimum <= value <= maximum:
            raise self.fail(name, f"must be between {minimum:g} and {maximum:g}")
        return value

    def chat_id(self, name: str) -> int | None:
        value = self.table.get(name)
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            raise self.fail(name, "expected a chat id (integer)")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise self.fail(name, f"expected a chat id (integer), got {value!r}") from None

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.get(name, list, [])
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise self.fail(f"{name}[{index}]", "expected a non-empty string")
        return tuple(item.strip() for item in value)

    def flag(self, name: str) -> bool:
        return bool(self.get(name, bool, False))

    def mode(self, name: str) -> Mode:
        value = self.text(name, "polling")
        if value not in ("polling", "webhook"):
            raise self.fail(name, f"must be 'polling' or 'webhook', got {value!r}")
        return "polling" if value == "polling" else "webhook"

    def dates(self, name: str) -> frozenset[date]:
        result = set()
        for index, item in enumerate(self.get(name, list, [])):
            if isinstance(item, date):
                result.add(item)
                continue
            try:
                result.add(date.fromisoformat(str(item)))
            except ValueError:
                raise self.fail(f"{name}[{index}]", f"not a date YYYY-MM-DD: {item!r}") from None
        return frozenset(result)

    def sub(self, name: str) -> _Reader:
        return _Reader(self.source, self.key(name), self.table.get(name, {}))


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {
        "str": "a string",
        "int": "a number",
        "float": "a number",
        "list": "a list",
        "bool": "true or false",
    }
    return " or ".join(dict.fromkeys(names.get(k.__name__, k.__name__) for k in kinds))


def _keywords(reader: _Reader, name: str) -> tuple[Keyword, ...]:
    result = []
    for index, item in enumerate(reader.get(name, list, [])):
        key = f"{name}[{index}]"
        if isinstance(item, str) and item.strip():
            result.append(Keyword(item.strip()))
        elif isinstance(item, dict):
            entry = _Reader(reader.source, reader.key(key), item)
            result.append(
                Keyword(entry.text("phrase", required=True), entry.number("weight", 1.0, -10, 10))
            )
        else:
            raise reader.fail(key, 'expected a phrase or {phrase = "...", weight = N}')
    return tuple(result)


def parse_config(data: dict[str, Any], source: str = "<config>") -> Config:
    """Validate a parsed TOML document into a Config, or raise ConfigError."""
    root = _Reader(source, "", data)
    hotline = root.sub("hotline")
    storage = root.sub("storage")
    telegram = root.sub("telegram")
    zalo = root.sub("zalo")
    web = root.sub("web")
    calendar = root.sub("calendar")
    triage = root.sub("triage")
    deadlines = root.sub("deadlines")
    lookup = root.sub("lookup")
    delivery = root.sub("delivery")

    url = storage.text("url", StorageConfig.url)
    if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise storage.fail("url", "must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
    try:
        work_hours = parse_work_hours(
            calendar.strings("work_hours") or ("07:30-11:30", "13:00-17:00")
        )
    except ValueError as exc:
        raise calendar.fail("work_hours", str(exc)) from None

    telegram_config = TelegramConfig(
        token=telegram.text("token"),
        base_url=telegram.text("base_url", DEFAULT_TELEGRAM_BASE_URL) or DEFAULT_TELEGRAM_BASE_URL,
        base_file_url=telegram.text("base_file_url"),
        mode=telegram.mode("mode"),
        webhook_url=telegram.text("webhook_url"),
        secret_token=telegram.text("secret_token"),
        operators_chat_id=telegram.chat_id("operators_chat_id"),
        leaders_chat_id=telegram.chat_id("leaders_chat_id"),
        supervisor_chat_id=telegram.chat_id("supervisor_chat_id"),
    )
    if telegram_config.mode == "webhook" and not telegram_config.webhook_url:
        raise telegram.fail("webhook_url", "is required when mode = 'webhook'")
    zalo_config = ZaloConfig(
        token=zalo.text("token"),
        base_url=zalo.text("base_url", DEFAULT_ZALO_BASE_URL) or DEFAULT_ZALO_BASE_URL,
        mode=zalo.mode("mode"),
        webhook_url=zalo.text("webhook_url"),
        secret_token=zalo.text("secret_token"),
        operators_chat_id=zalo.text("operators_chat_id") or None,
    )
    if zalo_config.mode == "webhook" and not zalo_config.webhook_url:
        raise zalo.fail("webhook_url", "is required when mode = 'webhook'")

    agencies = _parse_agencies(root)
    categories = _parse_categories(root, {a.id for a in agencies})
    return Config(
        source=source,
        hotline=HotlineConfig(
            name=hotline.text("name", HotlineConfig.name),
            phone=hotline.text("phone", HotlineConfig.phone),
            province=hotline.text("province", HotlineConfig.province),
        ),
        storage=StorageConfig(url=url),
        telegram=telegram_config,
        zalo=zalo_config,
        web=WebConfig(
            host=web.text("host", WebConfig.host),
            port=int(web.number("port", WebConfig.port, 0, 65535)),
            public_url=web_public_url(web),  # console (issue 8)
        ),
        calendar=CalendarConfig(
            work_hours=work_hours,
            extra_days_off=calendar.dates("extra_days_off"),
            extra_working_days=calendar.dates("extra_working_days"),
        ),
        triage=TriageConfig(
            confidence_threshold=triage.number(
                "confidence_threshold", TriageConfig.confidence_threshold, 0, 1
            ),
            fixed_threshold=triage.flag("fixed_threshold"),
            similar_ticket_days=int(
                triage.number("similar_ticket_days", TriageConfig.similar_ticket_days, 0, 365)
            ),
        ),
        deadlines=DeadlinesConfig(
            triage_hours=deadlines.number(
                "triage_hours", DeadlinesConfig.triage_hours, 0.25, 1000
            ),
            accept_hours=deadlines.number(
                "accept_hours", DeadlinesConfig.accept_hours, 0.25, 1000
            ),
            reminder_fraction=deadlines.number(
                "reminder_fraction", DeadlinesConfig.reminder_fraction, 0.05, 0.99
            ),
            escalate_after_hours=deadlines.number(
                "escalate_after_hours", DeadlinesConfig.escalate_after_hours, 0, 1000
            ),
            reopen_days=int(deadlines.number("reopen_days", DeadlinesConfig.reopen_days, 0, 365)),
        ),
        lookup=LookupConfig(
            per_minute=int(lookup.number("per_minute", LookupConfig.per_minute, 1, 10_000)),
            max_wrong_last4=int(
                lookup.number("max_wrong_last4", LookupConfig.max_wrong_last4, 1, 100)
            ),
            lockout_minutes=int(
                lookup.number("lockout_minutes", LookupConfig.lockout_minutes, 1, 100_000)
            ),
        ),
        delivery=DeliveryConfig(
            lease_seconds=delivery.number("lease_seconds", DeliveryConfig.lease_seconds, 1, 3600),
            max_attempts=int(delivery.number("max_attempts", DeliveryConfig.max_attempts, 1, 100)),
        ),
        agencies=agencies,
        categories=categories,
        zalo_oa=_parse_zalo_oa(root),
        evidence=_parse_evidence(root),
        open311=_parse_open311(root),
    )


# --- Zalo Official Account and evidence links (issue 11) ---
def _parse_zalo_oa(root: _Reader) -> ZaloOAConfig:
    reader = root.sub("zalo_oa")
    config = ZaloOAConfig(
        app_id=reader.text("app_id"),
        secret_key=reader.text("secret_key"),
        app_secret=reader.text("app_secret"),
        access_token=reader.text("access_token"),
        refresh_token=reader.text("refresh_token"),
        api_base=reader.text("api_base", DEFAULT_ZALO_OA_API_BASE).rstrip("/"),
        oauth_base=reader.text("oauth_base", DEFAULT_ZALO_OA_OAUTH_BASE).rstrip("/"),
        proactive=reader.flag("proactive"),
    )
    for name in ("api_base", "oauth_base"):
        if not getattr(config, name).startswith(("https://", "http://")):
            raise reader.fail(name, "must be an http:// or https:// address")
    if config.enabled:
        for name in ("secret_key", "app_secret", "refresh_token"):
            if not getattr(config, name):
                raise reader.fail(name, "is required when app_id is set")
    return config


def _parse_evidence(root: _Reader) -> EvidenceConfig:
    reader = root.sub("evidence")
    public_url = reader.text("public_url").rstrip("/")
    if public_url and not public_url.startswith(("https://", "http://")):
        raise reader.fail("public_url", "must be an http:// or https:// address")
    return EvidenceConfig(
        public_url=public_url,
        signing_key=reader.text("signing_key"),
        link_hours=reader.number("link_hours", EvidenceConfig.link_hours, 0.1, 24 * 90),
        max_bytes=int(reader.number("max_bytes", EvidenceConfig.max_bytes, 1024, 2**31)),
    )


# --- Open311 GeoReport v2 (issue 9) ---
def _parse_open311(root: _Reader) -> Open311Config:
    reader = root.sub("open311")
    keys = reader.strings("api_keys")
    for key in keys:
        if len(key) < 16:
            raise reader.fail("api_keys", "each key must be at least 16 characters long")
    return Open311Config(api_keys=keys)


def _table_list(root: _Reader, name: str) -> list[_Reader]:
    items = root.get(name, list, [])
    return [_Reader(root.source, f"{name}[{index}]", item) for index, item in enumerate(items)]


def _parse_agencies(root: _Reader) -> tuple[AgencyConfig, ...]:
    agencies: list[AgencyConfig] = []
    seen: set[str] = set()
    readers = _table_list(root, "agency")
    for reader in readers:
        agency_id = reader.text("id", required=True)
        if not ID_PATTERN.match(agency_id):
            raise reader.fail("id", f"{agency_id!r} must be lower-case ASCII letters, digits, '-'")
        if agency_id in seen:
            raise reader.fail("id", f"duplicate agency id {agency_id!r}")
        seen.add(agency_id)
        agencies.append(
            AgencyConfig(
                id=agency_id,
                name=reader.text("name", required=True),
                aliases=reader.strings("aliases"),
                telegram_chat_id=reader.chat_id("telegram_chat_id"),
                zalo_chat_id=reader.text("zalo_chat_id") or None,
                supervisor=reader.text("supervisor") or None,
                wards=reader.strings("wards"),
                commune_level=reader.flag("commune_level"),
            )
        )
        if agencies[-1].commune_level and (first := _first_other(agencies, "commune_level")):
            raise reader.fail("commune_level", f"only one agency may be; {first!r} already is")
    ward_owner: dict[str, str] = {}
    for reader, agency in zip(readers, agencies, strict=True):
        if agency.supervisor and agency.supervisor not in seen:
            raise reader.fail("supervisor", f"unknown agency {agency.supervisor!r}")
        for ward in agency.wards:
            owner = ward_owner.setdefault(_ward_key(ward), agency.id)
            if owner != agency.id:
                raise reader.fail("wards", f"{ward!r} already belongs to agency {owner!r}")
    return tuple(agencies)


def _parse_categories(root: _Reader, agency_ids: set[str]) -> tuple[CategoryConfig, ...]:
    categories: list[CategoryConfig] = []
    seen: set[str] = set()
    for reader in _table_list(root, "category"):
        category_id = reader.text("id", required=True)
        if not ID_PATTERN.match(category_id):
            raise reader.fail("id", f"{category_id!r} must be lower-case ASCII, digits, '-'")
        if category_id in seen:
            raise reader.fail("id", f"duplicate category id {category_id!r}")
        seen.add(category_id)
        agency = reader.text("agency") or None
        if agency is not None and agency not in agency_ids:
            raise reader.fail("agency", f"unknown agency {agency!r}")
        track = reader.text("track", "pakn")
        if track not in TRACKS:
            raise reader.fail("track", f"must be one of {', '.join(TRACKS)}, got {track!r}")
        categories.append(
            CategoryConfig(
                id=category_id,
                name=reader.text("name", required=True),
                name_en=reader.text("name_en"),
                agency=agency,
                sla_hours=reader.number("sla_hours", 40, 0.25, 10_000),
                track=track,
                keywords=_keywords(reader, "keywords"),
                negative_keywords=_keywords(reader, "negative_keywords"),
                conflict_of_interest=reader.flag("conflict_of_interest"),
                follows_dossier=reader.flag("follows_dossier"),
                fallback=reader.flag("fallback"),
                about_process=reader.flag("about_process"),
            )
        )
        if categories[-1].fallback and (first := _first_other(categories, "fallback")):
            raise reader.fail("fallback", f"only one category may be; {first!r} already is")
    if categories and not any(c.fallback for c in categories):
        raise ConfigError(
            root.source,
            "category",
            "no category has fallback = true (one must take what fits none, e.g. 'khac')",
        )
    return tuple(categories)


def _first_other(items: list[AgencyConfig] | list[CategoryConfig], flag: str) -> str | None:
    """Return the id of an earlier item than the last with `flag` set, if any."""
    return next((item.id for item in items[:-1] if getattr(item, flag)), None)


# --- console (issue 8) ---


def web_public_url(web: Any) -> str:
    """Read `[web] public_url`: empty, or an http(s) address without a trailing slash."""
    value = str(web.text("public_url", "")).rstrip("/")
    if value and not value.startswith(("http://", "https://")):
        raise web.fail("public_url", f"must start with http:// or https://, got {value!r}")
    return value
