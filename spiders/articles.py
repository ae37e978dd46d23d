"""Article callbacks: an article response becomes one ArticlePage item (a plain dict).

The spider never writes files: capture (WARC), extraction and storage happen in the
crawler/ components that consume the item.  What the spider adds is what only it knows:
the URL it asked for, the canonical URL, the discovery hints and whether this was an
edit re-check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from scrapy.http import Response

from archive.extract.charset import header_charset
from archive.outlet.urls import normalize_url

if TYPE_CHECKING:
    import logging

    from archive.outlet.config import OutletConfig

TRUNCATION_FLAGS = frozenset({"dataloss", "download_stopped"})  # Scrapy response.flags
_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_HEAD_END = re.compile(r"</head\s*>|<body\b", re.IGNORECASE)


def canonical_link(html: str, base_url: str) -> str | None:
    """The absolute ``<link rel=canonical href>`` from the page head, or None.

    A regex over the head instead of a DOM parse: this runs on every article in the
    Scrapy process, and the full parse happens later in the extraction pool.
    """
    end = _HEAD_END.search(html)
    head = html[: end.start()] if end else html[:200_000]
    for tag in _LINK_TAG.findall(head):
        attrs = {}
        for name, v1, v2, v3 in _ATTR.findall(tag):
            attrs[name.lower()] = v1 or v2 or v3
        if "canonical" in attrs.get("rel", "").lower().split() and attrs.get("href"):
            href = attrs["href"].strip().replace("&amp;", "&")
            absolute = urljoin(base_url, href)
            if absolute.startswith(("http://", "https://")):
                return absolute
    return None


def utc_now() -> str:
    """Now as an ISO 8601 UTC timestamp to the second (the item's ``fetched_at``)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class ArticleCallbacks:
    """NewsSpider's article callback and item builder (a mixin)."""

    if TYPE_CHECKING:  # provided by NewsSpider and the other mixins
        outlet: OutletConfig
        logger: logging.LoggerAdapter
        _canonical_seen: set[str]

        def _stat(self, key: str, count: int = 1) -> None: ...
        def _done(self, meta: dict[str, Any]) -> None: ...
        def usable_html(self, response: Response) -> bool: ...
        def content_type(self, response: Response) -> str | None: ...

    def parse_article(self, response: Response) -> Iterator[dict[str, Any]]:
        self._done(response.meta)
        if not self.usable_html(response):
            return
        cut = TRUNCATION_FLAGS.intersection(response.flags)
        if cut:
            # Counted (truncated/oversize) and archived by the capture extension; a cut
            # page must not become a corpus record.
            self._stat("newsarchive/discovery/skipped_truncated")
            self.logger.info("not extracting %s: body cut short (%s)", response.url,
                             ", ".join(sorted(cut)))
            return
        canonical = canonical_link(response.text, response.url)
        if canonical:
            canonical = normalize_url(canonical)
            # A later discovery of the canonical URL is not requested again.
            self._canonical_seen.add(canonical)
        yield self.article_item(response, canonical)

    def article_item(self, response: Response, canonical: str | None) -> dict[str, Any]:
        """The ArticlePage item (a plain dict) the capture/extraction pipelines consume."""
        content_type = self.content_type(response)
        redirects = response.meta.get("redirect_urls") or []
        return {
            "outlet": self.outlet.name,
            "url": response.url,
            "request_url": redirects[0] if redirects else response.url,
            "canonical_url": canonical,
            "status": response.status,
            "body": response.body,
            "encoding": header_charset(content_type),
            "content_type": content_type,
            "warc_record": response.meta.get("warc_record"),
            "fetched_at": utc_now(),
            "kind": "article",
            "hints": dict(response.meta.get("hints") or {}),
            "recheck": bool(response.meta.get("recheck")),
            "revisit": response.meta.get("warc_revisit"),
        }
