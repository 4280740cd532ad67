"""PID identity: a pidfile names a process only while that very process (same start time) runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from config.processes import (
    process_arguments,
    process_start_ticks,
    read_pidfile,
    recorded_pid,
    runs_python_module,
    write_pidfile,
)

# Says "ready" once Python runs, so its command line is in place before the test reads it.
SLEEP = [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)"]


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([*SLEEP, "-m", "onionscope.cli", "serve"], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_a_pidfile_written_for_a_process_names_it(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    pidfile = tmp_path / "run" / "serve.pid"
    write_pidfile(pidfile, sleeper.pid)
    fields = pidfile.read_text().split()
    assert fields[0] == str(sleeper.pid) and fields[1] == str(process_start_ticks(sleeper.pid))
    assert read_pidfile(pidfile).pid == sleeper.pid
    assert recorded_pid(pidfile, lambda arguments: runs_python_module(arguments, "onionscope.cli")) == sleeper.pid
    assert recorded_pid(pidfile, lambda arguments: runs_python_module(arguments, "harness.demo.server")) is None


def test_the_same_pid_with_another_start_time_is_another_process(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    # What a pidfile looks like once its process has exited and the PID went to a newer one.
    pidfile = tmp_path / "serve.pid"
    pidfile.write_text(f"{sleeper.pid} {process_start_ticks(sleeper.pid) - 1}\n")
    assert recorded_pid(pidfile, lambda arguments: True) is None


def test_a_pidfile_without_a_start_time_never_names_a_process(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    pidfile = tmp_path / "serve.pid"
    pidfile.write_text(f"{sleeper.pid}\n")  # as tor and Elasticsearch write theirs, and onionscope did before
    assert read_pidfile(pidfile).start_ticks is None
    assert recorded_pid(pidfile, lambda arguments: True) is None


@pytest.mark.parametrize("text", ["", "abc", "-5", "0", "12 34 56", "12 x", "12.5"])
def test_malformed_pidfiles_hold_no_pid(tmp_path: Path, text: str) -> None:
    pidfile = tmp_path / "x.pid"
    pidfile.write_text(text)
    assert read_pidfile(pidfile) is None
    assert read_pidfile(tmp_path / "missing.pid") is None


def test_zombies_and_vanished_processes_have_no_arguments(tmp_path: Path) -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while Path(f"/proc/{finished.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child never exited"  # exited, not reaped yet: a zombie
    assert process_arguments(finished.pid) is None
    finished.wait()
    assert process_arguments(finished.pid) is None and process_start_ticks(finished.pid) is None
    with pytest.raises(ProcessLookupError):
        write_pidfile(tmp_path / "gone.pid", finished.pid)


def test_a_command_name_with_parentheses_and_spaces_is_read_correctly(tmp_path: Path) -> None:
    # The kernel shows the name in parentheses in /proc/<pid>/stat; this one imitates a zombie's fields.
    binary = tmp_path / "x) Z 1 2 3"
    binary.symlink_to(os.path.realpath(sys.executable))  # the kernel names the process after this link
    process = subprocess.Popen([str(binary), *SLEEP[1:]], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    try:
        assert ") Z 1 2 3)" in Path(f"/proc/{process.pid}/stat").read_text()
        assert process_arguments(process.pid) == [str(binary), *SLEEP[1:]]
        assert process_start_ticks(process.pid) is not None
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("arguments,expected", [
    (["python3", "-m", "onionscope.cli", "serve"], True),
    (["python3", "-X", "dev", "-m", "onionscope.cli", "serve"], True),
    (["python3", "-m", "onionscope.climax"], False),
    (["python3", "onionscope.cli", "-m"], False),
    (["vim", "onionscope/cli.py"], False),
])
def test_runs_python_module(arguments: list[str], expected: bool) -> None:
    assert runs_python_module(arguments, "onionscope.cli") is expected
