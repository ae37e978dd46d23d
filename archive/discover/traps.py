"""Crawler traps: URLs never worth a request, and the page budget that bounds the rest.

Following every same-site link finds everything, and also endless calendars, session
IDs, search results, filter combinations and ``/a/b/a/b/a/b`` relative-link loops.  Two
guards keep the cost bounded:

- :func:`trap_reason` drops a URL by its shape alone (path repetition above 4, length
  above 1024, search/login/account pages, faceted filters, links to files that are no
  HTML page: images, PDFs, archives, feeds);
- :class:`PageBudget` caps the *navigation* pages (everything not expected to be an
  article) per outlet at a multiple of the article candidates seen, with a floor, so a
  trap that brings no new articles runs out of budget while a big site still gets all
  the listings it needs.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from archive.discover.pagination import OFFSET_PARAMS, PAGE_PARAMS

MAX_URL_LENGTH = 1024
MAX_SEGMENT_REPEATS = 4
SEARCH_SEGMENTS = frozenset({"search", "suche", "recherche", "buscar", "find", "ara", "bahth"})
SEARCH_PARAMS = frozenset({"q", "s", "query", "search", "keyword", "keywords", "term", "k"})
LOGIN_SEGMENTS = frozenset({
    "login", "logout", "signin", "sign-in", "signup", "sign-up", "register", "account",
    "my-account", "auth", "oauth", "wp-login.php", "wp-admin", "password", "reset-password",
    "subscribe", "cart", "checkout", "share", "print", "email",
})
FACET_PARAMS = frozenset({
    "sort", "sortby", "sort_by", "order", "orderby", "filter", "filters", "facet", "view",
    "layout", "format", "lang_filter", "date_from", "date_to", "from_date", "to_date",
    "type", "category_filter", "min", "max", "price", "color", "size", "session",
    "sessionid", "sid", "phpsessid", "jsessionid", "replytocom", "share", "print", "amp",
    "output", "callback",
})
_SEGMENT_SPLIT = re.compile(r"[/;]")
# links to files that are never HTML pages (page resources are captured separately)
_FILE_SUFFIX = re.compile(
    r"\.(?:jpe?g|png|gif|webp|avif|svg|ico|bmp|tiff?|pdf|zip|gz|tgz|rar|7z|mp[34]|m4[av]|"
    r"webm|ogg|ogv|wav|flac|avi|mov|wmv|css|js|json|xml|rss|atom|docx?|xlsx?|pptx?|"
    r"epub|exe|dmg|apk|woff2?|ttf|eot)$", re.IGNORECASE)


def trap_reason(url: str) -> str | None:
    """Why ``url`` must not be requested ("too_long", "not_a_page", "path_repetition",
    "search", "login", "faceted"), or None when its shape is harmless."""
    if len(url) > MAX_URL_LENGTH:
        return "too_long"
    parts = urlsplit(url)
    if _FILE_SUFFIX.search(parts.path):
        return "not_a_page"
    segments = [unquote(s).lower() for s in _SEGMENT_SPLIT.split(parts.path) if s]
    if segments and max(Counter(segments).values()) > MAX_SEGMENT_REPEATS:
        return "path_repetition"
    if any(s in SEARCH_SEGMENTS for s in segments):
        return "search"
    if any(s in LOGIN_SEGMENTS for s in segments):
        return "login"
    names = [name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    if any(n in SEARCH_PARAMS for n in names):
        return "search"
    if any(n in FACET_PARAMS for n in names):
        return "faceted"
    other = [n for n in names if n not in PAGE_PARAMS and n not in OFFSET_PARAMS]
    if len(other) >= 2:
        return "faceted"  # two free parameters: a filter combination, not a page
    return None


@dataclass
class PageBudget:
    """How many navigation pages an outlet may cost: ``max(floor, per_article x seen)``.

    ``seen`` counts the distinct article candidates discovered so far (headline links,
    feed and sitemap entries, pages classified as articles), so the budget grows with
    the site; pages that bring nothing new do not raise it.
    """

    floor: int = 60
    per_article: float = 1.0
    spent: int = 0
    refused: int = 0

    def limit(self, articles_seen: int) -> int:
        return max(self.floor, int(self.per_article * articles_seen))

    def take(self, articles_seen: int) -> bool:
        """Spend one navigation page if the budget allows; False (and counted) if not."""
        if self.spent >= self.limit(articles_seen):
            self.refused += 1
            return False
        self.spent += 1
        return True
