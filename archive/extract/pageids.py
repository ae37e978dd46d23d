"""The set of pages a template store has learnt from, at 8 bytes a page.

A template store must learn each article once (a re-fetched article counted again would
make its own paragraphs look like furniture), so it remembers which pages it has seen: up
to ``templates.MAX_IDS`` of them.  Kept as Python strings in a set that costs ~100 bytes a
page (20 MB at the cap, most of ``reextract``'s memory on a large outlet: issue 19);
kept here as 64-bit BLAKE2b digests in one sorted ``array`` plus a small set of recent
additions merged in by slices, it costs 8 bytes a page and the same lookups.  Two ids
sharing a digest (odds ~1e-9 at the cap) only means one page is not learnt: no text is
lost, a template needs many pages anyway.

Persisted as base64 of the packed sorted digests (``to_text``), a few MB at the cap
instead of a JSON list of ids; stores saved as a list of ids still load (``from_ids``).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import sys
from array import array
from collections.abc import Iterable

RECENT_LIMIT = 4096  # additions held in a set before they are merged into the array


def digest(page_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(page_id.encode(), digest_size=8).digest(), "big")


class PageIds:
    """A set of page ids, stored as sorted 64-bit digests (see the module docstring)."""

    def __init__(self, digests: Iterable[int] = ()):
        self._sorted = array("Q", sorted(set(digests)))
        self._recent: set[int] = set()

    @classmethod
    def from_ids(cls, page_ids: Iterable[str]) -> PageIds:
        return cls(digest(i) for i in page_ids)

    @classmethod
    def from_text(cls, text: str) -> PageIds:
        packed = array("Q")
        packed.frombytes(base64.b64decode(text))
        if sys.byteorder == "little":
            packed.byteswap()  # stored big-endian: the same text on every machine
        ids = cls()
        ids._sorted = packed if _is_sorted(packed) else array("Q", sorted(set(packed)))
        return ids

    def to_text(self) -> str:
        self._merge()
        packed = array("Q", self._sorted)
        if sys.byteorder == "little":
            packed.byteswap()
        return base64.b64encode(packed.tobytes()).decode("ascii")

    def __contains__(self, page_id: object) -> bool:
        if not isinstance(page_id, str):
            return False
        value = digest(page_id)
        return value in self._recent or self._has(value)

    def _has(self, value: int) -> bool:
        index = bisect.bisect_left(self._sorted, value)
        return index < len(self._sorted) and self._sorted[index] == value

    def add(self, page_id: str) -> None:
        value = digest(page_id)
        if not self._has(value):
            self._recent.add(value)
            if len(self._recent) >= RECENT_LIMIT:
                self._merge()

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def keep_half(self) -> None:
        """Forget half the pages (those with the lower digests: an arbitrary, stable half)."""
        self._merge()
        self._sorted = self._sorted[len(self._sorted) // 2:]

    def _merge(self) -> None:
        """Fold the recent additions into the sorted array: slices, no per-item objects."""
        if not self._recent:
            return
        merged = array("Q")
        start = 0
        for value in sorted(self._recent):
            index = bisect.bisect_left(self._sorted, value, start)
            merged.extend(self._sorted[start:index])
            merged.append(value)
            start = index
        merged.extend(self._sorted[start:])
        self._sorted = merged
        self._recent = set()


def _is_sorted(values: array) -> bool:
    return all(values[i] < values[i + 1] for i in range(len(values) - 1))
