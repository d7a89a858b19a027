"""Settings: typed, frozen, built from an environment mapping (and an optional `.env` file)."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv.parser import parse_stream

from bot.domain.digest import DEFAULT as DEFAULT_DIGEST
from bot.domain.digest import DigestTime, parse_digest

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///microlearn.db"

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable and the fix."""


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    lessons_dir: Path = Path("lessons")
    admins: frozenset[str] = field(default_factory=frozenset)
    tick_seconds: int = 30
    catch_up_grace_hours: float = 12.0
    nudge_after_hours: float = 24.0
    send_rate_per_second: float = 4.0
    send_burst: int = 8
    send_threads: int = 0  # posts in flight per process; 0: as many as the rate needs
    web_threads: int = 16
    listener_threads: int = 16
    socket_processes: int = 2  # Socket Mode: processes, each with its own connection to Slack
    log_level: str = "INFO"
    sandbox_port: int = 3000
    remind_hours: float = 24.0
    reminders: int = 2
    auto_pause_after: int = 3
    reviews_per_day: int = 3
    retention_days: int | None = None  # delete answers and replies older than this; None: keep
    # OAuth install for several workspaces (HTTP mode): all three, or none.
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_state_secret: str | None = None

    @property
    def oauth(self) -> bool:
        """Workspaces install the app through Slack's OAuth flow (tokens in the database)."""
        return self.slack_client_id is not None

    # When leads get the weekly digest (their own zone); None: never (`off`).
    digest: DigestTime | None = field(default_factory=lambda: parse_digest(DEFAULT_DIGEST))
    # Issue 18, metrics and logs: JSON lines, and a probe port for Socket Mode.
    log_format: str = "text"
    http_port: int | None = None

    @property
    def posts_in_flight(self) -> int:
        """Posts a process keeps in flight: MICROLEARN_SEND_THREADS, or enough for the rate
        with Slack answering in up to 400 ms (Little's law), between 2 and 64."""
        if self.send_threads:
            return self.send_threads
        return max(2, min(64, math.ceil(self.send_rate_per_second * 0.4)))

    @property
    def socket_mode(self) -> bool:
        """Socket Mode is chosen by the presence of an app-level token."""
        return self.slack_app_token is not None


def parse_env_file(text: str, *, name: str = ".env") -> dict[str, str]:
    """Read `.env` text as python-dotenv does (quotes, escapes, comments, `export`).

    Values are taken as written: `${VAR}` is not expanded, so settings depend on the file and
    the environment mapping given, never on this process's own environment. A line dotenv
    cannot read stops start-up naming it, rather than being skipped with a warning.
    """
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            line = (
                binding.original.string.strip().splitlines()[0] if binding.original.string else ""
            )
            raise ConfigError(
                f"{name}:{binding.original.line}: expected KEY=value, got {line[:60]!r}; "
                "fix or remove the line"
            )
        if binding.key is not None:
            values[binding.key] = binding.value or ""
    return values


