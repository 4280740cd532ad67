"""search.es_steps on the real node: both drivers keep the same contract for missing data and failures."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from elasticsearch import ApiError, NotFoundError

from pipelines.es_client import make_async_client
from search.es_steps import Count, Get, Msearch, Search, run, run_async

pytestmark = pytest.mark.integration


@pytest.fixture
def scratch_index(es):  # type: ignore[no-untyped-def]
    """One document in an index of its own (not a kind, so deleted here rather than by delete_prefix)."""
    client, prefix = es
    index = f"{prefix}-steps-scratch"
    client.index(index=index, id="one", document={"name": "first"}, refresh="wait_for")
    yield index
    client.indices.delete(index=index, ignore_unavailable=True)


def _steps(requests: list[Any]):  # type: ignore[no-untyped-def]
    answers = []
    for request in requests:
        answers.append((yield request))
    return answers


def _both(client: Any, settings: Any, requests: list[Any]) -> tuple[Any, Any]:
    """The answers of the blocking and the async driver to the same requests."""
    blocking = run(client, _steps(requests))

    async def with_async_client() -> Any:
        async_client = make_async_client(settings)
        try:
            return await run_async(async_client, _steps(requests))
        finally:
            await async_client.close()

    return blocking, asyncio.run(with_async_client())


def test_missing_documents_and_indices_answer_empty(es, es_settings, scratch_index) -> None:  # type: ignore[no-untyped-def]
    client, prefix = es
    index = scratch_index
    missing = f"{prefix}-never-created"
    requests = [
        Get(index, "one"),
        Get(index, "absent"),
        Get(missing, "absent"),
        Count(index),
        Count(missing),
        Search(missing, {"query": {"match_all": {}}}),
        Msearch(((index, {"query": {"match_all": {}}}), (missing, {"query": {"match_all": {}}}))),
    ]
    blocking, non_blocking = _both(client, es_settings, requests)
    for answers in (blocking, non_blocking):
        found, absent, no_index, count, no_count, lenient, multi = answers
        assert found["_source"] == {"name": "first"} and absent is None and no_index is None
        assert count == 1 and no_count == 0
        assert lenient["hits"]["hits"] == []
        assert [len(answer["hits"]["hits"]) for answer in multi] == [1, 0]


def test_failures_raise_the_same_errors(es, es_settings, scratch_index) -> None:  # type: ignore[no-untyped-def]
    client, prefix = es
    index = scratch_index
    strict_missing = [Search(f"{prefix}-never-created", {"query": {"match_all": {}}}, lenient=False)]
    broken_multi = [Msearch(((index, {"query": {"match_all": {}}}),
                             (index, {"query": {"no_such_query_type": {}}})))]
    for requests, error in ((strict_missing, NotFoundError), (broken_multi, ApiError)):
        with pytest.raises(error):
            run(client, _steps(requests))

        async def with_async_client() -> None:
            async_client = make_async_client(es_settings)
            try:
                await run_async(async_client, _steps(requests))
            finally:
                await async_client.close()

        with pytest.raises(error):
            asyncio.run(with_async_client())
