"""Telling "the disk is full / the store is read-only" from a bad page, and saying so once.

A write that fails for lack of space or permission will fail for every page after it:
the crawl stops (exit 3) with one line naming the path and the free space, instead of a
traceback per page.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

UNWRITABLE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                        errno.EFBIG})


def is_unwritable(exc: BaseException) -> bool:
    """True for an OSError that means the store cannot take more bytes (not a bad page)."""
    if isinstance(exc, OSError) and exc.errno in UNWRITABLE:
        return True
    text = str(exc).lower()  # SQLite says it in words
    return "disk is full" in text or "readonly database" in text


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if count < 1024 or unit == "TB":
            return f"{count} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return str(count)


def free_space(path: str | os.PathLike) -> str:
    """"N free of M" for the filesystem holding ``path`` (its nearest existing parent)."""
    place = Path(path)
    while not place.exists() and place != place.parent:
        place = place.parent
    try:
        usage = shutil.disk_usage(place)
    except OSError:
        return "free space unknown"
    return f"{_size(usage.free)} free of {_size(usage.total)}"


def describe(path: str | os.PathLike | None, exc: BaseException) -> str:
    """The one line the operator reads: what failed, where, how much room is left."""
    where = os.fspath(path) if path is not None else getattr(exc, "filename", None) or "?"
    reason = getattr(exc, "strerror", None) or str(exc)
    return (f"cannot write to {where}: {reason} ({free_space(where)}); the crawl stopped "
            "there: free space (or fix permissions) and run again, what was archived "
            "before is kept and listed in the run report")
