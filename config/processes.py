"""The one process helper for everything onionscope starts: identity, pidfiles, start lock, stop.

Everything the project starts in the background -- the local Elasticsearch
node (:mod:`harness.elasticsearch_node`), the tor processes of the private network
(:mod:`harness.testnet.tor_process`), the demo sites' server
(:mod:`harness.demo.server`), the demo's web UI (``onionscope demo``) and,
later, a scheduler daemon -- is found, checked and stopped through this
module.  It reads Linux /proc.

A PID alone is not an identity: once our process has exited, the kernel hands
its number to the next process, which may even run the same command.  So
before signalling a PID, callers check two things:

* its command line, read with :func:`process_arguments`, names what they
  started: tor with its torrc, Elasticsearch with its home folder, a
  ``python -m`` module (the demo server and the demo's web UI);
* where onionscope writes the pidfile itself, the process's start time:
  :func:`write_pidfile` records ``"<pid> <start>"`` and :func:`recorded_pid`
  accepts the PID only while the process holding it started at that moment.
  A recycled PID belongs to a process that started later, whatever its
  command line.

:class:`OwnedProcess` carries both (PID, start time, command-line check), and
:func:`stop_processes` re-checks them before every signal: a recycled PID is
never signalled, and a stop signals only PIDs that are ours.

Public API:

* :func:`process_arguments(pid)` -> the argument list, or ``None`` when the
  process is gone, a zombie or unreadable;
* :func:`process_start_ticks(pid)` -> when it started (clock ticks since boot), or ``None``;
* :func:`runs_python_module(arguments, module)` -> whether they run ``python ... -m module``;
* :func:`write_pidfile(path, pid)` -- atomic; raises ProcessLookupError when
  ``pid`` is already gone (there is nothing to record);
* :func:`read_pidfile(path)` -> :class:`PidRecord`, or ``None`` when the file is
  missing or holds no PID (a pidfile written by tor or Elasticsearch has a PID
  and no start time);
* :func:`recorded_pid(path, matches)` -> the PID of a pidfile written by
  :func:`write_pidfile` whose process still runs, started at the recorded
  moment and has arguments that ``matches`` accepts; else ``None``;
* :func:`remove_pidfile(path, pid)` -- removes it only while it still names ``pid``;
* :class:`OwnedProcess` and the ways to get one: :func:`owned_process(pid, matches)`
  (checked now, start time taken now), :func:`recorded_process(path, matches)`
  (a pidfile written by :func:`write_pidfile`), :func:`find_processes(matches)`
  (every running process whose arguments match, e.g. one that was started
  but never wrote its pidfile);
* :func:`stop_processes(processes, grace_seconds, kill_wait_seconds)` -> the PIDs
  it signalled: SIGTERM, then SIGKILL for those still ours after the grace period;
  :func:`send_signal(process, signal_number)` -> bool for any other signal (a reload);
* :func:`exclusive_lock(path)` -- a context manager holding an exclusive
  ``flock`` on ``path``, so that two starts at once start one process.

Reads only /proc and the pidfile; raises nothing for vanished processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

PROC = Path("/proc")
# /proc/<pid>/stat: the fields after the ")" that closes the command name
# start with field 3 (state); field 22 is the start time.
_STATE_INDEX = 0
_START_TIME_INDEX = 22 - 3
# How often a stop looks whether the processes it signalled have gone.
_POLL_SECONDS = 0.05

ArgumentCheck = Callable[[list[str]], bool]


@dataclass(frozen=True)
class PidRecord:
    """What a pidfile holds: the PID and, if onionscope wrote it, the process's start time."""

    pid: int
    start_ticks: int | None


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    # The command name (in parentheses) may itself hold spaces and ")".
    head, closing, rest = text.rpartition(")")
    return rest.split() if closing else None


def process_arguments(pid: int) -> list[str] | None:
    """The arguments ``pid`` runs with, or None if it is gone, a zombie or unreadable."""
    fields = _stat_fields(pid)
    if not fields or fields[_STATE_INDEX] in ("Z", "X"):
        return None
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    if not raw:  # a kernel thread, or a process between fork and exec's arguments
        return None
    parts = raw.split(b"\0")
    if parts[-1] == b"":
        parts.pop()  # the terminator after the last argument
    return [part.decode("utf-8", "replace") for part in parts]


