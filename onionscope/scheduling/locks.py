"""Where the scheduler's locks live: one scheduler per schedules file, one run per job at a time.

The locks themselves are :func:`config.processes.exclusive_lock` with
``wait=False`` and ``record_holder=True``: an ``flock`` the holder keeps open
(the kernel releases it when the holder exits, however it exits, so a crash
or SIGKILL leaves no stale lock), with the holder's PID and start time in the
file so a refused caller can name it (:func:`config.processes.lock_holder`,
which never names a recycled PID).

Public API:

* :func:`scheduler_dir` (settings, schedules_path) -> the scheduler's folder for that file;
* :func:`scheduler_lock_path` (directory) -> the scheduler's lock in that folder;
* :func:`job_lock_path` (settings, job_name) -> the job's run lock.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def scheduler_dir(settings: Any, schedules_path: Path) -> Path:
    """``<var_dir>/scheduler/<file stem>-<hash of its absolute path>``: lock, state and run logs of one schedules file."""
    resolved = Path(schedules_path).resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    return Path(settings.var_dir) / "scheduler" / f"{resolved.stem}-{digest}"


def scheduler_lock_path(directory: Path) -> Path:
    """``<scheduler dir>/scheduler.lock``: held by the one scheduler of that schedules file."""
    return Path(directory) / "scheduler.lock"


def job_lock_path(settings: Any, job_name: str) -> Path:
    """The run lock of ``job_name``: shared by every scheduler and `jobs run` on this var dir and index prefix."""
    return Path(settings.var_dir) / "jobs" / settings.index_prefix / f"{job_name}.lock"
