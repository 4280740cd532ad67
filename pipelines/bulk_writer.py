"""The bulk path to Elasticsearch: send, retry with backoff, count, and spool what finally fails.

Every write onionscope makes in bulk goes through :class:`BulkWriter`: the
crawl's documents and entities (:mod:`pipelines.item_indexer`,
:mod:`pipelines.entity_writer`), the crawl-run record
(:mod:`pipelines.crawl_runs`), spool replays (:mod:`pipelines.spool_replay`)
and the search audit trail (:mod:`search.audit`).

Failures: a whole request that fails (connection refused, timeout, 429, 5xx)
and operations that fail with a transient error (429, 5xx, a write block
during a migration) are retried with exponential backoff (``backoff_seconds``,
doubling, ``max_retries`` times).  Operations that still fail, and operations
that fail permanently (a mapping violation, say), come back as
:class:`Failure` objects with their error and attempts; the caller spools them
(:meth:`BulkWriter.spool`, which counts them) or, like the audit writer, puts
them on record otherwise.  An exception that is not Elasticsearch's (a bug, a
malformed response) fails the operations it hit, as final, and is logged with
its traceback and counted.  Nothing is dropped without a trace.

Public API:

* :class:`Operation` -- one bulk operation (``doc_id`` None: Elasticsearch picks it);
* :class:`Failure` -- an operation that finally failed, with its error and attempts;
* :class:`BatchOutcome` -- what a batch did (indexed, created, entities,
  retries, failed, spooled, entity_conflicts, unexpected_errors; bulk requests
  sent, their total and slowest latency in seconds, requests failed as a whole;
  and ``stats``: other counts by stat name);
* :class:`BulkWriter` (client, index_prefix, spool_writer, ...) --
  :meth:`~BulkWriter.send` (operations, outcome) -> (succeeded, failures);
  :meth:`~BulkWriter.merge_write` (kind, index, merges, outcome) -> (written,
  failures): read, merge and write back with optimistic concurrency;
  :meth:`~BulkWriter.spool` (record, outcome) and
  :meth:`~BulkWriter.spool_document` (failure, outcome): the spool side.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from elastic_transport import TransportError
from elasticsearch import ApiError

from config.settings import DEFAULTS

logger = logging.getLogger(__name__)

# Item errors worth another try: overload, unavailable shards, a write block
# (set during a migration).  Anything else (400 mapping errors...) is final.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RETRYABLE_ERROR_TYPES = frozenset({"cluster_block_exception", "es_rejected_execution_exception",
                                   "unavailable_shards_exception", "no_shard_available_action_exception"})
MAX_CONFLICT_ROUNDS = 30
# Upper bound of the random pause after the n-th conflict round is n times this.
CONFLICT_PAUSE_SECONDS = 0.005


class SpoolTarget(Protocol):
    """Where failed operations go: a :class:`pipelines.spool.SpoolWriter`, or what a replay keeps."""

    def write(self, record: dict[str, Any]) -> Path: ...


@dataclass
class Operation:
    """One bulk operation and what to spool if it finally fails."""

    kind: str
    op_type: str  # "update", "index" or "create"
    doc_id: str | None
    body: dict[str, Any]
    index: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Failure:
    operation: Operation
    error: str
    attempts: int


@dataclass
class BatchOutcome:
    indexed: Counter = field(default_factory=Counter)
    created: Counter = field(default_factory=Counter)
    entities: Counter = field(default_factory=Counter)
    retries: int = 0
    failed: int = 0
    spooled: int = 0
    entity_conflicts: int = 0
    # Exceptions other than Elasticsearch's own errors; what they hit was spooled (or kept to retry).
    unexpected_errors: int = 0
    # Counts other steps keep (change records, removals...): stat name -> count, copied into the crawl's stats.
    stats: Counter = field(default_factory=Counter)
    # Bulk requests sent, how long they took in all and the slowest one (seconds), and the
    # requests that failed as a whole (connection refused, timeout, 429, 5xx: then retried).
    bulk_requests: int = 0
    bulk_seconds: float = 0.0
    bulk_seconds_max: float = 0.0
    bulk_request_errors: int = 0

    def add(self, other: "BatchOutcome") -> None:
        self.indexed.update(other.indexed)
        self.created.update(other.created)
        self.entities.update(other.entities)
        self.retries += other.retries
        self.failed += other.failed
        self.spooled += other.spooled
        self.entity_conflicts += other.entity_conflicts
        self.unexpected_errors += other.unexpected_errors
        self.stats.update(other.stats)
        self.bulk_requests += other.bulk_requests
        self.bulk_seconds += other.bulk_seconds
        self.bulk_seconds_max = max(self.bulk_seconds_max, other.bulk_seconds_max)
        self.bulk_request_errors += other.bulk_request_errors


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        caused = error.get("caused_by")
        if isinstance(caused, dict):
            text += f" (caused by {caused.get('type')}: {caused.get('reason')})"
        return text[:1000]
    return str(error)[:1000]


def _is_retryable(status: int, error: Any) -> bool:
    error_type = error.get("type") if isinstance(error, dict) else None
    return status in RETRYABLE_STATUSES or error_type in RETRYABLE_ERROR_TYPES


def _bulk_lines(operations: list[Operation]) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for operation in operations:
        header = {"_index": operation.index, "_id": operation.doc_id, **operation.meta}
        if operation.doc_id is None:
            del header["_id"]
        lines.append({operation.op_type: header})
        lines.append(operation.body)
    return lines


class BulkWriter:
    """Bulk requests with retries and backoff, conditional merge-writes, and the spool.

    ``spool_writer`` None: failures are only logged (and counted as failed).
    Cost: holds the operations of one call in memory.  Blocks while it backs
    off, so call it from a worker thread when inside a reactor or event loop.
    """

    def __init__(
        self,
        client: Any,
        index_prefix: str,
        spool_writer: SpoolTarget | None,
        *,
        max_retries: int = DEFAULTS["bulk_max_retries"].default,
        backoff_seconds: float = DEFAULTS["bulk_backoff_seconds"].default,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.client = client
        self.index_prefix = index_prefix
        self.spool_writer = spool_writer
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep

    # ------------------------------------------------------------------ sending

    def _backoff(self, attempt: int) -> None:
        self.sleep(self.backoff_seconds * (2 ** (attempt - 1)))

    def _unexpected(self, exc: Exception, outcome: BatchOutcome, what: str) -> str:
        """Log and count an exception that is not one of Elasticsearch's; returns the error to spool with."""
        outcome.unexpected_errors += 1
        logger.error("unexpected error in %s; what it hit fails and is spooled or put on record, not dropped",
                     what, exc_info=exc)
        return f"unexpected error in {what}: {type(exc).__name__}: {exc}"[:1000]

    def _send_once(
        self, operations: list[Operation], outcome: BatchOutcome,
    ) -> tuple[list[tuple[Operation, dict[str, Any]]], list[tuple[Operation, str, bool]]]:
        """One bulk request: (succeeded with their results, failed with (error, retryable)).

        Never raises: an exception that is not Elasticsearch's (a bug, a
        serialisation problem, a malformed response) fails every operation of
        the request, as final, and is logged and counted.
        """
        lines = _bulk_lines(operations)
        started = time.monotonic()
        try:
            try:
                response = self.client.bulk(operations=lines)
            finally:
                elapsed = time.monotonic() - started
                outcome.bulk_requests += 1
                outcome.bulk_seconds += elapsed
                outcome.bulk_seconds_max = max(outcome.bulk_seconds_max, elapsed)
            # The client's response object, or a plain dict from a stand-in.
            results = [next(iter(entry.values())) for entry in getattr(response, "body", response)["items"]]
            if len(results) != len(operations):
                raise ValueError(f"{len(results)} results for {len(operations)} operations")
        except ApiError as exc:
            outcome.bulk_request_errors += 1
            retryable = exc.status_code in RETRYABLE_STATUSES or exc.status_code == 403
            return [], [(operation, f"bulk request failed: {exc.status_code} {exc.message}"[:1000], retryable)
                        for operation in operations]
        except TransportError as exc:
            outcome.bulk_request_errors += 1
            message = str(getattr(exc, "message", "") or exc)
            return [], [(operation, f"bulk request failed: {type(exc).__name__}: {message}"[:1000], True)
                        for operation in operations]
        except Exception as exc:
            error = self._unexpected(exc, outcome, f"a bulk request of {len(operations)} operations")
            return [], [(operation, error, False) for operation in operations]
        succeeded: list[tuple[Operation, dict[str, Any]]] = []
        failed: list[tuple[Operation, str, bool]] = []
        for operation, result in zip(operations, results):
            status = int(result.get("status", 0))
            if 200 <= status < 300:
                succeeded.append((operation, result))
            else:
                error = result.get("error", {})
                failed.append((operation, f"{status} {_error_text(error)}", status == 409 or _is_retryable(status, error)))
        return succeeded, failed

    def send_once(
        self, operations: list[Operation], outcome: BatchOutcome,
    ) -> tuple[list[tuple[Operation, dict[str, Any]]], list[tuple[Operation, str, bool]]]:
        """One bulk request, no retry: (succeeded with their results, failed with (error, retryable)).

        For a caller that settles each failure itself (:mod:`pipelines.item_indexer` sends documents
        and conditional entity writes together).  A 409 counts as retryable.  Never raises: an
        exception that is not Elasticsearch's fails every operation, as final, logged and counted.
        """
        return self._send_once(operations, outcome)

    def send(
        self, operations: list[Operation], outcome: BatchOutcome, *, tried: int = 0,
    ) -> tuple[list[tuple[Operation, dict[str, Any]]], list[Failure]]:
        """Send with retries and backoff; returns (succeeded with their results, final failures). Does not spool.

        ``tried``: attempts the operations already had (the caller backed off after the last);
        they count against ``max_retries``.
        """
        succeeded: list[tuple[Operation, dict[str, Any]]] = []
        failures: list[Failure] = []
        pending = list(operations)
        attempt = tried
        while pending:
            attempt += 1
            ok, failed = self._send_once(pending, outcome)
            succeeded.extend(ok)
            pending = []
            for operation, error, retryable in failed:
                if retryable and attempt <= self.max_retries:
                    pending.append(operation)
                else:
                    failures.append(Failure(operation, error, attempt))
            if pending:
                outcome.retries += len(pending)
                logger.info("retrying %d bulk operations (attempt %d of %d)", len(pending), attempt + 1,
                            self.max_retries + 1)
                self._backoff(attempt)
        return succeeded, failures

    def merge_write(
        self, kind: str, index: str, merges: dict[str, Callable[[dict[str, Any] | None], dict[str, Any] | None]],
        outcome: BatchOutcome, *, tried: int = 0,
    ) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[str, int]]]:
        """Read each document, merge, and write it back only if nobody changed it since the read.

        ``merges`` maps an ``_id`` to a function of the stored source (None
        when there is none) that returns the document to store, or None to
        leave it as it is.  A version conflict (another writer came first)
        re-reads and merges again, up to MAX_CONFLICT_ROUNDS; transient errors
        back off (``max_retries``); other errors, and unexpected exceptions
        (logged and counted), are final.  Does not spool.

        Returns (the bulk result of each written ``_id``, ``{"result": "noop"}``
        when nothing needed writing; the final ``(error, attempts)`` of each
        ``_id`` that failed).  ``tried``: transient failures the writes already
        had (the caller backed off after the last); they count against ``max_retries``.
        """
        pending = set(merges)
        transient_attempts = tried
        conflict_rounds = 0
        last_errors: dict[str, str] = {}
        written: dict[str, dict[str, Any]] = {}
        failures: dict[str, tuple[str, int]] = {}
        while pending:
            ids = sorted(pending)
            ok: dict[str, dict[str, Any]] = {}
            failed: list[tuple[str, str, bool]] = []
            try:
                response = self.client.mget(index=index, ids=ids)
                current = {doc["_id"]: doc for doc in response.body["docs"]}
            except (ApiError, TransportError) as exc:
                message = f"reading {kind} documents failed: {getattr(exc, 'message', exc)}"[:1000]
                failed = [(doc_id, message, True) for doc_id in ids]
            except Exception as exc:
                message = self._unexpected(exc, outcome, f"reading {len(ids)} {kind} documents")
                failed = [(doc_id, message, False) for doc_id in ids]
            else:
                operations = []
                for doc_id in ids:
                    found = current.get(doc_id, {})
                    if found.get("error"):
                        # Above all a missing index: writing would create one without the template.
                        error = found["error"]
                        retryable = _is_retryable(0, error) if isinstance(error, dict) else True
                        failed.append((doc_id, f"reading {kind} {doc_id} failed: {_error_text(error)}", retryable))
                        continue
                    existing = found.get("_source") if found.get("found") else None
                    try:
                        document = merges[doc_id](existing)
                    except Exception as exc:
                        failed.append((doc_id, self._unexpected(exc, outcome, f"merging {kind} {doc_id}"), False))
                        continue
                    if document is None:
                        ok[doc_id] = {"result": "noop"}
                    elif existing is None:
                        operations.append(Operation(kind, "create", doc_id, document, index))
                    else:
                        operations.append(Operation(kind, "index", doc_id, document, index, meta={
                            "if_seq_no": found["_seq_no"], "if_primary_term": found["_primary_term"]}))
                if operations:
                    succeeded, failed_ops = self._send_once(operations, outcome)
                    ok.update((str(operation.doc_id), result) for operation, result in succeeded)
                    failed += [(str(operation.doc_id), error, retryable) for operation, error, retryable in failed_ops]
            for doc_id, result in ok.items():
                pending.discard(doc_id)
                written[doc_id] = result
            conflicts = [doc_id for doc_id, error, _ in failed if error.startswith("409")]
            others = [(doc_id, error, retryable) for doc_id, error, retryable in failed if not error.startswith("409")]
            for doc_id, error, retryable in others:
                last_errors[doc_id] = error
                if not retryable:
                    pending.discard(doc_id)
                    failures[doc_id] = (error, transient_attempts + 1)
            if conflicts:
                outcome.entity_conflicts += len(conflicts)
                conflict_rounds += 1
                for doc_id in conflicts:
                    last_errors[doc_id] = "409 version conflict (document changed by another writer)"
            if not pending:
                break
            if any(retryable for _, _, retryable in others):
                transient_attempts += 1
                if transient_attempts > self.max_retries:
                    break
                outcome.retries += len(pending)
                self._backoff(transient_attempts)
            elif conflict_rounds > MAX_CONFLICT_ROUNDS:
                break
            else:
                # Writers that collided would re-read in lockstep and collide again;
                # a short random pause lets one of them through each round.
                self.sleep(random.uniform(0, CONFLICT_PAUSE_SECONDS * conflict_rounds))
        for doc_id in sorted(pending):
            failures[doc_id] = (last_errors.get(doc_id, "gave up"), transient_attempts + 1)
        return written, failures

    # ------------------------------------------------------------------ spooling

    def spool(self, record: dict[str, Any], outcome: BatchOutcome) -> None:
        """Count ``record`` as failed and write it to the spool (only log it when there is none).

        Raises OSError when the spool cannot be written.
        """
        outcome.failed += 1
        if self.spool_writer is None:
            # No spool configured: the failure must still be loud.
            logger.error("bulk operation failed and no spool is configured: %s", record.get("error"))
            return
        path = self.spool_writer.write(record)
        outcome.spooled += 1
        logger.warning("spooled %s %s to %s: %s", record.get("kind"), record.get("id"), path, record.get("error"))

    def spool_document(self, failure: Failure, outcome: BatchOutcome) -> None:
        """Spool a failed document operation as a ``document`` record (see :meth:`spool`)."""
        operation = failure.operation
        self.spool({
            "record": "document", "kind": operation.kind, "index_prefix": self.index_prefix,
            "id": operation.doc_id, "op_type": operation.op_type, "meta": operation.meta,
            "body": operation.body, "error": failure.error, "attempts": failure.attempts,
        }, outcome)
