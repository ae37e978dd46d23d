"""Paragraph-level clean-up of extracted text: page furniture, comment blocks, datelines.

Why after trafilatura and not only before: furniture such as "A+ A-", "Last updated 9.30 PM"
or a comment-moderation notice often sits *inside* the article container, where no
DOM-level rule can drop it without also dropping text.  Generic rules here are whole-line
patterns that are furniture on any site; outlet rules (``drop_text``, ``cut_text_at``,
``dateline``) come from the outlet YAML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# whole paragraphs that are page chrome on any news site (compared case-insensitively)
_FURNITURE_RE = re.compile(
    r"^(?:"
    r"a\s*\+\s*a\s*[-−–]|a\s*[-−–]\s*a\s*\+|"  # font-size controls
    r"advertisement|advertisment|ad|anzeige|werbung|publicité|publicidad|sponsored|"
    r"share|share (?:this|the) (?:article|story|page|post)|share on (?:facebook|twitter|x|"
    r"whatsapp|linkedin|telegram)|"
    r"print|email|e-mail|tweet|whatsapp|facebook|twitter|telegram|linkedin|copy link|"
    r"read more|continue reading|click here|skip (?:ad|advertisement)|"
    r"(?:related|recommended|more) (?:articles|stories|news|content|reading)|"
    r"post a comment|leave a (?:comment|reply)|add a comment|required|"
    r"comments?|\d+ comments?|show comments|view comments|"
    r"listen to (?:this|the) article|listen|font size|text size|"
    r"(?:sign up|subscribe)(?: (?:now|here|today))?(?: (?:to|for) (?:our|the) [\w -]{1,30})?|"
    r"(?:last )?updated(?: on| at)?:? [\w.:,/ -]{1,30}"
    r")\W*$",
    re.IGNORECASE,
)
# a paragraph that opens the comment area: it and everything after it go
_COMMENT_START_RE = re.compile(
    r"^(?:comments?|\d+ comments?|post a comment|leave a (?:comment|reply)|add a comment|"
    r"join the (?:conversation|discussion)|reader comments|kommentare|kommentieren|"
    r"kommentar schreiben|commentaires|commenter|comentar|comentarios|comentários|"
    r"yorumlar|yorum yap|yorum yaz|التعليقات|تعليقات|أضف تعليق|أضف تعليقك)\W*$",
    re.IGNORECASE,
)
# Generic datelines: "ERBIL, Kurdistan Region – ", "WASHINGTON (Reuters) - ",
# "Paris (AFP) — ", "Hewlêr (Rûdaw) - ".  The city part is upper case or is followed by a
# parenthesised agency, so ordinary first words ("However - ...") never match.
_DATELINE_RE = re.compile(
    r"^(?P<dateline>"
    r"(?:[A-Z][A-Z'’.-]+(?: [A-Z][A-Z'’.-]+){0,3}(?:, [A-Z][\w'’.-]+(?: [\w'’.-]+){0,3})?"
    r"(?: \([\w .&'-]{2,30}\))?)"
    r"|(?:[^\W\d_][\w'’.-]+(?: [^\W\d_][\w'’.-]+){0,2} \([^\W\d_][\w .&'’-]{1,30}\))"
    r")\s*[-–—]{1,2}\s+(?=\S)"
)


_BYLINE_RE = re.compile(  # "By Jane Roe", "By Jane Roe and John Doe, Reuters"
    r"^(?:[Bb]y|BY|[Vv]on|[Pp]ar|[Pp]or)\s+[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3}"
    r"(?:\s*(?:,|and|&|und|et|y)\s+[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3}){0,3}\s*$")


def strip_header_lines(paragraphs: list[str], titles: Iterable[str | None],
                       authors: Iterable[str]) -> list[str]:
    """Drop title, byline and date lines that trafilatura left at the top of the text.

    Only the first three paragraphs are looked at, and only short ones: a repeat of a title,
    an author line ("By Jane Roe"), or a line that is mostly a date ("Jane Roe | Palma |
    08/01/2014", "Updated 5 March 2020").
    """
    from archive.extract.dates import find_visible_dates

    title_keys = {_key(t) for t in titles if t}
    author_keys = {_key(a) for a in authors if a}
    kept = list(paragraphs)
    for paragraph in paragraphs[:3]:
        key = _key(paragraph)
        short = len(paragraph) < 100 and not paragraph.rstrip().endswith((".", "!", "?", "”"))
        byline = key.removeprefix("by") in author_keys or bool(_BYLINE_RE.match(paragraph))
        dated = short and bool(find_visible_dates(paragraph))
        if key in title_keys or (short and byline) or dated:
            kept.remove(paragraph)
        else:
            break
    return kept


def _key(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


def is_furniture(paragraph: str) -> bool:
    return len(paragraph) < 80 and bool(_FURNITURE_RE.match(paragraph.strip()))


def _compile(patterns: Iterable[str]) -> list[re.Pattern]:
    return [re.compile(p) for p in patterns]


def clean_paragraphs(paragraphs: list[str], drop_text: Iterable[str] = (),
                     cut_text_at: Iterable[str] = ()) -> list[str]:
    """Drop furniture paragraphs and cut at the start of the comment area.

    ``drop_text``/``cut_text_at`` are the outlet's regexes (re.search on each paragraph).
    The generic comment cut only applies in the second half of the text, so an article
    that *talks about* comments near its top keeps its text.
    """
    drops, cuts = _compile(drop_text), _compile(cut_text_at)
    kept: list[str] = []
    total = len(paragraphs)
    for index, paragraph in enumerate(paragraphs):
        text = paragraph.strip()
        if not text:
            continue
        if any(r.search(text) for r in cuts):
            break
        if index >= total / 2 and index > 0 and _COMMENT_START_RE.match(text):
            break
        if is_furniture(text) or any(r.search(text) for r in drops):
            continue
        if kept and kept[-1] == text:
            continue
        kept.append(text)
    return kept


def split_dateline(paragraphs: list[str], pattern: str | None = None
                   ) -> tuple[str | None, list[str]]:
    """Take a leading dateline off the first paragraph: (dateline, paragraphs).

    ``pattern`` is the outlet's regex; its group 1 (or the whole match) is the dateline and
    the whole match is removed from the text.  Without it, the generic form above is used.
    """
    if not paragraphs:
        return None, paragraphs
    first = paragraphs[0]
    if pattern:
        match = re.match(pattern, first)
        if match:
            dateline = (match.group(1) if match.re.groups else match.group(0)).strip()
            rest = first[match.end():].lstrip(" -–—:")
            return dateline or None, ([rest] if rest else []) + paragraphs[1:]
    match = _DATELINE_RE.match(first)
    if match and len(first) - match.end() > 20:
        return match["dateline"].strip(), [first[match.end():]] + paragraphs[1:]
    return None, paragraphs
