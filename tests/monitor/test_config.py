"""The config loader: durations and sizes, every error message a user can see,
${VAR} substitution, and where the config file and the database are found."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from monitor import __version__
from monitor.config.load import (
    Config,
    RuleConfig,
    Settings,
    apply_env_overrides,
    load_config,
    resolve_config_path,
    resolve_database_url,
)
from monitor.config.units import format_duration, parse_duration, parse_size
from monitor.errors import ConfigError
from monitor.pipeline.poll import compile_config_rules

# --- durations and sizes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("1h30m", 5400),
        ("1d12h", 129600),
        ("2m30s", 150),
        ("1d2h3m4s", 93784),
        ("90", 90),
        ("0", 0),
        (" 15m ", 900),
        ("1H", 3600),
        ("365d", 31536000),
    ],
)
def test_duration_is_parsed_to_seconds(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["5 min", "", "m", "5x", "1.5h", "30m1h", "1h 30m", "-5m", "5mm", "h1", "1w"]
)
def test_bad_duration_names_the_value_and_the_forms_to_use(text: str) -> None:
    with pytest.raises(ValueError, match=r"^invalid duration") as info:
        parse_duration(text)
    assert str(info.value) == f"invalid duration '{text}' (use 30s, 5m, 2h, 1d, 1h30m)"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (90, "1m30s"), (900, "15m"), (5400, "1h30m"), (86400, "1d"),
     (93784, "1d2h3m4s"), (31536000, "365d")],
)  # fmt: skip
def test_duration_is_formatted_back_for_display(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


def test_negative_duration_cannot_be_formatted() -> None:
    with pytest.raises(ValueError, match="negative duration: -1"):
        format_duration(-1)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("10MB", 10 * 1024 * 1024),
        ("512KB", 512 * 1024),
        ("1GB", 1024**3),
        ("1048576", 1048576),
        (4096, 4096),
        ("10mb", 10 * 1024 * 1024),
        ("10 MB", 10 * 1024 * 1024),
        ("10MiB", 10 * 1024 * 1024),
        ("10M", 10 * 1024 * 1024),
        ("1.5MB", 1572864),
        ("100B", 100),
        ("0", 0),
    ],
)
def test_size_is_parsed_to_bytes_with_binary_units(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["10 megs", "", "MB", "ten", "10TB", "-1MB", "1,5MB"])
def test_bad_size_names_the_value_and_the_forms_to_use(text: str) -> None:
    with pytest.raises(ValueError, match=r"^invalid size") as info:
        parse_size(text)
    assert str(info.value) == f"invalid size '{text}' (use 512KB, 10MB, 1GB or a number of bytes)"


@pytest.mark.parametrize("value", [-1, True])
def test_size_rejects_negative_and_boolean_numbers(value: int) -> None:
    with pytest.raises(ValueError, match=r"^invalid size"):
        parse_size(value)


# --- helpers -------------------------------------------------------------------------

SOURCE = "  - name: fresh-news\n    url: https://example.org/feed.xml\n"


def write(folder: Path, text: str, name: str = "sources.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, env: Mapping[str, str] = {}
) -> str:
    """The message load_config gives for `text`, the file named as a user names it."""
    write(tmp_path, text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("sources.yaml", env)
    return str(info.value)


def load(tmp_path: Path, text: str, env: Mapping[str, str] = {}) -> Config:
    return load_config(write(tmp_path, text), env)


# --- a working config ----------------------------------------------------------------

DESIGN_EXAMPLE = """\
settings:                       # all optional
  database: sqlite:///newsmon.db    # env NEWSMON_DATABASE_URL wins
  timezone: Asia/Phnom_Penh         # for digest schedules and displayed times
  interval: 15m                     # default poll interval
  timeout: 30s                      # whole-fetch deadline (also per source)
  max_bytes: 10MB                   # response size cap, decompressed
  user_agent: "newsmon/1.0 (+https://example.org/bot)"
  concurrency: 20
  per_host_concurrency: 2
  retention: 365d                   # article bodies older than this are pruned
  http: {host: 127.0.0.1, port: 8080}   # /healthz and /metrics
  telegram_api_url: https://api.telegram.org

channels:                       # name -> Apprise URL (or console://)
  ops-telegram: "tgram://${TELEGRAM_BOT_TOKEN}/${TELEGRAM_CHAT_ID}"
  team-email: "mailtos://${SMTP_USER}:${SMTP_PASSWORD}@smtp.example.org?to=desk@example.org"
  stdout: "console://"

