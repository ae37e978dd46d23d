"""The outlet's resource policy: which embedded resources of a page the crawl archives.

A page replays as its readers saw it only with its stylesheets, scripts, fonts and images,
so the default is ``resources: all`` (an archive is for replay).  ``same-site`` keeps to
the outlet's own hosts (and the resource hosts it names); ``none`` archives pages only.

``resource_hosts`` names origins that serve resources and may be private or loopback
addresses (a CDN played by another local port in tests, an internal image host): the
address guard lets a private destination through only when the outlet names its origin,
and a CDN is not a seed.  Public CDNs need no entry: under ``all`` any public host is
allowed one hop away from the outlet's pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

RESOURCE_MODES = ("all", "same-site", "none")
DEFAULT_RESOURCE_MAX_BYTES = 20_000_000
DEFAULT_RESOURCE_BUDGET = 150  # resources requested per page at most
RESOURCE_KEYS = frozenset({"resources", "resource_hosts", "resource_max_bytes",
                           "resource_budget", "resource_media"})


@dataclass(frozen=True)
class ResourcePolicy:
    """``mode`` (all | same-site | none), size cap, per-page budget, named resource hosts."""

    mode: str = "all"
    hosts: tuple[str, ...] = ()  # origins (scheme://host[:port]) named as resource hosts
    max_bytes: int = DEFAULT_RESOURCE_MAX_BYTES
    budget: int = DEFAULT_RESOURCE_BUDGET
    media: bool = False  # audio/video files: skipped (and counted) unless true

    @property
    def enabled(self) -> bool:
        return self.mode != "none"


def resource_policy(clean: Mapping[str, Any],
                    fail: Callable[[str, str], Exception]) -> ResourcePolicy:
    """Validate the resource keys of an outlet mapping (``fail(key, message)`` raises)."""
    mode = clean.get("resources", "all")
    if mode not in RESOURCE_MODES:
        raise fail("resources", f"must be one of {', '.join(RESOURCE_MODES)}")
    hosts = clean.get("resource_hosts") or []
    if isinstance(hosts, str):
        hosts = [hosts]
    if not isinstance(hosts, list):
        raise fail("resource_hosts", "must be a list of origins such as https://cdn.example")
    for origin in hosts:
        parts = urlsplit(origin) if isinstance(origin, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise fail("resource_hosts", f"not an http(s) origin: {origin!r}")
    numbers = {}
    for key, default, minimum in (("resource_max_bytes", DEFAULT_RESOURCE_MAX_BYTES, 1),
                                  ("resource_budget", DEFAULT_RESOURCE_BUDGET, 0)):
        value = clean.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise fail(key, f"must be an integer >= {minimum}")
        numbers[key] = value
    media = clean.get("resource_media", False)
    if not isinstance(media, bool):
        raise fail("resource_media", "must be true or false")
    return ResourcePolicy(mode=mode, hosts=tuple(hosts), max_bytes=numbers["resource_max_bytes"],
                          budget=numbers["resource_budget"], media=media)
