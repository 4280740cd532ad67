"""The spool: bulk operations that Elasticsearch would not take, kept on disk to replay later.

One JSON object per line in ``<var_dir>/spool/bulk-<UTC time>-<pid>-<random>.jsonl``.
Each record says what to write (``record``: ``document``, ``entity`` or
``item``, the ``kind``, the ``id`` and the body, the sightings or the item's
fields), where (``index_prefix``), why it failed (``error``), after how many
``attempts`` and when (``spooled_at``).

Locking, so that a replay never takes records a crawl is still writing, and
two replays never take the same records:

* a writer creates its file under a hidden temporary name, locks it, and only
  then gives it its ``bulk-*.jsonl`` name (no-clobber), so a file under that
  name is locked from the moment it is visible until the writer closes it;
* :func:`claim` locks a file and then checks that the file it locked is still
  the one at the path (same device and inode): a replay that finished first
  has deleted it or replaced it with what still fails, and that is the file
  to claim (or nothing, when it is gone).

The folder is 0700 and every file 0600: records hold crawled text.

Public API:

* :class:`SpoolWriter` (spool_dir) -- ``write(record)``, ``close()``; the file is
  created on the first record only;
* :func:`spool_files` (spool_dir) -> spool files, oldest first;
* :func:`json_safe` (value) -> the value with JSON types only (records and
  crawl-run stats hold datetimes);
* :func:`claim` (path) -> context manager yielding the records of a file that
  no writer or other replay holds, or None when it is busy or gone;
  :func:`rewrite` keeps the records that are still failing (and deletes the
  file when none are).

Raises OSError for an unwritable spool folder; a line that is not JSON is
kept as it is (``{"record": "unreadable", ...}``) and never dropped.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Iterator

FILE_MODE = 0o600
FOLDER_MODE = 0o700
# A claim that keeps finding its file replaced gives up after this many tries
# (each try means another replay finished with the file in the meantime).
CLAIM_TRIES = 10


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_safe(value: Any) -> Any:
    """``value`` with only JSON types left: datetimes as ISO-8601 UTC, other objects as their text."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def ensure_spool_dir(spool_dir: Path) -> Path:
    """Create the spool folder (0700) or narrow an existing one to 0700; returns it. Raises OSError."""
    directory = Path(spool_dir)
    directory.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    os.chmod(directory, FOLDER_MODE)
    return directory


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_private(path: Path, flags: int) -> int:
    """Open a new file (never an existing one, never through a symlink) with mode 0600; returns the fd."""
    fd = os.open(path, flags | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # whatever the umask
    return fd


class SpoolWriter:
    def __init__(self, spool_dir: Path):
        self.spool_dir = Path(spool_dir)
        self.path: Path | None = None
        self.count = 0
        self._handle: IO[str] | None = None
        # Documents and wallet entities are written from two threads at once.
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> Path:
        """Append one record (flushed and fsynced: a spooled item must survive a crash); thread-safe.

        Returns the file's path.  Raises OSError when the spool cannot be written.
        """
        with self._lock:
            return self._write(record)

    def _open(self) -> None:
        ensure_spool_dir(self.spool_dir)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        while True:
            name = f"bulk-{stamp}-{os.getpid()}-{secrets.token_hex(4)}.jsonl"
            temporary = self.spool_dir / f".{name}.creating"
            handle = os.fdopen(_create_private(temporary, os.O_WRONLY | os.O_APPEND), "a", encoding="utf-8")
            try:
                # Locked before it has a name a replay looks for.
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    os.link(temporary, self.spool_dir / name)  # unlike rename, never replaces a file
                except FileExistsError:
                    handle.close()
                    continue
                finally:
                    temporary.unlink(missing_ok=True)
            except BaseException:
                handle.close()
                raise
            _fsync_dir(self.spool_dir)  # the file's name must survive a crash as well as its records
            self.path = self.spool_dir / name
            self._handle = handle
            return

    def _write(self, record: dict[str, Any]) -> Path:
        if self._handle is None:
            self._open()
        assert self._handle is not None and self.path is not None
        record = {**record, "spooled_at": record.get("spooled_at") or utc_now_iso()}
        self._handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.count += 1
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
    files = []
    for path in directory.glob("bulk-*.jsonl"):
        with contextlib.suppress(FileNotFoundError):  # a replay may delete one while we list
            files.append((path.stat().st_mtime, path.name, path))
    return [path for _, _, path in sorted(files)]


def _parse(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return {"record": "unreadable", "line": line}
    return record if isinstance(record, dict) else {"record": "unreadable", "line": line}


def _same_file(handle: IO[str], path: Path) -> bool:
    try:
        at_path = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(handle.fileno())
    return (held.st_dev, held.st_ino) == (at_path.st_dev, at_path.st_ino)


@contextlib.contextmanager
def claim(path: Path) -> Iterator[list[dict[str, Any]] | None]:
    """Lock ``path`` for a replay; yields its records, or None when it is busy or gone.

    Busy: a writer or another replay holds it.  Gone: a replay that finished
    first deleted it.  When a replay that finished first replaced it with the
    records still failing, those are claimed instead.  The lock is held until
    the ``with`` block ends, so call :func:`rewrite` inside it.
    """
    for _ in range(CLAIM_TRIES):
        try:
            handle = os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "r", encoding="utf-8")
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
                if not _same_file(handle, path):
                    # Another replay finished with this file while we waited to lock it.
                    continue
                records = [_parse(line) for line in handle.read().splitlines() if line.strip()]
                yield records
                return
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    yield None


def rewrite(path: Path, remaining: list[dict[str, Any]]) -> None:
    """Replace ``path`` with the records still failing (atomically), or delete it when none are.

    Call it while :func:`claim` holds the file.  Raises OSError.
    """
    if not remaining:
        path.unlink(missing_ok=True)
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.rewriting")
    with os.fdopen(_create_private(temporary, os.O_WRONLY), "w", encoding="utf-8") as handle:
        for record in remaining:
            if record.get("record") == "unreadable":
                handle.write(str(record["line"]) + "\n")
            else:
                handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)
