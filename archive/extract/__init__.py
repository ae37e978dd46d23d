"""Extraction: an article page's bytes -> corpus fields (text and metadata), no I/O.

``extract(html, url, outlet)`` is the contract (see ``extractor``); ``article.build_record``
turns its result into a corpus record.  The rest are its parts: ``charset`` decodes,
``metadata``/``dates``/``authors``/``languages`` read the page's metadata, ``bodytext``
runs trafilatura with repairs, ``textclean`` drops furniture.

Names are loaded on first use (PEP 562) so that importing a light part such as
``archive.extract.charset`` does not pay for trafilatura.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EXTRACTOR_INFO", "configure", "extract", "parse_html"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from archive.extract import extractor

        return getattr(extractor, name)
    raise AttributeError(f"module 'archive.extract' has no attribute {name!r}")
