"""HTTP message heads (request line / status line + header fields) as a WARC block stores them.

Scrapy hands us parsed messages, not the bytes on the wire, so the heads are rebuilt here.
What can be reproduced exactly is: the request target (path + query, as Twisted sends it), the
``Host`` header Twisted adds, every value of repeated headers (both ``Set-Cookie`` lines) and
raw header bytes (latin-1 round-trips any octet, so UTF-8 in a header survives unchanged,
unlike warcio's StatusAndHeaders which %-encodes non-ASCII values).  What cannot: the reason
phrase (synthesized from the status code), header order and case (Scrapy title-cases names).
The WARC writer says so in its warcinfo record.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from urllib.parse import urlsplit

REDACTED = "REDACTED"
# Credentials never go into an archive that may be published (warc-qa --no-secrets).
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
DEFAULT_PORTS = {"http": 80, "https": 443}
_CLASS_PHRASES = {1: "Informational", 2: "Success", 3: "Redirection", 4: "Client Error",
                  5: "Server Error"}
# CR/LF would let a header value start a new header (or a new record); other C0 controls
# are not legal in field values either.
_CONTROL = {c: " " for c in range(32) if c != 9} | {127: " "}

Headers = list[tuple[str, str]]


def reason_phrase(status: int) -> str:
    """The standard phrase for ``status``; a class phrase for unregistered codes.

    Never empty: pywb replays an empty phrase as "200 None".
    """
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return _CLASS_PHRASES.get(status // 100, "Unknown")


def clean(text: str) -> str:
    """``text`` without CR, LF or other control characters (no folded or injected lines)."""
    if text.isprintable():
        return text
    return text.translate(_CONTROL)


def _encode(text: str) -> bytes:
    """Header text back to octets: latin-1 undoes a latin-1 decode of the raw bytes."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def encode_fields(headers: Iterable[tuple[str, str]]) -> bytes:
    """``Name: value`` lines, each ending in CRLF; names and values cleaned of controls."""
    return b"".join(_encode(clean(name)) + b": " + _encode(clean(value)) + b"\r\n"
                    for name, value in headers)


def redact(headers: Iterable[tuple[str, str]]) -> Headers:
    """The same headers with credential values replaced (names are kept: they were sent)."""
    return [(name, REDACTED if name.lower() in SECRET_HEADERS else value)
            for name, value in headers]


def request_head(method: str, target: str, protocol: str, headers: Iterable[tuple[str, str]]
                 ) -> bytes:
    """Request line + header fields + blank line, with credential values redacted."""
    line = f"{clean(method)} {clean(target)} {clean(protocol)}\r\n"
    return _encode(line) + encode_fields(redact(headers)) + b"\r\n"


def response_head(protocol: str, status: int, reason: str, headers: Iterable[tuple[str, str]]
                  ) -> bytes:
    """Status line + header fields + blank line."""
    line = f"{clean(protocol)} {int(status)} {clean(reason) or reason_phrase(status)}\r\n"
    return _encode(line) + encode_fields(headers) + b"\r\n"


def request_target(url: str) -> str:
    """The origin-form target Twisted sends: path (``/`` if empty) plus ``?query`` if any.

    ``urlsplit`` (not ``urlparse``) so that ``;params`` stay part of the path.
    """
    parts = urlsplit(url)
    target = parts.path or "/"
    return f"{target}?{parts.query}" if parts.query else target


def host_header(url: str) -> str:
    """The ``Host`` value Twisted computes: the URL's host, with the port unless default."""
    parts = urlsplit(url)
    hostport = parts.netloc.rpartition("@")[2]
    if hostport.startswith("["):  # IPv6 literal: [addr]:port
        host, _, rest = hostport.partition("]")
        host += "]"
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    if not port or (port.isdigit() and int(port) == DEFAULT_PORTS.get(parts.scheme.lower())):
        return host
    return f"{host}:{port}"


def has_header(headers: Iterable[tuple[str, str]], name: str) -> bool:
    lowered = name.lower()
    return any(key.lower() == lowered for key, _ in headers)
