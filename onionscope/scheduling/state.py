"""What a scheduler remembers between starts, and shows to ``onionscope jobs status``.

``<scheduler dir>/state.json`` (see :func:`onionscope.scheduling.locks.scheduler_dir`)::

    {"schedules": "/abs/config/schedules.yml", "pid": 1234, "updated_at": "...Z",
     "jobs": {"nightly": {"last_due": "...Z", "next_run": "...Z",
                          "running": {"job_id": "...", "pid": 4321, "launched_at": "...Z"} | null}}}

``last_due`` is the latest scheduled moment the scheduler acted on (ran, or
skipped because the previous run was going); on start-up, runs due after it
are the missed ones.  The file is replaced atomically (0600), so a reader
never sees half of it.

Public API: :func:`load_state` (path) -> dict; :func:`save_state` (path, state);
:func:`parse_moment` (text) -> aware datetime or None.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def parse_moment(text: Any) -> datetime | None:
    """An ISO-8601 moment (``...Z`` or with an offset) as an aware UTC datetime; None if unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(timezone.utc) if moment.tzinfo else None


def load_state(path: Path) -> dict[str, Any]:
    """The saved state, or an empty one when the file is missing or unreadable (never raises)."""
    try:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"jobs": {}}
    if not isinstance(state, dict) or not isinstance(state.get("jobs"), dict):
        return {"jobs": {}}
    return state


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` atomically (temporary file, then rename), 0600.  Raises OSError."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=1, sort_keys=True)
    temporary.replace(path)
