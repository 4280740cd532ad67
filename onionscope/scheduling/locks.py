"""Exclusive locks held by a running process: one scheduler per schedules file, one run per job at a time.

A lock is an ``flock`` on a file that the holder keeps open, so the kernel
releases it when the holder exits, however it exits (a crash or SIGKILL
leaves no stale lock).  The holder writes ``"<pid> <start time>"`` into the
file (the format of :func:`config.processes.write_pidfile`), so a refused
caller can name the holder and :func:`lock_holder` never names a recycled
PID.

Public API:

* :class:`FileLock` (path) -- :meth:`~FileLock.acquire` -> bool (never blocks),
  :meth:`~FileLock.release`; also a context manager that raises :class:`LockHeld`;
* :func:`lock_holder` (path) -> the PID holding the lock, or None;
* :func:`scheduler_dir` (settings, schedules_path) -> the scheduler's folder for that file;
* :func:`job_lock_path` (settings, job_name) -> the job's run lock.

Written against today's :mod:`config.processes`; small on purpose, so it can
move into the one process helper.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import Any

from config.processes import process_start_ticks, read_pidfile


class LockHeld(Exception):
    """Another process holds the lock."""

    def __init__(self, path: Path, holder: int | None):
        self.path, self.holder = path, holder
        who = f"process {holder}" if holder else "another process"
        super().__init__(f"{path} is locked by {who}")


class FileLock:
    """An exclusive, non-blocking ``flock`` on ``path`` (created 0600 in a 0700 folder)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock and record this process in it; False when another process holds it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        pid = os.getpid()
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{pid} {process_start_ticks(pid) or 0}\n".encode(), 0)
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the lock up (the file stays; an unlocked file names nobody)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.ftruncate(fd, 0)
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> "FileLock":
        if not self.acquire():
            raise LockHeld(self.path, lock_holder(self.path))
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def lock_holder(path: Path) -> int | None:
    """The PID recorded in the lock ``path`` if that very process still runs, else None.

    Reads the file only (probing with flock could make a holder's own
    non-blocking acquire fail).  A holder that released the lock left the
    file empty; one that died left its PID, which no longer names a running
    process started at the recorded moment.
    """
    record = read_pidfile(Path(path))
    if record is None or record.start_ticks is None:
        return None
    return record.pid if process_start_ticks(record.pid) == record.start_ticks else None


def scheduler_dir(settings: Any, schedules_path: Path) -> Path:
    """``<var_dir>/scheduler/<file stem>-<hash of its absolute path>``: lock, state and run logs of one schedules file."""
    resolved = Path(schedules_path).resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    return Path(settings.var_dir) / "scheduler" / f"{resolved.stem}-{digest}"


def job_lock_path(settings: Any, job_name: str) -> Path:
    """The run lock of ``job_name``: shared by every scheduler and `jobs run` on this var dir and index prefix."""
    return Path(settings.var_dir) / "jobs" / settings.index_prefix / f"{job_name}.lock"
