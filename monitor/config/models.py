"""The validated shape of sources.yaml: settings, channels, sources and rules.

Durations (``15m``) and sizes (``10MB``) are converted to seconds and bytes while
validating, so the rest of the code sees plain ints. Every model forbids unknown
keys. Validators raise ValueError with the message a user sees; the loader
(`monitor.config.load`) places it on the file's line.
"""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import soupsieve
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from monitor import __version__
from monitor.config.cron import parse_crontab
from monitor.config.units import parse_duration, parse_size
from monitor.config.yaml import closest
from monitor.egress import parse_network

__all__ = [
    "CONSOLE_CHANNEL",
    "CONSOLE_URL",
    "DEFAULT_USER_AGENT",
    "SECTIONS",
    "Config",
    "HttpSettings",
    "RuleConfig",
    "Settings",
    "SourceConfig",
]

CONSOLE_CHANNEL = "console"
CONSOLE_URL = "console://"
DEFAULT_USER_AGENT = f"newsmon/{__version__} (+https://github.com/newsmon/newsmon)"
SECTIONS = ("settings", "channels", "sources", "rules")

_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Headers the fetcher sets or that would break it (conditional GET, size caps, framing).
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}
    | {"if-none-match", "if-modified-since"}
)


def _duration(value: object) -> object:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, bool | float):
        return parse_duration(str(value).lower())  # raises with the usual hint
    return value


def _size(value: object) -> object:
    return parse_size(value) if isinstance(value, str | int) else value


def _apprise_url(value: str) -> str:
    if not _URL_SCHEME.match(value):
        # The URL is not echoed: it usually carries a token or a password.
        raise ValueError(
            "not an Apprise URL (expected scheme://..., e.g. tgram://TOKEN/CHAT_ID or console://)"
        )
    return value


