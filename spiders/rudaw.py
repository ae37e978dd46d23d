"""Rudaw override: article discovery from Next.js flight data on edition fronts.

The current Rudaw site (Next.js App Router) renders no ``<a href>`` to articles on its
edition fronts; the latest items exist only in the ``self.__next_f.push`` flight data
(RESEARCH.md §1.3).  This spider reads those objects ({"ID", "Title", "Summary",
"imgPath", "categorySlug", ...}) and requests ``/{edition}/categories/{slug}/{ID}``
with the object's title, summary, image and date as hints.  Everything else (legacy
RSS, legacy section pages with pagination, sitemaps) runs through NewsSpider.

``spider: rudaw`` in any outlet YAML selects this class, so the sample outlet under
tests/sites/ exercises exactly this code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from scrapy.http import Request, TextResponse

from archive.discover.nextjs import article_items
from spiders.news import NewsSpider

_TITLE_KEYS = ("Title", "title", "Headline", "headline")
_SUMMARY_KEYS = ("Summary", "summary", "Description", "description")
_IMAGE_KEYS = ("imgPath", "ImgPath", "ImagePath", "imagePath", "Image", "image")
_DATE_KEYS = ("PublishedDate", "publishedDate", "PublishDate", "publishDate", "Date", "date",
              "CreatedDate", "createdDate")
_MODIFIED_KEYS = ("ModifiedDate", "modifiedDate", "UpdatedDate", "updatedDate")
_SLUG = re.compile(r"^[A-Za-z0-9_-]+$")


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = obj.get(key)
        if value not in (None, ""):
            return value
    return None


class RudawSpider(NewsSpider):
    """NewsSpider + flight-data discovery.  Defaults to spiders/outlets/rudaw.yaml."""

    name = "rudaw"
    default_outlet = "rudaw.yaml"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # edition path segment ("english", "arabic", ...) of every edition prefix
        self.edition_segments = {
            seg for seg in (self._last_segment(e.prefix) for e in self.outlet.editions) if seg
        }
        self.image_base: str | None = (self.outlet.extra or {}).get("image_base")

    @staticmethod
    def _last_segment(prefix: str) -> str:
        path = urlsplit(prefix).path.strip("/")
        return path.rsplit("/", 1)[-1] if path else ""

    def edition_of(self, url: str) -> str | None:
        """The edition segment a page belongs to: its first path segment, if known."""
        segments = [s for s in urlsplit(url).path.split("/") if s]
        if not segments:
            return None
        first = segments[0]
        if self.edition_segments and first not in self.edition_segments:
            return None
        return first

    def image_url(self, path: str, page_url: str) -> str:
        """An absolute image URL: the outlet's image CDN if configured, else the page origin."""
        if path.startswith(("http://", "https://")):
            return path
        if path.startswith("//"):
            return urlsplit(page_url).scheme + ":" + path
        if self.image_base:
            return self.image_base.rstrip("/") + "/" + path.lstrip("/")
        return urljoin(page_url, path)

    def discover_on_page(self, response: TextResponse, kind: str,
                         listing_hops: int) -> Iterator[Request]:
        if b"__next_f" not in response.body:
            return
        items = article_items(response.body)
        self._stat("newsarchive/discovery/flight_items", len(items))
        if not items:
            return
        edition = self.edition_of(response.url)
        if edition is None:
            self._stat("newsarchive/discovery/flight_no_edition", len(items))
            self.logger.info("flight data on %s but no edition in its path: %d items skipped",
                             response.url, len(items))
            return
        for obj in items:
            request = self.flight_request(obj, edition, response.url)
            if request is not None:
                yield request

    def flight_request(self, obj: dict[str, Any], edition: str, page_url: str) -> Request | None:
        slug = str(obj["categorySlug"]).strip()
        if not _SLUG.match(slug):
            slug = quote(slug, safe="")
        url = urljoin(page_url, f"/{edition}/categories/{slug}/{obj['ID']}")
        hints: dict[str, Any] = {"via": "flight", "found_on": page_url,
                                 "flight_id": str(obj["ID"]), "category_slug": slug}
        for name, keys in (("title", _TITLE_KEYS), ("summary", _SUMMARY_KEYS),
                           ("published", _DATE_KEYS), ("modified", _MODIFIED_KEYS)):
            value = _first(obj, keys)
            if isinstance(value, str) and value.strip():
                hints[name] = value.strip()
        image = _first(obj, _IMAGE_KEYS)
        if isinstance(image, str) and image.strip():
            hints["image"] = self.image_url(image.strip(), page_url)
        return self.follow(url, hints, 1)
