"""The page's text blocks in reading order, read once from the parsed tree.

Why a DOM view beside trafilatura: trafilatura's precision pass is a verdict on *which*
text is the body, but it gives no positions.  Three later decisions need the page's own
blocks: restoring a list or Q&A block that precision mode dropped *between* two kept
paragraphs (``archive.extract.fill``), telling whether the precision pass kept too little of
the page's prose (the fallback ladder in ``archive.extract.bodytext``), and whether a page
has one main block of prose (``archive.extract.pagetype``).  One walk over the tree serves
all three.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml.html import HtmlElement

# leaf text blocks: a block of these tags with none of them inside it
# (a div counts when no block is inside it: many sites write paragraphs as divs)
BLOCK_TAGS = ("p", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
              "td", "div")
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "aside", "nav", "form",
                        "footer", "header", "figure", "figcaption", "button", "select",
                        "textarea", "svg"})
# class/id words of containers that are furniture on any site
_FURNITURE_ATTR_RE = re.compile(
    r"comment|share|social|related|recommend|newsletter|subscribe|signup|sign-up|promo|"
    r"advert|sponsor|sidebar|widget|popular|most-read|breadcrumb|cookie|consent|paywall|"
    r"footer|header|menu|navbar|byline|author|tags?\b|teaser|outbrain|taboola|caption|"
    r"credit|copyright|video|player|slideshow|gallery|pagination|pager\b|page-links|page-numbers",
    re.IGNORECASE)
_HIDDEN_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_SPACE_RE = re.compile(r"\s+")
# CJK radicals to Yi, Hangul syllables, CJK compatibility ideographs, full-width forms
_WIDE_RE = re.compile(r"[\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\uff00-\uff60\uffe0-\uffe6]")
_KEY_RE = re.compile(r"\W+")
_PROSE_TAGS = frozenset({"p", "div", "blockquote", "dd", "li"})
PROSE_MIN_WEIGHT = 80  # a prose block is at least this long (CJK characters count double)


def key_of(text: str) -> str:
    """Comparison key of a text: case-folded word characters only."""
    return _KEY_RE.sub("", text.casefold())


def weight(text: str) -> int:
    """Length of a text with wide (CJK) characters counted twice: a CJK sentence carries
    about as much as a Latin one twice as long, so length thresholds hold for both."""
    return len(text) + len(_WIDE_RE.findall(text))


class Block:
    """One leaf text block of the page; the costlier views are computed on first use."""

    __slots__ = ("_cache", "_furniture", "_link_share", "_text", "element", "key", "raw",
                 "tag")

    def __init__(self, element: HtmlElement, raw: str, key: str,
                 cache: dict[HtmlElement, bool]) -> None:
        self.element = element
        self.raw = raw
        self.key = key
        self.tag: str = element.tag
        self._cache = cache  # furniture verdicts of the page's containers, shared
        self._furniture: bool | None = None
        self._text: str | None = None
        self._link_share: float | None = None

    @property
    def furniture(self) -> bool:
        """Inside a container that is furniture on any site (asked only where it matters:
        the ancestor walk is the costliest part of the block view)."""
        if self._furniture is None:
            self._furniture = _furniture_context(self.element, self._cache)
        return self._furniture

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = _SPACE_RE.sub(" ", self.raw).strip()
        return self._text

    @property
    def parent(self) -> HtmlElement | None:
        return self.element.getparent()

    @property
    def link_share(self) -> float:
        """Share of the block's text that is link text (all of it inside an ``<a>``: teaser
        cards wrap a heading and a summary in one link)."""
        if self._link_share is None and any(True for _ in self.element.iterancestors("a")):
            self._link_share = 1.0
        if self._link_share is None:
            linked = sum(len(a.text_content().strip()) for a in self.element.iter("a"))
            self._link_share = min(1.0, linked / max(1, len(self.text))) if linked else 0.0
        return self._link_share

    @property
    def is_item(self) -> bool:
        return self.tag in ("li", "dt", "dd")

    @property
    def is_prose(self) -> bool:
        return (self.tag in _PROSE_TAGS and len(self.key) >= PROSE_MIN_WEIGHT // 2
                and (len(self.raw) >= PROSE_MIN_WEIGHT or weight(self.raw) >= PROSE_MIN_WEIGHT)
                and self.link_share < 0.3
                and not self.furniture)


def _furniture_context(element: HtmlElement, cache: dict[HtmlElement, bool]) -> bool:
    chain: list[HtmlElement] = []
    node: HtmlElement | None = element
    verdict = False
    while node is not None:
        if node in cache:
            verdict = cache[node]
            break
        chain.append(node)
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in _SKIP_TAGS:
            verdict = True
            break
        if tag not in ("html", "body"):
            attrs = f"{node.get('class', '')} {node.get('id', '')}"
            if attrs.strip() and _FURNITURE_ATTR_RE.search(attrs):
                verdict = True
                break
        node = node.getparent()
    for visited in chain:
        cache[visited] = verdict
    return verdict


def furniture_marks(element: HtmlElement, container: HtmlElement) -> frozenset[str]:
    """The furniture words (``widget``, ``sidebar``, ``aside``...) in the tags and class
    names between ``element`` and ``container``: which kind of box a block sits in."""
    marks: set[str] = set()
    node: HtmlElement | None = element
    while node is not None and node is not container:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in _SKIP_TAGS:
            marks.add(tag)
        if _HIDDEN_RE.search(node.get("style", "")) or node.get("hidden") is not None:
            marks.add("hidden")
        attrs = f"{node.get('class', '')} {node.get('id', '')}"
        if attrs.strip():
            marks.update(m.casefold() for m in _FURNITURE_ATTR_RE.findall(attrs))
        node = node.getparent()
    return frozenset(marks)


def leaf_blocks(tree: HtmlElement, pruned: frozenset[HtmlElement] = frozenset()
                ) -> list[Block]:
    """Every leaf text block of ``tree`` in document order (empty ones left out).

    ``pruned`` are elements the outlet's ``prune_xpaths`` select: blocks inside them count
    as furniture, as they do for trafilatura.
    """
    body = tree.find(".//body")
    root = body if body is not None else tree
    elements = list(root.iter(*BLOCK_TAGS))
    # an element is a leaf when no other block has it as an ancestor: mark ancestors once
    inner: set[HtmlElement] = set()
    for element in elements:
        node = element.getparent()
        while node is not None and node not in inner:
            inner.add(node)
            node = node.getparent()
    cache: dict[HtmlElement, bool] = dict.fromkeys(pruned, True)
    blocks: list[Block] = []
    for element in elements:
        if element in inner:
            continue
        raw = element.text_content()
        key = key_of(raw)
        if key:
            blocks.append(Block(element, raw, key, cache))
    return blocks


@dataclass(slots=True)
class Prose:
    """How much prose a page has and whether it sits in one main block."""

    total: int  # weight of all prose blocks
    main: int  # weight of the prose under the container that holds the most of it

    @property
    def main_share(self) -> float:
        return self.main / self.total if self.total else 0.0


def prose_of(blocks: list[Block]) -> Prose:
    """Prose weight of the page, and of its main container (the grandparent of most prose
    paragraphs: paragraphs often sit one wrapper deep inside the article body)."""
    by_container: dict[HtmlElement | None, int] = {}
    total = 0
    for block in blocks:
        if not block.is_prose:
            continue
        size = weight(block.text)
        total += size
        parent = block.parent
        container = parent.getparent() if parent is not None else None
        by_container[container] = by_container.get(container, 0) + size
    return Prose(total=total, main=max(by_container.values(), default=0))
