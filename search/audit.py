"""The audit trail: every search, by whom, when, what, and how many results.

Public API:

* :func:`audit_entry` (...) -> dict -- one audit document.  It names the
  token by id and name, never the token itself.
* :func:`record_search` (client, prefix, ...) -- writes one entry at once
  (the CLI uses it); Elasticsearch errors propagate.
* :class:`AuditWriter` (client, prefix) -- the server's writer: searches hand
  it their entry and return; a background thread writes entries in bulk
  every ``flush_seconds`` (one round trip and one translog sync per batch
  instead of per search).  A batch that keeps failing after retries is
  logged as ``AUDIT WRITE FAILED`` with every entry, so the trail's gap is
  on record.  :meth:`AuditWriter.close` flushes what is pending.
* :func:`recent_searches` (client, prefix, limit) -> list of audit documents,
  newest first.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger(__name__)
MAX_QUERY_CHARS_KEPT = 2000


def audit_index(prefix: str) -> str:
    return f"{prefix}-audit"


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

    Cost: entries wait at most ``flush_seconds`` in memory; the queue holds
    ``max_pending`` entries, beyond which :meth:`submit` writes synchronously
    (the caller slows down rather than the trail losing entries).  The thread
    starts on the first entry, so building the writer touches nothing.
    """

    def __init__(self, client: Any, prefix: str, *, flush_seconds: float = 0.25, max_batch: int = 500,
                 max_pending: int = 10_000, retries: int = 3):
        self.client = client
        self.prefix = prefix
        self.flush_seconds = flush_seconds
        self.max_batch = max_batch
        self.retries = retries
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=max_pending)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._in_flight = 0
        self.written = 0
        self.failed = 0

    def submit(self, **entry: Any) -> None:
        """Queue one entry (arguments as :func:`audit_entry`)."""
        document = audit_entry(**entry)
        self._ensure_thread()
        try:
            with self._idle:
                self._in_flight += 1
            self._queue.put_nowait(document)
        except queue.Full:
            with self._idle:
                self._in_flight -= 1
            self._write([document])

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="onionscope-audit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() or not self._queue.empty():
            try:
                first = self._queue.get(timeout=self.flush_seconds)
            except queue.Empty:
                continue
            batch = [first]
            # Let a burst of searches share one bulk request.
            deadline = time.monotonic() + self.flush_seconds
            while len(batch) < self.max_batch and time.monotonic() < deadline and not self._stop.is_set():
                try:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            self._write(batch)
            with self._idle:
                self._in_flight -= len(batch)
                self._idle.notify_all()

    def _write(self, batch: list[dict[str, Any]]) -> None:
        operations: list[dict[str, Any]] = []
        for document in batch:
            operations.append({"index": {"_index": audit_index(self.prefix)}})
            operations.append(document)
        last_error: Any = None
        for attempt in range(1, self.retries + 1):
            try:
                response = self.client.bulk(operations=operations)
                body = response.body if hasattr(response, "body") else response
                if not body.get("errors"):
                    self.written += len(batch)
                    return
                failed = [
                    (document, item["index"].get("error"))
                    for document, item in zip(batch, body["items"])
                    if item["index"].get("status", 500) >= 300
                ]
                self.written += len(batch) - len(failed)
                batch = [document for document, _ in failed]
                operations = [line for document in batch for line in ({"index": {"_index": audit_index(self.prefix)}}, document)]
                last_error = failed[0][1] if failed else None
            except Exception as exc:  # noqa: BLE001 -- any failure is retried, then put on record below
                last_error = exc
            time.sleep(min(2.0, 0.1 * 2**attempt))
        self.failed += len(batch)
        for document in batch:
            log.error("AUDIT WRITE FAILED (%s): %r", last_error, document)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted entry is written (or given up); False on timeout."""
        deadline = time.monotonic() + timeout
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
