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


def test_the_cli_prints_counts_per_kind_and_each_kinds_top_hits_escaped():
    from search.cli_output import render_csv, render_hits, render_json
    from search.results import Hit
    from search.unified import UnifiedResult

    hit = Hit(id="p1", kind="pages", title="Thread \x1b[31m red", score=1.0,
              source={"onion_host": "a.onion", "url": "http://a.onion/t"}, snippets=[])
    result = UnifiedResult(query="q", counts={kind: 0 for kind in UNIFIED_KINDS} | {"pages": 1},
                           counts_exact={kind: True for kind in UNIFIED_KINDS},
                           hits={kind: [] for kind in UNIFIED_KINDS} | {"pages": [hit]})
    text = render_hits(result)
    assert text.startswith("1 results match q") and "pages 1 · listings 0" in text
    assert "pages (1); all of them: --kind pages" in text and "\x1b" not in text and "\\x1b[31m" in text
    assert render_csv(result).splitlines()[1].startswith("1,p1,pages,")
    assert '"counts"' in render_json(result)
