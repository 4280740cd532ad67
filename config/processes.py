"""Whether a recorded PID still names the process onionscope started (Linux /proc): the one place that answers it.

A PID alone is not an identity: once our process has exited, the kernel hands
its number to the next process, which may even run the same command.  So
before signalling a PID, callers check two things:

* its command line, read with :func:`process_arguments`, names what they
  started: tor with its torrc (:mod:`harness.testnet.tor_process`),
  Elasticsearch with its home folder (:mod:`harness.elasticsearch_node`),
  a ``python -m`` module (the demo server and the demo's web UI);
* where onionscope writes the pidfile itself, the process's start time:
  :func:`write_pidfile` records ``"<pid> <start>"`` and :func:`recorded_pid`
  accepts the PID only while the process holding it started at that moment.
  A recycled PID belongs to a process that started later, whatever its
  command line.

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
  moment and has arguments that ``matches`` accepts; else ``None``.

Reads only /proc and the pidfile; raises nothing for vanished processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

PROC = Path("/proc")
# /proc/<pid>/stat: the fields after the ")" that closes the command name
# start with field 3 (state); field 22 is the start time.
_STATE_INDEX = 0
_START_TIME_INDEX = 22 - 3


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


def recorded_pid(path: Path, matches: Callable[[list[str]], bool]) -> int | None:
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
