"""Reading run manifests: the ``files`` list of every run report under ``runs/``.

Each crawl publishes ``runs/{outlet}/{run_id}.json``; its ``files`` list names every object
the run stored, with size and sha256.  Those lists are the store's fixity record: ``verify``
checks the objects against them.  Reading is tolerant of extra fields (the report grows) but
strict about the three that fixity needs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

RUNS_PREFIX = "runs/"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(ValueError):
    """A run report that cannot be read or lists a file without key, size and sha256."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass(frozen=True)
class ManifestEntry:
    key: str
    size: int
    sha256: str
    manifest: str  # the run report that lists it
    mtime_ns: int | None = None  # local stores: the file's mtime when published


@dataclass
class RunManifest:
    key: str               # e.g. runs/rudaw/20260101T000000Z-abc123.json
    run_id: str | None
    outlet: str | None
    files: list[ManifestEntry] = field(default_factory=list)


def parse_manifest(data: bytes | str, key: str) -> RunManifest:
    """One run report -> RunManifest, or ManifestError saying what is wrong with it."""
    try:
        report = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError(key, f"not valid JSON ({exc})") from None
    if not isinstance(report, dict):
        raise ManifestError(key, "not a JSON object")
    files = report.get("files")
    if files is None:
        files = []
    if not isinstance(files, list):
        raise ManifestError(key, "'files' is not a list")
    manifest = RunManifest(key=key, run_id=_text(report.get("run_id")),
                           outlet=_text(report.get("outlet")))
    for number, item in enumerate(files):
        if not isinstance(item, dict):
            raise ManifestError(key, f"files[{number}] is not an object")
        name, size, sha = item.get("key"), item.get("size"), item.get("sha256")
        if not isinstance(name, str) or not name:
            raise ManifestError(key, f"files[{number}] has no key")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ManifestError(key, f"files[{number}] ({name}) has no valid size")
        if not isinstance(sha, str) or not _SHA256.match(sha.lower()):
            raise ManifestError(key, f"files[{number}] ({name}) has no valid sha256")
        mtime = item.get("mtime_ns")
        manifest.files.append(ManifestEntry(
            key=name, size=size, sha256=sha.lower(), manifest=key,
            mtime_ns=mtime if isinstance(mtime, int) and not isinstance(mtime, bool) else None))
    return manifest


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def manifest_keys(store) -> list[str]:
    """Every run report key in the store (``runs/**.json``)."""
    return [key for key in store.list_keys(RUNS_PREFIX.rstrip("/")) if key.endswith(".json")]


def iter_manifests(store) -> Iterator[RunManifest | ManifestError]:
    """Each run report in the store, parsed; unreadable ones come back as ManifestError."""
    for key in manifest_keys(store):
        try:
            with store.open_read(key) as handle:
                data = handle.read()
        except FileNotFoundError:
            yield ManifestError(key, "listed but could not be read")
            continue
        try:
            yield parse_manifest(data, key)
        except ManifestError as exc:
            yield exc
