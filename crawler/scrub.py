"""Credentials never reach a log line or a report: ``user:pass@`` in URLs is masked.

A link such as ``http://user:secret@host/`` is refused by the address guard, but its URL
still shows up in warnings, Scrapy's own error lines and tracebacks.  ``install`` (called
by crawler/run.py) cleans every log record as it is created, before any handler (Scrapy
replaces its root handler per crawler) sees it; tracebacks are dropped unless the operator
asked for them (``--debug``).
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


def clean_record(record: logging.LogRecord, debug: bool) -> logging.LogRecord:
    """Mask credentials in ``record``; keep its traceback only when ``debug``."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: leave the record to the handler
        return record
    record.msg, record.args = scrub(message), ()
    if record.exc_info or record.exc_text:
        if debug:
            import traceback

            text = record.exc_text or "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = scrub(text.rstrip("\n"))
        else:
            record.exc_text = None
        record.exc_info = None
    if record.stack_info:
        record.stack_info = scrub(record.stack_info) if debug else None
    return record


_installed: list[bool] = []


def install(debug: bool = False) -> None:
    """Clean every log record as it is made (whichever handler Scrapy installs later)."""
    if _installed:
        _installed[0] = debug
        return
    _installed.append(debug)
    make_record = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        return clean_record(make_record(*args, **kwargs), _installed[0])

    logging.setLogRecordFactory(factory)
