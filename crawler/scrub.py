"""Credentials never reach a log line or a report: ``user:pass@`` in URLs is masked.

A link such as ``http://user:secret@host/`` is refused by the address guard, but its URL
still shows up in warnings, Scrapy's own error lines and tracebacks.  ``ScrubFilter`` is
installed on the log handlers (crawler/run.py) and rewrites every record on the way out;
tracebacks are dropped unless the operator asked for them (``--debug``).
"""

from __future__ import annotations

import logging
import re

# scheme://userinfo@ — userinfo has no "/", "@" or whitespace
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s'\"<>]+@")


def scrub(text: str) -> str:
    """``text`` with the userinfo of every URL in it replaced by ``***``."""
    return _USERINFO.sub(r"\1***@", text) if "@" in text else text


def scrub_url(url: str) -> str:
    return scrub(url)


class ScrubFilter(logging.Filter):
    """Masks credentials in log records; keeps tracebacks only when ``debug``."""

    def __init__(self, debug: bool = False):
        super().__init__()
        self.debug = debug

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave the record to the handler
            return True
        record.msg, record.args = scrub(message), ()
        if record.exc_info or record.exc_text:
            if self.debug:
                import traceback

                text = record.exc_text or "".join(traceback.format_exception(*record.exc_info))
                record.exc_text = scrub(text)
            else:
                record.exc_text = None
            record.exc_info = None
        if record.stack_info:
            record.stack_info = scrub(record.stack_info) if self.debug else None
        return True


def install(debug: bool = False) -> None:
    """Put the filter on every handler of the root logger (after Scrapy configured them)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, ScrubFilter) for f in handler.filters):
            handler.addFilter(ScrubFilter(debug))
