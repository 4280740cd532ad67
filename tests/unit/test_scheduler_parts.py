"""onionscope.scheduling: the locks, the state file and the JSON log lines the daemon relies on."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.processes import LockHeld, exclusive_lock, lock_holder
from onionscope.scheduling.logs import JsonLineFormatter
from onionscope.scheduling.state import load_state, parse_moment, save_state


def test_a_second_holder_is_refused_and_the_first_is_named(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "scheduler.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from config.processes import exclusive_lock\n"
         "with exclusive_lock(sys.argv[1], wait=False, record_holder=True):\n"
         "    print('held', flush=True); time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld) as refused:
            with exclusive_lock(path, wait=False, record_holder=True):
                pass
        assert refused.value.holder == holder.pid
        assert lock_holder(path) == holder.pid
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    finally:
        holder.kill()
        holder.wait()
    # The kernel released the lock with the process; its stale PID names nobody.
    assert lock_holder(path) is None
    with exclusive_lock(path, wait=False, record_holder=True):
        assert lock_holder(path) == os.getpid()
    assert lock_holder(path) is None


def test_state_round_trip_and_unreadable_state(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert load_state(path) == {"jobs": {}}
    save_state(path, {"jobs": {"a": {"last_due": "2026-01-01T00:00:02Z"}}})
    assert load_state(path)["jobs"]["a"]["last_due"] == "2026-01-01T00:00:02Z"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    path.write_text("{not json")
    assert load_state(path) == {"jobs": {}}
    assert parse_moment("2026-01-01T00:00:02Z").timestamp() == 1767225602
    assert parse_moment("2026-01-01T00:00:02") is None and parse_moment(None) is None


def test_log_lines_are_one_json_object_each_with_the_extra_fields() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter())
    logger = logging.getLogger("test.scheduler.json")
    logger.addHandler(handler)
    logger.propagate = False
    logger.warning("run %s\nskipped", "x\u202e", extra={"event": "run_skipped", "job": "nightly"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1  # the newline in the message cannot start a forged line
    line = json.loads(lines[0])
    assert line["message"] == "run x\u202e\nskipped" and "\\u202e" in lines[0]
    assert (line["level"], line["event"], line["job"]) == ("warning", "run_skipped", "nightly")
    assert line["ts"].endswith("Z")
