"""The adapter interface: one :class:`Channel` subclass per platform, one module each.

An adapter describes itself with class attributes (what it is, what it can send, how long a
message may be and how the platform counts it, which configuration fields are secrets) and
implements two hooks: :meth:`Channel.publish` a rendered :class:`Message` under an idempotency
key, returning a :class:`Receipt`; and, where the platform publishes asynchronously,
:meth:`Channel.check` an earlier receipt. It takes its ``httpx.AsyncClient`` and base URL from
outside and knows nothing of syndicator's database or queue.

Errors tell the delivery engine what to do next::

    ChannelError                    every adapter failure; carries platform code and HTTP status
    ├── Retryable                   try again later (optional retry_after seconds)
    │   └── RateLimited             the platform said "too many": wait retry_after
    ├── AuthExpired                 the token expired or was superseded: refresh, retry once
    ├── BadContent                  the platform refuses this message: permanent, shown to staff
    ├── Misconfigured               wrong key/secret, bot removed, account not allowed: alert admin
    └── Unconfirmed                 the request may have taken effect: never blindly retried

An adapter raises :class:`Unconfirmed` when the request was (or may have been) written and no
answer came back (timeout after sending, connection closed): the engine reconciles it with
:meth:`Channel.check` where the platform has one, otherwise shows it to staff to confirm.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Required, TypedDict

import httpx

__all__ = [
    "AuthExpired",
    "BadContent",
    "Capability",
    "Channel",
    "ChannelConfigError",
    "ChannelError",
    "Format",
    "LengthUnit",
    "Limit",
    "Message",
    "Misconfigured",
    "RateLimited",
    "Receipt",
    "Retryable",
    "Unconfirmed",
    "measure",
]

Format = Literal["plain", "markdown", "html"]


class Capability(enum.StrEnum):
    TEXT = "text"  # a plain text message
    MARKDOWN = "markdown"  # the platform's markdown dialect
    HTML = "html"  # an HTML article body (WeChat articles, e-mail)
    LINK = "link"  # a link card / news item with title, summary, URL
    IMAGE = "image"  # a cover or inline image
    STATUS = "status"  # publishing is asynchronous: check() tells the outcome
    MENTION = "mention"  # @ people in a group


class LengthUnit(enum.StrEnum):
    """How a platform counts a message's length."""

    CHARS = "chars"  # Unicode code points
    UTF8_BYTES = "utf8_bytes"  # bytes once encoded as UTF-8 (WeCom, DingTalk)
    UTF16_UNITS = "utf16_units"  # UTF-16 code units (Telegram counts these)
    WEIBO = "weibo"  # a CJK character counts 1, any other character half


def measure(text: str, unit: LengthUnit) -> float:
    """The length of *text* as the platform counts it."""
    if unit is LengthUnit.CHARS:
        return len(text)
    if unit is LengthUnit.UTF8_BYTES:
        return len(text.encode("utf-8"))
    if unit is LengthUnit.UTF16_UNITS:
        return len(text.encode("utf-16-le")) // 2
    return sum(1.0 if ord(ch) > 0x2E7F else 0.5 for ch in text)


