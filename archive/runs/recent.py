"""Earlier run reports of an outlet: what "usually" means for a crawl's outcome (outcome.py)."""

from __future__ import annotations

import json
import logging
from typing import Any

from archive.runs.outcome import HISTORY_RUNS

logger = logging.getLogger(__name__)


def recent_reports(store: Any, outlet: str, exclude_key: str = "",
                   limit: int = HISTORY_RUNS) -> list[dict[str, Any]]:
    """The last ``limit`` crawl reports of ``outlet`` in ``store``, oldest first.

    Run ids start with their UTC time, so key order is time order.  A store that cannot
    be listed or a report that cannot be read just shortens the history.
    """
    try:
        keys = sorted(k for k in store.list_keys(f"runs/{outlet}/")
                      if k.endswith(".json") and k != exclude_key)
    except Exception as exc:  # an unreachable S3 store: judge this run on its own
        logger.info("no run history for %s: %s", outlet, exc)
        return []
    reports = []
    for key in keys[-limit * 3:]:  # workers of a shared run have a report each
        try:
            with store.open_read(key) as handle:
                report = json.load(handle)
        except Exception:
            continue
        if isinstance(report, dict) and report.get("kind", "crawl") == "crawl":
            reports.append(report)
    return reports[-limit:]
