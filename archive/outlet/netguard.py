"""Which network destinations a crawl may reach.

A news page can link (or redirect) to ``http://169.254.169.254/`` or to another port on
127.0.0.1; fetching those from a crawler running in a cloud VM leaks credentials or pokes
internal services (SSRF).  Private, loopback, link-local and other non-global addresses
are therefore refused unless the operator named that exact origin in the outlet file.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from archive.outlet.config import Origin

Resolver = Callable[[str], list[str]]


def is_restricted_address(address: str) -> bool:
    """True for any address that is not a public unicast Internet address."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


@lru_cache(maxsize=4096)
def resolve_host(host: str) -> tuple[str, ...]:
    """Every address ``host`` resolves to (cached; empty when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        return ()
    return tuple(sorted({info[4][0] for info in infos}))


class AddressPolicy:
    """Decides whether a URL's origin may be fetched."""

    def __init__(self, named_origins: Iterable[Origin],
                 resolver: Callable[[str], Iterable[str]] = resolve_host):
        self.named_origins = set(named_origins)
        self._resolver = resolver

    def refusal_reason(self, url: str) -> str | None:
        """None when ``url`` may be fetched, else a short reason for the log and report."""
        parts = urlsplit(url)
        try:
            origin = Origin.of(url)
        except ValueError:  # urlsplit's .port: not a number, or out of range
            return "the port is not a valid port number"
        if parts.username is not None or parts.password is not None:
            # a news site never needs them; fetching would put them in the WARC and logs
            return "credentials in the URL"
        if not origin.host:
            return "no host"
        if origin in self.named_origins:
            return None
        try:
            ipaddress.ip_address(origin.host.strip("[]"))
            addresses: Iterable[str] = [origin.host]
        except ValueError:
            if origin.host == "localhost" or origin.host.endswith(".localhost"):
                return f"{origin.host} is a loopback name not named by the outlet"
            addresses = self._resolver(origin.host)
        for address in addresses:
            if is_restricted_address(address):
                return (f"{origin.host} -> {address} is a private/loopback/link-local address "
                        "not named by the outlet")
        return None
