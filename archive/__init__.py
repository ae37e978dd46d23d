"""newsarchive's library: everything that is not Scrapy, one subpackage per stage.

The public API, for tools that read an archive (local directory or ``s3://bucket/prefix``)::

    import archive

    store = archive.open_store("s3://news-archive/warc")
    for record in archive.read_corpus(store, outlet="rudaw", language="ckb"):
        capture = archive.read_capture(store, record)   # the WARC response behind it
        print(record["title"], capture.status, capture.content_type, len(capture.body))

``open_store``/``open_state`` pick the implementation from a URI, ``read_corpus`` yields
corpus records (latest version of each article unless ``all_versions``), ``read_capture``
reads the one WARC record a corpus record points at (a ranged read on S3, never the whole
WARC).  The stages, in the order data flows through them (README: Architecture):
``store`` (where files end up), ``outlet`` (config, URLs, address guard), ``discover``
(feeds, sitemaps, embedded listings), ``extract`` (text and metadata), ``warc`` (write, read,
index), ``runs`` (reports), ``corpus`` (records, export, re-extraction), ``state``
(incremental-crawl state, run lock, rebuild), ``replay`` (WACZ, pywb).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from archive.state import open_state
from archive.store import open_store

if TYPE_CHECKING:
    from archive.store import Store
    from archive.warc.reader import Capture

__all__ = ["open_state", "open_store", "read_capture", "read_corpus"]


def _store(store: Store | str) -> Store:
    return open_store(store) if isinstance(store, str) else store


def read_corpus(store: Store | str, outlet: str | None = None,
                since: str | date | datetime | None = None, language: str | None = None,
                all_versions: bool = False) -> Iterator[dict[str, Any]]:
    """Corpus records of ``store`` (fields as in README "Corpus records").

    ``since`` compares with ``fetched_at`` (a bare date means 00:00 UTC); ``language`` is an
    ISO 639-3 code; the newest version of each article unless ``all_versions``.
    """
    from archive.corpus.records import read

    return read(_store(store), outlet=outlet, since=since, language=language,
                all_versions=all_versions)


def read_capture(store: Store | str, record: dict[str, Any], *,
                 backend: str | None = None) -> Capture:
    """The WARC response record behind a corpus record, with its HTTP status, headers and
    the entity body decoded as the extractor saw it (``capture.body``).

    Reads only that record's bytes (``record["warc"]``: key, offset, length), so it costs one
    ranged GET on S3 whatever the WARC's size.  Raises ``WarcReadError`` when the bytes there
    are not the record the corpus names (a wrong store, or a damaged WARC).
    """
    from archive.warc.reader import WarcReadError, parse_capture

    pointer = record.get("warc") or {}
    key, offset, length = pointer.get("key"), pointer.get("offset"), pointer.get("length")
    if not key or offset is None or not length:
        raise WarcReadError(f"record {record.get('id')!r} carries no WARC location")
    data = _store(store).read_range(str(key), int(offset), int(length))
    capture = parse_capture(data, offset=int(offset), where=f"{key}@{offset}",
                            backend=backend)
    expected = pointer.get("record_id")
    if expected and capture.record_id != expected:
        raise WarcReadError(f"{key}@{offset} holds {capture.record_id}, not {expected}: the "
                            "WARC does not match the corpus record")
    return capture
