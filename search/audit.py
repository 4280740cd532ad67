"""The audit trail: every search, by whom, when, what, and how many results.

Public API:

* :func:`audit_entry` (...) -> dict -- one audit document.  It names the
  token by id and name, never the token itself.
* :func:`record_search` (client, prefix, ...) -- writes one entry at once
  (the CLI uses it); Elasticsearch errors propagate.
* :class:`AuditWriter` (client, prefix) -- the server's writer: searches hand
  it their entry and return; a background thread writes entries in bulk
  every ``flush_seconds`` (one round trip and one translog sync per batch
  instead of per search), through the same bulk path as the crawl
  (:class:`pipelines.bulk_writer.BulkWriter`: transient errors retried with
  backoff, permanent ones final).  An entry that still fails is logged as
  ``AUDIT WRITE FAILED`` with its error, so the trail's gap is on record.  When ``max_pending`` entries already wait, :meth:`AuditWriter.submit`
  raises :class:`AuditBacklogFull` at once (never writing on the caller's
  thread, which is the API's event loop): the API answers 503 rather than
  serve what it cannot audit.  :meth:`AuditWriter.close` flushes what is pending.
* :class:`AuditBacklogFull` -- the refusal above.
* :func:`recent_searches` (client, prefix, limit) -> list of audit documents,
  newest first.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any

from config.schema import alias_name
from pipelines.bulk_writer import BatchOutcome, BulkWriter, Operation

log = logging.getLogger(__name__)
MAX_QUERY_CHARS_KEPT = 2000
# First pause between two attempts at a batch; it doubles with each retry.
RETRY_BACKOFF_SECONDS = 0.2


class AuditBacklogFull(Exception):
    """The audit writer already holds ``max_pending`` unwritten entries; the entry was not taken."""


def audit_index(prefix: str) -> str:
    """The audit alias of ``prefix`` (the index schema's name)."""
    return alias_name(prefix, "audit")


def audit_entry(
    *,
    actor_id: str,
    actor_name: str,
    role: str,
    query: str,
    kind: str,
    result_count: int,
    channel: str,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One audit document; ``channel`` is ``api``, ``ui``, ``cli`` or ``export``."""
    document = {
        "at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_id": actor_id,
        "actor_name": actor_name,
        "role": role,
        "query": query[:MAX_QUERY_CHARS_KEPT],
        "kind": kind,
        "result_count": int(result_count),
        "channel": channel,
    }
    if detail:
        document["detail"] = detail
    return document


def record_search(client: Any, prefix: str, **entry: Any) -> None:
    """Write one audit document now (arguments as :func:`audit_entry`)."""
    client.index(index=audit_index(prefix), document=audit_entry(**entry))


class AuditWriter:
    """Batches audit documents to Elasticsearch from one background thread.

    Cost: entries wait at most ``flush_seconds`` in memory.  :meth:`submit`
    only appends to a list; the thread wakes every ``flush_seconds`` (or when
    :meth:`flush` or :meth:`close` asks), not per entry, so a busy server does
    not pay a thread wake-up on every search.  Memory is bounded: when
    ``max_pending`` entries are waiting (Elasticsearch slow or down),
    :meth:`submit` refuses the entry with :class:`AuditBacklogFull`, logs
    ``AUDIT BACKLOG FULL`` with who and what, and counts it in ``refused``.
    It never writes on the caller's thread: the API calls it on its event
    loop, where one blocking write (with its retries and back-off) would
    stall every request.  The thread starts on the first entry, so building
    the writer touches nothing.  ``retries`` is the number of attempts at a
    batch; ``written``, ``failed``, ``refused`` and ``retried`` count entries.
    """

    def __init__(self, client: Any, prefix: str, *, flush_seconds: float = 0.25, max_batch: int = 500,
                 max_pending: int = 10_000, retries: int = 3):
        self.client = client
        self.prefix = prefix
        self.flush_seconds = flush_seconds
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.retries = retries
        # No spool: what finally fails is put on record in the log (below), never replayed into the trail.
        self.bulk = BulkWriter(client, prefix, None, max_retries=max(0, retries - 1),
                               backoff_seconds=RETRY_BACKOFF_SECONDS)
        self._pending: list[dict[str, Any]] = []
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._in_flight = 0
        self.written = 0
        self.failed = 0
        self.refused = 0
        self.retried = 0

    def submit(self, **entry: Any) -> None:
        """Queue one entry (arguments as :func:`audit_entry`); returns at once.

        :raises AuditBacklogFull: ``max_pending`` entries are already waiting
            to be written; the entry is not kept (it is logged as refused).
        """
        document = audit_entry(**entry)
        self._ensure_thread()
        with self._idle:
            # _in_flight also counts the batch the thread is writing now, so
            # a write that hangs cannot let the memory held grow past the bound.
            full = self._in_flight >= self.max_pending
            if full:
                self.refused += 1
            else:
                self._pending.append(document)
                self._in_flight += 1
        if full:
            log.error("AUDIT BACKLOG FULL (%d entries unwritten): refused %r", self.max_pending, document)
            raise AuditBacklogFull(f"{self.max_pending} audit entries are waiting to be written")

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="onionscope-audit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            with self._idle:
                batch, self._pending = self._pending, []
            for start in range(0, len(batch), self.max_batch):
                chunk = batch[start:start + self.max_batch]
                self._write(chunk)
                with self._idle:
                    self._in_flight -= len(chunk)
                    self._idle.notify_all()
            if self._stop.is_set():
                with self._idle:
                    if not self._pending:
                        return

    def _write(self, batch: list[dict[str, Any]]) -> None:
        index = audit_index(self.prefix)
        operations = [Operation("audit", "index", None, document, index) for document in batch]
        outcome = BatchOutcome()
        succeeded, failures = self.bulk.send(operations, outcome)
        self.written += len(succeeded)
        self.retried += outcome.retries
        self.failed += len(failures)
        for failure in failures:
            log.error("AUDIT WRITE FAILED (%s): %r", failure.error, failure.operation.body)

    def flush(self, timeout: float = 10.0) -> bool:
        """Write every submitted entry now (or give it up); False on timeout."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._idle:
            while self._in_flight > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Write what is pending and stop the thread."""
        self.flush(timeout)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)


def recent_searches(client: Any, prefix: str, limit: int = 50) -> list[dict[str, Any]]:
    """The latest audit documents (refreshes the index first so the newest show)."""
    client.indices.refresh(index=audit_index(prefix))
    response = client.search(
        index=audit_index(prefix),
        body={"query": {"match_all": {}}, "size": limit, "sort": [{"at": {"order": "desc", "unmapped_type": "date"}}]},
    )
    return [hit["_source"] for hit in response["hits"]["hits"]]
