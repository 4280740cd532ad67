"""The scheduler daemon: runs each job of a schedules file when it is due, one child process per run.

How it behaves:

* **One per schedules file.**  It holds ``<scheduler dir>/scheduler.lock``
  (:mod:`onionscope.scheduling.locks`) while it runs; a second scheduler on the
  same file refuses to start and names the first one's PID.
* **A child per run.**  Each run is ``python -m onionscope.cli jobs run NAME
  --job-id ID ...`` (:mod:`onionscope.scheduling.runner`) with its own job id
  (``<name>-<UTC time>-<random>``), in its own session, its output in
  ``<scheduler dir>/logs/<job id>.log`` (0600).
* **Never twice at once.**  A run due while the job's previous run is still
  going is not started: it is recorded in the crawl-runs index as ``skipped``
  (and counted).  The child also takes the job's run lock, so a ``jobs run``
  started by hand cannot overlap either.
* **Missed runs.**  The latest moment acted on is kept per job in
  ``state.json`` (:mod:`onionscope.scheduling.state`).  At start-up, a job
  with runs due since then runs once (trigger ``catch-up``, ``missed_runs`` =
  how many were due), not once per missed run.  A job seen for the first time
  has missed nothing.  The same holds while running: a daemon held up past
  several due moments runs the job once.
* **Every run recorded.**  A child records its own run when its spider
  closes.  When a child exits without a record (it crashed, or was killed,
  or stopped before its crawl started), the daemon records the run as
  ``failed`` with the exit status and the log file's name.
* **SIGTERM / SIGINT.**  The daemon stops starting runs, sends SIGTERM to each
  running child (Scrapy stops gracefully: the crawl flushes and records
  ``partial``), waits up to ``scheduler_stop_seconds``, then kills what is
  left (recorded ``failed``), writes its state and exits 0.

Public API: :class:`Scheduler` (schedule, settings, ...) with :meth:`~Scheduler.run` (stop event)
and :meth:`~Scheduler.request_stop`; :class:`SchedulerBusy`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from config.errors import UserError
from config.i18n import gettext
from config.processes import (
    LockHeld, OwnedProcess, exclusive_lock, process_start_ticks, runs_python_module, send_signal,
)
from config.paths import index_templates_dir
from crawler.job import new_job_id
from crawler.schedules import Schedule, ScheduledJob
from pipelines.es_client import make_client
from pipelines.job_runs import run_record, utc_iso, write_run_record
from search.es_steps import run as run_steps
from search.job_runs import run_detail_steps
from onionscope.scheduling.locks import scheduler_dir, scheduler_lock_path
from onionscope.scheduling.metrics import SchedulerMetrics, discovery_queue_reader
from onionscope.scheduling.state import load_state, parse_moment, save_state

logger = logging.getLogger("onionscope.scheduler")

# Longest wait between two looks at the children (how late an exit is noticed).
POLL_SECONDS = 0.2


def _owned_child(pid: int, job_id: str) -> OwnedProcess | None:
    """The child ``pid`` running ``onionscope.cli ... --job-id job_id``, as :class:`config.processes.OwnedProcess`.

    Its start time is read now (fork and exec keep it), while its arguments
    are checked at each signal, after the child has exec'd.  None if it is gone already.
    """
    start_ticks = process_start_ticks(pid)
    if start_ticks is None:
        return None

    def matches(arguments: list[str]) -> bool:
        return runs_python_module(arguments, "onionscope.cli") and job_id in arguments

    return OwnedProcess(pid, start_ticks, matches)


class SchedulerBusy(UserError):
    """Another scheduler already runs on these schedules."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Run:
    """A child process running one run of a job."""

    job: ScheduledJob
    job_id: str
    process: subprocess.Popen
    launched_at: datetime
    trigger: str
    scheduled_for: datetime
    log_path: Path
    # The child as config.processes knows it (PID, start time, `onionscope.cli ... --job-id <job id>`):
    # every signal goes through it, so a PID that changed hands is never signalled.
    owned: OwnedProcess | None = None
    stop_sent_at: float | None = None
    killed: bool = False


