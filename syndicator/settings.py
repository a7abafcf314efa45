"""The one place syndicator reads its configuration.

Sources, in increasing precedence:

1. built-in defaults (embedded mode: SQLite under the data directory, in-process queue);
2. a TOML file: ``$SYNDICATOR_CONFIG``, else ``<data dir>/syndicator.toml`` when it exists;
3. environment variables ``SYNDICATOR_*``; nested keys use a double underscore,
   e.g. ``SYNDICATOR_FETCH__PER_HOST_DELAY=0.5``.

Setting ``SYNDICATOR_DATABASE_URL=postgresql+psycopg://…`` and ``SYNDICATOR_BROKER_URL=redis://…``
switches to the distributed mode; nothing else changes.

Everything else in the code base receives a :class:`Settings` object; nothing below this module
reads ``os.environ``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "FetchSettings",
    "SchedulerSettings",
    "Settings",
    "SettingsError",
    "load_settings",
    "mask_url",
]

ENV_PREFIX = "SYNDICATOR_"


class SettingsError(ValueError):
    """Configuration that cannot be used; the message names where and what."""


def mask_url(url: str | None) -> str | None:
    """Return *url* with any password replaced by ``***`` (for logs and reprs)."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchSettings:
    """How the fetcher talks to portals."""

    user_agent: str = "syndicator/0.1 (+government website compliance monitor)"
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    max_body_bytes: int = 15 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 50
    clients: int = 5
    per_host_concurrency: int = 2
    per_host_delay: float = 0.2
    detail_fetch_limit: int = 30


@dataclass(frozen=True, kw_only=True, slots=True)
class SchedulerSettings:
    """When sources are checked and when one counts as broken."""

    tick_seconds: float = 5.0
    default_interval: int = 600
    backoff_cap_factor: int = 8
    error_streak_broken: int = 3
    timeout_streak_broken: int = 3
    claim_lease_seconds: int = 300
    batch_size: int = 500
    evaluate_seconds: float = 60.0
    """How often the compliance tick runs (obligations, deadlines, notices)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """Typed configuration; build it with :func:`load_settings`."""

    data_dir: Path
    database_url: str
    broker_url: str | None = None
    sources_file: Path | None = None
    config_file: Path | None = None
    profile: str = "jiangxi"
    display_timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    fetch: FetchSettings = field(default_factory=FetchSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)

    @property
    def distributed(self) -> bool:
        """True when a broker is configured (Celery workers and beat on Redis)."""
        return self.broker_url is not None

    def __repr__(self) -> str:
        return (
            f"Settings(data_dir={str(self.data_dir)!r}, "
            f"database_url={mask_url(self.database_url)!r}, "
            f"broker_url={mask_url(self.broker_url)!r}, mode="
            f"{'distributed' if self.distributed else 'embedded'!r})"
        )


_T = TypeVar("_T")


def _coerce(value: Any, target: Any, where: str) -> Any:
    kind = target if isinstance(target, type) else None
    text_type = str(target)
    try:
        if kind is bool or text_type == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on"}:
                return True
            if isinstance(value, str) and value.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        if kind is int or text_type == "int":
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if kind is float or text_type == "float":
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if "Path" in text_type:
            return None if value in (None, "") else Path(str(value)).expanduser()
        if "str" in text_type:
            return None if value is None else str(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{where}: {value!r} is not a valid {text_type}") from None
    return value


def _build(cls: type[_T], values: Mapping[str, Any], where: str) -> _T:
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            known_keys = ", ".join(sorted(known))
            raise SettingsError(f"{where}: unknown setting {key!r}; known: {known_keys}")
        kwargs[key] = _coerce(value, known[key].type, f"{where}.{key}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise SettingsError(f"{where}: {exc}") from None


def _env_tree(environ: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SettingsError(f"{name}: conflicts with another SYNDICATOR_ variable")
        node[path[-1]] = value
    return tree


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"{path}: configuration file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: invalid TOML: {exc}") from None


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# Environment names that are not settings but are read by the modules below.
_NOT_SETTINGS = {"config"}


def load_settings(environ: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> Settings:
    """Read defaults, the TOML file and ``SYNDICATOR_*`` variables into :class:`Settings`.

    Raises:
        SettingsError: a value has the wrong type, a key is unknown, or the file is unreadable.
    """
    env = dict(os.environ if environ is None else environ)
    base = cwd or Path.cwd()
    env_tree = _env_tree(env)

    data_dir = Path(str(env_tree.get("data_dir") or base / "var")).expanduser()
    if not data_dir.is_absolute():
        data_dir = (base / data_dir).resolve()

    config_path: Path | None
    if env_tree.get("config"):
        config_path = Path(str(env_tree["config"])).expanduser()
        if not config_path.is_absolute():
            config_path = base / config_path
        file_tree = _read_toml(config_path)
    else:
        config_path = data_dir / "syndicator.toml"
        file_tree = _read_toml(config_path) if config_path.is_file() else {}
        if not file_tree:
            config_path = None

    tree = _merge(file_tree, {k: v for k, v in env_tree.items() if k not in _NOT_SETTINGS})
    where = str(config_path) if config_path else "settings"
    fetch = _build(FetchSettings, tree.pop("fetch", {}) or {}, f"{where} [fetch]")
    scheduler = _build(SchedulerSettings, tree.pop("scheduler", {}) or {}, f"{where} [scheduler]")
    tree.pop("data_dir", None)

    sources_file = tree.pop("sources_file", None) or tree.pop("sources", None)
    settings = _build(
        Settings,
        {
            "data_dir": data_dir,
            "database_url": tree.pop("database_url", None)
            or f"sqlite:///{data_dir / 'syndicator.db'}",
            "sources_file": _resolve(sources_file, config_path.parent if config_path else base),
            "config_file": config_path,
            **tree,
        },
        where,
    )
    return replace(settings, fetch=fetch, scheduler=scheduler)


def _resolve(value: Any, base: Path) -> Path | None:
    if not value:
        return None
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else (base / path).resolve()
