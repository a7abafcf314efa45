"""The one place syndicator reads its configuration.

Sources, in increasing precedence:

1. built-in defaults (embedded mode: SQLite under the data directory, in-process queue);
2. a TOML file: ``$SYNDICATOR_CONFIG``, else ``<data dir>/syndicator.toml`` when it exists;
3. environment variables ``SYNDICATOR_*``; nested keys use a double underscore,
   e.g. ``SYNDICATOR_FETCH__PER_HOST_DELAY=0.5``.

Setting ``SYNDICATOR_DATABASE_URL=postgresql+psycopg://…`` and ``SYNDICATOR_BROKER_URL=redis://…``
switches to the distributed mode; nothing else changes.

Everything else in the code base receives a :class:`Settings` object; nothing below this module
reads ``os.environ``. Secrets named in the file (``[[notify.targets]] secret_env``) are read from
the environment here too, at load time, and kept in :class:`Secret` so no repr or log shows them.

``[[notify.targets]]`` is an array of tables and is read from the TOML file only; the environment
can override the scalar ``[notify]`` settings (``SYNDICATOR_NOTIFY__MAX_ATTEMPTS=3``) but not the
list.
"""

from __future__ import annotations

import hmac
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args
from urllib.parse import urlsplit, urlunsplit

from syndicator.db.models import NoticeKind

