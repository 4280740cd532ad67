"""The bulk path: which errors are retried, how operations become bulk lines, what send returns and counts."""

from __future__ import annotations

from typing import Any

from pipelines.bulk_writer import BatchOutcome, BulkWriter, Operation, _bulk_lines, _is_retryable


def test_retryable_errors_are_transient_ones_only() -> None:
    assert _is_retryable(429, {"type": "es_rejected_execution_exception"})
    assert _is_retryable(403, {"type": "cluster_block_exception"})  # a write block during a migration
    assert _is_retryable(503, {})
    assert not _is_retryable(400, {"type": "strict_dynamic_mapping_exception"})
    assert not _is_retryable(400, {"type": "document_parsing_exception"})


def test_bulk_lines_pair_metadata_with_bodies() -> None:
    operations = [
        Operation("wallets", "index", "w1", {"address": "a"}, "p-wallets", {"if_seq_no": 4, "if_primary_term": 1}),
        Operation("pages", "update", "p1", {"doc": {}, "upsert": {}}, "p-pages", {"retry_on_conflict": 3}),
    ]
    assert _bulk_lines(operations) == [
        {"index": {"_index": "p-wallets", "_id": "w1", "if_seq_no": 4, "if_primary_term": 1}},
        {"address": "a"},
        {"update": {"_index": "p-pages", "_id": "p1", "retry_on_conflict": 3}},
        {"doc": {}, "upsert": {}},
    ]


def test_an_operation_without_an_id_lets_elasticsearch_pick_it() -> None:
    assert _bulk_lines([Operation("audit", "index", None, {"query": "q"}, "p-audit")]) == [
        {"index": {"_index": "p-audit"}}, {"query": "q"}]


class ScriptedCluster:
    """Answers each bulk request with the next list of item statuses (one per operation sent)."""

    def __init__(self, *answers: list[int]):
        self.answers = list(answers)
        self.requests: list[list[dict[str, Any]]] = []

    def bulk(self, *, operations: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests.append(operations)
        statuses = self.answers.pop(0)
        assert len(statuses) == len(operations) // 2
        items = []
        for status in statuses:
            result: dict[str, Any] = {"status": status}
            if status == 429:
                result["error"] = {"type": "es_rejected_execution_exception", "reason": "queue full"}
            elif status >= 300:
                result["error"] = {"type": "strict_dynamic_mapping_exception", "reason": "field [x] not allowed"}
            items.append({"index": result})
        return {"errors": any(status >= 300 for status in statuses), "items": items}


def test_send_retries_transient_failures_only_and_backs_off_doubling() -> None:
    cluster = ScriptedCluster([201, 429, 400], [429], [201])
    sleeps: list[float] = []
    writer = BulkWriter(cluster, "p", None, max_retries=3, backoff_seconds=0.5, sleep=sleeps.append)
    operations = [Operation("audit", "index", None, {"n": n}, "p-audit") for n in range(3)]
    outcome = BatchOutcome()
    succeeded, failures = writer.send(operations, outcome)
    assert [operation.body["n"] for operation, _ in succeeded] == [0, 1]
    [failure] = failures
    assert failure.operation.body == {"n": 2} and failure.attempts == 1 and failure.error.startswith("400 ")
    assert [len(request) // 2 for request in cluster.requests] == [3, 1, 1]  # only the 429 went again
    assert sleeps == [0.5, 1.0] and outcome.retries == 2


def test_send_gives_up_after_max_retries_and_a_bug_in_the_response_is_final_and_counted() -> None:
    writer = BulkWriter(ScriptedCluster([429], [429]), "p", None, max_retries=1, backoff_seconds=0.01, sleep=lambda _: None)
    outcome = BatchOutcome()
    _, [failure] = writer.send([Operation("audit", "index", None, {}, "p-audit")], outcome)
    assert failure.attempts == 2 and "es_rejected_execution_exception" in failure.error

    class Malformed:
        def bulk(self, *, operations: list[dict[str, Any]]) -> dict[str, Any]:
            return {"items": []}  # fewer results than operations

    outcome = BatchOutcome()
    _, [failure] = BulkWriter(Malformed(), "p", None, max_retries=3, sleep=lambda _: None).send(
        [Operation("audit", "index", None, {}, "p-audit")], outcome)
    assert failure.attempts == 1 and "unexpected error" in failure.error and outcome.unexpected_errors == 1
