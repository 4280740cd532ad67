"""The one process helper (config.processes): owned processes, stop with re-checks, start lock, pidfile release.

Every process here is a child of the test, so nothing outside it is ever signalled.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from config.processes import (
    OwnedProcess, exclusive_lock, find_processes, owned_process, process_start_ticks, recorded_process,
    remove_pidfile, runs_python_module, stop_processes, write_pidfile,
)

# Says "ready" once Python runs (and, for the stubborn one, once SIGTERM is ignored).
SLEEP = [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)"]
STUBBORN = [sys.executable, "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
            "time.sleep(60)"]


@pytest.fixture
def start() -> Iterator[Callable[[list[str]], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def launch(command: list[str]) -> subprocess.Popen[bytes]:
        started.append(subprocess.Popen(command, stdout=subprocess.PIPE))
        assert started[-1].stdout is not None and started[-1].stdout.readline() == b"ready\n"
        return started[-1]

    yield launch
    for process in started:
        process.kill()
        process.wait()


def _module(name: str) -> Callable[[list[str]], bool]:
    return lambda arguments: runs_python_module(arguments, name)


def test_an_owned_process_is_its_pid_start_time_and_command_line(start) -> None:  # type: ignore[no-untyped-def]
    child = start([*SLEEP, "-m", "harness.demo.server"])
    process = owned_process(child.pid, _module("harness.demo.server"))
    assert process == OwnedProcess(child.pid, process_start_ticks(child.pid), process.matches)
    assert process.is_running()
    assert owned_process(child.pid, _module("onionscope.cli")) is None
    assert [found.pid for found in find_processes(_module("harness.demo.server"))
            if found.pid == child.pid] == [child.pid]
    child.kill()
    child.wait()
    assert not process.is_running() and owned_process(child.pid, _module("harness.demo.server")) is None


def test_a_recycled_pid_is_never_signalled(start) -> None:  # type: ignore[no-untyped-def]
    # What a process record looks like once its PID went to a newer process with the same command line.
    bystander = start([*SLEEP, "-m", "harness.demo.server"])
    earlier = OwnedProcess(bystander.pid, process_start_ticks(bystander.pid) - 1, _module("harness.demo.server"))
    assert stop_processes([earlier], grace_seconds=0.2) == []
    assert bystander.poll() is None, "a recycled PID was signalled"


def test_stop_terms_then_kills_what_ignores_sigterm(start) -> None:  # type: ignore[no-untyped-def]
    polite = start([*SLEEP, "-m", "harness.demo.server"])
    stubborn = start([*STUBBORN, "-m", "harness.demo.server"])
    processes = [owned_process(child.pid, _module("harness.demo.server")) for child in (polite, stubborn)]
    began = time.monotonic()
    assert stop_processes([p for p in processes if p], grace_seconds=1.0, kill_wait_seconds=5) == [polite.pid, stubborn.pid]
    assert polite.wait(timeout=5) == -signal.SIGTERM
    assert stubborn.wait(timeout=5) == -signal.SIGKILL
    assert time.monotonic() - began >= 1.0  # the stubborn one had its grace period


def test_a_pidfile_names_its_process_and_is_removed_only_by_it(tmp_path: Path, start) -> None:  # type: ignore[no-untyped-def]
    child = start([*SLEEP, "-m", "onionscope.cli", "serve"])
    pidfile = tmp_path / "serve.pid"
    write_pidfile(pidfile, child.pid)
    process = recorded_process(pidfile, _module("onionscope.cli"))
    assert process is not None and process.pid == child.pid
    assert recorded_process(pidfile, _module("harness.demo.server")) is None
    assert remove_pidfile(pidfile, child.pid + 1) is False and pidfile.exists()
    assert remove_pidfile(pidfile, child.pid) is True and not pidfile.exists()
    assert remove_pidfile(pidfile, child.pid) is False


def test_the_start_lock_lets_one_holder_in_at_a_time(tmp_path: Path) -> None:
    lock = tmp_path / "run" / ".start.lock"
    inside: list[int] = []
    overlaps: list[int] = []

    def hold(number: int) -> None:
        with exclusive_lock(lock):
            inside.append(number)
            if len(inside) > 1:
                overlaps.append(number)
            time.sleep(0.1)
            inside.remove(number)

    # flock is per open file, so threads of one process exclude each other as processes do.
    threads = [threading.Thread(target=hold, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert overlaps == [] and inside == [] and lock.exists()
