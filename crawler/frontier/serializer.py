"""How a shared job's requests are written into Redis: JSON, never pickle.

scrapy-redis pickles requests by default; unpickling runs whatever the bytes
say, so anyone who can write to the Redis could run code in every worker.
This serializer (scrapy-redis's ``SCHEDULER_SERIALIZER`` interface: a module
or object with ``dumps`` and ``loads``) writes the dict of
``Request.to_dict()`` as JSON, with bytes as ``{"$b": base64}``, mappings
with non-text keys (headers) as ``{"$m": [[key, value], ...]}`` and tuples as
lists.

Public API: :func:`dumps` (request dict) -> bytes; :func:`loads` (bytes) -> request dict
(raises ``ValueError`` for data that is not such JSON).
"""

from __future__ import annotations

import base64
import json
from typing import Any


def _encode(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(key, str) and not key.startswith("$") for key in value):
            return {key: _encode(item) for key, item in value.items()}
        return {"$m": [[_encode(key), _encode(item)] for key, item in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_encode(item) for item in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$b"}:
            return base64.b64decode(value["$b"])
        if set(value) == {"$m"}:
            return {_hashable(_decode(key)): _decode(item) for key, item in value["$m"]}
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def dumps(obj: dict[str, Any]) -> bytes:
    """The request dict as JSON bytes (raises TypeError for a value JSON cannot hold)."""
    return json.dumps(_encode(obj), separators=(",", ":")).encode("utf-8")


def loads(data: bytes | str) -> dict[str, Any]:
    """The request dict written by :func:`dumps`; raises ValueError for anything else."""
    value = _decode(json.loads(data))
    if not isinstance(value, dict) or "url" not in value:
        raise ValueError("not a request written by crawler.frontier.serializer")
    return value
