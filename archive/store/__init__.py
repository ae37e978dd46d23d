"""Stores: where finished files end up; ``open_store`` picks a local directory or S3.

``base`` holds the protocol and ``LocalStore``; ``s3/`` the S3 store (config, spool,
uploader); ``manifest``, ``sync`` and ``verify`` work on any store.
"""

from __future__ import annotations

import os
from typing import Any

from archive.store.base import LocalStore, Store, StoredObject, StoreError

__all__ = ["LocalStore", "Store", "StoreError", "StoredObject", "open_store"]

def open_store(uri: str | os.PathLike, **s3_options: Any) -> Store:
    """A store for ``uri``: ``s3://bucket/prefix`` or a local directory path.

    ``s3_options`` (``create_bucket``, ``object_lock_days``, ``object_lock_mode``, ``spool``,
    ...: see ``S3Store``) apply to S3 stores only; options that are None are left to the
    ``NEWSARCHIVE_S3_*`` environment defaults.  A local directory takes none.
    """
    text = os.fspath(uri)
    options = {name: value for name, value in s3_options.items() if value is not None}
    if text.startswith("s3://"):
        from archive.store.s3.store import S3Store  # boto3 is only imported when S3 is used

        return S3Store.from_uri(text, **options)
    if "://" in text:
        raise StoreError(f"unsupported store URI {text!r}: use a directory or s3://bucket/prefix")
    return LocalStore(text)
