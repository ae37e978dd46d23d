"""Interior fill for pages laid out with tables, from a second trafilatura pass.

On a page built of layout tables trafilatura writes the body as table rows ("| ... |")
and its precision pass can drop a whole row in the middle; the text of that row sits in a
cell with blocks inside, which the DOM fill (``archive.extract.fill``, leaf blocks only)
cannot see.  For those pages only (a few in a hundred) the default mode runs once more,
fast, and its rows that lie between two kept rows are restored.
"""

from __future__ import annotations

import re

MAX_GAP = 3  # longest run of default-mode paragraphs restored between two precise ones
TABLE_SHARE = 0.5  # a layout-table page: at least this share of its text is table rows
_KEY_RE = re.compile(r"\W+")


def _key(text: str) -> str:
    return _KEY_RE.sub("", text.casefold())


def is_layout_table(paragraphs: list[str]) -> bool:
    """Most of the text is table rows: the page is laid out with tables."""
    total = sum(len(p) for p in paragraphs)
    rows = sum(len(p) for p in paragraphs if p.startswith("|") and p.endswith("|"))
    return total > 0 and rows >= TABLE_SHARE * total


def fill_from_pass(precise: list[str], broad: list[str], max_gap: int = MAX_GAP
                   ) -> tuple[list[str], int]:
    """``precise`` plus the ``broad`` paragraphs between two of its paragraphs (short gaps
    only: a long run is a different block, not a slip): (paragraphs, added)."""
    if not precise or not broad:
        return precise, 0
    precise_keys = {_key(p) for p in precise}
    positions = [i for i, p in enumerate(broad) if _key(p) in precise_keys]
    if len(positions) < 2:
        return precise, 0
    merged: list[str] = []
    for here, after in zip(positions, positions[1:], strict=False):
        merged.append(broad[here])
        if 1 < after - here <= max_gap + 1:
            merged += broad[here + 1:after]
    merged.append(broad[positions[-1]])
    merged_keys = {_key(p) for p in merged}
    # precision-mode paragraphs the broad pass missed keep their relative place
    result: list[str] = []
    cursor = 0
    for paragraph in precise:
        key = _key(paragraph)
        if key in merged_keys:
            while cursor < len(merged):
                result.append(merged[cursor])
                cursor += 1
                if _key(merged[cursor - 1]) == key:
                    break
        else:
            result.append(paragraph)
    result += merged[cursor:]
    return result, max(0, len(result) - len(precise))
