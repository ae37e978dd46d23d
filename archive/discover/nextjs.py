"""Read article lists out of Next.js App Router "flight" data embedded in HTML.

Client-rendered Next.js sites (the current Rudaw site) ship no ``<a href>`` to their
articles; the list exists only as React Server Component payload in
``<script>self.__next_f.push([1,"..."])</script>`` chunks.  Each chunk is a JSON string
literal; concatenated, they form the flight text, in which an article object may
straddle two chunks.

This module never relies on one big regex over the whole object (fields get added,
reordered and nested): it finds each ``"categorySlug"`` key (or any other anchor key)
and JSON-decodes the innermost object around it with ``raw_decode``.  Pure functions,
no Scrapy, so tests and re-extraction can use them on stored pages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

_PUSH = re.compile(r"self\.__next_f\.push\(\s*\[\s*1\s*,\s*")
_DECODER = json.JSONDecoder()
# how far back from an anchor key to look for the object's opening brace
MAX_OBJECT_CHARS = 200_000
MAX_BRACE_CANDIDATES = 64


def flight_chunks(html: bytes | str) -> list[str]:
    """The decoded string payloads of every ``self.__next_f.push([1, "..."])`` call.

    Literals are decoded with the JSON decoder (Next.js writes them with
    JSON.stringify), so escapes such as ``\\u003c`` and ``\\"`` come out right.
    Malformed literals are skipped.
    """
    if isinstance(html, (bytes, bytearray)):
        html = bytes(html).decode("utf-8", "replace")
    chunks = []
    for match in _PUSH.finditer(html):
        start = match.end()
        if start >= len(html) or html[start] != '"':
            continue
        try:
            value, _ = _DECODER.raw_decode(html, start)
        except ValueError:
            continue
        if isinstance(value, str):
            chunks.append(value)
    return chunks


def flight_text(html: bytes | str) -> str:
    """All flight chunks concatenated (objects may straddle chunk boundaries)."""
    return "".join(flight_chunks(html))


def find_objects(
    text: str, required: Iterable[str] = ("ID", "categorySlug"), anchor: str | None = None
) -> list[dict[str, Any]]:
    """Every JSON object in ``text`` that has all ``required`` keys, in document order.

    For each occurrence of the anchor key (default: the last required key), walk back
    over candidate ``{`` positions and decode; the first object that decodes, spans the
    anchor and has all required keys is the innermost one containing it.  Objects are
    de-duplicated by their JSON text.
    """
    required = tuple(required)
    anchor_key = anchor or required[-1]
    needle = json.dumps(anchor_key)
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    position = text.find(needle)
    while position != -1:
        obj = _enclosing_object(text, position, required)
        if obj is not None:
            marker = json.dumps(obj, sort_keys=True, ensure_ascii=False)
            if marker not in seen:
                seen.add(marker)
                found.append(obj)
        position = text.find(needle, position + len(needle))
    return found


def _enclosing_object(text: str, position: int, required: tuple[str, ...]) -> dict | None:
    floor = max(0, position - MAX_OBJECT_CHARS)
    brace = text.rfind("{", floor, position)
    tries = 0
    while brace != -1 and tries < MAX_BRACE_CANDIDATES:
        tries += 1
        try:
            value, end = _DECODER.raw_decode(text, brace)
        except ValueError:
            value, end = None, -1
        if end > position and isinstance(value, dict):
            # the innermost object that contains the anchor: accept or give up
            if all(key in value for key in required):
                return value
            return None
        brace = text.rfind("{", floor, brace)
    return None


def article_items(html: bytes | str) -> list[dict[str, Any]]:
    """Article-like objects (with ``ID`` and ``categorySlug``) from a page's flight data."""
    text = flight_text(html)
    if not text:
        return []
    return [
        obj for obj in find_objects(text, ("ID", "categorySlug"))
        if isinstance(obj.get("categorySlug"), str) and obj["categorySlug"]
        and _is_id(obj.get("ID"))
    ]


def _is_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > 0
    return isinstance(value, str) and value.isdigit()
