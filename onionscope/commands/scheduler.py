"""``onionscope scheduler [--schedules FILE] [--metrics-port P]``: the daemon that runs the scheduled crawl jobs.

Loads and validates the schedules file (a mistake is one error line with the
file, the line and the key), refuses to start when another scheduler runs on
the same file or when Elasticsearch cannot be reached (or its crawl-runs index
has an older schema: ``onionscope index migrate crawl-runs``), serves
Prometheus metrics on ``127.0.0.1:P`` with ``--metrics-port`` (0 picks a free
port; the line ``onionscope: metrics on http://127.0.0.1:PORT/metrics`` on
stdout gives it), then runs until SIGTERM or SIGINT.  Log lines go to stderr
as JSON (:mod:`onionscope.scheduling.logs`).  See
:mod:`onionscope.scheduling.daemon` for what it does.  Exit status 0 after a
clean stop.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from config.errors import UserError
from config.i18n import _


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schedules", metavar="FILE", help=_("schedules file (default: schedules_file)"))
    parser.add_argument("--metrics-port", type=int, metavar="P",
                        help=_("serve Prometheus metrics on 127.0.0.1:P/metrics (0 picks a free port)"))
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))


def _check_elasticsearch(settings: Any) -> None:
    from config.paths import index_templates_dir
    from pipelines.es_client import ensure_reachable, make_client
    from pipelines.indices import ensure_indices, index_status, shard_overrides

    client = make_client(settings)
    try:
        ensure_reachable(client, settings)
        templates_dir = index_templates_dir(settings.config_dir)
        stale = [row.kind for row in index_status(client, settings.index_prefix, templates_dir)
                 if row.kind == "crawl-runs" and row.needs_migration]
        if stale:
            raise UserError(_("the crawl-runs index of prefix {prefix} has an older schema than this version writes; "
                              "migrate it first: `onionscope index migrate crawl-runs`",
                              prefix=repr(settings.index_prefix)))
        # Every kind, once, here: children starting together on a new prefix would otherwise race to create them.
        ensure_indices(client, settings.index_prefix, templates_dir=templates_dir, **shard_overrides(settings))
    finally:
        client.close()


def run(args: argparse.Namespace, settings: Any) -> int:
    from crawler.schedules import load_schedule, schedules_path
    from onionscope.scheduling.daemon import Scheduler
    from onionscope.scheduling.logs import configure_json_logging

    schedule = load_schedule(Path(args.schedules) if args.schedules
                             else schedules_path(settings.schedules_file, settings.config_dir))
    scheduler = Scheduler(schedule, settings, config_file=args.config)
    scheduler.acquire()
    try:
        _check_elasticsearch(settings)
        configure_json_logging(getattr(logging, args.log_level.upper()))
        if args.metrics_port is not None:
            port = scheduler.metrics.serve(args.metrics_port)
            print(f"onionscope: metrics on http://127.0.0.1:{port}/metrics", flush=True)
        signal.signal(signal.SIGTERM, scheduler.request_stop)
        signal.signal(signal.SIGINT, scheduler.request_stop)
        print(_("onionscope: scheduler running {count} jobs of {path} (state in {directory})",
                count=len(scheduler.jobs), path=schedule.path, directory=scheduler.directory), flush=True)
        scheduler.run()
    finally:
        scheduler.release()
    return 0
