"""Author names: split bylines, drop handles and boilerplate, merge duplicates.

Why: bylines arrive as "By Jane Roe and John Doe", "Karwan Faidhi Dri @KarwanFaidhiDri",
"Jane Roe | Reporter" or one JSON-LD entry per person, often the same person twice
(a name line and a social card).  The corpus wants one clean list, every author once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SPLIT_RE = re.compile(r"\s*(?:,|;|\||/|&|\+|\band\b|\bund\b|\bet\b|\bve\b|\bو\b|\n)\s*",
                       re.IGNORECASE)
_PREFIX_RE = re.compile(
    r"^(?:(?:written|reported|posted|edited|compiled)\s+)?(?:by|von|par|por|di|door|av|"
    r"yazan|from)\b[:\s]*", re.IGNORECASE)
_HANDLE_RE = re.compile(r"(?<!\w)@[\w.]{1,40}")
_EMAIL_RE = re.compile(r"\S+@\S+\.\w+")
_URL_RE = re.compile(r"https?://\S+|www\.\S+")
_PARENS_RE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_ROLE_RE = re.compile(
    r"\b(?:staff (?:writer|reporter)|correspondent|reporter|contributor|columnist|"
    r"senior editor|editor|updated|published)\b.*$", re.IGNORECASE)
_NOT_A_NAME = {
    "admin", "administrator", "staff", "guest", "anonymous", "unknown", "editor", "editors",
    "redaktion", "newsroom", "desk", "web desk", "news desk", "author", "authors", "team",
    "follow", "more", "by", "and", "view all posts", "contact", "email", "twitter",
}
MAX_AUTHORS = 12


def _pieces(raw: str, extra_clean: list[re.Pattern]) -> list[str]:
    text = raw
    for pattern in extra_clean:
        text = pattern.sub(" ", text)
    text = _URL_RE.sub(" ", text)
    text = _EMAIL_RE.sub(" ", text)
    text = _HANDLE_RE.sub(" ", text)
    text = _PARENS_RE.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,;:|-–—·•")
    text = _PREFIX_RE.sub("", text)
    return [p for p in _SPLIT_RE.split(text) if p]


def _plausible(name: str) -> bool:
    if not name or len(name) > 60 or any(ch.isdigit() for ch in name):
        return False
    words = name.split()
    if len(words) > 6 or name.lower() in _NOT_A_NAME:
        return False
    return any(ch.isalpha() for ch in name)


def _key(name: str) -> str:
    return re.sub(r"[^\w]+", " ", name.casefold()).strip()


def clean_authors(raw_values: Iterable[str], clean_patterns: Iterable[str] = ()) -> list[str]:
    """Cleaned, de-duplicated author names in first-seen order.

    ``clean_patterns`` are the outlet's ``author_clean`` regexes, removed before splitting.
    Two names are one author when one equals the other or starts with it (a name and the
    same name followed by something that survived cleaning); the first-seen form is kept.
    """
    patterns = [re.compile(p) for p in clean_patterns]
    names: list[str] = []
    keys: list[str] = []
    for raw in raw_values:
        if not isinstance(raw, str):
            continue
        for piece in _pieces(raw, patterns):
            name = _ROLE_RE.sub("", piece).strip(" ,;:|-–—·•.")
            name = re.sub(r"\s+", " ", name)
            if not _plausible(name):
                continue
            key = _key(name)
            duplicate = False
            for known in keys:
                if key == known or key.startswith(known + " "):
                    duplicate = True
                    break
                if known.startswith(key + " "):
                    duplicate = True  # a bare first name after the full one
                    break
            if not duplicate:
                names.append(name)
                keys.append(key)
            if len(names) >= MAX_AUTHORS:
                return names
    return names