sources:
  - name: fresh-news            # unique, [a-z0-9-]
    url: https://example.org/feed.xml
    kind: feed                  # feed | html | sitemap ; default: detect
    interval: 10m
    full_text: true             # fetch each article page and extract the body
    tags: [cambodia]
  - name: khmer-daily
    url: https://example.org/category/national/
    kind: html
    link_selector: "h2.title a"         # CSS selector of article links
    next_page_selector: "a.next"        # used by backfill
  - name: news-sitemap
    url: https://example.org/news-sitemap.xml
    kind: sitemap

rules:
  - name: asean-russia
    keywords: [ASEAN, Russia]   # any of them; or `query:` (section 6)
    channels: [ops-telegram, team-email]
    mode: instant               # instant | digest
  - name: cambodia-trade
    query: 'Cambodia AND (trade OR investment) NOT title:sport'
    sources: [fresh-news, tag:cambodia]
    channels: [team-email]
    mode: digest
    schedule: "0 8 * * *"       # cron, in settings.timezone
  - name: everything-khmer
    keywords: [Khmer]
"""

SECRETS = {
    "TELEGRAM_BOT_TOKEN": "123:abc",
    "TELEGRAM_CHAT_ID": "-100200",
    "SMTP_USER": "bot",
    "SMTP_PASSWORD": "s3cret",
}


def test_design_example_loads_into_typed_values(tmp_path: Path) -> None:
    config = load(tmp_path, DESIGN_EXAMPLE, SECRETS)

    s = config.settings
    assert (s.timezone, s.interval, s.timeout, s.retention) == (
        "Asia/Phnom_Penh",
        900,
        30,
        31536000,
    )
    assert (s.max_bytes, s.concurrency, s.per_host_concurrency) == (10 * 1024 * 1024, 20, 2)
    assert (s.http.host, s.http.port) == ("127.0.0.1", 8080)
    assert s.telegram_api_url == "https://api.telegram.org"
    assert config.channels == {
        "ops-telegram": "tgram://123:abc/-100200",
        "team-email": "mailtos://bot:s3cret@smtp.example.org?to=desk@example.org",
        "stdout": "console://",
        "console": "console://",
    }
    fresh, khmer, sitemap = config.sources
    assert (fresh.kind, fresh.interval, fresh.full_text, fresh.tags) == (
        "feed",
        600,
        True,
        ["cambodia"],
    )
    assert (khmer.link_selector, khmer.next_page_selector) == ("h2.title a", "a.next")
    assert config.source_interval(fresh) == 600
    assert config.source_interval(sitemap) == 900
    assert config.source_timeout(sitemap) == 30
    instant, digest, bare = config.rules
    assert instant.keywords == ["ASEAN", "Russia"]
    assert (digest.mode, digest.schedule, digest.sources) == (
        "digest",
        "0 8 * * *",
        ["fresh-news", "tag:cambodia"],
    )
    assert config.rule_channels(instant) == ["ops-telegram", "team-email"]
    assert config.rule_channels(bare) == ["console"]
    assert config.path == tmp_path / "sources.yaml"
    assert config.path.is_absolute()


def test_a_velocity_rule_reads_min_outlets_and_within(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "settings:\n  cluster_window: 3d\nrules:\n"
        "  - name: spreading\n    query: 'ASEAN AND Russia*'\n    min_outlets: 3\n    within: 6h\n"
        "  - name: wide\n    keywords: [ASEAN]\n    min_outlets: 5\n",
    )

    spreading, wide = config.rules
    assert config.settings.cluster_window == 3 * 86400
    assert (spreading.min_outlets, spreading.within) == (3, 6 * 3600)
    assert (wide.min_outlets, wide.within) == (5, None)  # the cluster window applies
    routes = compile_config_rules(config).routes
    assert (routes["spreading"].min_outlets, routes["spreading"].within_seconds) == (3, 21600)
    assert (routes["wide"].min_outlets, routes["wide"].within_seconds) == (5, 3 * 86400)


def test_minimal_config_gets_the_documented_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, f"sources:\n{SOURCE}rules:\n  - name: r\n    keywords: [ASEAN]\n")

    assert config.settings == Settings()
    s = config.settings
    assert (s.database, s.timezone, s.interval, s.timeout) == (None, "UTC", 900, 30)
    assert (s.max_bytes, s.concurrency, s.per_host_concurrency, s.retention) == (
        10485760,
        20,
        2,
        None,
    )
    assert s.user_agent == f"newsmon/{__version__} (+https://github.com/newsmon/newsmon)"
    assert (s.http.host, s.http.port, s.telegram_api_url) == ("127.0.0.1", 8080, None)
    assert config.channels == {"console": "console://"}
    assert config.rule_channels(config.rules[0]) == ["console"]
    assert s.cluster_window == 7 * 86400
    assert (config.rules[0].min_outlets, config.rules[0].within) == (None, None)
    source = config.sources[0]
    assert (source.kind, source.interval, source.timeout, source.full_text) == (
        None,
        None,
        None,
        False,
    )


def test_empty_sections_mean_nothing_configured(tmp_path: Path) -> None:
    config = load(tmp_path, "settings:\nchannels:\nsources:\nrules:\n")
    assert (config.sources, config.rules) == ([], [])


def test_a_user_channel_named_console_is_kept(tmp_path: Path) -> None:
    config = load(tmp_path, 'channels:\n  console: "json://127.0.0.1:9/hook"\n')
    assert config.channels == {"console": "json://127.0.0.1:9/hook"}


def test_config_built_in_code_also_has_the_console_channel(tmp_path: Path) -> None:
    config = Config(path=tmp_path / "x.yaml", rules=[RuleConfig(name="r", keywords=["a"])])
    assert config.channels == {"console": "console://"}
    assert config.rule_channels(config.rules[0]) == ["console"]
    assert Settings(interval="15m", max_bytes="1MB").interval == 900


def test_yaml_anchors_share_settings_between_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        "sources:\n  - &common\n    name: a\n    url: https://a.example/\n    interval: 5m\n"
        "  - <<: *common\n    name: b\n"
    )
    config = load(tmp_path, text)
    assert [(s.name, s.interval) for s in config.sources] == [("a", 300), ("b", 300)]
    broken = text.replace("interval: 5m", "interval: soon")
    bad = "invalid duration 'soon' (use 30s, 5m, 2h, 1d, 1h30m)"
    assert error_of(tmp_path, monkeypatch, broken) == (
        f"sources.yaml:5: sources[0].interval: {bad}\nsources.yaml:6: sources[1].interval: {bad}"
    )


def test_numbers_written_as_names_and_keywords_are_text(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "sources:\n  - name: 2024\n    url: https://a.example/\n    tags: [1984]\n"
        "rules:\n  - name: 7\n    keywords: [1984, G20]\n    sources: [2024, 'tag:1984']\n",
    )
    assert (config.sources[0].name, config.sources[0].tags) == ("2024", ["1984"])
    assert config.rules[0].keywords == ["1984", "G20"]


def test_bare_number_interval_is_seconds(tmp_path: Path) -> None:
    config = load(tmp_path, "settings:\n  interval: 90\n  max_bytes: 2048\n")
    assert (config.settings.interval, config.settings.max_bytes) == (90, 2048)


def test_symlinked_config_keeps_its_own_folder(tmp_path: Path) -> None:
    # Kubernetes mounts a ConfigMap as a symlink into a hidden timestamped folder.
    real = write(tmp_path / "..data", "settings:\n  database: sqlite:///news.db\n")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "sources.yaml").symlink_to(real)
    config = load_config(tmp_path / "conf" / "sources.yaml", {})
    assert config.path == tmp_path / "conf" / "sources.yaml"
    assert resolve_database_url(None, {}, config) == f"sqlite:///{tmp_path}/conf/news.db"


# --- every error a user can see --------------------------------------------------------


def test_error_names_file_line_and_key_path_as_in_the_design(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "settings:\n  timezone: UTC\n\nchannels:\n  stdout: console://\n\nsources:\n"
    text += "  - name: a\n    url: https://a.example/\n  - name: b\n    url: https://b.example/\n"
    text += "  - name: c\n    url: https://c.example/\n    interval: 5 min\n"
    assert error_of(tmp_path, monkeypatch, text) == (
        "sources.yaml:14: sources[2].interval: "
        "invalid duration '5 min' (use 30s, 5m, 2h, 1d, 1h30m)"
    )


CHANNELS = "channels:\n  ops-telegram: tgram://t/c\n  stdout: console://\n"

BAD_CONFIGS = [
    # unknown keys, with the closest valid key when there is one
    ("unknown-source-key", f"sources:\n{SOURCE}    intervall: 5m\n",
     "sources.yaml:4: sources[0]: unknown key 'intervall' (did you mean 'interval'?)"),
    ("unknown-settings-key", "settings:\n  colour: red\n",
     "sources.yaml:2: settings: unknown key 'colour'"),
    ("unknown-http-key", "settings:\n  http:\n    prot: 80\n",
     "sources.yaml:3: settings.http: unknown key 'prot' (did you mean 'port'?)"),
    ("unknown-rule-key", "rules:\n  - name: r\n    keyword: [x]\n",
     "sources.yaml:3: rules[0]: unknown key 'keyword' (did you mean 'keywords'?)"),
    ("unknown-top-level-key", f"source:\n{SOURCE}",
     "sources.yaml:1: unknown key 'source' (did you mean 'sources'?)"),
    ("unknown-top-level-key-far-off", "alerts: {}\n",
     "sources.yaml:1: unknown key 'alerts' (use settings, channels, sources, rules)"),
    # shapes
    ("missing-required-key", "sources:\n  - name: a\n  - name: b\n    kind: feed\n",
     "sources.yaml:2: sources[0]: missing required key 'url'\n"
     "sources.yaml:3: sources[1]: missing required key 'url'"),
    ("sources-not-a-list", "sources:\n  name: a\n",
     "sources.yaml:1: sources: expected a list, got a mapping"),
    ("source-not-a-mapping", "sources:\n  - fresh-news\n",
     "sources.yaml:2: sources[0]: expected a mapping, got 'fresh-news'"),
    ("channels-not-a-mapping", "channels: [a, b]\n",
     "sources.yaml:1: channels: expected a mapping, got a list"),
    ("tags-not-a-list", f"sources:\n{SOURCE}    tags: cambodia\n",
     "sources.yaml:4: sources[0].tags: expected a list, got 'cambodia'"),
    ("not-a-bool", f"sources:\n{SOURCE}    full_text: maybe\n",
     "sources.yaml:4: sources[0].full_text: expected true or false, got 'maybe'"),
    ("empty-name", "sources:\n  - name: ''\n    url: https://a.example/\n",
     "sources.yaml:2: sources[0].name: must not be empty"),
    # settings values
    ("port-out-of-range", "settings:\n  http: {port: 99999}\n",
     "sources.yaml:2: settings.http.port: must be at most 65535, got 99999"),
    ("port-not-a-number", "settings:\n  http:\n    port: eighty\n",
     "sources.yaml:3: settings.http.port: expected a whole number, got 'eighty'"),
    ("concurrency-zero", "settings:\n  concurrency: 0\n",
     "sources.yaml:2: settings.concurrency: must be at least 1, got 0"),
    ("interval-zero", "settings:\n  interval: 0s\n",
     "sources.yaml:2: settings.interval: must be greater than 0, got '0s'"),
    ("interval-float", "settings:\n  interval: 1.5\n",
     "sources.yaml:2: settings.interval: invalid duration '1.5' (use 30s, 5m, 2h, 1d, 1h30m)"),
    ("bad-retention", "settings:\n  retention: one year\n",
     "sources.yaml:2: settings.retention: "
     "invalid duration 'one year' (use 30s, 5m, 2h, 1d, 1h30m)"),
    ("bad-size", "settings:\n  max_bytes: 10 megs\n",
     "sources.yaml:2: settings.max_bytes: invalid size '10 megs' "
     "(use 512KB, 10MB, 1GB or a number of bytes)"),
    ("timezone-typo", "settings:\n  timezone: Asia/Phnom_Pen\n",
     "sources.yaml:2: settings.timezone: unknown timezone 'Asia/Phnom_Pen' "
     "(did you mean 'Asia/Phnom_Penh'?)"),
    ("timezone-unknown", "settings:\n  timezone: Mars/Olympus_Mons\n",
     "sources.yaml:2: settings.timezone: unknown timezone 'Mars/Olympus_Mons' "
     "(use an IANA name such as Asia/Phnom_Penh)"),
    ("timezone-a-folder", "settings:\n  timezone: America\n",
     "sources.yaml:2: settings.timezone: unknown timezone 'America' "
     "(did you mean 'America/Nuuk'?)"),
    ("telegram-api-not-http", "settings:\n  telegram_api_url: api.telegram.org\n",
     "sources.yaml:2: settings.telegram_api_url: invalid url 'api.telegram.org' "
     "(use an http:// or https:// address)"),
    # channels
    ("channel-not-apprise", "channels:\n  ops: ${TOKEN}@telegram\n",
     "sources.yaml:2: channels.ops: not an Apprise URL "
     "(expected scheme://..., e.g. tgram://TOKEN/CHAT_ID or console://)"),
    # sources
    ("url-not-http", "sources:\n  - name: a\n    url: ftp://example.org/feed\n",
     "sources.yaml:3: sources[0].url: invalid url 'ftp://example.org/feed' "
     "(use an http:// or https:// address)"),
    ("url-without-host", "sources:\n  - name: a\n    url: https:///feed\n",
     "sources.yaml:3: sources[0].url: invalid url 'https:///feed' "
     "(use an http:// or https:// address)"),
    ("bad-source-name", "sources:\n  - name: Fresh News\n    url: https://a.example/\n",
     "sources.yaml:2: sources[0].name: invalid name 'Fresh News' "
     "(use lowercase letters, digits and '-', e.g. fresh-news)"),
    ("bad-kind", f"sources:\n{SOURCE}    kind: rss\n",
     "sources.yaml:4: sources[0].kind: expected 'feed', 'html' or 'sitemap', got 'rss'"),
    ("html-without-link-selector", f"sources:\n{SOURCE}    kind: html\n",
     "sources.yaml:2: sources[0]: "
     "kind html needs link_selector (the CSS selector of article links)"),
    ("link-selector-on-a-feed", f"sources:\n{SOURCE}    kind: feed\n    link_selector: a\n",
     "sources.yaml:2: sources[0]: link_selector is only used with kind html, not feed"),
    ("bad-css-selector", f"sources:\n{SOURCE}    kind: html\n    link_selector: 'h2..title a'\n",
     "sources.yaml:5: sources[0].link_selector: invalid CSS selector 'h2..title a': "
     "Malformed class selector at position 2"),
    ("bad-source-interval", f"sources:\n{SOURCE}    interval: 5 min\n",
     "sources.yaml:4: sources[0].interval: invalid duration '5 min' (use 30s, 5m, 2h, 1d, 1h30m)"),
    ("duplicate-source-name",
     f"sources:\n{SOURCE}  - name: other\n    url: https://b.example/\n{SOURCE}",
     "sources.yaml:6: sources[2].name: "
     "duplicate source name 'fresh-news' (first defined on line 2)"),
    # rules
    ("rule-without-terms", "rules:\n  - name: r\n",
     "sources.yaml:2: rules[0]: missing keywords or query (a rule needs one of them)"),
    ("rule-with-both-terms", "rules:\n  - name: r\n    keywords: [a]\n    query: b\n",
     "sources.yaml:2: rules[0]: give either keywords or query, not both"),
    ("empty-keywords", "rules:\n  - name: r\n    keywords: []\n",
     "sources.yaml:3: rules[0].keywords: must not be empty"),
    ("empty-keyword", "rules:\n  - name: r\n    keywords: [a, '']\n",
     "sources.yaml:3: rules[0].keywords[1]: must not be empty"),
    ("bad-mode", "rules:\n  - name: r\n    keywords: [a]\n    mode: daily\n",
     "sources.yaml:4: rules[0].mode: expected 'instant' or 'digest', got 'daily'"),
    ("digest-without-schedule", "rules:\n  - name: r\n    keywords: [a]\n    mode: digest\n",
     'sources.yaml:2: rules[0]: mode digest needs schedule (a cron expression, e.g. "0 8 * * *")'),
    ("schedule-on-instant", "rules:\n  - name: r\n    keywords: [a]\n    schedule: '0 8 * * *'\n",
     "sources.yaml:2: rules[0]: schedule is only used with mode digest"),
    ("within-without-min-outlets", "rules:\n  - name: r\n    keywords: [a]\n    within: 6h\n",
     "sources.yaml:2: rules[0]: within is only used with min_outlets "
     "(e.g. min_outlets: 3 and within: 6h)"),
    ("min-outlets-one", "rules:\n  - name: r\n    keywords: [a]\n    min_outlets: 1\n",
     "sources.yaml:4: rules[0].min_outlets: must be at least 2, got 1"),
    ("bad-within", "rules:\n  - name: r\n    keywords: [a]\n    min_outlets: 3\n"
     "    within: six hours\n",
     "sources.yaml:5: rules[0].within: invalid duration 'six hours' (use 30s, 5m, 2h, 1d, 1h30m)"),
    ("bad-cluster-window", "settings:\n  cluster_window: a week\n",
     "sources.yaml:2: settings.cluster_window: "
     "invalid duration 'a week' (use 30s, 5m, 2h, 1d, 1h30m)"),
    ("cron-four-fields", "rules:\n  - name: r\n    keywords: [a]\n    mode: digest\n"
     "    schedule: '0 8 * *'\n",
     "sources.yaml:5: rules[0].schedule: invalid cron schedule '0 8 * *': expected 5 fields "
     '(minute hour day month weekday, e.g. "0 8 * * *"), got 4'),
    ("cron-bad-character", "rules:\n  - name: r\n    keywords: [a]\n    mode: digest\n"
     "    schedule: '0 8 * * 1;5'\n",
     "sources.yaml:5: rules[0].schedule: invalid cron schedule '0 8 * * 1;5': "
     "unexpected character ';'"),
    ("duplicate-rule-name", "rules:\n  - name: r\n    keywords: [a]\n  - name: r\n    query: b\n",
     "sources.yaml:4: rules[1].name: duplicate rule name 'r' (first defined on line 2)"),
    ("unknown-channel", f"{CHANNELS}rules:\n  - name: r\n    keywords: [a]\n"
     "    channels: [ops-telegram, team-mail]\n",
     "sources.yaml:7: rules[0].channels[1]: unknown channel 'team-mail' "
     "(known: ops-telegram, stdout)"),
    ("unknown-channel-typo", f"{CHANNELS}rules:\n  - name: r\n    keywords: [a]\n"
     "    channels:\n      - ops-telegarm\n",
     "sources.yaml:8: rules[0].channels[0]: unknown channel 'ops-telegarm' "
     "(did you mean 'ops-telegram'? known: ops-telegram, stdout)"),
    ("unknown-channel-none-defined",
     "rules:\n  - name: r\n    keywords: [a]\n    channels: [mail]\n",
     "sources.yaml:4: rules[0].channels[0]: unknown channel 'mail' "
     "(known: none; define it under channels:)"),
    ("unknown-source", f"sources:\n{SOURCE}rules:\n  - name: r\n    keywords: [a]\n"
     "    sources: [fresh-new]\n",
     "sources.yaml:7: rules[0].sources[0]: "
     "unknown source 'fresh-new' (did you mean 'fresh-news'?)"),
    ("unknown-source-far-off", f"sources:\n{SOURCE}rules:\n  - name: r\n    keywords: [a]\n"
     "    sources: [xyz]\n",
     "sources.yaml:7: rules[0].sources[0]: unknown source 'xyz'"),
    ("unknown-tag", f"sources:\n{SOURCE}    tags: [cambodia]\nrules:\n  - name: r\n"
     "    keywords: [a]\n    sources: ['tag:cambodja']\n",
     "sources.yaml:8: rules[0].sources[0]: unknown tag 'cambodja' (did you mean 'tag:cambodia'?)"),
    ("unknown-tag-far-off", f"sources:\n{SOURCE}rules:\n  - name: r\n    keywords: [a]\n"
     "    sources: ['tag:asia']\n",
     "sources.yaml:7: rules[0].sources[0]: unknown tag 'asia' (no source has this tag)"),
    # the file itself
    ("top-level-list", "- name: a\n",
     "sources.yaml:1: the top level must be a mapping with settings, channels, sources, rules, "
     "got a list"),
    ("top-level-scalar", "hello\n",
     "sources.yaml:1: the top level must be a mapping with settings, channels, sources, rules, "
     "got 'hello'"),
    ("empty-file", "",
     "sources.yaml: the config file is empty "
     "(expected a mapping with settings, channels, sources and rules)"),
    ("only-comments", "# nothing yet\n",
     "sources.yaml: the config file is empty "
     "(expected a mapping with settings, channels, sources and rules)"),
    ("duplicate-yaml-key", "settings:\n  interval: 5m\n  interval: 10m\n",
     "sources.yaml:3: duplicate key 'interval'"),
    ("unclosed-flow-list", "sources:\n  - name: a\n    tags: [x, y\n",
     "sources.yaml:4: invalid YAML: expected ',' or ']', but got '<stream end>' "
     "(while parsing a flow sequence on line 3)"),
    ("unquoted-cron-star", "rules:\n  - name: r\n    schedule: */5 * * * *\n",
     "sources.yaml:3: invalid YAML: expected alphabetic or numeric character, but found ' ' "
     "(while scanning an alias on line 3); quote values that start with '*', "
     'e.g. "*/5 * * * *"'),
    ("tab-indent", "settings:\n\tinterval: 5m\n",
     "sources.yaml:2: invalid YAML: found character '\\t' that cannot start any token; "
     "indent with spaces, not tabs"),
    ("unknown-yaml-tag", "settings:\n  interval: !minutes 5\n",
     "sources.yaml:2: settings.interval: unsupported YAML tag '!minutes'"),
    # several problems: all reported, in file order
    ("several-problems", "rules:\n  - name: r\n    keywords: [a]\n    mode: weekly\n"
     "settings:\n  interval: soon\n  concurrency: -1\n",
     "sources.yaml:4: rules[0].mode: expected 'instant' or 'digest', got 'weekly'\n"
     "sources.yaml:6: settings.interval: invalid duration 'soon' (use 30s, 5m, 2h, 1d, 1h30m)\n"
     "sources.yaml:7: settings.concurrency: must be at least 1, got -1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"), [case[1:] for case in BAD_CONFIGS], ids=[case[0] for case in BAD_CONFIGS]
)
def test_bad_config_is_reported_with_file_line_and_key_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    assert error_of(tmp_path, monkeypatch, text, {"TOKEN": "123:secret"}) == message


def test_channel_error_never_shows_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = error_of(tmp_path, monkeypatch, "channels:\n  ops: ${TOKEN}\n", {"TOKEN": "123:xyz"})
    assert message.startswith("sources.yaml:2: channels.ops: not an Apprise URL")
    assert "123:xyz" not in message


def test_missing_file_is_named_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("conf/missing.yaml", {})
    assert str(info.value) == "config file not found: conf/missing.yaml"


def test_absolute_path_is_named_absolute_in_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "settings:\n  interval: soon\n", name="news.yaml")
    with pytest.raises(ConfigError) as info:
        load_config(str(path), {})
    assert str(info.value).startswith(f"{path}:2: settings.interval: invalid duration 'soon'")


def test_directory_instead_of_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()
    with pytest.raises(ConfigError) as info:
        load_config("conf", {})
    assert str(info.value) == "cannot read config file conf: Is a directory"


def test_file_that_is_not_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sources.yaml").write_bytes(b"settings:\n  timezone: \xff\n")
    with pytest.raises(ConfigError) as info:
        load_config("sources.yaml", {})
    assert str(info.value) == "sources.yaml: not UTF-8 text (invalid start byte at byte 22)"


# --- ${VAR} substitution --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "env", "expected"),
    [
        ("tgram://${TOKEN}/${CHAT}", {"TOKEN": "1:a", "CHAT": "-5"}, "tgram://1:a/-5"),
        ("tgram://${TOKEN}/${CHAT:-42}", {"TOKEN": "1:a"}, "tgram://1:a/42"),
        ("tgram://${TOKEN}/${CHAT:-42}", {"TOKEN": "1:a", "CHAT": ""}, "tgram://1:a/42"),
        ("tgram://${TOKEN}/${CHAT:-42}", {"TOKEN": "1:a", "CHAT": "7"}, "tgram://1:a/7"),
        ("json://${HOST:-127.0.0.1:8080}/x", {}, "json://127.0.0.1:8080/x"),
        ("json://h/${EMPTY}x", {"EMPTY": ""}, "json://h/x"),
        ("json://h/$${LITERAL}", {"LITERAL": "no"}, "json://h/${LITERAL}"),
        ("json://h/${A}", {"A": "${B}", "B": "no"}, "json://h/${B}"),
        ("json://h/$HOME", {"HOME": "no"}, "json://h/$HOME"),
    ],
)
def test_variables_in_values_are_replaced_from_the_environment(
    tmp_path: Path, value: str, env: dict[str, str], expected: str
) -> None:
    config = load(tmp_path, f'channels:\n  hook: "{value}"\n', env)
    assert config.channels["hook"] == expected


def test_variables_can_fill_numbers_durations_and_lists(tmp_path: Path) -> None:
    text = (
        "settings:\n  interval: ${EVERY:-10m}\n  http: {port: '${PORT:-8080}'}\n"
        "sources:\n  - name: a\n    url: https://${SITE}/feed\n"
        "rules:\n  - name: r\n    keywords: [ASEAN, '${TOPIC}']\n"
    )
    config = load(tmp_path, text, {"PORT": "9100", "SITE": "example.org", "TOPIC": "Russia"})
    assert (config.settings.interval, config.settings.http.port) == (600, 9100)
    assert config.sources[0].url == "https://example.org/feed"
    assert config.rules[0].keywords == ["ASEAN", "Russia"]


def test_variables_in_keys_and_comments_are_left_alone(tmp_path: Path) -> None:
    config = load(tmp_path, "channels:  # uses ${UNSET}\n  ${NAME}: console://\n")
    assert "${NAME}" in config.channels


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'channels:\n  stdout: console://\n  ops-telegram: "tgram://${TELEGRAM_BOT_TOKEN}/1"\n',
            "sources.yaml:3: channels.ops-telegram: environment variable TELEGRAM_BOT_TOKEN "
            "is not set (set it, or give a default: ${TELEGRAM_BOT_TOKEN:-default})",
        ),
        (
            "rules:\n  - name: r\n    keywords:\n      - ASEAN\n      - ${TOPIC}\n",
            "sources.yaml:5: rules[0].keywords[1]: environment variable TOPIC is not set "
            "(set it, or give a default: ${TOPIC:-default})",
        ),
        (
            "channels:\n  a: json://${1BAD}/\n  b: json://${A-b}/\n",
            "sources.yaml:2: channels.a: invalid variable reference '${1BAD}' "
            "(use ${VAR} or ${VAR:-default})\n"
            "sources.yaml:3: channels.b: invalid variable reference '${A-b}' "
            "(use ${VAR} or ${VAR:-default})",
        ),
    ],
    ids=["unset-in-mapping", "unset-in-list", "malformed-reference"],
)
def test_bad_variable_reference_names_file_line_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    assert error_of(tmp_path, monkeypatch, text) == message


def test_environment_defaults_to_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_TEST_CHAT", "99")
    config = load_config(write(tmp_path, "channels:\n  t: tgram://x/${NEWSMON_TEST_CHAT}\n"))
    assert config.channels["t"] == "tgram://x/99"


# --- where the config and the database are --------------------------------------------


@pytest.mark.parametrize(
    ("cli", "env", "expected"),
    [
        ("my.yaml", {"NEWSMON_CONFIG": "/etc/newsmon.yaml"}, "my.yaml"),
        (None, {"NEWSMON_CONFIG": "/etc/newsmon.yaml"}, "/etc/newsmon.yaml"),
        (None, {"NEWSMON_CONFIG": ""}, "sources.yaml"),
        (None, {}, "sources.yaml"),
    ],
)
def test_config_path_comes_from_flag_then_environment_then_default(
    cli: str | None, env: dict[str, str], expected: str
) -> None:
    assert resolve_config_path(cli, env) == Path(expected)


PG = "postgresql+psycopg://newsmon@db:5432/newsmon"


@pytest.mark.parametrize(
    ("cli", "env", "in_file", "expected"),
    [
        ("sqlite:///cli.db", {"NEWSMON_DATABASE_URL": PG}, "sqlite:///f.db", "sqlite:///cli.db"),
        (None, {"NEWSMON_DATABASE_URL": PG}, "sqlite:///f.db", PG),
        (None, {"NEWSMON_DATABASE_URL": ""}, "sqlite:///f.db", "sqlite:///{dir}/f.db"),
        (None, {}, "sqlite:///data/news.db", "sqlite:///{dir}/data/news.db"),
        (None, {}, "sqlite:////var/lib/newsmon/news.db", "sqlite:////var/lib/newsmon/news.db"),
        (None, {}, "sqlite:///f.db?timeout=20", "sqlite:///{dir}/f.db?timeout=20"),
        (None, {}, "sqlite+pysqlite:///f.db", "sqlite+pysqlite:///{dir}/f.db"),
        (None, {}, "sqlite:///:memory:", "sqlite:///:memory:"),
        (None, {}, "sqlite://", "sqlite://"),
        (None, {}, PG, PG),
        (None, {}, None, "sqlite:///{dir}/newsmon.db"),
    ],
)
def test_database_comes_from_flag_then_environment_then_file_then_beside_the_config(
    tmp_path: Path, cli: str | None, env: dict[str, str], in_file: str | None, expected: str
) -> None:
    folder = tmp_path / "conf"
    text = f"settings:\n  database: '{in_file}'\n" if in_file else "settings: {}\n"
    config = load_config(write(folder, text), {})
    assert resolve_database_url(cli, env, config) == expected.format(dir=folder)


def test_relative_config_path_still_puts_the_database_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "conf", "settings:\n  database: sqlite:///news.db\n")
    monkeypatch.chdir(tmp_path)
    config = load_config("conf/../conf/sources.yaml", {})
    assert config.path == tmp_path / "conf" / "sources.yaml"
    assert resolve_database_url(None, {}, config) == f"sqlite:///{tmp_path}/conf/news.db"


@pytest.mark.parametrize(
    ("env", "host", "port"),
    [
        ({}, "127.0.0.1", 8080),
        ({"NEWSMON_HTTP_HOST": "0.0.0.0"}, "0.0.0.0", 8080),
        ({"NEWSMON_HTTP_PORT": "9090"}, "127.0.0.1", 9090),
        ({"NEWSMON_HTTP_HOST": " ", "NEWSMON_HTTP_PORT": ""}, "127.0.0.1", 8080),
    ],
)
def test_http_host_and_port_from_the_environment_win(
    tmp_path: Path, env: dict[str, str], host: str, port: int
) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("settings:\n  http: {host: 127.0.0.1, port: 8080}\n")
    config = apply_env_overrides(load_config(path, {}), env)
    assert (config.settings.http.host, config.settings.http.port) == (host, port)


@pytest.mark.parametrize("port", ["http", "70000", "-1"])
def test_a_bad_http_port_in_the_environment_is_a_clear_error(tmp_path: Path, port: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources: []\n")
    with pytest.raises(ConfigError) as caught:
        apply_env_overrides(load_config(path, {}), {"NEWSMON_HTTP_PORT": port})
    assert str(caught.value) == f"NEWSMON_HTTP_PORT: invalid port '{port}' (use 0-65535)"


@pytest.mark.parametrize(
    ("keyword", "message"),
    [
        (
            "C++",
            "rules[0].keywords[1]: the keyword 'C++' has symbols that cannot be matched (+);"
            ' spell them in words, e.g. "C plus plus", or drop them',
        ),
        ("'--'", "rules[0].keywords[1]: the keyword '--' has no letters or digits to match"),
    ],
)
def test_a_keyword_that_cannot_be_matched_as_written_is_a_config_error(
    tmp_path: Path, keyword: str, message: str
) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(f"rules:\n  - name: r\n    keywords:\n      - ASEAN\n      - {keyword}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert str(caught.value) == f"{path}:5: {message}"
