"""Store URIs checked before a crawl writes anything: one clear error instead of a
traceback halfway through the run (or a local folder named ``s3:``).

``check_uri`` is about the form (any command); ``check_writable`` about a local
directory a crawl is going to write into.  Both raise StoreError (exit status 3).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from archive.store.base import StoreError

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
SYSTEM_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


def check_uri(uri: str) -> None:
    """A store URI is ``s3://bucket[/prefix]`` or a local path; anything else is an error."""
    text = uri.strip()
    if not text:
        raise StoreError("the store URI is empty: give a directory or s3://bucket/prefix")
    scheme = _SCHEME.match(text)
    if scheme is None or (len(scheme.group(1)) == 1 and os.name == "nt"):
        return  # a plain path
    name = scheme.group(1).lower()
    if name == "s3":
        if not text.lower().startswith("s3://"):  # s3://... itself: parse_s3_uri checks
            raise StoreError(f"malformed S3 store URI {uri!r}: write s3://bucket/prefix")
        return
    if name == "file" or "/" in text[: scheme.end() + 2]:
        raise StoreError(f"unsupported store URI {uri!r}: use a directory path or "
                         "s3://bucket/prefix")


def check_writable(root: str | os.PathLike) -> Path:
    """The resolved directory, after making sure a crawl can create and write files in it."""
    path = Path(root).expanduser()
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:
        raise StoreError(f"store {str(root)!r} cannot be resolved: {exc}") from None
    for system in SYSTEM_ROOTS:
        if resolved == system or system in resolved.parents:
            raise StoreError(f"store {str(root)!r} is under {system}, a system directory: "
                             "give a directory of your own")
    if resolved.exists() and not resolved.is_dir():
        raise StoreError(f"store {str(root)!r} is a file, not a directory: give a directory "
                         "(it is created when missing)")
    existing = resolved
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise StoreError(f"store {str(root)!r} cannot be created: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise StoreError(f"store {str(root)!r} is not writable ({existing} does not allow "
                         "this user to create files)")
    return resolved
