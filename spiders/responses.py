"""Response checks: what came back, before any callback reads it.

A crawl meets error pages, empty bodies, PDFs served as articles and dropped
connections.  Each is counted as a failure of its kind (``newsarchive/failures/<kind>``,
summed in the run report) and logged once, and the crawl goes on; only usable pages
reach discovery (spiders/discovery.py) and article parsing (spiders/articles.py).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse

from archive.discover.coverage import CoverageLedger
from spiders.scope import PENDING_KEY

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Content types that say nothing: the body is sniffed for an HTML start instead.
GENERIC_TYPES = ("", "application/octet-stream", "text/plain", "binary/octet-stream")
_HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head)\b",
    re.IGNORECASE | re.DOTALL)


class ResponseChecks:
    """NewsSpider's response checks and download errback (a mixin)."""

    if TYPE_CHECKING:  # provided by NewsSpider and CrawlScope
        ledger: CoverageLedger

        def fail(self, kind: str, url: str, detail: str = "") -> None: ...
        def _done(self, meta: dict[str, Any]) -> None: ...

    def response_ok(self, response: Response) -> bool:
        """Count and drop non-200 responses (they never become items)."""
        if response.status != 200:
            self.fail(f"http_{response.status}", response.url)
            self._settle(response.meta, f"http_{response.status}")
            return False
        return True

    def _settle(self, meta: dict[str, Any], outcome: str) -> None:
        """Tell the coverage ledger why the URL this request was made for is not archived."""
        url = meta.get(PENDING_KEY)
        if url:
            self.ledger.settle(url, outcome)

    @staticmethod
    def content_type(response: Response) -> str | None:
        """The response's Content-Type header as text, or None when it has none."""
        value = response.headers.get(b"Content-Type")
        return value.decode("latin-1").strip() if value else None

    def is_html(self, response: Response) -> bool:
        """HTML by header, or by sniffing when the header is missing or generic."""
        ctype = (self.content_type(response) or "").split(";", 1)[0].strip().lower()
        if ctype in HTML_TYPES:
            return True
        if ctype in GENERIC_TYPES:
            return bool(_HTML_START.match(response.body[:4096]))
        return False

    def usable_html(self, response: Response) -> bool:
        """A 200 HTML page with a body; anything else is counted as a failure of its kind."""
        if not self.response_ok(response):
            return False
        if not response.body:
            self.fail("empty_body", response.url)
            self._settle(response.meta, "empty_body")
            return False
        if not isinstance(response, TextResponse) or not self.is_html(response):
            self.fail("not_html", response.url, self.content_type(response) or "no type")
            self._settle(response.meta, "not_html")
            return False
        return True

    def on_error(self, failure: Any) -> None:
        """Download errors (DNS, refused, timeout, truncated): count, log, go on."""
        request = getattr(failure, "request", None)
        if request is not None:
            self._done(request.meta)
        if failure.check(IgnoreRequest):
            if request is not None:
                self._settle(request.meta, "refused")  # robots.txt, address guard, ...
            return  # offsite/robots/guard drops: counted by the middleware that dropped it
        url = request.url if request is not None else "?"
        self.fail("download_error", url, f"{failure.type.__name__}: {failure.getErrorMessage()}")
        if request is not None:
            self._settle(request.meta, "download_error")