def load_settings(environ: Mapping[str, str], *, env_file: Path | None = None) -> Settings:
    """Build settings from `environ`, falling back to `env_file` for variables it does not set."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        try:
            text = env_file.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"{env_file}: cannot be read ({error.strerror})") from error
        merged.update(parse_env_file(text, name=str(env_file)))
    merged.update(environ)
    return settings_from(merged)


def settings_from(env: Mapping[str, str]) -> Settings:
    """Validate every variable microlearn reads; raise ConfigError naming the first bad one."""

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    client_id, client_secret, state_secret = _oauth(
        get("SLACK_CLIENT_ID"), get("SLACK_CLIENT_SECRET"), get("SLACK_STATE_SECRET")
    )
    return Settings(
        slack_client_id=client_id,
        slack_client_secret=client_secret,
        slack_state_secret=state_secret,
        slack_bot_token=_token(get("SLACK_BOT_TOKEN"), "SLACK_BOT_TOKEN", "xoxb-"),
        slack_app_token=_token(get("SLACK_APP_TOKEN"), "SLACK_APP_TOKEN", "xapp-"),
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        slack_api_url=_api_url(get("SLACK_API_URL")),
        database_url=_database_url(get("DATABASE_URL")),
        lessons_dir=Path(get("LESSONS_DIR") or "lessons"),
        admins=_admins(get("MICROLEARN_ADMINS")),
        tick_seconds=int(_number(get("MICROLEARN_TICK_SECONDS"), "MICROLEARN_TICK_SECONDS", 30, 1)),
        catch_up_grace_hours=_number(
            get("MICROLEARN_CATCH_UP_HOURS"), "MICROLEARN_CATCH_UP_HOURS", 12.0, 0, whole=False
        ),
        nudge_after_hours=_number(
            get("MICROLEARN_NUDGE_HOURS"), "MICROLEARN_NUDGE_HOURS", 24.0, 0.1, whole=False
        ),
        send_rate_per_second=_number(
            get("MICROLEARN_SEND_RATE"), "MICROLEARN_SEND_RATE", 4.0, 0.1, whole=False
        ),
        send_burst=int(_number(get("MICROLEARN_SEND_BURST"), "MICROLEARN_SEND_BURST", 8, 1)),
        send_threads=_send_threads(get("MICROLEARN_SEND_THREADS")),
        web_threads=int(_number(get("MICROLEARN_WEB_THREADS"), "MICROLEARN_WEB_THREADS", 16, 1)),
        listener_threads=int(
            _number(get("MICROLEARN_LISTENER_THREADS"), "MICROLEARN_LISTENER_THREADS", 16, 1)
        ),
        socket_processes=_socket_processes(get("MICROLEARN_SOCKET_PROCESSES")),
        log_level=_log_level(get("MICROLEARN_LOG_LEVEL")),
        sandbox_port=_port(get("MICROLEARN_SANDBOX_PORT"), "MICROLEARN_SANDBOX_PORT", 3000),
        # Reminders and review load (issue 15).
        remind_hours=_number(
            get("MICROLEARN_REMIND_HOURS"), "MICROLEARN_REMIND_HOURS", 24.0, 0.1, whole=False
        ),
        reminders=int(_number(get("MICROLEARN_REMINDERS"), "MICROLEARN_REMINDERS", 2, 0)),
        auto_pause_after=int(
            _number(get("MICROLEARN_AUTO_PAUSE_AFTER"), "MICROLEARN_AUTO_PAUSE_AFTER", 3, 0)
        ),
        reviews_per_day=int(
            _number(get("MICROLEARN_REVIEWS_PER_DAY"), "MICROLEARN_REVIEWS_PER_DAY", 3, 1)
        ),
        retention_days=_retention_days(get("MICROLEARN_RETENTION_DAYS")),
        digest=_digest(get("MICROLEARN_DIGEST")),
        log_format=_log_format(get("MICROLEARN_LOG_FORMAT")),
        http_port=(
            _port(get("MICROLEARN_HTTP_PORT"), "MICROLEARN_HTTP_PORT", 0)
            if get("MICROLEARN_HTTP_PORT") is not None
            else None
        ),
    )


def _digest(value: str | None) -> DigestTime | None:
    try:
        return parse_digest(value or DEFAULT_DIGEST)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _token(value: str | None, name: str, prefix: str) -> str | None:
    if value is not None and not value.startswith(prefix):
        raise ConfigError(
            f"{name} must start with {prefix!r} (got {value[:5]!r}…); "
            "copy it from your Slack app's settings at https://api.slack.com/apps"
        )
    return value


_OAUTH_VARIABLES = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_STATE_SECRET")
_CLIENT_ID = re.compile(r"^[0-9]+\.[0-9]+$")


def _oauth(
    client_id: str | None, client_secret: str | None, state_secret: str | None
) -> tuple[str | None, str | None, str | None]:
    values = (client_id, client_secret, state_secret)
    missing = [name for name, value in zip(_OAUTH_VARIABLES, values, strict=True) if not value]
    if len(missing) not in (0, len(values)):
        given = [name for name in _OAUTH_VARIABLES if name not in missing]
        raise ConfigError(
            f"{', '.join(given)} set but {', '.join(missing)} not: installing in several "
            "workspaces needs all three of SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and "
            "SLACK_STATE_SECRET (or none, for one workspace with SLACK_BOT_TOKEN)"
        )
    if client_id is not None and not _CLIENT_ID.match(client_id):
        raise ConfigError(
            "SLACK_CLIENT_ID must look like 1234567890.1234567890 (your app → "
            f'"Basic Information" → "App Credentials"), got {client_id[:12]!r}'
        )
    if state_secret is not None and len(state_secret) < 16:
        raise ConfigError(
            "SLACK_STATE_SECRET must be at least 16 characters of your own random text "
            "(it signs the install link's state), e.g. from `openssl rand -hex 32`"
        )
    return client_id, client_secret, state_secret


def _api_url(value: str | None) -> str:
    if value is None:
        return DEFAULT_API_URL
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"SLACK_API_URL must be an http(s) URL such as {DEFAULT_API_URL}, got {value!r}"
        )
    return value if value.endswith("/") else value + "/"


def _database_url(value: str | None) -> str:
    if value is None:
        return DEFAULT_DATABASE_URL
    if value.startswith("postgres://") or value.startswith("postgresql://"):
        # The psycopg 3 driver is the one we ship; a bare URL would pick psycopg2.
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    if value.startswith(("sqlite://", "postgresql+psycopg://")):
        return value
    raise ConfigError(
        "DATABASE_URL must be sqlite:///path/to/file.db or postgresql://user@host:5432/db, "
        f"got {value.split('://', 1)[0]!r}://…"
    )


def _admins(value: str | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    ids = [part.strip() for part in value.split(",") if part.strip()]
    for user_id in ids:
        if not _USER_ID.match(user_id):
            raise ConfigError(
                f"MICROLEARN_ADMINS must be comma-separated Slack user ids like U012ABCDEF, "
                f"got {user_id!r} (find an id in the user's Slack profile: ⋮ → Copy member ID)"
            )
    return frozenset(ids)


def _number(
    value: str | None, name: str, default: float, minimum: float, *, whole: bool = True
) -> float:
    if value is None:
        return default
    try:
        number = int(value) if whole else float(value)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise ConfigError(f"{name} must be {kind} ≥ {minimum:g}, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be ≥ {minimum:g}, got {value!r}")
    return number


def _send_threads(value: str | None) -> int:
    threads = int(_number(value, "MICROLEARN_SEND_THREADS", 0, 1))
    if threads > 256:
        raise ConfigError(
            f"MICROLEARN_SEND_THREADS must be a whole number from 1 to 256, got {value!r}"
        )
    return threads


def _socket_processes(value: str | None) -> int:
    # Slack opens at most 10 Socket Mode connections per app.
    processes = int(_number(value, "MICROLEARN_SOCKET_PROCESSES", 2, 1))
    if processes > 10:
        raise ConfigError(
            f"MICROLEARN_SOCKET_PROCESSES must be a whole number from 1 to 10, got {value!r}"
        )
    return processes


def _port(value: str | None, name: str, default: int) -> int:
    port = int(_number(value, name, default, 1))
    if port > 65535:
        raise ConfigError(f"{name} must be a TCP port, 1–65535, got {value!r}")
    return port


def _log_level(value: str | None) -> str:
    if value is None:
        return "INFO"
    level = value.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(
            f"MICROLEARN_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {value!r}"
        )
    return level


def _retention_days(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(
            "MICROLEARN_RETENTION_DAYS must be a whole number of days ≥ 1 (answers and discussion "
            f"replies older than that are deleted), got {value!r}; leave it unset to keep them"
        )
    return int(value)


def _log_format(value: str | None) -> str:
    if value is None:
        return "text"
    if value.lower() not in ("text", "json"):
        raise ConfigError(f"MICROLEARN_LOG_FORMAT must be text or json, got {value!r}")
    return value.lower()