class Scheduler:
    """Runs the jobs of ``schedule``; see the module docstring.

    ``config_file`` is handed to the children (``onionscope --config``);
    ``clock`` returns an aware UTC datetime (tests may pass their own).
    """

    def __init__(self, schedule: Schedule, settings: Any, *, config_file: str | None = None,
                 metrics: SchedulerMetrics | None = None, clock: Callable[[], datetime] = _now):
        self.schedule = schedule
        self.settings = settings
        self.config_file = config_file
        self.clock = clock
        self.directory = scheduler_dir(settings, schedule.path)
        self.lock_path = scheduler_lock_path(self.directory)
        self._lock = contextlib.ExitStack()
        self.state_path = self.directory / "state.json"
        self.logs_dir = self.directory / "logs"
        self.jobs = {name: job for name, job in schedule.jobs.items() if job.enabled}
        self.metrics = metrics or SchedulerMetrics(self.jobs, Path(settings.var_dir) / "spool",
                                                   discovery_queue_reader(settings))
        self.running: dict[str, Run] = {}
        self.last_due: dict[str, datetime] = {}
        self.next_due: dict[str, datetime] = {}
        self._stop = threading.Event()
        self._records: queue.Queue = queue.Queue()
        self._writer = threading.Thread(target=self._write_records, name="onionscope-run-records", daemon=True)
        self._client: Any = None
        self._templates_dir = index_templates_dir(settings.config_dir)

    # ------------------------------------------------------------------ life cycle

    def acquire(self) -> None:
        """Take the scheduler lock; raises :class:`SchedulerBusy` naming the holder."""
        try:
            self._lock.enter_context(exclusive_lock(self.lock_path, wait=False, record_holder=True))
        except LockHeld as held:
            if held.holder:
                raise SchedulerBusy(gettext("a scheduler already runs on {path} (pid {pid}); its lock is {lock}",
                                            path=self.schedule.path, pid=held.holder, lock=self.lock_path)) from None
            raise SchedulerBusy(gettext("a scheduler already runs on {path}; its lock is {lock}",
                                        path=self.schedule.path, lock=self.lock_path)) from None

    def release(self) -> None:
        """Give the scheduler lock up (safe to call twice)."""
        self._lock.close()

    def request_stop(self, *_: Any) -> None:
        """Ask the loop to stop (safe from a signal handler)."""
        self._stop.set()

    def run(self) -> None:
        """Run until :meth:`request_stop`; then stop the children and record them.  Needs :meth:`acquire` first."""
        self._client = make_client(self.settings)
        self._writer.start()
        self.logs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self._start_up()
            while not self._stop.is_set():
                self._tick()
                self._stop.wait(self._wait_seconds())
            self._shut_down()
        finally:
            self._records.put(None)
            self._writer.join(timeout=max(10.0, float(self.settings.es_timeout)))
            self._save_state(stopped=True)
            self._client.close()
            self.release()

    def _start_up(self) -> None:
        saved = load_state(self.state_path).get("jobs", {})
        now = self.clock()
        logger.info("scheduler started", extra={"event": "scheduler_started", "schedules": str(self.schedule.path),
                                                 "jobs": sorted(self.jobs), "pid": os.getpid()})
        for name, job in self.jobs.items():
            last_due = parse_moment((saved.get(name) or {}).get("last_due"))
            if last_due is None or last_due > now:
                self.last_due[name] = now  # a new job has missed nothing
            else:
                self.last_due[name] = last_due
                missed, latest = job.due_between(last_due, now)
                if missed and latest is not None:
                    logger.info("job %s missed %d runs while the scheduler was down; running it once", name, missed,
                                extra={"event": "catch_up", "job": name, "missed_runs": missed,
                                       "scheduled_for": _iso(latest)})
                    self._fire(job, latest, "catch-up", missed_runs=missed)
                    self.last_due[name] = latest
            self.next_due[name] = job.next_after(max(self.last_due[name], now))
            self.metrics.next_run.labels(name).set(self.next_due[name].timestamp())
        self._save_state()

    def _tick(self) -> None:
        self._reap()
        now = self.clock()
        for name, job in self.jobs.items():
            due = self.next_due[name]
            if due > now:
                continue
            missed, latest = job.due_between(due - timedelta(microseconds=1), now)
            self._fire(job, latest or due, "schedule", missed_runs=missed if missed > 1 else 0)
            self.last_due[name] = latest or due
            self.next_due[name] = job.next_after(self.last_due[name])
            self.metrics.next_run.labels(name).set(self.next_due[name].timestamp())
            self._save_state()

    def _wait_seconds(self) -> float:
        if not self.next_due:
            return POLL_SECONDS
        soonest = min(self.next_due.values())
        return max(0.0, min(POLL_SECONDS, (soonest - self.clock()).total_seconds()))

    # ------------------------------------------------------------------ runs

    def _fire(self, job: ScheduledJob, due: datetime, trigger: str, missed_runs: int = 0) -> None:
        job_id = new_job_id(job.name)
        previous = self.running.get(job.name)
        if previous is not None and previous.process.poll() is None:
            self._skip(job, job_id, due, trigger, previous, missed_runs)
            return
        log_path = self.logs_dir / f"{job_id}.log"
        command = [sys.executable, "-m", "onionscope.cli"]
        if self.config_file:
            command += ["--config", self.config_file]
        command += ["jobs", "run", job.name, "--schedules", str(self.schedule.path), "--job-id", job_id,
                    "--trigger", trigger, "--scheduled-for", _iso(due), "--missed-runs", str(missed_runs),
                    "--json", "--quiet", "--no-progress"]
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd,
                                       start_new_session=True, close_fds=True)
        except OSError as exc:
            os.close(fd)
            logger.error("could not start a run of job %s: %s", job.name, exc,
                         extra={"event": "run_not_started", "job": job.name, "job_id": job_id})
            self._record_failure(job, job_id, due, trigger, f"could not start its process: {exc}", missed_runs)
            return
        os.close(fd)
        launched = self.clock()
        self.running[job.name] = Run(job, job_id, process, launched, trigger, due, log_path,
                                     owned=_owned_child(process.pid, job_id))
        self.metrics.run_started(job.name)
        logger.info("run %s of job %s started", job_id, job.name, extra={
            "event": "run_started", "job": job.name, "job_id": job_id, "pid": process.pid, "trigger": trigger,
            "scheduled_for": _iso(due), "launched_at": launched.isoformat(timespec="milliseconds"),
            "late_seconds": round((launched - due).total_seconds(), 3), "log": str(log_path)})

    def _skip(self, job: ScheduledJob, job_id: str, due: datetime, trigger: str, previous: Run,
              missed_runs: int) -> None:
        reason = f"the previous run {previous.job_id} is still going"
        now = utc_iso(self.clock())
        record = run_record(job_id, job.name, outcome="skipped", reason=reason, started_at=now, finished_at=now,
                            trigger=trigger, scheduled_for=_iso(due), missed_runs=missed_runs)
        logger.warning("run of job %s due %s skipped: %s", job.name, _iso(due), reason, extra={
            "event": "run_skipped", "job": job.name, "job_id": job_id, "scheduled_for": _iso(due),
            "running_job_id": previous.job_id})
        self.metrics.run_finished(job.name, record, still_running=True)
        self._records.put(("write", job.name, record))

    def _record_failure(self, job: ScheduledJob, job_id: str, due: datetime, trigger: str, reason: str,
                        missed_runs: int = 0, started: datetime | None = None) -> None:
        record = run_record(job_id, job.name, outcome="failed", reason=reason,
                            started_at=utc_iso(started or self.clock()), finished_at=utc_iso(self.clock()),
                            trigger=trigger, scheduled_for=_iso(due), missed_runs=missed_runs,
                            seeds=list(job.seeds))
        self._records.put(("write", job.name, record))

    def _reap(self) -> None:
        reaped = False
        for name, run in list(self.running.items()):
            status = run.process.poll()
            if status is None:
                continue
            del self.running[name]
            reaped = True
            logger.info("run %s of job %s exited with status %s", run.job_id, name, status, extra={
                "event": "run_exited", "job": name, "job_id": run.job_id, "status": status,
                "seconds": round((self.clock() - run.launched_at).total_seconds(), 3)})
            self._records.put(("finish", name, run, status))
        if reaped:
            self._save_state()

    # ------------------------------------------------------------------ records (writer thread)

    def _write_records(self) -> None:
        """Writes run records and counts finished runs, off the timing loop (Elasticsearch may be slow)."""
        while True:
            task = self._records.get()
            if task is None:
                return
            try:
                if task[0] == "write":
                    _, name, record = task
                    write_run_record(self._client, self.settings.index_prefix, record, self._templates_dir)
                    if record["outcome"] != "skipped":
                        self.metrics.run_finished(name, record)
                else:
                    _, name, run, status = task
                    self._finish(name, run, status)
            except Exception as exc:  # Elasticsearch down: say so, keep scheduling
                logger.error("could not record a run: %s", exc, extra={"event": "record_failed", "job": task[1]})

    def _finish(self, name: str, run: Run, status: int) -> None:
        """Read the run's own record; write a failed one when the child left none."""
        record = run_steps(self._client, run_detail_steps(self.settings.index_prefix, run.job_id))
        if record is None:
            how = f"exited with status {status}"
            if status < 0:
                try:
                    how = f"was ended by {signal.Signals(-status).name}"
                except ValueError:
                    how = f"was ended by signal {-status}"
            if run.killed:
                how = f"did not stop within {self.settings.scheduler_stop_seconds:g} s of SIGTERM and was killed"
            record = run_record(
                run.job_id, name, outcome="failed", reason=f"its process {how} before it recorded an outcome; "
                f"see {run.log_path}", started_at=utc_iso(run.launched_at), finished_at=utc_iso(self.clock()),
                trigger=run.trigger, scheduled_for=_iso(run.scheduled_for), seeds=list(run.job.seeds))
            write_run_record(self._client, self.settings.index_prefix, record, self._templates_dir)
        self.metrics.run_finished(name, record, still_running=name in self.running)
        logger.info("run %s of job %s: %s", run.job_id, name, record.get("outcome"), extra={
            "event": "run_recorded", "job": name, "job_id": run.job_id, "outcome": record.get("outcome"),
            "pages": record.get("pages"), "items": record.get("items"), "error_count": record.get("error_count")})

    # ------------------------------------------------------------------ stopping

    def _shut_down(self) -> None:
        runs = list(self.running.values())
        logger.info("scheduler stopping; %d runs going", len(runs),
                    extra={"event": "scheduler_stopping", "running": [run.job_id for run in runs]})
        for run in runs:
            if run.process.poll() is None and run.owned is not None and send_signal(run.owned, signal.SIGTERM):
                run.stop_sent_at = time.monotonic()
        deadline = time.monotonic() + float(self.settings.scheduler_stop_seconds)
        while any(run.process.poll() is None for run in self.running.values()) and time.monotonic() < deadline:
            self._reap()
            time.sleep(POLL_SECONDS)
        for run in self.running.values():
            if run.process.poll() is None:
                run.killed = True
                logger.error("run %s of job %s did not stop in time; killing it", run.job_id, run.job.name,
                             extra={"event": "run_killed", "job": run.job.name, "job_id": run.job_id})
                if run.owned is not None:
                    send_signal(run.owned, signal.SIGKILL)
                # The rest of its session (extraction workers).  Not yet waited for, the child's
                # PID -- and so its process group -- cannot have changed hands.
                try:
                    os.killpg(run.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                run.process.wait()
        self._reap()
        logger.info("scheduler stopped", extra={"event": "scheduler_stopped"})

    def _save_state(self, stopped: bool = False) -> None:
        jobs = {}
        for name in self.jobs:
            run = self.running.get(name)
            jobs[name] = {
                "last_due": _iso(self.last_due[name]) if name in self.last_due else None,
                "next_run": _iso(self.next_due[name]) if name in self.next_due and not stopped else None,
                "running": None if run is None or stopped else {
                    "job_id": run.job_id, "pid": run.process.pid, "launched_at": _iso(run.launched_at)},
            }
        try:
            save_state(self.state_path, {"schedules": str(self.schedule.path.resolve()), "pid": os.getpid(),
                                         "updated_at": _iso(self.clock()), "jobs": jobs})
        except OSError as exc:
            logger.error("could not save the scheduler state to %s: %s", self.state_path, exc,
                         extra={"event": "state_not_saved"})
