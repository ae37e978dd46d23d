"""The corpus: one JSON object per article version, gzip-compressed JSON lines per run.

Records are derived data (the WARC is the source of truth), so the writer is simple:
append lines to a ``.open`` file in the spool and publish it when the run closes.
"""

from __future__ import annotations

import gzip
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any


def corpus_key(outlet: str, run_id: str, started: datetime) -> str:
    """Store key of a run's corpus file (DESIGN.md store layout)."""
    return f"corpus/{outlet}/{started:%Y}/{started:%m}/{run_id}.jsonl.gz"


class CorpusWriter:
    """Writes a run's corpus records; the file appears under its final name only on close."""

    def __init__(self, spool_dir: Path, outlet: str, run_id: str, started: datetime):
        self.key = corpus_key(outlet, run_id, started)
        self.path = Path(spool_dir) / self.key
        self._open_path = self.path.with_name(self.path.name + ".open")
        self._handle: gzip.GzipFile | None = None
        self.count = 0

    def write(self, record: dict[str, Any]) -> None:
        if self._handle is None:
            self._open_path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = gzip.open(self._open_path, "wb")  # type: ignore[assignment]
        line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        self._handle.write(line.encode("utf-8"))
        self._handle.flush()
        self.count += 1

    def close(self) -> Path | None:
        """Close and rename; returns the final path, or None when nothing was written."""
        if self._handle is None:
            return None
        self._handle.close()
        self._handle = None
        os.replace(self._open_path, self.path)
        return self.path
