"""The step after a crawl run that turns new watchlist matches into alerts and hands them to the webhook.

``onionscope crawl`` and a scheduled job's run (``onionscope jobs run``,
which the scheduler starts) call :func:`alert_after_run` once their crawl has
finished and written its run record.  It runs in the crawl's process and talks
only to Elasticsearch: :func:`search.alerts.alert_run` matches every
watchlist entry against the documents carrying the run's job id and writes
the new alerts (idempotent: alert ids are per entry, page and page version).

Delivery is not done here: the crawl process's network guard
(:mod:`crawler.tor.network_guard`) lets it reach tor and Elasticsearch only,
and stays armed after the crawl.  So when ``alert_webhook_url`` is set and
alerts wait for it, one ``onionscope watch deliver`` runs in a child process
(as the discovery follow-up does), which signs, posts and retries them
(:mod:`search.webhooks`).  Alerts it could not deliver stay ``retrying`` for
the next run's pass or an ``onionscope watch deliver`` by hand.

Public API: :func:`alert_after_run` (settings, job_id, config_path=None) -> a
summary dict (``created``, ``existing``, ``matches``, ``entries``,
``truncated``, ``delivery``: the child's summary or None, ``error``: None or
why alerting failed).  It raises nothing: a failure is logged and reported in
the summary, and the crawl's outcome stands.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from typing import Any

from config.errors import UserError
from config.paths import evidence_dir

logger = logging.getLogger(__name__)


def _deliver_command(config_path: str | None) -> list[str]:
    command = [sys.executable, "-m", "onionscope.cli"]
    if config_path:
        command += ["--config", str(config_path)]
    return command + ["watch", "deliver", "--json"]


def protect_alert_evidence(folder: Any, refs: dict[str, dict[str, Any]]) -> int:
    """Keep forever the WARC files of the records new alerts point to (the evidence retention policy).

    ``refs`` maps an alert id to its page's evidence pointer.  Returns how many
    were marked; a pointer that cannot be marked is logged and skipped (the
    alert stands; ``onionscope evidence prune`` would then treat that file by age).
    """
    from crawler.evidence.retention import mark_protected

    marked = 0
    for alert_id, ref in sorted(refs.items()):
        try:
            mark_protected(folder, ref, f"watchlist alert {alert_id}")
            marked += 1
        except (OSError, ValueError) as exc:
            logger.error("evidence of alert %s not protected: %s", alert_id, exc)
    return marked


def alert_after_run(settings: Any, job_id: str, config_path: str | None = None) -> dict[str, Any]:
    """Make run ``job_id``'s alerts, then deliver them in a child process when a webhook is set; returns a summary."""
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from config.paths import index_templates_dir
    from pipelines.es_client import describe_error
    from search.connection import connect
    from search.alerts import alert_run
    from search.query import QueryLimits
    from search.webhooks import due_count, webhook_settings

    summary: dict[str, Any] = {"entries": 0, "matches": 0, "created": 0, "existing": 0, "truncated": 0,
                               "delivery": None, "error": None}
    try:
        webhook = webhook_settings(settings)
    except UserError as exc:
        webhook = None
        summary["error"] = str(exc)
        logger.error("alerts of %s: %s", job_id, exc)
    # The blocklist applies: what it names never becomes an alert.
    client = connect(settings)
    try:
        result = alert_run(client, settings.index_prefix, job_id, limits=QueryLimits.from_settings(settings),
                           webhook=webhook is not None, templates_dir=index_templates_dir(settings.config_dir))
        summary.update({key: value for key, value in result.to_json().items() if key != "job_id"})
        summary["evidence_protected"] = protect_alert_evidence(evidence_dir(settings), result.evidence_refs)
        waiting = due_count(client, settings.index_prefix) if webhook is not None else 0
    except (ApiError, TransportError) as exc:
        summary["error"] = f"alerts not made: {describe_error(exc, settings)}"
        logger.error("alerts of %s: %s", job_id, summary["error"])
        return summary
    except UserError as exc:
        summary["error"] = str(exc)
        logger.error("alerts of %s: %s", job_id, exc)
        return summary
    finally:
        client.close()
    if waiting:
        # Its JSON summary is ours to report; its log goes to our stderr.
        child = subprocess.run(_deliver_command(config_path), env=dict(os.environ), stdout=subprocess.PIPE,
                               text=True, check=False)
        try:
            summary["delivery"] = {**json.loads(child.stdout), "exit_status": child.returncode}
        except ValueError:
            summary["delivery"] = {"exit_status": child.returncode}
    return summary
