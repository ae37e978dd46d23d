"""Pagination: which links continue a listing, so a walk can go page by page and stop.

Sites page their listings as ``?page=N`` (or ``p``, ``pg``, ``paged``), ``/page/N``, or
an offset (``?offset=40``, ``?start=40``).  A series is the listing URL without its page
part; the walk follows only the next page of the series (the smallest number above the
current one, or ``rel=next``) and stops after two pages in a row that brought no new
article (spiders/generic.py), so an archive of 5,000 pages costs a few pages on a
scheduled run.  Page parameters are never stripped by URL normalisation
(archive/outlet/urls.py): ``?page=2`` is another page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from archive.outlet.urls import normalize_url

PAGE_PARAMS = frozenset({"page", "p", "pg", "paged", "pagenum", "pageno", "page_no",
                         "pagenumber", "seite", "pagina", "sayfa"})
OFFSET_PARAMS = frozenset({"offset", "start", "from", "skip"})
_PATH_PAGE = re.compile(r"^(?P<series>.*?)/(?:page|p|seite|pagina)/(?P<n>\d{1,6})/?$",
                        re.IGNORECASE)


class PageRef(NamedTuple):
    """A URL's place in a paginated series: the series key and the page's order number."""

    series: str
    number: int


def _series_key(scheme: str, netloc: str, path: str, query: list[tuple[str, str]]) -> str:
    path = path.rstrip("/") or "/"
    return normalize_url(urlunsplit((scheme, netloc, path, urlencode(query), "")))


def page_ref(url: str) -> PageRef | None:
    """The series and number of a paginated URL, or None when it names no page.

    Offsets order like page numbers (``offset=40`` comes after ``offset=20``).
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    for index, (name, value) in enumerate(query):
        lowered = name.lower()
        if (lowered in PAGE_PARAMS or lowered in OFFSET_PARAMS) and value.isdigit():
            rest = query[:index] + query[index + 1:]
            return PageRef(_series_key(parts.scheme, parts.netloc, parts.path, rest),
                           int(value))
    match = _PATH_PAGE.match(parts.path)
    if match:
        return PageRef(_series_key(parts.scheme, parts.netloc, match["series"], query),
                       int(match["n"]))
    return None


def is_paginated(url: str) -> bool:
    return page_ref(url) is not None


def position(url: str) -> PageRef:
    """Where ``url`` sits in its own series: page 0 (the unnumbered first page) if none."""
    ref = page_ref(url)
    if ref is not None:
        return ref
    parts = urlsplit(url)
    return PageRef(_series_key(parts.scheme, parts.netloc, parts.path,
                               parse_qsl(parts.query, keep_blank_values=True)), 0)


def next_page(page_url: str, links: Iterable[str], rel_next: Iterable[str] = ()) -> str | None:
    """The link that continues ``page_url``'s series: ``rel=next`` when given, else the
    link of the same series with the smallest number above the current page's."""
    here = position(page_url)
    for url in rel_next:
        ref = page_ref(url)
        if ref is None or ref.series == here.series:
            return url
    best: tuple[int, str] | None = None
    for url in links:
        ref = page_ref(url)
        if ref is None or ref.series != here.series or ref.number <= max(here.number, 1):
            continue
        if best is None or ref.number < best[0]:
            best = (ref.number, url)
    return best[1] if best else None
