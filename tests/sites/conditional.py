"""HTTP validators of the sample outlet: strong ETags, Last-Modified and 304 decisions.

An incremental crawler re-checks fronts, feeds and sitemaps with ``If-None-Match`` /
``If-Modified-Since``; the sample site answers like a well-behaved origin (RFC 9110
§13.1.2-13.1.3): If-None-Match wins over If-Modified-Since, ``*`` matches anything,
and the comparison for If-None-Match is the weak one (a ``W/`` prefix is ignored).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from email.message import Message
from email.utils import format_datetime, parsedate_to_datetime

from .response import Response

# Before anything changes, pages other than articles claim this time; mutations advance
# the site clock (tests/sites/mutations.py) from here, one hour per change.
SITE_EPOCH = datetime(2026, 11, 20, 16, 0, tzinfo=timezone(timedelta(hours=3)))
_ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"')

Routes = dict[tuple[str, str], Response]


def etag_for(body: bytes) -> str:
    """Strong entity tag: sha256 of the body as served before any gzip coding."""
    return '"' + hashlib.sha256(body).hexdigest() + '"'


def http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC).replace(microsecond=0), usegmt=True)


def not_modified(headers: Mapping[str, str] | Message, etag: str,
                 last_modified: datetime) -> bool:
    """True when the request's validators say the client already holds this page."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        opaque = etag.removeprefix("W/")
        return any(tag.removeprefix("W/") == opaque
                   for tag in _ENTITY_TAG.findall(if_none_match))
    if_modified_since = headers.get("If-Modified-Since")
    if not if_modified_since:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False  # an invalid date is ignored (RFC 9110 §13.1.3)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


def assign_validators(routes: Routes, previous: Routes | None, clock: datetime,
                      restart: bool = False) -> list[tuple[str, str]]:
    """Give every page its ETag and Last-Modified; return the (origin, path)s that changed.

    On a first build or a restart (reset) Last-Modified is each page's own time (an
    article's dateModified; SITE_EPOCH for fronts, feeds, listings and sitemaps).  After
    a mutation a page keeps its Last-Modified while its bytes stay the same and gets
    ``clock`` (the time of the change) when they differ, so it only ever moves forward.
    """
    previous = previous or {}
    changed = []
    for key, response in routes.items():
        digest = etag_for(response.body)
        old = previous.get(key)
        if old is None or old.etag != digest:
            changed.append(key)
        if restart or not previous:
            last_modified = response.content_time or SITE_EPOCH
        elif old is not None and old.etag == digest:
            last_modified = old.last_modified
        else:
            last_modified = clock
        response.etag = digest
        response.last_modified = last_modified
    changed.extend(key for key in previous if key not in routes)
    return sorted(set(changed)) if previous else []