@dataclass(frozen=True, slots=True)
class Limit:
    """A length limit: at most *size* in *unit*."""

    size: int
    unit: LengthUnit = LengthUnit.CHARS

    def fits(self, text: str) -> bool:
        return measure(text, self.unit) <= self.size

    def __str__(self) -> str:
        unit = {"chars": "字", "utf8_bytes": "字节(UTF-8)", "utf16_units": "字(UTF-16)"}
        return f"{self.size} {unit.get(self.unit.value, '字(中文计1，其他计0.5)')}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """A push rendered for one channel.

    Attributes:
        kind: what it is: ``interpretation`` (解读), ``rebuttal`` (辟谣), ``notice`` (internal
            alert) or ``test``.
        title: the headline (required by article and card formats).
        body: the text in ``format``, already rendered and within the channel's limit.
        format: ``plain``, ``markdown`` (the channel's dialect) or ``html``.
        summary: a short abstract for cards and article digests.
        url: a link to the full text on the government website.
        author: the byline, for articles.
        cover: a cover image (bytes) for platforms whose articles need one.
        extra: adapter-specific options (e.g. ``{"mentions": ["@all"]}``); never secrets.
    """

    kind: str
    title: str
    body: str
    format: Format = "plain"
    summary: str | None = None
    url: str | None = None
    author: str | None = None
    cover: bytes | None = field(default=None, repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """What the platform said about a publish.

    Attributes:
        status: ``published`` (final, success), ``pending`` (accepted, still publishing: call
            :meth:`Channel.check`), or ``failed`` (final, after a check).
        external_id: the platform's id (msgid, publish_id, status id, message_id …).
        url: where the published item can be read, when the platform says.
        platform_code: the platform's own result code (``errcode``, ``code``, publish status).
        detail: a short description of the outcome, secrets redacted.
        raw: the response body, secrets redacted, for the delivery log.
    """

    status: Literal["published", "pending", "failed"]
    external_id: str | None = None
    url: str | None = None
    platform_code: int | str | None = None
    detail: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.status != "pending"


class ChannelError(Exception):
    """An adapter failure. ``str()`` is safe to show and log: secrets are redacted.

    Attributes:
        platform_code: the platform's error code (``errcode`` …), when it gave one.
        http_status: the HTTP status, when there was a response.
        raw: the response body (redacted), for the delivery log.
    """

    def __init__(
        self,
        message: str,
        *,
        platform_code: int | str | None = None,
        http_status: int | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.platform_code = platform_code
        self.http_status = http_status
        self.raw: Mapping[str, Any] = raw or {}


class Retryable(ChannelError):
    """A temporary failure: try again later, after ``retry_after`` seconds when given."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class RateLimited(Retryable):
    """The platform's rate limit: wait ``retry_after`` seconds (the engine's default if None)."""


class AuthExpired(ChannelError):
    """The access token expired or was superseded: refresh it and retry once."""


class BadContent(ChannelError):
    """The platform refuses this message (length, format, sensitive words): permanent."""


class Misconfigured(ChannelError):
    """Wrong credentials, a removed bot, an account without the right: permanent, alert admin."""


class Unconfirmed(ChannelError):
    """The request may have taken effect (no answer after it was sent): do not retry blindly."""


class ChannelConfigError(ValueError):
    """A channel configuration that cannot be used; the message names the channel and field."""


class ChannelOptions(TypedDict, total=False):
    """:class:`Channel`'s keyword arguments, for an adapter whose constructor adds none.

    Such an adapter takes them as ``**options: Unpack[ChannelOptions]`` and passes them on.
    """

    client: Required[httpx.AsyncClient]
    base_url: str | None


class Channel(ABC):
    """Base class of every adapter.

    Class attributes describe the adapter; subclasses override them:

    * ``name`` — the adapter's type name in configuration (``wechat_mp``);
    * ``title`` — its name for staff (``微信公众号``);
    * ``capabilities`` — what it can send (:class:`Capability`);
    * ``formats`` — the message formats it accepts, preferred first;
    * ``limit`` — the body's length limit and how it is counted (``None``: none);
      ``format_limits`` — a different limit for some formats (WeCom: 4096 bytes as markdown);
    * ``title_limit`` — the title's, where the platform has one;
    * ``rate`` — the platform's own rate limits as ``(messages, seconds)`` pairs;
    * ``required_fields`` / ``optional_fields`` — configuration keys;
    * ``secret_fields`` — configuration keys holding secrets: masked everywhere;
    * ``default_base_url`` — the real service (configuration may point elsewhere: a fake);
    * ``idempotent`` — the platform drops a repeat of the same idempotency key (a webhook
      receiver that keeps delivery ids, a feed entry id): only then may the engine resend a
      delivery whose first attempt has no known outcome.

    Args:
        id: the channel instance's id (``jx-wechat``).
        config: its configuration, secrets resolved (see :mod:`channels.config`).
        client: the HTTP client to use (its lifetime is the caller's).
        base_url: overrides ``default_base_url``.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.TEXT})
    formats: ClassVar[tuple[Format, ...]] = ("plain",)
    limit: ClassVar[Limit | None] = None
    format_limits: ClassVar[Mapping[Format, Limit]] = {}
    title_limit: ClassVar[Limit | None] = None
    rate: ClassVar[tuple[tuple[int, float], ...]] = ()
    required_fields: ClassVar[tuple[str, ...]] = ()
    optional_fields: ClassVar[tuple[str, ...]] = ()
    secret_fields: ClassVar[tuple[str, ...]] = ()
    default_base_url: ClassVar[str | None] = None
    idempotent: ClassVar[bool] = False

    def __init__(
        self,
        id: str,
        config: Mapping[str, Any],
        *,
        client: httpx.AsyncClient,
        base_url: str | None = None,
    ) -> None:
        missing = [f for f in self.required_fields if config.get(f) in (None, "")]
        if missing:
            raise ChannelConfigError(
                f"channel {id!r} ({self.name}): missing field(s) {', '.join(missing)}"
            )
        known = {*self.required_fields, *self.optional_fields}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ChannelConfigError(
                f"channel {id!r} ({self.name}): unknown field(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known)) or 'none'}"
            )
        self.id = id
        self.config: Mapping[str, Any] = dict(config)
        self.client = client
        url = base_url or self.default_base_url
        self.base_url = url.rstrip("/") if url else None

    @classmethod
    def limit_for(cls, format: Format) -> Limit | None:
        """The body's limit when sent as *format*."""
        return cls.format_limits.get(format, cls.limit)

    @abstractmethod
    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        """Publish *message*; return the platform's receipt.

        *idempotency_key* is the same for every attempt of one push × channel: send it where the
        platform accepts one, and use it to recognise a duplicate the platform reports.

        Raises:
            ChannelError: a subclass saying what the engine should do (see the module).
        """

    async def check(self, receipt: Receipt) -> Receipt:
        """The current state of an earlier ``pending`` receipt (platforms with ``STATUS``).

        Raises:
            NotImplementedError: the platform has no way to ask.
            ChannelError: as for :meth:`publish`.
        """
        raise NotImplementedError(f"{self.name} cannot check an earlier publish")

    async def aclose(self) -> None:  # noqa: B027 - optional hook; most adapters hold nothing
        """Release what the adapter holds itself (not the client it was given)."""

    # -- secrets --------------------------------------------------------------------------

    def secrets(self) -> list[str]:
        """The secret values of this instance (for redaction)."""
        return [str(v) for f in self.secret_fields if (v := self.config.get(f))]

    def redact(self, text: str) -> str:
        """*text* with every secret of this instance replaced by ``***``."""
        for secret in sorted(self.secrets(), key=len, reverse=True):
            if len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    def redact_data(self, data: Any) -> Any:
        """A JSON-like value with secrets redacted in every string (for the delivery log)."""
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, Mapping):
            return {
                k: "***" if k in self.secret_fields else self.redact_data(v)
                for k, v in data.items()
            }
        if isinstance(data, list | tuple):
            return [self.redact_data(v) for v in data]
        return data

    def safe_config(self) -> dict[str, Any]:
        """The configuration with secrets shown as ``***`` (for CLI output and logs)."""
        return {k: "***" if k in self.secret_fields else v for k, v in self.config.items()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, base_url={self.base_url!r})"
