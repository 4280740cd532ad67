"""The liveness history: one check per onion host and crawl run, and the onion entity's summary of it.

Why a kind of its own and a capped list on the entity: the history is kept in
``<prefix>-onion-checks``, one document per host and run (``_id`` =
:func:`config.schema.onion_check_doc_id`), holding that run's attempts (up to
:data:`crawler.freshness.liveness.MAX_SAMPLES` in full, the counts exact).
It grows with runs, like the crawl-runs index, but each document is bounded,
a crash or a retry rewrites the same ``_id``, and nothing is ever rewritten
in place, so it is an audit trail of what was tried and when.  The back-off,
though, needs only the latest checks of each seed host at crawl start: the
onion entity keeps them as ``recent_checks`` (the last
:data:`crawler.freshness.liveness.RECENT_CHECKS`, stored, not indexed) with
the summary the back-off gives (``consecutive_down``, ``down_since``,
``next_check_at``...), merged under ``if_seq_no`` like the rest of the
entity, so a crawl reads one document per seed host instead of searching
the history.

Public API:

* :func:`check_document` (check) -> the onion-checks document;
* :func:`merge_liveness` (existing, check, now, policy) -> the onion entity
  after ``check`` (None when the check says nothing: ``unknown``);
* :func:`write_liveness` (writer, checks, now, policy) ->
  :class:`~pipelines.bulk_writer.BatchOutcome`: the history documents (a
  failure is spooled) and the entities (a failure is logged and counted as
  ``freshness/liveness_entity_failed``; the next check rebuilds the summary).
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Any, Iterable

from config.schema import alias_name, onion_check_doc_id, onion_doc_id
from crawler.freshness.liveness import (
    UNKNOWN,
    UP,
    BackoffPolicy,
    CheckSummary,
    HostCheck,
    backoff_state,
    recent_checks,
)
from pipelines.bulk_writer import BatchOutcome, BulkWriter, Operation

logger = logging.getLogger(__name__)

KIND = "onion-checks"
MAX_JOB_IDS = 50


def check_document(check: HostCheck) -> dict[str, Any]:
    """The onion-checks document of ``check``."""
    return {
        "onion_host": check.host, "job_id": check.job_id, "state": check.state, "up": check.up,
        "checked_at": check.checked_at, "last_attempt_at": check.last_attempt_at, "attempts": check.attempts,
        "answered": check.answered, "failed": check.failed, "reason": check.reason, "reasons": dict(check.reasons),
        "last_status": check.last_status, "latency_ms_mean": check.latency_ms_mean,
        "latency_ms_max": check.latency_ms_max, "samples": [attempt.to_doc() for attempt in check.samples],
        "samples_truncated": check.samples_truncated,
    }


def merge_liveness(existing: dict[str, Any] | None, check: HostCheck, now: datetime,
                   policy: BackoffPolicy) -> dict[str, Any] | None:
    """The onion entity after ``check``: its recent checks, the back-off summary, and ``up`` when it is the latest.

    ``last_seen`` moves only on an up check (the host was seen); ``up`` and
    ``last_status`` follow the latest check.  Returns None for an
    ``unknown`` check (every failure was on our side).
    """
    if check.state == UNKNOWN:
        return None
    document = dict(existing or {})
    document["onion_host"] = onion_doc_id(check.host)
    recent = recent_checks(document.get("recent_checks") or [], check.summary())
    document["recent_checks"] = recent
    summaries = [s for s in (CheckSummary.from_doc(entry) for entry in recent) if s is not None]
    document.update(backoff_state(summaries, now, policy).to_doc())
    if recent and recent[-1]["at"] == check.checked_at:  # this check is the latest
        document["up"] = check.state == UP
        if check.last_status is not None:
            document["last_status"] = check.last_status
    if check.state == UP:
        document["first_seen"] = min(filter(None, [document.get("first_seen"), check.checked_at]))
        document["last_seen"] = max(filter(None, [document.get("last_seen"), check.last_attempt_at]))
    document.setdefault("page_count", 0)
    jobs = [job for job in document.get("job_ids") or [] if job != check.job_id]
    document["job_ids"] = (jobs + [check.job_id])[-MAX_JOB_IDS:]
    return document


def write_liveness(writer: BulkWriter, checks: Iterable[HostCheck], now: datetime,
                   policy: BackoffPolicy) -> BatchOutcome:
    """Write each check to the history and fold it into its onion entity; raises OSError only when the spool
    cannot be written."""
    outcome = BatchOutcome()
    checks = list(checks)
    if not checks:
        return outcome
    index = alias_name(writer.index_prefix, KIND)
    operations = [Operation(KIND, "index", onion_check_doc_id(check.host, check.job_id), check_document(check), index)
                  for check in checks]
    succeeded, failures = writer.send(operations, outcome)
    outcome.indexed[KIND] += len(succeeded)
    for failure in failures:
        writer.spool_document(failure, outcome)
    merges = {onion_doc_id(check.host): functools.partial(merge_liveness, check=check, now=now, policy=policy)
              for check in checks if check.state != UNKNOWN}
    if merges:
        written, entity_failures = writer.merge_write("onions", alias_name(writer.index_prefix, "onions"), merges,
                                                      outcome)
        outcome.stats["freshness/liveness_entities"] += len(written)
        for host, (error, attempts) in sorted(entity_failures.items()):
            outcome.stats["freshness/liveness_entity_failed"] += 1
            logger.error("the liveness summary of %s could not be written after %d attempts (%s); its history "
                         "is in %s and the next check rebuilds the summary", host, attempts, error, index)
    for check in checks:
        outcome.stats[f"freshness/host_checks/{check.state}"] += 1
    return outcome
