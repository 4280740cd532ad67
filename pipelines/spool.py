"""The spool: bulk operations that Elasticsearch would not take, kept on disk to replay later.

One JSON object per line in ``<var_dir>/spool/bulk-<UTC time>-<pid>.jsonl``.
Each record says what to write (``record``: ``document`` or ``entity``, the
``kind``, the ``id`` and the body or the sightings), where (``index_prefix``),
why it failed (``error``), after how many ``attempts`` and when
(``spooled_at``).  A writer holds an exclusive lock on its file while it is
open, so a replay never touches a file that a running crawl still appends to.

Public API:

* :class:`SpoolWriter` (spool_dir) -- ``write(record)``, ``close()``; the file is
  created on the first record only;
* :func:`spool_files` (spool_dir) -> spool files, oldest first;
* :func:`claim` (path) -> context manager yielding the records of a file that
  no writer holds, or None when it is busy; :func:`rewrite` keeps the records
  that are still failing (and deletes the file when none are).

Raises OSError for an unwritable spool folder; a line that is not JSON is
kept as it is (``{"record": "unreadable", ...}``) and never dropped.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Iterator


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class SpoolWriter:
    def __init__(self, spool_dir: Path):
        self.spool_dir = Path(spool_dir)
        self.path: Path | None = None
        self.count = 0
        self._handle: IO[str] | None = None
        # Documents and wallet entities are written from two threads at once.
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> Path:
        """Append one record (flushed and fsynced: a spooled item must survive a crash); thread-safe."""
        with self._lock:
            return self._write(record)

    def _write(self, record: dict[str, Any]) -> Path:
        if self._handle is None:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            self.path = self.spool_dir / f"bulk-{stamp}-{os.getpid()}.jsonl"
            self._handle = open(self.path, "a", encoding="utf-8")
            fcntl.flock(self._handle, fcntl.LOCK_EX)
        record = {**record, "spooled_at": record.get("spooled_at") or utc_now_iso()}
        self._handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.count += 1
        assert self.path is not None
        return self.path

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def spool_files(spool_dir: Path) -> list[Path]:
    directory = Path(spool_dir)
    if not directory.is_dir():
        return []
    return sorted(directory.glob("bulk-*.jsonl"), key=lambda path: (path.stat().st_mtime, path.name))


def _parse(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return {"record": "unreadable", "line": line}
    return record if isinstance(record, dict) else {"record": "unreadable", "line": line}


@contextlib.contextmanager
def claim(path: Path) -> Iterator[list[dict[str, Any]] | None]:
    """Lock ``path`` for a replay; yields its records, or None when a writer still holds it."""
    try:
        handle = open(path, "r+", encoding="utf-8")
    except FileNotFoundError:
        yield None
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        try:
            records = [_parse(line) for line in handle.read().splitlines() if line.strip()]
            yield records
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def rewrite(path: Path, remaining: list[dict[str, Any]]) -> None:
    """Replace ``path`` with the records still failing (atomically), or delete it when none are."""
    if not remaining:
        path.unlink(missing_ok=True)
        return
    temporary = path.with_suffix(f".tmp-{os.getpid()}-{time.monotonic_ns()}")
    with open(temporary, "w", encoding="utf-8") as handle:
        for record in remaining:
            if record.get("record") == "unreadable":
                handle.write(str(record["line"]) + "\n")
            else:
                handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