__all__ = [
    "ChannelSettings",
    "FetchSettings",
    "NotifySettings",
    "NotifyTargetKind",
    "NotifyTargetSettings",
    "RenderSettings",
    "SchedulerSettings",
    "Secret",
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
    sweep_seconds: float = 15.0
    """How often due deliveries are handed out again and asynchronous ones checked."""
    deliveries_in_flight: int = 4
    """Deliveries a worker process sends at once (each waits on its platform's answer)."""


class Secret:
    """A secret value from the environment: shown as ``***`` by ``repr``, ``str`` and f-strings.

    Only :meth:`reveal` gives the value, so it reaches the code that signs with it and nothing
    that formats settings for people.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; use it, never format it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)


NotifyTargetKind = Literal["console", "log", "webhook", "channel"]


@dataclass(frozen=True, kw_only=True, slots=True)
class NotifyTargetSettings:
    """One ``[[notify.targets]]`` table: where notices go and which ones.

    ``kinds`` and ``sites`` are ``None`` when unset (every kind, every site). ``sites`` matches a
    site and everything below it in the hierarchy; a notice about no site only goes to targets
    whose ``sites`` is unset. ``secret`` is read from the variable ``secret_env`` names.
    A ``channel`` target hands notices to the delivery engine for the ``[[channels]]``
    instance ``channel`` names (a WeCom/DingTalk/Feishu robot, Telegram, email …).
    """

    id: str
    kind: NotifyTargetKind
    url: str | None = None
    channel: str | None = None
    secret_env: str | None = None
    secret: Secret | None = None
    kinds: tuple[NoticeKind, ...] | None = None
    sites: tuple[str, ...] | None = None
    timeout: float = 10.0

    def __repr__(self) -> str:
        parts = [f"id={self.id!r}", f"kind={self.kind!r}"]
        if self.url is not None:
            parts.append(f"url={mask_url(self.url)!r}")
        if self.channel is not None:
            parts.append(f"channel={self.channel!r}")
        if self.secret_env is not None:
            parts.append(f"secret_env={self.secret_env!r}, secret='***'")
        if self.kinds is not None:
            parts.append(f"kinds={[k.value for k in self.kinds]!r}")
        if self.sites is not None:
            parts.append(f"sites={list(self.sites)!r}")
        parts.append(f"timeout={self.timeout!r}")
        return f"NotifyTargetSettings({', '.join(parts)})"


_DEFAULT_TARGETS = (NotifyTargetSettings(id="log", kind="log"),)


@dataclass(frozen=True, kw_only=True, slots=True)
class NotifySettings:
    """How notices are delivered (:mod:`syndicator.notify`).

    Without ``[[notify.targets]]`` every notice goes to one ``log`` target.
    """

    targets: tuple[NotifyTargetSettings, ...] = _DEFAULT_TARGETS
    max_attempts: int = 8
    """Attempts per target before a notice is given up on (``failed``)."""
    backoff_base: float = 30.0
    """Seconds before the first retry; doubled after each failed attempt."""
    backoff_cap: float = 3600.0
    """No retry waits longer than this, whatever the attempt count or Retry-After says."""
    claim_lease_seconds: int = 300
    """A claimed notice is handed out again after this if its dispatch never finished."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelSettings:
    """One ``[[channels]]`` table: a configured channel instance (see docs/channels.md).

    Every ``<field>_env = "VAR"`` key becomes ``secrets[field]``, read from the environment
    variable ``VAR``; ``render = {format = …, rule = …}`` is this instance's rendering policy;
    the other keys are ``options``, passed to the adapter as they are. The adapter's
    ``secret_fields`` decide which fields must come this way.
    """

    id: str
    type: str
    base_url: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, Secret] = field(default_factory=dict)
    secret_envs: Mapping[str, str] = field(default_factory=dict)
    render: Mapping[str, Any] = field(default_factory=dict)
    """This instance's rendering policy (``format``, ``rule``) over its adapter type's."""

    def __repr__(self) -> str:
        envs = ", ".join(f"{k}=${v}" for k, v in sorted(self.secret_envs.items()))
        return (
            f"ChannelSettings(id={self.id!r}, type={self.type!r}, base_url={self.base_url!r}, "
            f"options={dict(self.options)!r}, secrets=[{envs}])"
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class RenderSettings:
    """``[render]``: how pushes are shaped for each channel (:mod:`syndicator.content`).

    ``templates_dir`` replaces the built-in ``templates/messages`` (copy it and edit);
    ``policies`` maps an adapter type to ``format``/``rule`` (``[render.weibo] rule = "refuse"``),
    over the built-in table. Both are checked when the settings load.
    """

    templates_dir: Path | None = None
    policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


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
    notify: NotifySettings = field(default_factory=NotifySettings)
    channels: tuple[ChannelSettings, ...] = ()
    render: RenderSettings = field(default_factory=RenderSettings)

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
    if scheduler.deliveries_in_flight < 1:
        raise SettingsError(f"{where} [scheduler].deliveries_in_flight: must be at least 1")
    notify = _build_notify(tree.pop("notify", {}) or {}, f"{where} [notify]", env)
    channels = _build_channels(file_tree.get("channels"), f"{where} [[channels]]", env)
    tree.pop("channels", None)
    render = _build_render(
        tree.pop("render", {}) or {},
        f"{where} [render]",
        config_path.parent if config_path else base,
    )
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
    _check_channel_targets(notify, channels, f"{where} [notify]")
    return replace(
        settings,
        fetch=fetch,
        scheduler=scheduler,
        notify=notify,
        channels=channels,
        render=render,
    )


def _build_render(raw: Any, where: str, base: Path) -> RenderSettings:
    from syndicator.content import PolicyError, policies_from_config

    if not isinstance(raw, Mapping):
        raise SettingsError(f"{where}: must be a table")
    values = dict(raw)
    templates_dir = _resolve(values.pop("templates_dir", None), base)
    if templates_dir is not None and not templates_dir.is_dir():
        raise SettingsError(f"{where}.templates_dir: {templates_dir} is not a directory")
    policies: dict[str, Mapping[str, Any]] = {}
    for name, entry in values.items():
        if not isinstance(entry, Mapping):
            raise SettingsError(
                f"{where}.{name}: must be a table of format/rule for the adapter {name!r} "
                f'(e.g. [render.{name}] rule = "split"); the only other key is templates_dir'
            )
        policies[name] = dict(entry)
    try:
        policies_from_config(policies)
    except PolicyError as exc:
        raise SettingsError(f"{where}: {exc}") from None
    return RenderSettings(templates_dir=templates_dir, policies=policies)


def _check_channel_targets(
    notify: NotifySettings, channels: tuple[ChannelSettings, ...], where: str
) -> None:
    known = {c.id for c in channels}
    for target in notify.targets:
        if target.kind == "channel" and target.channel not in known:
            raise SettingsError(
                f"{where}.targets (id {target.id!r}).channel: {target.channel!r} is not one of "
                f"the [[channels]] ({', '.join(sorted(known)) or 'none configured'})"
            )


def _resolve(value: Any, base: Path) -> Path | None:
    if not value:
        return None
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


_TARGET_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_TARGET_KINDS: tuple[str, ...] = get_args(NotifyTargetKind)
_TARGET_KEYS = ("id", "kind", "url", "channel", "secret_env", "kinds", "sites", "timeout")
_NOTICE_KINDS = tuple(k.value for k in NoticeKind)


def _build_notify(raw: Any, where: str, env: Mapping[str, str]) -> NotifySettings:
    if not isinstance(raw, Mapping):
        raise SettingsError(f"{where}: must be a table")
    values = dict(raw)
    targets_raw = values.pop("targets", None)
    notify = _build(NotifySettings, values, where)
    if notify.max_attempts < 1:
        raise SettingsError(f"{where}.max_attempts: must be at least 1")
    if notify.backoff_base <= 0:
        raise SettingsError(f"{where}.backoff_base: must be more than 0 seconds")
    if notify.backoff_cap < notify.backoff_base:
        raise SettingsError(f"{where}.backoff_cap: must not be less than backoff_base")
    if notify.claim_lease_seconds < 1:
        raise SettingsError(f"{where}.claim_lease_seconds: must be at least 1")
    if targets_raw is None:
        return notify
    if not isinstance(targets_raw, list) or not all(isinstance(t, Mapping) for t in targets_raw):
        raise SettingsError(
            f"{where}.targets: must be an array of tables ([[notify.targets]] in the TOML file; "
            "targets cannot be set from the environment)"
        )
    if not targets_raw:
        raise SettingsError(
            f"{where}.targets: is empty, so no notice would reach anyone; "
            "remove it for the default log target"
        )
    targets: list[NotifyTargetSettings] = []
    seen: set[str] = set()
    for index, table in enumerate(targets_raw):
        target = _build_target(table, f"{where}.targets[{index}]", env)
        if target.id in seen:
            raise SettingsError(f"{where}.targets[{index}].id: {target.id!r} is used twice")
        seen.add(target.id)
        targets.append(target)
    return replace(notify, targets=tuple(targets))


def _build_target(
    table: Mapping[str, Any], where: str, env: Mapping[str, str]
) -> NotifyTargetSettings:
    if "secret" in table:
        raise SettingsError(
            f"{where}.secret: secrets do not belong in the file; put it in an environment "
            "variable and name that variable with secret_env"
        )
    for key in table:
        if key not in _TARGET_KEYS:
            raise SettingsError(
                f"{where}: unknown setting {key!r}; known: {', '.join(sorted(_TARGET_KEYS))}"
            )
    target_id = table.get("id")
    if not isinstance(target_id, str) or not _TARGET_ID.fullmatch(target_id):
        raise SettingsError(
            f"{where}.id: {target_id!r} is not a valid target id "
            "(lower-case letters, digits, '-' and '_', starting with a letter or digit, ≤ 64)"
        )
    where = f"{where} (id {target_id!r})"
    kind = table.get("kind")
    if kind not in _TARGET_KINDS:
        raise SettingsError(
            f"{where}.kind: {kind!r} is not a target kind; allowed: {', '.join(_TARGET_KINDS)}"
        )
    url = table.get("url")
    secret_env = table.get("secret_env")
    secret: Secret | None = None
    if kind == "webhook":
        url = _webhook_url(url, f"{where}.url")
        if not isinstance(secret_env, str) or not secret_env:
            raise SettingsError(
                f"{where}.secret_env: required for a webhook target: the name of the "
                "environment variable that holds its signing key"
            )
        value = env.get(secret_env)
        if not value:
            raise SettingsError(
                f"{where}.secret_env: environment variable {secret_env!r} for webhook target "
                f"{target_id!r} is not set or empty"
            )
        secret = Secret(value)
    else:
        for key in ("url", "secret_env"):
            if key in table:
                raise SettingsError(f"{where}.{key}: only webhook targets take {key!r}")
    channel = table.get("channel")
    if kind == "channel":
        if not isinstance(channel, str) or not channel:
            raise SettingsError(
                f"{where}.channel: required for a channel target: the id of one of the "
                "[[channels]] (e.g. a WeCom or DingTalk group robot)"
            )
    elif channel is not None:
        raise SettingsError(f"{where}.channel: only channel targets take 'channel'")
    timeout = _coerce(table.get("timeout", 10.0), "float", f"{where}.timeout")
    if timeout <= 0:
        raise SettingsError(f"{where}.timeout: must be more than 0 seconds")
    return NotifyTargetSettings(
        id=target_id,
        kind=kind,
        url=url,
        channel=channel,
        secret_env=secret_env if kind == "webhook" else None,
        secret=secret,
        kinds=_notice_kinds(table.get("kinds"), f"{where}.kinds"),
        sites=_string_list(table.get("sites"), f"{where}.sites"),
        timeout=timeout,
    )


_CHANNEL_ID = _TARGET_ID


def _build_channels(raw: Any, where: str, env: Mapping[str, str]) -> tuple[ChannelSettings, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(t, Mapping) for t in raw):
        raise SettingsError(f"{where}: must be an array of tables ([[channels]] in the TOML file)")
    built: list[ChannelSettings] = []
    seen: set[str] = set()
    for index, table in enumerate(raw):
        at = f"{where} #{index + 1}"
        channel_id = table.get("id")
        if not isinstance(channel_id, str) or not _CHANNEL_ID.fullmatch(channel_id):
            raise SettingsError(
                f"{at}.id: {channel_id!r} is not a valid channel id "
                "(lower-case letters, digits, '-' and '_', starting with a letter or digit, ≤ 64)"
            )
        at = f"{where} (id {channel_id!r})"
        if channel_id in seen:
            raise SettingsError(f"{at}.id: used twice")
        seen.add(channel_id)
        kind = table.get("type")
        if not isinstance(kind, str) or not kind:
            raise SettingsError(f'{at}.type: required: the adapter, e.g. "wechat_mp"')
        base_url = table.get("base_url")
        if base_url is not None:
            base_url = _webhook_url(base_url, f"{at}.base_url")
        options: dict[str, Any] = {}
        secrets: dict[str, Secret] = {}
        envs: dict[str, str] = {}
        render = _channel_render(table.get("render"), f"{at}.render", channel_id)
        for key, value in table.items():
            if key in ("id", "type", "base_url", "render"):
                continue
            if key.endswith("_env"):
                name = key[: -len("_env")]
                if name in table:
                    raise SettingsError(f"{at}: give {name!r} or {key!r}, not both")
                if not isinstance(value, str) or not value:
                    raise SettingsError(f"{at}.{key}: the name of an environment variable")
                secret = env.get(value)
                if not secret:
                    raise SettingsError(
                        f"{at}.{key}: environment variable {value!r} is not set or empty"
                    )
                secrets[name], envs[name] = Secret(secret), value
            else:
                options[key] = value
        built.append(
            ChannelSettings(
                id=channel_id,
                type=kind,
                base_url=base_url,
                options=options,
                secrets=secrets,
                secret_envs=envs,
                render=render,
            )
        )
    return tuple(built)


def _channel_render(raw: Any, where: str, channel_id: str) -> dict[str, Any]:
    from syndicator.content import PolicyError, policies_from_config

    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SettingsError(f'{where}: must be a table, e.g. render = {{ rule = "split" }}')
    try:
        policies_from_config({channel_id: raw})
    except PolicyError as exc:
        raise SettingsError(f"{where}: {exc}") from None
    return dict(raw)


def _webhook_url(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{where}: required for a webhook target")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            f"{where}: {mask_url(value)!r} is not an absolute http:// or https:// URL"
        )
    return value


def _string_list(value: Any, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SettingsError(f"{where}: {value!r} is not a list of non-empty strings")
    if not value:
        raise SettingsError(f"{where}: is empty, so nothing would match; remove it to match all")
    return tuple(dict.fromkeys(value))


def _notice_kinds(value: Any, where: str) -> tuple[NoticeKind, ...] | None:
    names = _string_list(value, where)
    if names is None:
        return None
    unknown = [n for n in names if n not in _NOTICE_KINDS]
    if unknown:
        raise SettingsError(
            f"{where}: unknown notice kind {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(_NOTICE_KINDS)}"
        )
    return tuple(NoticeKind(n) for n in names)
