"""How requests are stored in the shared Redis frontier: JSON, never pickle.

scrapy-redis pickles requests by default.  Any client that can write to the Redis a worker
reads from could then run code in every worker; the frontier must not be an execution
channel.  This module is a drop-in ``SCHEDULER_SERIALIZER`` (``loads``/``dumps``) that
writes ``Request.to_dict()`` as JSON, with the few non-JSON types a request carries tagged:
bytes (headers, bodies), tuples (``handle_httpstatus_list``, stored as a range when it is
one), datetimes (capture dates that retries and redirects copy along), and mappings with
non-string keys (headers).

Values of any other type in ``meta`` (objects a middleware left for itself on a previous
attempt) are dropped with a debug log line: they describe the attempt that produced the
request, not the request.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
from datetime import datetime
from typing import Any

logger = logging.getLogger(__name__)

_BYTES, _TUPLE, _DATE, _MAP, _RANGE = "__b", "__t", "__d", "__m", "__r"
_TAGS = frozenset({_BYTES, _TUPLE, _DATE, _MAP, _RANGE})


class _Drop:
    """Marker for a value that cannot be stored (left out of its container)."""


_DROP = _Drop()


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray)):
        return {_BYTES: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, tuple):
        if _is_range(value):  # handle_httpstatus_list = 400..599: 12 bytes instead of 1 KB
            return {_RANGE: [value[0], value[-1] + 1]}
        return {_TUPLE: [v for v in map(_encode, value) if v is not _DROP]}
    if isinstance(value, (list, set, frozenset)):
        return [v for v in map(_encode, value) if v is not _DROP]
    if isinstance(value, datetime):
        return {_DATE: value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode(dataclasses.asdict(value))
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not (_TAGS & value.keys()):
            out = {}
            for key, item in value.items():
                encoded = _encode(item)
                if encoded is not _DROP:
                    out[key] = encoded
            return out
        pairs = []
        for key, item in value.items():
            encoded_key, encoded = _encode(key), _encode(item)
            if encoded_key is not _DROP and encoded is not _DROP:
                pairs.append([encoded_key, encoded])
        return {_MAP: pairs}
    logger.debug("not storing a %s in the shared frontier", type(value).__name__)
    return _DROP


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (tag, inner), = value.items()
        if tag == _BYTES:
            return base64.b64decode(inner)
        if tag == _TUPLE:
            return tuple(_decode(v) for v in inner)
        if tag == _RANGE:
            return tuple(range(inner[0], inner[1]))
        if tag == _DATE:
            return datetime.fromisoformat(inner)
        if tag == _MAP:
            return {_hashable(_decode(k)): _decode(v) for k, v in inner}
    return {k: _decode(v) for k, v in value.items()}


def _is_range(value: tuple) -> bool:
    return (len(value) >= 8 and all(type(v) is int for v in value)
            and all(b - a == 1 for a, b in zip(value, value[1:], strict=False)))


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def dumps(obj: dict[str, Any]) -> bytes:
    """A request dict (``Request.to_dict()``) as compact JSON bytes."""
    encoded = _encode(obj)
    return json.dumps(encoded, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def loads(data: bytes | str) -> dict[str, Any]:
    """The request dict back; ``_class`` may only name a ``scrapy.Request`` subclass."""
    obj = _decode(json.loads(data))
    if not isinstance(obj, dict):
        raise ValueError("a frontier entry must be a JSON object")
    cls_name = obj.get("_class")
    if cls_name is not None:
        from scrapy import Request
        from scrapy.utils.misc import load_object

        cls = load_object(cls_name) if isinstance(cls_name, str) else None
        if not (isinstance(cls, type) and issubclass(cls, Request)):
            raise ValueError(f"frontier entry names {cls_name!r}, not a Request class")
    return obj
