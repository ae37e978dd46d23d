"""Alias keys for redirects whose target was archived in the same run.

A legacy article URL that redirects to an article the run has already fetched is dropped
by the duplicate filter before any component learns where it led, so without this the
next run would fetch it again.  The capture extension notes every redirect from an
article URL; before the state is written, each is resolved against the articles now
known (following chains) and the source URL is recorded as an alias -- the same rule a
state rebuild applies to the WARCs (archive.state.aliases).
"""

from __future__ import annotations

from urllib.parse import urljoin

from archive.outlet.urls import article_key

MAX_HOPS = 5


def record_redirect_aliases(context) -> int:
    """Record the alias of every noted redirect that ends at an archived article."""
    state, outlet = context.opened_state(), context.outlet
    if state is None or not context.redirects:
        return 0
    pending = list(context.redirects)
    recorded = 0
    for _ in range(MAX_HOPS):
        left = []
        for source, target in pending:
            key = article_key(outlet, target)
            info = state.article_info(outlet.name, key)
            if info is None:
                left.append((source, target))
                continue
            alias = article_key(outlet, source)
            if alias != key and state.article_info(outlet.name, alias) is None:
                state.record_article(outlet.name, alias, source, info.content_sha256,
                                     info.version, info.last_fetched, info.published)
                recorded += 1
        if len(left) == len(pending):
            break
        pending = left
    return recorded


def note_redirect(context, url: str, location: str | None) -> None:
    if location and context.outlet.is_article_url(url):
        context.redirects.append((url, urljoin(url, location.strip())))
