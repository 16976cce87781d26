"""Configuration from the environment and `.env` (pydantic-settings).

The variable names are the public contract documented in the README. An integration whose
credentials are missing is simply off; its commands say so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TELEGRAM_DEFAULT_API_URL = "https://api.telegram.org"


class ConfigError(Exception):
    """Raised with one readable line per wrong variable; the CLI prints it and exits 2."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr | None = None
    telegram_api_url: str = TELEGRAM_DEFAULT_API_URL
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # sqlite:///path/file.sqlite3 or postgresql://user:password@host:5432/db; when unset, the
    # SQLite file DATABASE_PATH (what every version before DATABASE_URL used).
    database_url: str | None = None
    database_path: Path = Path("data/logibot.sqlite3")
    bot_timezone: str = "Europe/Moscow"
    bot_language: Literal["ru", "en"] = "ru"
    http_port: int = Field(default=8080, ge=0, le=65535)
    # While Telegram does not answer at start (the bot keeps trying), /healthz says "starting"
    # this long, then "fail".
    startup_grace_seconds: int = Field(default=60, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    audit_days: int = Field(default=365, ge=1)  # the audit log keeps this many days
    # History (the digests' and /report's) keeps this many days (the setting history.days).
    history_days: int = Field(default=90, ge=1, le=3650)
    # Routine progress (a wagon moved, a task field filled): one line per subject per window.
    alert_routine_minutes: int = Field(default=10, ge=0, le=24 * 60)
    # Storm mode: denser alert messages when a chat's alerts outrun its Telegram budget.
    alert_storm_mode: bool = True
    # Escalation: how often the job looks for due steps (bot/escalation/engine.py).
    escalation_tick_seconds: int = Field(default=15, ge=1, le=300)

    # More than one process (README, "Running more than one"): the leader runs the background
    # work; a standby takes over within this many seconds of the leader's death (PostgreSQL).
    leader_takeover_seconds: float = Field(default=15, ge=1, le=600)
    # Webhook mode: Telegram POSTs updates to this public URL (its path is served on
    # HTTP_PORT), signed with WEBHOOK_SECRET; unset: long polling by the leader.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    # Wizard state in Redis instead of the database (needs the `redis` extra installed).
    redis_url: SecretStr | None = None

    movizor_project: str | None = None
    movizor_key: SecretStr | None = None
    movizor_base_url: str = "https://movizor.ru/api"
    movizor_poll_seconds: int = Field(default=60, ge=5)
    movizor_hourly_limit: int = Field(default=4800, ge=1, le=5000)
    # How often drivers' titles are learnt from the account (0: never); also once at start.
    movizor_directory_sync_hours: float = Field(default=6, ge=0)

    mobiforce_base_url: str | None = None
    mobiforce_api_key: SecretStr | None = None
    mobiforce_poll_seconds: int = Field(default=60, ge=5)
    # The id of the account's "done" result status, sent by /close (close-task result_status).
    mobiforce_close_status: str = ""
    mobiforce_max_tasks_per_cycle: int = Field(default=50, ge=1, le=500)
    # A task not started this long after its planned start: task.overdue (escalates).
    mobiforce_overdue_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    # How often the bot's own directories (templates, employees, clients, task numbers) are
    # read again in full; the change feed keeps task numbers in step between syncs.
    mobiforce_sync_minutes: int = Field(default=60, ge=5)

    taximaster_base_url: str | None = None
    taximaster_secret: SecretStr | None = None
    taximaster_verify_tls: bool = True
    taximaster_ca_file: Path | None = None
    # Old TMWeb servers speak only TLS 1.0/1.1 or old ciphers: a last resort, see the README.
    taximaster_legacy_tls: bool = False
    taximaster_user_id: int | None = None  # sent as X-User-Id when TMWeb wants one
    taximaster_timezone: str = "Europe/Moscow"  # the dispatch service's zone (TMWeb times)
    taximaster_tariff_id: int | None = None  # the tariff /taxi prices with (empty: the first)
    # A crew group's own tariff, "group:tariff,…" (2:2,3:3); unset groups use a tariff of the
    # same name, else the default one
    taximaster_group_tariffs: Annotated[dict[int, int], NoDecode] = Field(default_factory=dict)
    taximaster_poll_seconds: int = Field(default=15, ge=5)
    # An order still without a crew this long after its pickup time: taxi.no_crew (escalates).
    taximaster_no_crew_minutes: int = Field(default=10, ge=1, le=24 * 60)
    taximaster_rps: float = Field(default=20.0, gt=0, le=1000)
    # At most this many requests a watcher cycle (state polls, crew names, positions)
    taximaster_max_calls_per_cycle: int = Field(default=150, ge=2, le=10_000)

    alta_base_url: str = "https://www.alta.ru/rail_tracking/api_v2.php"
    alta_login: str | None = None
    alta_sa: str | None = None
    alta_password: SecretStr | None = None
    # Alta: poll the server about once a minute, one show a minute for the whole account.
    alta_poll_seconds: int = Field(default=60, ge=60)
    # Defaults of /wagon add (each changeable with buttons in its summary).
    alta_times: str = "09:00,13:00,18:00"  # 1-3 Moscow report times HH:MM
    alta_days: str = "0-6"  # Alta's weekdays, 0 = Sunday … 6 = Saturday: "0-6", "1-5", "1,3,5"
    alta_region: Literal["ru", "sng"] = "ru"
    alta_track_type: Literal["daily", "trip"] = "daily"
    alta_stop: str = "yes"  # yes (at the destination), no (manual), or a 5-digit ESR code
    alta_no_data_hours: int = Field(default=6, ge=1, le=240)
    # On tracking, not arrived, and standing at one station this long: wagon.stuck (escalates).
    alta_stuck_hours: int = Field(default=24, ge=1, le=24 * 30)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator(
        "taximaster_ca_file", "taximaster_user_id", "taximaster_tariff_id", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("taximaster_group_tariffs", mode="before")
    @classmethod
    def _group_tariffs(cls, value: object) -> object:
        """``2:2, 3:5`` -> {2: 2, 3: 5} (a JSON object too)."""
        if not isinstance(value, str):
            return value
        if value.strip().startswith("{"):
            return json.loads(value)
        pairs = [pair.split(":", 1) for pair in value.replace(";", ",").split(",") if pair.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError("expected group:tariff pairs, e.g. 2:2,3:5")
        return {int(group): int(tariff) for group, tariff in pairs}

    @field_validator("taximaster_ca_file")
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("webhook_url", "redis_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be the public https://… address Telegram posts updates to")
        if info.data.get("http_port") == 0:
            raise ValueError("needs HTTP_PORT (the webhook is served there), not 0")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        secret = value.get_secret_value() if value is not None else ""
        if not secret:
            if info.data.get("webhook_url"):
                raise ValueError("required with WEBHOOK_URL (1-256 of A-Z a-z 0-9 _ -)")
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ValueError("1-256 characters, only A-Z a-z 0-9 _ - (Telegram's rule)")
        return value

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: object) -> object:
        if not isinstance(value, str) or not value.strip():
            return None
        value = value.strip()
        scheme = value.split("://", 1)[0].split("+", 1)[0].lower() if "://" in value else ""
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("must start with sqlite:/// or postgresql://")
        if scheme == "sqlite" and not value.split("://", 1)[1].lstrip("/"):
            raise ValueError("sqlite:/// needs a file path (sqlite:///data/logibot.sqlite3)")
        return value

    @field_validator("bot_timezone", "taximaster_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator(
        "telegram_api_url",
        "movizor_base_url",
        "mobiforce_base_url",
        "taximaster_base_url",
        "alta_base_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("mobiforce_close_status")
    @classmethod
    def _status_id(cls, value: str) -> str:
        value = value.strip()
        if value and not value.isdigit():
            raise ValueError("must be the numeric id of a Mobiforce result status")
        return value

    @field_validator("alta_times")
    @classmethod
    def _alta_times(cls, value: str) -> str:
        times = parse_report_times(value)
        if times is None:
            raise ValueError("one to three Moscow times HH:MM, comma-separated (09:00,18:00)")
        return ",".join(times)

    @field_validator("alta_days")
    @classmethod
    def _alta_days(cls, value: str) -> str:
        days = parse_weekdays(value)
        if days is None:
            raise ValueError("weekdays 0 (Sunday) to 6 (Saturday): 0-6, 1-5 or 1,3,5")
        return ",".join(str(d) for d in days)

    @field_validator("alta_stop")
    @classmethod
    def _alta_stop(cls, value: str) -> str:
        value = value.strip().lower()
        if value in ("yes", "no") or (value.isdigit() and len(value) == 5):
            return value
        raise ValueError("yes, no or a 5-digit ESR station code")

    @property
    def alta_report_times(self) -> tuple[str, ...]:
        return tuple(self.alta_times.split(","))

    @property
    def alta_weekdays(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.alta_days.split(","))

    @property
    def database(self) -> str:
        """The database the bot uses: DATABASE_URL, else the SQLite file DATABASE_PATH."""
        return self.database_url or f"sqlite:///{self.database_path}"

    @property
    def database_password(self) -> str | None:
        return urlsplit(self.database_url).password if self.database_url else None

    @property
    def webhook_path(self) -> str:
        """The path the webhook is served on (HTTP_PORT): WEBHOOK_URL's own."""
        return urlsplit(self.webhook_url or "").path or "/"

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.bot_timezone)

    # --- which integrations are on -------------------------------------------------------
    @property
    def movizor_enabled(self) -> bool:
        return bool(self.movizor_project and self.movizor_key)

    @property
    def mobiforce_enabled(self) -> bool:
        return bool(self.mobiforce_base_url and self.mobiforce_api_key)

    @property
    def taximaster_enabled(self) -> bool:
        return bool(self.taximaster_base_url and self.taximaster_secret)

    @property
    def alta_enabled(self) -> bool:
        return bool(self.alta_login and self.alta_sa and self.alta_password)

    def enabled_integrations(self) -> dict[str, bool]:
        return {
            "movizor": self.movizor_enabled,
            "mobiforce": self.mobiforce_enabled,
            "taximaster": self.taximaster_enabled,
            "alta": self.alta_enabled,
        }

    def secrets(self) -> list[str]:
        """Every secret value, for the log redaction filter."""
        values = [self.bot_token, self.movizor_key, self.mobiforce_api_key]
        values += [self.taximaster_secret, self.alta_password, self.webhook_secret]
        values += [self.redis_url]
        found = [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]
        return found + ([self.database_password] if self.database_password else [])


def parse_report_times(text: str) -> list[str] | None:
    """``"9:00, 18:00"`` -> ``["09:00", "18:00"]`` (sorted, one to three); None if not that."""
    found: set[str] = set()
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        if not part:
            continue
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", part)
        if match is None:
            return None
        found.add(f"{int(match.group(1)):02d}:{match.group(2)}")
    return sorted(found) if 1 <= len(found) <= 3 else None


def parse_weekdays(text: str) -> list[int] | None:
    """``"0-6"``, ``"1-5"``, ``"1,3,5"`` (0 = Sunday, Alta's numbering) -> sorted days."""
    days: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        match = re.fullmatch(r"([0-6])(?:-([0-6]))?", part)
        if match is None:
            return None
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        if last < first:
            return None
        days.update(range(first, last + 1))
    return sorted(days) if days else None


def load_settings(*, require_token: bool = False, **overrides: object) -> Settings:
    """Load settings, turning every validation problem into one readable line."""
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "CONFIG"
            problems.append(f"{name}: {error['msg']}")
    # When validation failed there is no Settings to ask; the token may well be set, so only a
    # token that is really absent from the environment and the .env file is reported.
    token_missing = (
        settings.bot_token is None if settings is not None else not _token_given(overrides)
    )
    if require_token and token_missing and not any(p.startswith("BOT_TOKEN") for p in problems):
        problems.insert(0, "BOT_TOKEN: required for `logibot run` (get one from @BotFather)")
    if problems or settings is None:
        raise ConfigError(problems)
    return settings


class _TokenOnly(BaseSettings):
    """Reads BOT_TOKEN the way Settings does, without validating anything else."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )
    bot_token: str | None = None


def _token_given(overrides: dict[str, object]) -> bool:
    if overrides.get("bot_token"):
        return True
    env_file = overrides.get("_env_file", ".env")
    return bool(_TokenOnly(_env_file=env_file).bot_token)  # type: ignore[arg-type]


def masked(settings: Settings) -> dict[str, str]:
    """The effective configuration as text, secrets shown as `***` (for `logibot check`)."""
    shown: dict[str, str] = {}
    for name, value in settings:
        shown[name.upper()] = _mask(value)
    if settings.database_password:
        shown["DATABASE_URL"] = shown["DATABASE_URL"].replace(settings.database_password, "***")
    return shown


def _mask(value: object) -> str:
    if isinstance(value, SecretStr):
        return "***" if value.get_secret_value() else ""
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
