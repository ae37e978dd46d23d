"""What the sample server sends for one path: status, headers, body and transport tricks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

HTML = "text/html; charset=utf-8"
XML = "application/xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str | None = HTML
    headers: list[tuple[str, str]] = field(default_factory=list)
    compressible: bool = True  # gzip it when the client sends Accept-Encoding: gzip
    chunked: bool = False  # Transfer-Encoding: chunked instead of Content-Length
    cookies: bool = True  # the two Set-Cookie headers every HTML page carries
    # socket-level trick: announce this Content-Length, send only len(body) bytes, then close
    claimed_length: int | None = None
    # conditional requests: None = no validators; "page" = ETag/Last-Modified and 304s
    # (fronts, listings, feeds, sitemaps); "article" = validators, 304 only when the site
    # has conditional_articles on
    validators: str | None = None
    content_time: datetime | None = None  # first Last-Modified (article: its modified time)
    etag: str | None = None  # set by SampleSite after each build (tests/sites/conditional.py)
    last_modified: datetime | None = None

    @classmethod
    def html(cls, text: str, status: int = 200, **kwargs) -> Response:
        return cls(status=status, body=text.encode("utf-8"), **kwargs)

    @classmethod
    def redirect(cls, location: str, status: int = 301) -> Response:
        body = f'<html><body>Moved to <a href="{location}">{location}</a></body></html>'
        return cls(status=status, body=body.encode("utf-8"), cookies=False,
                   headers=[("Location", location)])
