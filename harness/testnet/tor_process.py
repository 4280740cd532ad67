"""Starting and stopping the tor processes of a private network, by PID.

Public API:

* :func:`start_tor_daemons` -> ``{torrc path: pid}``; starts each torrc as
  ``tor --defaults-torrc <empty file> -f <torrc>`` (the torrc says
  ``RunAsDaemon 1``), in parallel, and returns once each has forked into the
  background with its PidFile written;
* :func:`is_our_tor` -> whether a PID is alive *and* is tor started with that
  torrc (guards against killing a recycled PID); :func:`runs_tor_with` is the
  same check on a command line;
* :func:`read_tor_pid` ``(pid_file) -> int | None`` -- the PID tor wrote;
* :func:`reload_tor` ``(pid, torrc) -> bool`` -- SIGHUP (tor re-reads its torrc) to a verified PID;
* :func:`stop_tor` -> stops verified PIDs (SIGTERM, then SIGKILL after a
  grace period) and returns the PIDs it stopped;
* :class:`TorStartError` (a :class:`~config.errors.UserError`) carries
  tor's own complaint (a port in use, a bad option) and the log's tail.

Never signals a PID that :func:`is_our_tor` does not confirm: checking and
stopping go through the project's one process helper (:mod:`config.processes`),
which also re-checks the start time before the SIGKILL.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterable

from config.errors import UserError
from config.processes import ArgumentCheck, owned_process, read_pidfile, send_signal, stop_processes

START_TIMEOUT_SECONDS = 60.0
# tor exits at once on SIGTERM, unless a busy worker thread (consensus compression
# on a loaded machine) holds it; the network keeps nothing worth a longer wait.
STOP_GRACE_SECONDS = 5.0
PID_FILE_TIMEOUT_SECONDS = 10.0


class TorStartError(UserError):
    """A tor of the private network did not start; the message holds tor's reason."""


def tor_binary() -> str:
    """Path of tor; raises :class:`TorStartError` when it is not installed."""
    path = shutil.which("tor")
    if path is None:
        raise TorStartError("tor is not installed; install Debian's tor package (`make install` does)")
    return path


def start_tor_daemons(torrcs: Iterable[tuple[Path, Path]], empty_defaults: Path) -> dict[Path, int]:
    """Start one tor per ``(torrc, pid_file)``; returns ``{torrc: pid}``.

    Raises :class:`TorStartError` for the first tor that exits with an error
    (the others that did start are still returned through the exception's
    ``started`` attribute so the caller can stop them).
    """
    binary = tor_binary()
    launches = []
    for torrc, pid_file in torrcs:
        pid_file.unlink(missing_ok=True)
        process = subprocess.Popen(
            [binary, "--defaults-torrc", str(empty_defaults), "-f", str(torrc)],
            env=_tor_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        launches.append((torrc, pid_file, process))
    started: dict[Path, int] = {}
    failures = []
    for torrc, pid_file, process in launches:
        try:
            output, _ = process.communicate(timeout=START_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            failures.append(f"{torrc.stem}: tor did not go to the background within {START_TIMEOUT_SECONDS:.0f} s")
            continue
        pid = _wait_pid(pid_file) if process.returncode == 0 else read_tor_pid(pid_file)
        if process.returncode != 0 or pid is None:
            failures.append(
                f"{torrc.stem}: tor exited with {process.returncode}"
                + ("" if pid is not None or process.returncode else f" but wrote no {pid_file}")
                + f": {_last_lines(output)}"
            )
            if pid is not None and is_our_tor(pid, torrc):
                started[torrc] = pid
            continue
        started[torrc] = pid
    if failures:
        error = TorStartError("; ".join(failures))
        error.started = started  # type: ignore[attr-defined]
        raise error
    return started


def _tor_environment() -> dict[str, str]:
    # Relays compress every new consensus (lzma, zstd) in a worker thread; with
    # glibc's default per-thread arenas and sliding mmap threshold the freed
    # buffers stay resident (~60 MB per relay).  One arena and a fixed mmap
    # threshold hand them back to the kernel.
    environment = dict(os.environ)
    environment.setdefault("MALLOC_ARENA_MAX", "1")
    environment.setdefault("MALLOC_MMAP_THRESHOLD_", "131072")
    return environment


def _wait_pid(pid_file: Path, timeout: float = PID_FILE_TIMEOUT_SECONDS) -> int | None:
    # The launching process returns as soon as the daemon has detached, which
    # can be a moment before the daemon writes its PidFile.
    deadline = time.monotonic() + timeout
    while True:
        pid = read_tor_pid(pid_file)
        if pid is not None or time.monotonic() > deadline:
            return pid
        time.sleep(0.02)


def read_tor_pid(pid_file: Path) -> int | None:
    """The PID in a tor PidFile (tor writes no start time), or None when it is missing or malformed."""
    record = read_pidfile(pid_file)
    return record.pid if record else None


# Warnings every private-network tor prints; they never explain a failure.
_EXPECTED_WARNINGS = ("DirAuthority or AlternateDirAuthority", "TestingTorNetwork is set", "running Tor as root",
                      "V3AuthVotingInterval is very low", "SafeLogging")


def _last_lines(text: str, count: int = 3) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    complaints = [line for line in lines if ("[warn]" in line or "[err]" in line)
                  and not any(expected in line for expected in _EXPECTED_WARNINGS)]
    return " | ".join((complaints or lines)[-count:]) or "(no output)"


def runs_tor_with(arguments: list[str], torrc: Path) -> bool:
    """True if ``arguments`` are tor's (argv[0] named ``tor``) with ``-f <torrc>``."""
    if not arguments or Path(arguments[0]).name != "tor":
        return False
    return any(arguments[i] == "-f" and arguments[i + 1] == str(torrc) for i in range(len(arguments) - 1))


def _tor_check(torrc: Path) -> ArgumentCheck:
    return functools.partial(runs_tor_with, torrc=torrc)


def is_our_tor(pid: int, torrc: Path) -> bool:
    """True if ``pid`` runs, is not a zombie, and is tor with ``-f <torrc>``."""
    return owned_process(pid, _tor_check(torrc)) is not None


def reload_tor(pid: int, torrc: Path) -> bool:
    """Send SIGHUP (re-read the torrc) if ``pid`` is tor with ``-f <torrc>``; True if it was sent."""
    process = owned_process(pid, _tor_check(torrc))
    return process is not None and send_signal(process, signal.SIGHUP)


def stop_tor(processes: Iterable[tuple[int, Path]], grace_seconds: float = STOP_GRACE_SECONDS) -> list[int]:
    """Stop each ``(pid, torrc)`` that :func:`is_our_tor` confirms; returns the PIDs signalled.

    Sends SIGTERM, waits up to ``grace_seconds`` for all of them, then SIGKILLs
    the ones still running (re-verified first, start time included).
    """
    owned = [owned_process(pid, _tor_check(torrc)) for pid, torrc in processes]
    return stop_processes([process for process in owned if process is not None], grace_seconds)
