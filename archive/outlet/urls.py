"""URL normalisation and the stable article key.

Two jobs, both pure string work (no Scrapy, no network):

- :func:`normalize_url` makes URL variants that name the same resource equal (case of
  scheme/host, default port, fragment, tracking parameters, query order), so the crawler
  never fetches ``?utm_source=rss`` variants twice and the corpus never splits them.
- :func:`article_key` maps every URL of one article (other category slug, legacy alias,
  tracking variant) to one key via the outlet's ``article_key`` rules; the corpus id is
  ``{outlet}:{key}`` (:func:`article_id`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from archive.outlet.config import OutletConfig

# Exact parameter names (lower-case) that only track the reader, never select content.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
    "ttclid", "li_fat_id", "igshid", "igsh", "mc_cid", "mc_eid", "ocid", "_ga", "_gl",
    "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "hsctatracking", "mkt_tok", "vero_id",
    "vero_conv", "oly_anon_id", "oly_enc_id", "rb_clickid", "s_cid", "wt.mc_id", "ncid",
    "cmpid", "ref_src", "ref_url", "spm", "smid", "sr_share", "at_medium", "at_campaign",
})
# Parameter name prefixes with the same meaning (utm_source, utm_medium, ...).
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "at_custom", "hmb_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")
# RFC 3986 characters that may stay literal in a path / query component.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def _upper_escapes(text: str) -> str:
    return _PERCENT.sub(lambda m: m.group(0).upper(), text)


def is_tracking_param(name: str) -> bool:
    """True for query parameters that only track the reader (utm_*, fbclid, ...)."""
    lowered = unquote(name).lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def normalize_url(url: str) -> str:
    """A canonical form of ``url`` for dedupe and keys.

    Lower-cases scheme and host, drops the default port, the fragment and tracking
    parameters, sorts the remaining parameters, percent-encodes non-ASCII and upper-cases
    escapes.  Path case is kept (paths are case-sensitive on most servers).  Input that
    is not an absolute URL is returned stripped but otherwise unchanged.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if not scheme or not parts.netloc:
        return url
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    netloc = f"{userinfo}@{host}" if userinfo else host
    path = _upper_escapes(quote(parts.path, safe=_PATH_SAFE)) or "/"
    pairs = [p for p in parts.query.split("&") if p]
    kept = [p for p in pairs if not is_tracking_param(p.split("=", 1)[0])]
    kept.sort()
    query = "&".join(_upper_escapes(quote(p, safe=_QUERY_SAFE)) for p in kept)
    return urlunsplit((scheme, netloc, path, query, ""))


# ---- article keys ----------------------------------------------------------------------


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def article_key_rules(outlet: OutletConfig) -> list[tuple[re.Pattern[str], str]]:
    """The outlet's ``article_key`` rules, validated: [(compiled pattern, key template)].

    Raises ValueError naming the outlet when a rule is malformed, so a bad YAML fails
    at start-up rather than silently producing URL keys.
    """
    raw: Any = (outlet.extra or {}).get("article_key") or []
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise ValueError(f"outlet {outlet.name}: article_key must be a list of "
                         "{pattern, key} mappings")
    rules = []
    for index, rule in enumerate(raw, 1):
        if not isinstance(rule, dict) or not isinstance(rule.get("pattern"), str) \
                or not isinstance(rule.get("key"), str):
            raise ValueError(f"outlet {outlet.name}: article_key entry {index} needs string "
                             "'pattern' and 'key'")
        try:
            compiled = _compile(rule["pattern"])
        except re.error as exc:
            raise ValueError(f"outlet {outlet.name}: article_key entry {index}: bad pattern: "
                             f"{exc}") from None
        names = set(re.findall(r"{(\w+)}", rule["key"]))
        missing = names - set(compiled.groupindex)
        if missing:
            raise ValueError(f"outlet {outlet.name}: article_key entry {index}: key uses "
                             f"{sorted(missing)} which the pattern does not capture")
        rules.append((compiled, rule["key"]))
    return rules


def article_key(outlet: OutletConfig, url: str) -> str:
    """The stable key of the article at ``url``: the first matching rule's formatted
    key (named groups of ``pattern`` fill ``key``), else the normalised URL.

    Rules are matched (``re.search``) against the normalised URL, so tracking
    parameters and host case never change the key.
    """
    normalized = normalize_url(url)
    for pattern, template in article_key_rules(outlet):
        match = pattern.search(normalized)
        if match:
            groups = {k: (v or "") for k, v in match.groupdict().items()}
            return template.format(**groups)
    return normalized


def article_id(outlet: OutletConfig, url: str) -> str:
    """The corpus ``id``: ``{outlet.name}:{article_key}``."""
    return f"{outlet.name}:{article_key(outlet, url)}"


def key_of_id(article_id: str, outlet: str) -> str:
    """The article key inside a corpus id (``{outlet}:{key}``), as the state stores it."""
    return article_id[len(outlet) + 1:] if article_id.startswith(f"{outlet}:") else article_id


def record_id(outlet: OutletConfig, url: str, canonical_url: str | None) -> str:
    """Stable id: the outlet's article key of the canonical URL (else the fetched URL)."""
    for candidate in (canonical_url, url):
        if candidate and outlet.is_article_url(candidate):
            return article_id(outlet, candidate)
    return article_id(outlet, url)
