"""An HTTP exchange, and the parts of its WARC records that come from it alone.

``HttpExchange`` is what the crawler hands the WARC writer: a request as sent and its
response as received.  The functions here turn it into record fields and blocks (dates,
target URI, IP address, protocol, truncation, the request record, whether the body is
already compressed); they know nothing of files, so the writer
(``archive.warc.writer``) keeps only rotation, offsets and fixity.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime

from archive.warc import httphead
from archive.warc.record import record_member, sha1_digest, warc_date

TRUNCATION_REASONS = ("length", "time", "disconnect", "unspecified")
HTTP_REQUEST = "application/http;msgtype=request"
HTTP_RESPONSE = "application/http;msgtype=response"
# Bodies that arrive compressed (or are media) do not shrink again: store them (LEVEL_STORED).
_COMPRESSED_TYPES = ("image/", "video/", "audio/", "font/", "application/zip",
                     "application/gzip", "application/pdf", "application/octet-stream")


@dataclass(kw_only=True)
class HttpExchange:
    """One request as sent and its response as received (entity de-chunked, still encoded)."""

    url: str
    method: str = "GET"
    request_target: str = ""  # path?query as sent; derived from ``url`` when empty
    request_headers: list[tuple[str, str]] = field(default_factory=list)  # incl. Host
    request_body: bytes = b""
    protocol: str = "HTTP/1.1"  # of the response; "h2" is written as HTTP/1.1 + WARC-Protocol
    status: int
    reason: str = ""  # synthesized from ``status`` when empty
    response_headers: list[tuple[str, str]] = field(default_factory=list)  # every value
    body: bytes = b""
    ip_address: str | None = None
    date: datetime = field(default_factory=lambda: datetime.now(UTC))  # request sent (UTC)
    truncated: str | None = None  # "length" | "disconnect" | "time" | "unspecified"


def check_exchange(ex: HttpExchange) -> None:
    if ex.truncated is not None and ex.truncated not in TRUNCATION_REASONS:
        raise ValueError(f"WARC-Truncated must be one of {TRUNCATION_REASONS}, "
                         f"got {ex.truncated!r}")
    if not 100 <= int(ex.status) <= 999:
        raise ValueError(f"bad HTTP status {ex.status!r} for {ex.url}")


def common_fields(ex: HttpExchange) -> list[tuple[str, str]]:
    """WARC-Date, -Target-URI and -IP-Address: identical on both records of a capture."""
    fields = [("WARC-Date", warc_date(ex.date)), ("WARC-Target-URI", ex.url.split("#")[0])]
    ip = canonical_ip(ex.ip_address)
    if ip:
        fields.append(("WARC-IP-Address", ip))
    return fields


def canonical_ip(address: str | None) -> str | None:
    """RFC 5952 form for IPv6 (what ``ipaddress`` prints); None when unknown."""
    if not address:
        return None
    try:
        return str(ipaddress.ip_address(str(address).strip("[]")))
    except ValueError:
        return httphead.clean(str(address))


def protocol_field(ex: HttpExchange) -> list[tuple[str, str]]:
    return [("WARC-Protocol", "h2")] if is_h2(ex.protocol) else []


def is_h2(protocol: str) -> bool:
    return protocol.lower() in ("h2", "http/2", "http/2.0")


def truncated_field(reason: str | None) -> list[tuple[str, str]]:
    return [("WARC-Truncated", reason)] if reason else []


def response_head(ex: HttpExchange) -> bytes:
    protocol = ex.protocol.upper()
    if not protocol.startswith("HTTP/1.") or is_h2(protocol):
        protocol = "HTTP/1.1"
    return httphead.response_head(protocol, ex.status, ex.reason, ex.response_headers)


def request_member(ex: HttpExchange, request_id: str, concurrent_to: str, warcinfo_id: str,
                    common: list[tuple[str, str]]) -> bytes:
    headers = list(ex.request_headers)
    if not httphead.has_header(headers, "Host"):
        headers.insert(0, ("Host", httphead.host_header(ex.url)))
    target = ex.request_target or httphead.request_target(ex.url)
    head = httphead.request_head(ex.method, target, "HTTP/1.1", headers)
    fields = [("WARC-Type", "request"), ("WARC-Record-ID", request_id), *common,
              ("WARC-Concurrent-To", concurrent_to), ("WARC-Warcinfo-ID", warcinfo_id),
              *protocol_field(ex), ("WARC-Block-Digest", sha1_digest(head, ex.request_body))]
    return record_member(fields, (head, ex.request_body), HTTP_REQUEST)


def precompressed(ex: HttpExchange) -> bool:
    for name, value in ex.response_headers:
        lowered = name.lower()
        if lowered == "content-encoding" and value.strip().lower() not in ("", "identity"):
            return True
        if lowered == "content-type" and value.strip().lower().startswith(_COMPRESSED_TYPES):
            return True
    return False