def _text(value: object) -> object:
    # YAML reads `name: 2024` or `keywords: [1984]` as numbers; they are meant as text.
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Duration = Annotated[int, BeforeValidator(_duration), Field(gt=0)]
Size = Annotated[int, BeforeValidator(_size), Field(gt=0)]
Text = Annotated[str, BeforeValidator(_text), Field(min_length=1)]
ChannelUrl = Annotated[str, AfterValidator(_apprise_url)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HttpSettings(_Strict):
    """Where the dashboard, ``/healthz`` and ``/metrics`` listen."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port (logged)
    # When set, /metrics wants `Authorization: Bearer <token>`; use ${VAR}.
    metrics_token: str | None = None
    # When set, the dashboard wants it (bearer or basic-auth password); $NEWSMON_UI_TOKEN wins.
    ui_token: str | None = None


class Settings(_Strict):
    """The ``settings:`` section; every key is optional."""

    database: str | None = None
    timezone: str = "UTC"
    interval: Duration = 900
    timeout: Duration = 30
    max_bytes: Size = 10 * 1024 * 1024
    max_body: Size = 1024 * 1024  # article text kept, in characters (monitor/limits.py)
    user_agent: Text = DEFAULT_USER_AGENT
    concurrency: int = Field(default=20, ge=1)
    per_host_concurrency: int = Field(default=2, ge=1)
    retention: Duration | None = None
    http: HttpSettings = Field(default_factory=HttpSettings)
    telegram_api_url: str | None = None
    # How long a claimed alert stays ours while sending; a crashed sender's
    # alerts are retried once it runs out.
    delivery_lease: Duration = 300
    # Private networks that links in fetched documents may reach (monitor/egress.py).
    allow_networks: list[str] = Field(default_factory=list)
    # Articles published longer ago are stored and searchable but never alerted.
    alert_max_age: Duration = 3 * 86400
    # How far back a copy of a story is looked for (DESIGN §7): a copy joins the
    # story of an article stored within this span before it.
    cluster_window: Duration = 7 * 86400

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            message = f"unknown timezone '{value}'"
            guess = closest(value, sorted(zoneinfo.available_timezones()))
            hint = (
                f"did you mean '{guess}'?" if guess else "use an IANA name such as Asia/Phnom_Penh"
            )
            raise ValueError(f"{message} ({hint})") from None
        return value

    @field_validator("allow_networks")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        out = []
        for text in value:
            try:
                out.append(str(parse_network(text)))
            except ValueError:
                raise ValueError(
                    f"invalid network '{text}' (use a CIDR such as 10.0.0.0/8 or fd00::/8)"
                ) from None
        return out

    @field_validator("telegram_api_url")
    @classmethod
    def _http_api_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value).rstrip("/")


class SourceConfig(_Strict):
    """One entry of ``sources:``."""

    name: Text
    url: str
    kind: Literal["feed", "html", "sitemap"] | None = None
    interval: Duration | None = None
    timeout: Duration | None = None
    full_text: bool = False
    tags: list[Text] = []
    link_selector: str | None = None
    next_page_selector: str | None = None
    title_selector: str | None = None
    date_selector: str | None = None
    # The first poll stores what the source lists without alerting (a new source's backlog).
    baseline: bool = False
    # Extra request headers (cookies, auth) sent to the source's own host; use ${VAR}.
    headers: dict[str, str] = {}

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(
                f"invalid name '{value}' (use lowercase letters, digits and '-', e.g. fresh-news)"
            )
        return value

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("headers")
    @classmethod
    def _header_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"invalid header name '{name}' (e.g. Cookie, Authorization)")
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"header '{name}' is set by newsmon itself")
            if "\r" in text or "\n" in text:
                raise ValueError(f"header '{name}': the value must be one line")
        return value

    @field_validator("link_selector", "next_page_selector", "title_selector", "date_selector")
    @classmethod
    def _css(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                soupsieve.compile(value)
            except soupsieve.SelectorSyntaxError as exc:
                reason = str(exc).splitlines()[0]
                raise ValueError(f"invalid CSS selector '{value}': {reason}") from None
        return value

    @model_validator(mode="after")
    def _selectors_fit_kind(self) -> SourceConfig:
        if self.kind == "html" and self.link_selector is None:
            raise ValueError("kind html needs link_selector (the CSS selector of article links)")
        if self.kind in ("feed", "sitemap") and self.link_selector is not None:
            raise ValueError(f"link_selector is only used with kind html, not {self.kind}")
        return self


class RuleConfig(_Strict):
    """One entry of ``rules:``: what to look for and where to send it."""

    name: Text
    keywords: list[Text] | None = Field(default=None, min_length=1)
    query: Text | None = None
    channels: list[Text] = []
    mode: Literal["instant", "digest"] = "instant"
    schedule: str | None = None
    sources: list[Text] = []
    case_sensitive: bool = False
    alert_max_age: Duration | None = None  # None: settings.alert_max_age
    # Story velocity: fire once a matching story has this many distinct outlets
    # within `within` (default: settings.cluster_window).
    min_outlets: int | None = Field(default=None, ge=2)
    within: Duration | None = None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parse_crontab(value)
        except ValueError as exc:
            raise ValueError(f"invalid cron schedule '{value}': {exc}") from None
        return value

    @model_validator(mode="after")
    def _complete(self) -> RuleConfig:
        if (self.keywords is None) == (self.query is None):
            raise ValueError(
                "give either keywords or query, not both"
                if self.keywords is not None
                else "missing keywords or query (a rule needs one of them)"
            )
        if self.mode == "digest" and self.schedule is None:
            raise ValueError('mode digest needs schedule (a cron expression, e.g. "0 8 * * *")')
        if self.mode == "instant" and self.schedule is not None:
            raise ValueError("schedule is only used with mode digest")
        if self.within is not None and self.min_outlets is None:
            raise ValueError(
                "within is only used with min_outlets (e.g. min_outlets: 3 and within: 6h)"
            )
        return self


class Config(_Strict):
    """The whole validated config file."""

    settings: Settings = Field(default_factory=Settings)
    channels: dict[str, ChannelUrl] = {}
    sources: list[SourceConfig] = []
    rules: list[RuleConfig] = []
    path: Path
    # Values substituted from the environment: masked in logs and output, never dumped.
    secrets: frozenset[str] = Field(default=frozenset(), exclude=True, repr=False)

    @model_validator(mode="after")
    def _console_channel(self) -> Config:
        # Rules without channels print to the console, so the name always resolves.
        self.channels.setdefault(CONSOLE_CHANNEL, CONSOLE_URL)
        return self

    def source_interval(self, s: SourceConfig) -> int:
        """The source's poll interval in seconds (its own, else the default)."""
        return s.interval if s.interval is not None else self.settings.interval

    def source_timeout(self, s: SourceConfig) -> int:
        """The source's whole-fetch deadline in seconds (its own, else the default)."""
        return s.timeout if s.timeout is not None else self.settings.timeout

    def rule_max_age(self, r: RuleConfig) -> int:
        """Seconds after publication beyond which the rule's matches are not alerted."""
        return r.alert_max_age if r.alert_max_age is not None else self.settings.alert_max_age

    def rule_channels(self, r: RuleConfig) -> list[str]:
        """The channel names a rule alerts on; the console when it names none."""
        return list(r.channels) or [CONSOLE_CHANNEL]


def _http_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid url '{value}' (use an http:// or https:// address)")
    return value
