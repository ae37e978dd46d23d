"""Sample outlets served over real HTTP for the tests (and `newsarchive sample-site`).

``SampleSite`` serves the invented Rudaw outlet (tests/sites/rudaw/); ``load_expected``
returns its ground truth (rudaw/expected.json).
"""

from __future__ import annotations

import json

from .content import SITE_ROOT, load_updates
from .server import RequestLogEntry, SampleSite, serve_forever

EXPECTED_JSON = SITE_ROOT / "expected.json"


def load_expected() -> dict:
    """The committed ground truth: articles keyed by canonical path, URL variants, bad inputs."""
    return json.loads(EXPECTED_JSON.read_text(encoding="utf-8"))


__all__ = ["EXPECTED_JSON", "SITE_ROOT", "RequestLogEntry", "SampleSite", "load_expected",
           "load_updates", "serve_forever"]