def process_start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot; None when it is gone."""
    fields = _stat_fields(pid)
    if not fields or len(fields) <= _START_TIME_INDEX or not fields[_START_TIME_INDEX].isdigit():
        return None
    return int(fields[_START_TIME_INDEX])


def runs_python_module(arguments: list[str], module: str) -> bool:
    """True if ``arguments`` run ``module`` as ``python [options] -m module ...``."""
    return any(arguments[index] == "-m" and arguments[index + 1] == module for index in range(len(arguments) - 1))


def write_pidfile(path: Path, pid: int) -> None:
    """Record ``pid`` and its start time in ``path`` (atomically); raises ProcessLookupError if it is gone."""
    start_ticks = process_start_ticks(pid)
    if start_ticks is None:
        raise ProcessLookupError(f"process {pid} is gone; nothing to record in {path}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(f"{pid} {start_ticks}\n", encoding="utf-8")
    temporary.replace(path)


def read_pidfile(path: Path) -> PidRecord | None:
    """The PID (and start time, if recorded) in ``path``; None when it is missing or malformed."""
    try:
        fields = Path(path).read_text(encoding="utf-8").split()
    except (OSError, ValueError):
        return None
    if not 1 <= len(fields) <= 2 or not all(field.isdigit() for field in fields) or int(fields[0]) <= 0:
        return None
    return PidRecord(int(fields[0]), int(fields[1]) if len(fields) == 2 else None)


def recorded_pid(path: Path, matches: ArgumentCheck) -> int | None:
    """The PID in ``path`` if it still names the process recorded there, else None.

    The pidfile must carry a start time (:func:`write_pidfile`): one without
    cannot tell the recorded process from a later one with the same PID, so
    it never names a process to signal.
    """
    record = read_pidfile(path)
    if record is None or record.start_ticks is None:
        return None
    arguments = process_arguments(record.pid)
    if arguments is None or not matches(arguments):
        return None
    return record.pid if process_start_ticks(record.pid) == record.start_ticks else None


def remove_pidfile(path: Path, pid: int) -> bool:
    """Remove ``path`` if it still names ``pid`` (another start may have replaced it); True if removed."""
    record = read_pidfile(path)
    if record is None or record.pid != pid:
        return False
    Path(path).unlink(missing_ok=True)
    return True


# --------------------------------------------------------------------------- owned processes


@dataclass(frozen=True)
class OwnedProcess:
    """A process onionscope started: its PID, its start time and what its command line must look like.

    :meth:`is_running` is true only while that PID still runs *and* started at
    ``start_ticks`` *and* has arguments that ``matches`` accepts, so a
    recycled PID never passes.
    """

    pid: int
    start_ticks: int
    matches: ArgumentCheck

    def is_running(self) -> bool:
        """True while this very process (same PID, same start time, matching arguments) runs."""
        arguments = process_arguments(self.pid)
        if arguments is None or not self.matches(arguments):
            return False
        return process_start_ticks(self.pid) == self.start_ticks


def owned_process(pid: int, matches: ArgumentCheck) -> OwnedProcess | None:
    """``pid`` as an :class:`OwnedProcess` if it runs now with arguments ``matches`` accepts; else None.

    Its start time is read now: from here on a recycled PID is told apart.
    """
    arguments = process_arguments(pid)
    if arguments is None or not matches(arguments):
        return None
    start_ticks = process_start_ticks(pid)
    if start_ticks is None:
        return None
    process = OwnedProcess(pid, start_ticks, matches)
    # The PID may have changed hands between the two reads above.
    return process if process.is_running() else None


def recorded_process(path: Path, matches: ArgumentCheck) -> OwnedProcess | None:
    """The process a pidfile written by :func:`write_pidfile` names, while it runs (see :func:`recorded_pid`)."""
    record = read_pidfile(path)
    if record is None or record.start_ticks is None:
        return None
    process = OwnedProcess(record.pid, record.start_ticks, matches)
    return process if process.is_running() else None


def find_processes(matches: ArgumentCheck) -> list[OwnedProcess]:
    """Every running process whose arguments ``matches`` accepts, by PID."""
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            process = owned_process(int(entry.name), matches)
            if process is not None:
                found.append(process)
    return sorted(found, key=lambda process: process.pid)


def send_signal(process: OwnedProcess, signal_number: int) -> bool:
    """Send ``signal_number`` if ``process`` is still ours (checked just before); True if it was sent."""
    if not process.is_running():
        return False
    try:
        os.kill(process.pid, signal_number)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(processes: list[OwnedProcess], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while any(process.is_running() for process in processes) and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)


def stop_processes(
    processes: Iterable[OwnedProcess], grace_seconds: float, kill_wait_seconds: float = 0.0
) -> list[int]:
    """Stop each process that is still ours; returns the PIDs that were signalled.

    Sends SIGTERM to each one :meth:`OwnedProcess.is_running` confirms, waits
    up to ``grace_seconds`` for all of them, then SIGKILLs those still
    running (checked again first) and waits up to ``kill_wait_seconds`` for
    them to go.  A process that is gone or is no longer ours is never
    signalled; raises nothing for processes that vanish meanwhile.
    """
    signalled = [process for process in processes if send_signal(process, signal.SIGTERM)]
    _wait_gone(signalled, grace_seconds)
    killed = [process for process in signalled if send_signal(process, signal.SIGKILL)]
    if killed:
        _wait_gone(killed, kill_wait_seconds)
    return [process.pid for process in signalled]


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created, with its folder) for the ``with`` block.

    Two starts at once (say, two test sessions) take turns: the second sees
    what the first started.  The lock goes with the process that holds it,
    so a crash never leaves it held.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
