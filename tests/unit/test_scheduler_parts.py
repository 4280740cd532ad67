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


SIGTERM_DURING_IMPORTS = r"""
import importlib.abc, json, os, signal, sys

from config.settings import load_settings
from crawler.schedules import ScheduledJob
from onionscope.scheduling import runner

recorded = []
runner._record = lambda settings, document: recorded.append(document)  # no Elasticsearch here
sys.modules.pop("pipelines.job_runs", None)


class SigtermOnFirstImport(importlib.abc.MetaPathFinder):
    # The scheduler's SIGTERM, arriving while the run's slow imports are still going on.
    fired = False

    def find_spec(self, name, path, target=None):
        if name == "pipelines.job_runs" and not self.fired:
            SigtermOnFirstImport.fired = True
            os.kill(os.getpid(), signal.SIGTERM)
        return None


sys.meta_path.insert(0, SigtermOnFirstImport())
job = ScheduledJob(name="even", seeds=("http://example.onion/",), seeds_file=None, cron=None, every_seconds=60)
result = runner.run_job(load_settings(environ=dict(os.environ)), job)
print(json.dumps({"fired": SigtermOnFirstImport.fired, "outcome": result.outcome, "reason": result.reason,
                  "recorded": [(d["job_id"], d["outcome"], d["started_at"]) for d in recorded]}))
"""


SIGTERM_INSIDE_A_WRAPPING_LIBRARY = r"""
import json, os, signal

from config.settings import load_settings
from crawler.schedules import ScheduledJob
from onionscope.scheduling import runner

recorded = []
runner._record = lambda settings, document: recorded.append(document)  # no Elasticsearch here


def index_status_request(*args, **kwargs):
    # The scheduler's SIGTERM lands inside a request of a library that wraps every exception it sees,
    # as elastic_transport does ("raise err from e"): the handler's exception comes out as another one.
    try:
        os.kill(os.getpid(), signal.SIGTERM)
    except Exception as exc:
        raise ConnectionError("Connection error") from exc
    raise AssertionError("the SIGTERM handler did not run")


runner._run_job = index_status_request
job = ScheduledJob(name="even", seeds=("http://example.onion/",), seeds_file=None, cron=None, every_seconds=60)
result = runner.run_job(load_settings(environ=dict(os.environ)), job)
print(json.dumps({"outcome": result.outcome, "reason": result.reason,
                  "recorded": [(d["job_id"], d["outcome"]) for d in recorded]}))
"""


def test_a_sigterm_that_a_library_wraps_in_its_own_error_is_still_recorded_as_a_failed_run(tmp_path: Path) -> None:
    """Seen in a whole-suite run: the SIGTERM landed in the pre-crawl index check, elastic_transport turned it
    into a ConnectionError, and the run exited 1 with no record."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ONIONSCOPE_")}
    environment["ONIONSCOPE_VAR_DIR"] = str(tmp_path / "var")
    process = subprocess.run([sys.executable, "-c", SIGTERM_INSIDE_A_WRAPPING_LIBRARY], capture_output=True,
                             text=True, timeout=120, env=environment, cwd=Path(__file__).resolve().parents[2])
    assert process.returncode == 0, process.stderr[-3000:]
    result = json.loads(process.stdout.strip().splitlines()[-1])
    assert (result["outcome"], result["reason"]) == ("failed", "stopped (SIGTERM) before its crawl started")
    [(job_id, outcome)] = result["recorded"]
    assert outcome == "failed" and job_id.startswith("even-")


def test_a_sigterm_during_the_runs_imports_is_recorded_as_a_failed_run(tmp_path: Path) -> None:
    """The scheduler stopping a run before its crawl started, even mid-import, leaves a record (not exit 1)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ONIONSCOPE_")}
    environment["ONIONSCOPE_VAR_DIR"] = str(tmp_path / "var")
    process = subprocess.run([sys.executable, "-c", SIGTERM_DURING_IMPORTS], capture_output=True, text=True,
                             timeout=120, env=environment, cwd=Path(__file__).resolve().parents[2])
    assert process.returncode == 0, process.stderr[-3000:]
    result = json.loads(process.stdout.strip().splitlines()[-1])
    assert result["fired"] is True
    assert (result["outcome"], result["reason"]) == ("failed", "stopped (SIGTERM) before its crawl started")
    [(job_id, outcome, started_at)] = result["recorded"]
    assert outcome == "failed" and job_id.startswith("even-") and started_at.endswith("Z")
    assert job_id.split("-")[1] == started_at.replace("-", "").replace(":", "")  # the id names its start
