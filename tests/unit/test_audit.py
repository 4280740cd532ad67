"""Audit entries never carry a token; a writer that cannot write says so in the log; a full backlog refuses."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
from elasticsearch import Elasticsearch

from search.audit import AuditBacklogFull, AuditWriter, audit_entry


def test_entry_fields_and_caps():
    entry = audit_entry(actor_id="abc", actor_name="ana", role="viewer", query="q" * 5000, kind="pages",
                        result_count=3, channel="api")
    assert set(entry) == {"at", "actor_id", "actor_name", "role", "query", "kind", "result_count", "channel"}
    assert len(entry["query"]) == 2000 and entry["at"].endswith("Z")


def test_writer_that_cannot_reach_elasticsearch_logs_every_entry(caplog):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    client = Elasticsearch(f"http://127.0.0.1:{port}", max_retries=0, request_timeout=2)
    writer = AuditWriter(client, "nowhere", flush_seconds=0.05, retries=1)
    with caplog.at_level(logging.ERROR, logger="search.audit"):
        writer.submit(actor_id="abc", actor_name="ana", role="viewer", query="needle", kind="pages",
                      result_count=0, channel="api")
        assert writer.flush(timeout=20)
        writer.close()
    assert writer.failed == 1 and writer.written == 0
    assert any("AUDIT WRITE FAILED" in record.getMessage() and "needle" in record.getMessage()
               for record in caplog.records)


class _StuckCluster:
    """A client whose bulk call hangs until released, and which notes the thread that called it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.callers: list[int] = []
        self.documents = 0

    def bulk(self, operations):
        self.callers.append(threading.get_ident())
        self.entered.set()
        self.release.wait(10)
        self.documents += len(operations) // 2
        return {"errors": False, "items": [{"index": {"status": 201}}] * (len(operations) // 2)}


ENTRY = dict(actor_id="abc", actor_name="ana", role="viewer", kind="pages", result_count=0, channel="api")


def test_full_backlog_refuses_at_once_and_never_writes_on_the_callers_thread(caplog):
    cluster = _StuckCluster()
    writer = AuditWriter(cluster, "stuck", flush_seconds=0.01, max_pending=3, retries=1)
    try:
        writer.submit(query="first", **ENTRY)
        assert cluster.entered.wait(10)  # the writer thread now hangs in bulk with one entry
        writer.submit(query="second", **ENTRY)
        writer.submit(query="third", **ENTRY)
        with caplog.at_level(logging.ERROR, logger="search.audit"):
            started = time.monotonic()
            with pytest.raises(AuditBacklogFull):
                writer.submit(query="fourth", **ENTRY)
            refused_in = time.monotonic() - started
        assert threading.get_ident() not in cluster.callers
        assert refused_in < 1.0 and writer.refused == 1
        assert any("AUDIT BACKLOG FULL" in record.getMessage() and "fourth" in record.getMessage()
                   for record in caplog.records)
    finally:
        cluster.release.set()
    assert writer.flush(timeout=10)
    writer.close()
    # What was taken is written; what was refused is not.
    assert cluster.documents == 3 and writer.written == 3 and writer.refused == 1
    # With room again, entries are taken.
    writer.submit(query="fifth", **ENTRY)
    assert writer.flush(timeout=10) and writer.written == 4
    writer.close()


class _ScriptedCluster:
    """Answers each bulk request with the next item status for every entry in it, and counts the requests."""

    def __init__(self, *statuses: int):
        self.statuses = list(statuses)
        self.requests = 0

    def bulk(self, *, operations):
        self.requests += 1
        status = self.statuses.pop(0)
        error = {"type": "es_rejected_execution_exception" if status == 429 else "strict_dynamic_mapping_exception",
                 "reason": "test"}
        item = {"status": status} if status < 300 else {"status": status, "error": error}
        return {"errors": status >= 300, "items": [{"index": item}] * (len(operations) // 2)}


def test_the_audit_writer_puts_a_permanent_failure_on_record_at_once_and_retries_a_transient_one(caplog):
    # A mapping error will not pass on a second try: it is on record after one request, with its reason.
    refusing = _ScriptedCluster(400, 400, 400)
    writer = AuditWriter(refusing, "p", flush_seconds=0.01, retries=3)
    with caplog.at_level(logging.ERROR, logger="search.audit"):
        writer.submit(query="rejected", **ENTRY)
        assert writer.flush(timeout=10)
        writer.close()
    assert (refusing.requests, writer.written, writer.failed) == (1, 0, 1)
    assert any("AUDIT WRITE FAILED" in record.getMessage() and "strict_dynamic_mapping_exception" in record.getMessage()
               and "rejected" in record.getMessage() for record in caplog.records)

    overloaded = _ScriptedCluster(429, 201)
    writer = AuditWriter(overloaded, "p", flush_seconds=0.01, retries=3)
    writer.submit(query="busy", **ENTRY)
    assert writer.flush(timeout=10)
    writer.close()
    assert (overloaded.requests, writer.written, writer.failed, writer.retried) == (2, 1, 0, 1)
