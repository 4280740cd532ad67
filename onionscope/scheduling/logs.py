"""Structured log lines for daemons: one JSON object per line.

Each line has ``ts`` (UTC, ISO-8601 with milliseconds), ``level``,
``logger`` and ``message``, plus the fields passed with ``extra=`` (say
``logger.info("run started", extra={"event": "run_started", "job": name})``),
so a log shipper or ``jq`` can pick runs apart without parsing prose.
Messages and fields go through :func:`json.dumps`, so no value can break a
line or forge another one.

Public API: :class:`JsonLineFormatter`; :func:`configure_json_logging` (level, stream).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {"message", "asctime"}


class JsonLineFormatter(logging.Formatter):
    """Formats a record as one line of JSON (exception text included as ``exception``)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=True)


def configure_json_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send every log record of this process to ``stream`` (stderr) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # One line per Elasticsearch request is noise in a daemon's log; its warnings stay.
    logging.getLogger("elastic_transport").setLevel(max(level, logging.WARNING))
