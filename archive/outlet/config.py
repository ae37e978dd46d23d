"""Outlet configuration: the YAML contract of DESIGN.md, loaded and validated.

Lives in ``archive/`` (not ``crawler/``) because extraction and re-extraction need the
outlet's rules (editions, date order, prune XPaths) without Scrapy.  Validation errors
name the file and the line, so an operator editing YAML at 3 a.m. knows where to look.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml

from archive.outlet.resources import RESOURCE_KEYS, ResourcePolicy, resource_policy

NAME_PATTERN = re.compile(r"^[a-z0-9_-]+$")
DATE_ORDERS = ("dmy", "mdy", "ymd")
DEFAULT_DOWNLOAD_DELAY = 1.0
DEFAULT_CONCURRENCY = 2


class OutletConfigError(ValueError):
    """A missing, unreadable or invalid outlet file; the message names file and line."""


@dataclass(frozen=True)
class Edition:
    """One language edition of an outlet: every URL under ``prefix`` is in ``language``."""

    prefix: str
    language: str
    name: str = ""


@dataclass(frozen=True)
class Origin:
    """scheme, host, port: the unit the address guard allows private destinations for."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
        return cls(scheme, (parts.hostname or "").lower(), port)


@dataclass
class OutletConfig:
    """Everything the crawler and the extractor need to know about one outlet.

    The minimum keys are the DESIGN.md contract; the rest are optional per-outlet
    rules (trafilatura's lesson: what varies per site is data, not code).
    """

    name: str
    start_urls: list[str]
    # regexes (re.search) that mark article URLs: optional priors.  With none, discovery is
    # generic and every fetched page is classified from its own content.
    article_urls: list[str] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    allowed_domains: list[str] = field(default_factory=list)
    language: str | None = None
    editions: list[Edition] = field(default_factory=list)
    date_order: str = "dmy"
    download_delay: float = DEFAULT_DOWNLOAD_DELAY
    concurrency: int = DEFAULT_CONCURRENCY
    # which spider class drives the outlet: "news" (generic) or an override such as "rudaw"
    spider: str = "news"
    # regexes (re.search) for listing pages worth following (sections, pagination)
    follow_urls: list[str] = field(default_factory=list)
    # regexes for URLs never to request (search pages, live TV, ...)
    deny_urls: list[str] = field(default_factory=list)
    # extraction rules
    prune_xpaths: list[str] = field(default_factory=list)
    date_formats: list[str] = field(default_factory=list)
    drop_text: list[str] = field(default_factory=list)  # regexes of whole lines to drop
    cut_text_at: list[str] = field(default_factory=list)  # regexes: drop this line and all after
    author_clean: list[str] = field(default_factory=list)  # regexes removed from author strings
    dateline: str | None = None  # regex matching a leading dateline (group 1 = the dateline)
    timezone: str | None = None  # IANA zone for visible dates without an offset
    contact_url: str | None = None  # overrides the global contact URL in the User-Agent
    max_page_bytes: int | None = None  # per-outlet override of the response size limit
    # embedded resources (stylesheets, scripts, images): archive/outlet/resources.py
    resources: ResourcePolicy = field(default_factory=ResourcePolicy)
    # "generic" (pages decide, URL rules only raise priority) or "rules" (only URLs that
    # match article_urls/follow_urls are fetched); default: rules when article_urls given
    discovery: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, kept for overrides
    source_path: Path | None = None
    # "file:line: unknown key 'prune_xpath' (did you mean 'prune_xpaths'?)" for the CLI
    warnings: list[str] = field(default_factory=list, compare=False)

    # ---- derived helpers -------------------------------------------------------------

    def __post_init__(self) -> None:
        self._article_res = [re.compile(p) for p in self.article_urls]
        self._follow_res = [re.compile(p) for p in self.follow_urls]
        self._deny_res = [re.compile(p) for p in self.deny_urls]
        if not self.discovery:
            self.discovery = "rules" if self.article_urls else "generic"

    def is_article_url(self, url: str) -> bool:
        """May ``url`` be an article?  Its ``article_urls`` match; without any rules every
        URL may be (the page decides), so canonical URLs and redirect aliases still count."""
        if not self._article_res:
            return True
        return self.article_prior(url)

    def article_prior(self, url: str) -> bool:
        """True only when an ``article_urls`` regex matches (a priority hint)."""
        return any(r.search(url) for r in self._article_res)

    def is_listing_url(self, url: str) -> bool:
        return any(r.search(url) for r in self._follow_res)

    def is_denied_url(self, url: str) -> bool:
        return any(r.search(url) for r in self._deny_res)

    def edition_for(self, url: str) -> Edition | None:
        """The edition whose prefix is the longest one ``url`` starts with."""
        best: Edition | None = None
        for edition in self.editions:
            if url.startswith(edition.prefix) and (
                best is None or len(edition.prefix) > len(best.prefix)
            ):
                best = edition
        return best

    def seed_urls(self) -> list[str]:
        return [*self.start_urls, *self.feeds, *self.sitemaps]

    def named_origins(self) -> set[Origin]:
        """Origins the operator named (seeds and ``resource_hosts``); only these may be
        private/loopback addresses."""
        return {Origin.of(u) for u in (*self.seed_urls(), *self.resources.hosts)}

    def hosts(self) -> list[str]:
        """Hosts the crawl stays on: ``allowed_domains`` or else the seed URLs' hosts."""
        if self.allowed_domains:
            return list(self.allowed_domains)
        seen: dict[str, None] = {}
        for url in self.seed_urls():
            host = urlsplit(url).hostname
            if host:
                seen.setdefault(host.lower(), None)
        return list(seen)


