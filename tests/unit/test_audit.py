"""Audit entries never carry a token; a writer that cannot write says so in the log."""

from __future__ import annotations

import logging
import socket

from elasticsearch import Elasticsearch

from search.audit import AuditWriter, audit_entry


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
