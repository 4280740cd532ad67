"""Instants as the index stores them: ISO-8601 UTC strings to the second (``2026-11-28T23:25:18Z``).

Public API:

* :func:`utc_iso` (moment=None) -> the string of ``moment`` (default: now);
* :func:`parse_instant` (value) -> an aware :class:`~datetime.datetime`, or None
  for anything that is not an ISO-8601 date (a naive one is taken as UTC).

Pure functions; they raise nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def utc_iso(moment: datetime | None = None) -> str:
    """``moment`` (default: now) as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC."""
    moment = moment if moment is not None else datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(value: Any) -> datetime | None:
    """The aware datetime ``value`` names, or None when it names none."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