# ---- loading ---------------------------------------------------------------------------

_LIST_KEYS = (
    "start_urls", "feeds", "sitemaps", "article_urls", "allowed_domains", "follow_urls",
    "deny_urls", "prune_xpaths", "date_formats", "drop_text", "cut_text_at", "author_clean",
)
_REGEX_KEYS = ("article_urls", "follow_urls", "deny_urls", "drop_text", "cut_text_at",
               "author_clean")
_KNOWN_KEYS = {
    *_LIST_KEYS, "name", "language", "editions", "date_order", "download_delay",
    "concurrency", "spider", "dateline", "timezone", "contact_url", "max_page_bytes",
    *RESOURCE_KEYS,
    "discovery",
}
# keys read from ``extra`` by other parts (spider overrides, extraction, recheck schedule)
_EXTRA_KEYS = {"article_key", "recheck", "section_xpath", "section_regex",
               "max_listing_hops", "max_sitemap_depth", "image_base", "page_budget_floor",
               "page_budget_per_article", "template_allow"}
DISCOVERY_MODES = ("generic", "rules")


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key (for error messages)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    lines = {}
    for key_node, _ in node.value:
        lines[key_node.value] = key_node.start_mark.line + 1
    mapping["__lines__"] = lines
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_outlet(path: str | Path) -> OutletConfig:
    """Read and validate one outlet YAML file; raise OutletConfigError naming file:line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OutletConfigError(f"{path}: no such outlet file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OutletConfigError(f"{path}: cannot read outlet file: {exc}") from None
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"{mark.line + 1}" if mark else "?"
        raise OutletConfigError(f"{path}:{line}: invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise OutletConfigError(f"{path}: invalid YAML: {exc}") from None
    return outlet_from_mapping(data, path)


def outlet_from_mapping(data: Any, path: Path | None = None) -> OutletConfig:
    """Validate a parsed mapping (with optional ``__lines__``) into an OutletConfig."""
    where = str(path) if path else "<outlet>"
    if not isinstance(data, dict):
        raise OutletConfigError(f"{where}:1: an outlet file must be a YAML mapping of keys")
    lines: dict[str, int] = data.get("__lines__", {})

    def fail(key: str, message: str) -> OutletConfigError:
        return OutletConfigError(f"{where}:{lines.get(key, data.get('__line__', 1))}: "
                                 f"{key}: {message}")

    clean = {k: v for k, v in data.items() if not str(k).startswith("__")}
    for key in ("name", "start_urls"):
        if key not in clean and not (key == "start_urls" and (clean.get("feeds")
                                                               or clean.get("sitemaps"))):
            raise OutletConfigError(f"{where}:1: missing required key '{key}'")
    name = clean.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise fail("name", "must match [a-z0-9_-]+ (it is used in store paths)")
    kwargs: dict[str, Any] = {"name": name, "source_path": path}
    for key in _LIST_KEYS:
        value = clean.get(key, [])
        if value is None:
            value = []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(key, "must be a list of strings")
        if key in _REGEX_KEYS:
            for pattern in value:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise fail(key, f"bad regular expression {pattern!r}: {exc}") from None
        if key in ("start_urls", "feeds", "sitemaps"):
            for url in value:
                if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
                    raise fail(key, f"not an absolute http(s) URL: {url!r}")
        kwargs[key] = value
    if not kwargs["start_urls"] and not kwargs["feeds"] and not kwargs["sitemaps"]:
        raise fail("start_urls", "give at least one start URL, feed or sitemap")
    discovery = clean.get("discovery", "")
    if discovery not in ("", *DISCOVERY_MODES):
        raise fail("discovery", f"must be one of {', '.join(DISCOVERY_MODES)}")
    if discovery == "rules" and not kwargs["article_urls"]:
        raise fail("discovery", "'rules' needs article_urls (regexes that mark article "
                                "pages); leave discovery out to let pages decide")
    kwargs["discovery"] = discovery

    language = clean.get("language")
    if language is not None and not (isinstance(language, str) and re.fullmatch(r"[a-z]{3}",
                                                                                 language)):
        raise fail("language", "must be an ISO 639-3 code such as eng, ckb, kmr")
    kwargs["language"] = language

    editions = []
    for index, entry in enumerate(clean.get("editions") or []):
        if not isinstance(entry, dict) or "prefix" not in entry or "language" not in entry:
            raise fail("editions", f"entry {index + 1} needs 'prefix' and 'language'")
        lang = entry["language"]
        if not (isinstance(lang, str) and re.fullmatch(r"[a-z]{3}", lang)):
            raise fail("editions", f"entry {index + 1}: language must be ISO 639-3, got {lang!r}")
        editions.append(Edition(prefix=str(entry["prefix"]), language=lang,
                                name=str(entry.get("name", ""))))
    kwargs["editions"] = editions

    order = clean.get("date_order", "dmy")
    if order not in DATE_ORDERS:
        raise fail("date_order", f"must be one of {', '.join(DATE_ORDERS)}")
    kwargs["date_order"] = order

    for key, kind, minimum in (("download_delay", float, 0.0), ("concurrency", int, 1)):
        if key in clean:
            value = clean[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
                raise fail(key, f"must be a number >= {minimum}")
            kwargs[key] = kind(value)
    for key in ("spider", "dateline", "timezone", "contact_url"):
        if key in clean:
            if not isinstance(clean[key], str):
                raise fail(key, "must be a string")
            kwargs[key] = clean[key]
    if kwargs.get("timezone"):
        problem = timezone_problem(kwargs["timezone"])
        if problem:
            raise fail("timezone", problem)
    if kwargs.get("dateline"):
        try:
            re.compile(kwargs["dateline"])
        except re.error as exc:
            raise fail("dateline", f"bad regular expression: {exc}") from None
    if "max_page_bytes" in clean:
        value = clean["max_page_bytes"]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise fail("max_page_bytes", "must be a positive integer")
        kwargs["max_page_bytes"] = value
    kwargs["resources"] = resource_policy(clean, fail)
    kwargs["extra"] = {k: _strip_lines(v) for k, v in clean.items() if k not in _KNOWN_KEYS}
    kwargs["warnings"] = [
        f"{where}:{lines.get(key, '?')}: {message}"
        for key in kwargs["extra"] if (message := unknown_key_message(str(key)))]
    return OutletConfig(**kwargs)


def unknown_key_message(key: str) -> str | None:
    """A warning for a key that looks like a misspelt valid one (None: not a typo)."""
    valid = _KNOWN_KEYS | _EXTRA_KEYS
    if key in valid:
        return None
    close = difflib.get_close_matches(key, sorted(valid), n=1, cutoff=0.75)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?): it is ignored"
    return f"unknown key {key!r}: it is ignored (kept only for spider overrides)"


def timezone_problem(name: str) -> str | None:
    """None when ``name`` is an IANA time zone this machine knows, else what is wrong."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        suggestion = difflib.get_close_matches(name, sorted(available_timezones()), n=1)
        hint = f" (did you mean {suggestion[0]!r}?)" if suggestion else ""
        return f"unknown time zone {name!r}{hint}: use an IANA name such as Asia/Baghdad"
    return None


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value
