"""search.unified: one search over every kind, with the per-kind bodies, and the one default."""

from __future__ import annotations

import pytest

from search.es_steps import Msearch, Search
from search.query import QueryError, parse
from search.results import build_search_body
from search.unified import DEFAULT_KIND, SCOPES, UNIFIED_KINDS, find_steps


def _answer(total: int) -> dict:
    return {"took": 3, "hits": {"total": {"value": total, "relation": "eq"}, "hits": []}}


def test_the_default_is_every_kind_in_one_msearch_of_the_per_kind_bodies():
    assert DEFAULT_KIND == "all" and SCOPES[0] == "all"
    steps = find_steps("p", "fentanyl coin:xmr")
    request = next(steps)
    assert isinstance(request, Msearch)
    assert [index for index, _ in request.searches] == [f"p-{kind}" for kind in UNIFIED_KINDS]
    node = parse("fentanyl coin:xmr")
    for (index, body), kind in zip(request.searches, UNIFIED_KINDS):
        assert body == build_search_body(node, kind, limit=3, with_facets=False)
    with pytest.raises(StopIteration) as stop:
        steps.send([_answer(n) for n in (4, 3, 0, 2, 1)])
    result = stop.value.value
    assert result.counts == dict(zip(UNIFIED_KINDS, (4, 3, 0, 2, 1))) and result.total == 10
    assert result.to_json()["counts"]["listings"] == 3 and result.total_is_exact


def test_one_kind_is_the_per_kind_search_and_every_kind_refuses_paging_and_date_sort():
    request = next(find_steps("p", "x", kind="onions"))
    assert isinstance(request, Search) and request.index == "p-onions" and "aggs" in request.body
    for options in ({"cursor": "c"}, {"sort": "date"}):
        with pytest.raises(QueryError):
            next(find_steps("p", "x", **options))
    with pytest.raises(QueryError):
        next(find_steps("p", "x", kind="nope"))
