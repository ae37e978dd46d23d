"""From a fetched article page to a corpus record (runs in extraction worker processes).

Kept apart from Scrapy so the crawler's worker pool and ``reextract`` build records the
same way: same id rules, same content hash, same provenance fields.
"""

from __future__ import annotations

import hashlib
from typing import Any

from archive.extract.extractor import EXTRACTOR_INFO, extract
from archive.outlet.config import OutletConfig
from archive.outlet.urls import normalize_url, record_id

# per-page choices of the extractor that records carry in ``extractor.options``
RECORDED_CHOICES = ("rung", "removed_blocks", "removed_fingerprints")
RECORD_FIELDS = (
    "title", "authors", "published", "modified", "dateline", "section", "tags",
    "description", "image", "text", "word_count",
)


def content_sha256(title: str | None, text: str) -> str:
    """Hash of what a reader sees (title + text): an edit changes it, a new ad does not."""
    payload = f"{title or ''}\n\n{text}".encode()
    return hashlib.sha256(payload).hexdigest()


def build_record(page: dict[str, Any], outlet: OutletConfig, run_id: str) -> dict | None:
    """The corpus record for ``page`` (a spider ArticlePage item), or None if no article."""
    return build_record_and_fingerprints(page, outlet, run_id)[0]


def build_record_and_fingerprints(page: dict[str, Any], outlet: OutletConfig, run_id: str
                                  ) -> tuple[dict | None, list[str | None]]:
    """The corpus record for ``page`` and the template fingerprints of its paragraphs (one
    per paragraph of ``text``; see ``archive.extract.templates``), or (None, []).

    ``page`` carries: url, status, body (bytes), encoding, fetched_at, warc_record (a dict
    with key, filename, offset, length, record_id, payload_digest) and optional hints from
    the feed, sitemap or listing that led to the page.
    """
    fields = extract(page["body"], page["url"], outlet, encoding=page.get("encoding"))
    if not fields or not fields.get("text"):
        return None, []
    hints = page.get("hints") or {}
    canonical = fields.get("canonical_url")
    if canonical:
        canonical = normalize_url(canonical)
    record: dict[str, Any] = {
        "id": record_id(outlet, page["url"], canonical),
        "outlet": outlet.name,
        "url": page["url"],
        "canonical_url": canonical or normalize_url(page["url"]),
        "language": fields.get("language") or outlet.language,
    }
    for name in RECORD_FIELDS:
        record[name] = fields.get(name)
    record["authors"] = record["authors"] or []
    record["tags"] = record["tags"] or []
    for name in ("title", "published", "description", "image"):
        if not record.get(name) and hints.get(name):
            record[name] = hints[name]
    record["word_count"] = record["word_count"] or len(record["text"].split())
    record.update(
        fetched_at=page.get("fetched_at"),
        http_status=page.get("status"),
        content_sha256=content_sha256(record["title"], record["text"]),
        run_id=run_id,
        version=1,
        previous_sha256=None,
        warc=page.get("warc_record"),
        extractor=record_extractor(fields),
    )
    return record, list((fields.get("extraction") or {}).get("fingerprints") or [])


def record_extractor(fields: dict[str, Any]) -> dict[str, Any]:
    """``EXTRACTOR_INFO`` plus how this page's text was made, where it differs from the
    default: the ladder rung taken (``rung``), the template blocks removed."""
    made = {k: v for k, v in (fields.get("extraction") or {}).items()
            if k in RECORDED_CHOICES and v and v != EXTRACTOR_INFO["options"].get(k)}
    if not made:
        return EXTRACTOR_INFO
    return {**EXTRACTOR_INFO, "options": {**EXTRACTOR_INFO["options"], **made}}
