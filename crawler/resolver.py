"""The DNS resolver the reactor connects through: the one place host names become addresses.

The address guard (crawler/guard.py) used to resolve a host itself and cache the answer,
while Twisted resolved it again when it connected: a host answering a public address to
the first query and 127.0.0.1 to the second (DNS rebinding) was fetched at 127.0.0.1.
Here the check sits on the answer the connection is made with, so the address checked is
the address connected to.  Answers that are private, loopback, link-local or otherwise
not global are refused unless the host is one an outlet file named; IP literals are not
looked up (the guard decides on them, port included, before any connection).

The resolver is process-wide (one reactor for every outlet of ``crawl --all``), so the
named hosts are the union of the outlets' and a refusal is remembered by host name for
``RefusedResolutionMiddleware`` to count in the crawl whose request it was.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer
from twisted.internet.error import DNSLookupError

from archive.outlet.netguard import is_restricted_address

logger = logging.getLogger(__name__)

_named_hosts: set[str] = set()
_refused: OrderedDict[str, str] = OrderedDict()  # host -> reason, newest last
_REFUSED_KEEP = 4096


class RefusedResolution(DNSLookupError):
    """A host not named by any outlet resolved to a private/loopback/link-local address."""


def allow_hosts(hosts: Iterable[str]) -> None:
    """Hosts an outlet file named: they may resolve to private addresses."""
    _named_hosts.update(h.lower().rstrip(".") for h in hosts if h)


def refusal_for(host: str | None) -> str | None:
    """Why the resolver refused ``host`` (None when it did not)."""
    if not host:
        return None
    return _refused.get(host.lower().rstrip("."))


def _remember(host: str, reason: str) -> None:
    _refused[host] = reason
    _refused.move_to_end(host)
    while len(_refused) > _REFUSED_KEEP:
        _refused.popitem(last=False)


def is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def check_answer(name: str, address: str) -> str:
    """``address`` when ``name`` may be connected to at it, else raise RefusedResolution."""
    host = name.lower().rstrip(".")
    if host in _named_hosts or not is_restricted_address(address):
        _refused.pop(host, None)
        return address
    reason = (f"{host} resolved to {address}, a private/loopback/link-local address not "
              "named by the outlet")
    _remember(host, reason)
    logger.warning("refused to connect: %s", reason)
    raise RefusedResolution(reason)


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing private answers for hosts no outlet named."""

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred:  # noqa: N802
        if is_ip_literal(name):
            return defer.succeed(name.strip("[]"))
        deferred = self.lookup(name, timeout)
        deferred.addCallback(lambda address: check_answer(name, address))
        return deferred

    def lookup(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred:
        """The raw answer (cached); tests override this to play a hostile DNS server."""
        return super().getHostByName(name, timeout)
