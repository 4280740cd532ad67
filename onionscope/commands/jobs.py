"""``onionscope jobs list | run NAME | status | history NAME``: the scheduled crawl jobs.

* ``list`` -- the jobs of the schedules file: timing, next run, seeds, depth, discover;
* ``run NAME`` -- run the job now, in this process (as the scheduler's children
  do); a run of the same job that is still going makes this one ``skipped``
  (recorded); prints the crawl summary and the outcome; exit status 0 for
  ``ok`` and ``skipped``, 1 otherwise;
* ``status`` -- whether a scheduler runs on this schedules file (its PID),
  each job's running run, last run and next run;
* ``status NAME`` -- the shared job NAME (``crawl --job NAME --shared``), from
  Redis: its state, requests queued, requests in flight (leased) and leases
  past their deadline, pages done, requests requeued after a lease ran out,
  the workers alive and every worker's own figures; exit status 1 when Redis
  holds no such job;
* ``history NAME [--json] [--limit N]`` -- the job's runs, newest first; with
  ``--json`` a JSON list, each run with ``job_id``, ``started_at``,
  ``finished_at``, ``outcome``, ``pages`` and the other summary fields
  (:data:`search.job_runs.SUMMARY_FIELDS`).

Every command takes ``--schedules FILE`` (default: the ``schedules_file``
setting).  A wrong schedules file or an unknown job is one error line
(:class:`crawler.schedules.ScheduleError`); Elasticsearch unreachable too.
Text from run records is escaped for the terminal (``--json``: ``\\u`` escapes).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipelines.job_runs import TRIGGERS
from config.i18n import _


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)

    def with_schedules(sub_parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub_parser.add_argument("--schedules", metavar="FILE", help=_("schedules file (default: schedules_file)"))
        return sub_parser

    listing = with_schedules(sub.add_parser("list", help=_("the scheduled jobs and their next runs")))
    listing.add_argument("--json", action="store_true", help=_("print JSON"))
    run_parser = with_schedules(sub.add_parser("run", help=_("run a job now, in this process")))
    run_parser.add_argument("name", metavar="NAME")
    run_parser.add_argument("--json", action="store_true", help=_("print the crawl summary as JSON"))
    run_parser.add_argument("--quiet", action="store_true", help=_("only warnings and errors from Scrapy"))
    run_parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                            help=_("show a progress line (default: on a terminal without --json)"))
    # Set by the scheduler for the children it starts.
    run_parser.add_argument("--job-id", help=argparse.SUPPRESS)
    run_parser.add_argument("--trigger", choices=TRIGGERS, default="manual", help=argparse.SUPPRESS)
    run_parser.add_argument("--scheduled-for", help=argparse.SUPPRESS)
    run_parser.add_argument("--missed-runs", type=int, default=0, help=argparse.SUPPRESS)
    status = with_schedules(sub.add_parser(
        "status", help=_("the scheduler, and each job's running, last and next run; with NAME, the shared job NAME")))
    status.add_argument("name", metavar="NAME", nargs="?",
                        help=_("a shared job (crawl --job NAME --shared): its queue, leases, pages done and workers"))
    status.add_argument("--json", action="store_true", help=_("print JSON"))
    history = with_schedules(sub.add_parser("history", help=_("a job's runs, newest first")))
    history.add_argument("name", metavar="NAME")
    history.add_argument("--json", action="store_true", help=_("print a JSON list"))
    history.add_argument("--limit", type=int, default=50, metavar="N", help=_("at most N runs (default 50, at most 1000)"))


def _schedule(args: argparse.Namespace, settings: Any) -> Any:
    from crawler.schedules import load_schedule, schedules_path

    return load_schedule(Path(args.schedules) if args.schedules
                         else schedules_path(settings.schedules_file, settings.config_dir))


def _print_json(value: Any) -> None:
    from search.cli_output import escape_json_text

    print(escape_json_text(json.dumps(value, indent=2, sort_keys=True, default=str)))


def _text(value: Any) -> str:
    from search.cli_output import escape_terminal

    return escape_terminal("—" if value in (None, "") else str(value))


def run(args: argparse.Namespace, settings: Any) -> int:
    if args.jobs_command == "status" and getattr(args, "name", None):
        return _shared_status(args, settings)
    schedule = _schedule(args, settings)
    if args.jobs_command == "run":
        return _run(args, settings, schedule)
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from onionscope.commands.search import es_user_error

    try:
        if args.jobs_command == "list":
            return _list(args, settings, schedule)
        if args.jobs_command == "status":
            return _status(args, settings, schedule)
        return _history(args, settings, schedule)
    except (TransportError, ApiError) as exc:
        raise es_user_error(exc, settings) from None


def _overview(settings: Any, schedule: Any, runs_per_job: int) -> list[dict[str, Any]]:
    from search.connection import connect
    from search.es_steps import run as run_steps
    from search.job_runs import jobs_overview_steps

    client = connect(settings)
    try:
        return run_steps(client, jobs_overview_steps(settings.index_prefix, schedule, datetime.now(timezone.utc),
                                                     runs_per_job))
    finally:
        client.close()


def _list(args: argparse.Namespace, settings: Any, schedule: Any) -> int:
    from search.job_runs import job_overview

    # Listing needs no Elasticsearch.
    now = datetime.now(timezone.utc)
    overview = [job_overview(job, now) for job in schedule.jobs.values()]
    if args.json:
        _print_json([{key: value for key, value in job.items() if key != "last_runs"} for job in overview])
        return 0
    if not overview:
        print(_("no jobs in {path}; see README, \"Scheduled jobs\"", path=schedule.path))
    for job in overview:
        state = _("next {when}", when=job["next_run"]) if job["enabled"] else _("disabled")
        print(f"{job['name']:<24} {job['timing']:<22} {state:<26} seeds={job['seeds']} "
              f"depth={_text(job['depth'])} discover={job['discover']}")
    return 0


def _status(args: argparse.Namespace, settings: Any, schedule: Any) -> int:
    from config.processes import lock_holder
    from onionscope.scheduling.locks import scheduler_dir, scheduler_lock_path
    from onionscope.scheduling.state import load_state

    directory = scheduler_dir(settings, schedule.path)
    scheduler_pid = lock_holder(scheduler_lock_path(directory))
    state = load_state(directory / "state.json") if scheduler_pid else {"jobs": {}}
    overview = _overview(settings, schedule, 1)
    for job in overview:
        running = (state["jobs"].get(job["name"]) or {}).get("running")
        job["running"] = running
        job["last_run"] = job.pop("last_runs")[0] if job.get("last_runs") else None
    if args.json:
        _print_json({"scheduler": {"running": scheduler_pid is not None, "pid": scheduler_pid,
                                   "schedules": str(schedule.path)}, "jobs": overview})
        return 0
    print(_("scheduler: running (pid {pid})", pid=scheduler_pid) if scheduler_pid
          else _("scheduler: not running (start it with `onionscope scheduler --schedules {path}`)",
                 path=schedule.path))
    for job in overview:
        last = job["last_run"]
        last_text = (_("last {outcome} {when}", outcome=_text(last["outcome"]), when=_text(last["started_at"]))
                     if last else _("no run yet"))
        running = _("running {job}", job=job["running"]["job_id"]) if job["running"] else _("idle")
        nxt = _("next {when}", when=job["next_run"]) if job["enabled"] else _("disabled")
        print(f"{job['name']:<24} {running:<40} {last_text:<36} {nxt}")
    return 0


def shared_job_status(settings: Any, job_id: str) -> dict[str, Any] | None:
    """The shared job ``job_id`` as Redis holds it, or None when Redis has no such job; raises UserError
    (crawler.frontier.FrontierUnavailable) when Redis does not answer."""
    from dataclasses import asdict

    from crawler.frontier import connect, job_keys
    from crawler.frontier.leases import LeaseStore
    from crawler.frontier.workers import alive_workers, job_state, worker_runs
    from pipelines.crawl_runs import worker_row

    client = connect(settings)
    try:
        keys = job_keys(settings, job_id)
        state = job_state(client, keys)
        if not state:
            return None
        counts = LeaseStore(client, keys).counts()
        workers = [{key: value for key, value in worker_row(run).items() if key != "stats"}
                   for run in worker_runs(client, keys)]
        return {"job_id": job_id, "state": state.get("state"), "started_at": state.get("started_at"),
                "finished_at": state.get("finished_at"), **asdict(counts),
                "workers_alive": alive_workers(client, keys), "workers": workers}
    finally:
        client.close()


def _shared_status(args: argparse.Namespace, settings: Any) -> int:
    status = shared_job_status(settings, args.name)
    if status is None:
        print(_("no shared job {job} in Redis (start one with `onionscope crawl --job NAME --shared --seed URL`)",
                job=_text(args.name)), file=sys.stderr)
        return 1
    if args.json:
        _print_json(status)
        return 0
    print(_("shared job {job}: {state}, started {when}", job=_text(status["job_id"]), state=_text(status["state"]),
            when=_text(status["started_at"])))
    print("  " + _("queued {queued}  in flight (leased) {leased}  leases past deadline {expired}  pages done {done}  "
                   "requeued after a lost lease {requeued}", queued=status["queued"], leased=status["leased"],
                   expired=status["expired"], done=status["done"], requeued=status["requeued"]))
    print("  " + _("workers alive: {count}", count=len(status["workers_alive"]))
          + (f" ({', '.join(_text(worker) for worker in status['workers_alive'])})" if status["workers_alive"] else ""))
    for worker in status["workers"]:
        print(f"  {_text(worker['worker_id']):<40} {_text(worker['finish_reason']):<10} pages={worker['pages']} "
              f"requests={worker['requests']} indexed={worker['items_indexed']} released={worker['leases_released']}")
    return 0


def _history(args: argparse.Namespace, settings: Any, schedule: Any) -> int:
    from search.connection import connect
    from search.es_steps import run as run_steps
    from search.job_runs import job_history_steps

    job = schedule.job(args.name)
    client = connect(settings)
    try:
        runs = run_steps(client, job_history_steps(settings.index_prefix, job.name, args.limit))
    finally:
        client.close()
    if args.json:
        _print_json(runs)
        return 0
    if not runs:
        print(_("job {job} has not run yet", job=job.name))
    for entry in runs:
        print(f"{entry['job_id']}  {_text(entry['outcome']):<11} {_text(entry['trigger']):<9} "
              + _("started {started}  finished {finished}", started=_text(entry["started_at"]),
                  finished=_text(entry["finished_at"])) + "  "
              f"pages={entry['pages']} items={entry['items']} errors={entry['error_count']}"
              + (f"  ({_text(entry['outcome_reason'])})" if entry.get("outcome_reason") else ""))
    return 0


def _run(args: argparse.Namespace, settings: Any, schedule: Any) -> int:
    from onionscope.commands.crawl import format_summary, wants_progress
    from onionscope.scheduling.runner import run_job

    job = schedule.job(args.name)
    result = run_job(settings, job, job_id=args.job_id, trigger=args.trigger, scheduled_for=args.scheduled_for,
                     missed_runs=args.missed_runs, quiet=args.quiet, progress=wants_progress(args),
                     config_path=args.config)
    if args.json:
        _print_json({**(result.summary or {"job_id": result.job_id}), "job_name": job.name,
                     "outcome": result.outcome, "outcome_reason": result.reason})
    else:
        if result.summary is not None:
            print(format_summary(result.summary))
        print(_("job {job} run {run}: {outcome}", job=job.name, run=result.job_id, outcome=result.outcome)
              + (f" ({_text(result.reason)})" if result.reason else ""))
    if result.summary and result.summary.get("network_refused"):
        from crawler.tor.network_guard import refusal_message

        print(_("error: {message}", message=refusal_message(result.summary["network_refused"])), file=sys.stderr)
    return 0 if result.outcome in ("ok", "skipped") else 1
