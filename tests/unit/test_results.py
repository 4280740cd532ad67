"""Result shaping: highlight segments, signed cursors, the request body."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.query import QueryError, parse
from search.results import (
    HIGHLIGHT_POST,
    HIGHLIGHT_PRE,
    build_search_body,
    decode_cursor,
    encode_cursor,
    shape_hit,
    snippet_segments,
)

SECRET = b"s" * 32


def test_segments_split_on_markers_and_never_make_markup():
    fragment = f"a <b>{HIGHLIGHT_PRE}fentanyl{HIGHLIGHT_POST} c"
    assert snippet_segments(fragment) == [
        {"text": "a <b>", "hit": False},
        {"text": "fentanyl", "hit": True},
        {"text": " c", "hit": False},
    ]
    # A stray marker planted in crawled text only toggles highlighting.
    assert snippet_segments(f"x{HIGHLIGHT_POST}y") == [{"text": "x", "hit": False}, {"text": "y", "hit": False}]


def _segments_one_char_at_a_time(fragment: str) -> list[dict]:
    segments, current, highlighted = [], "", False
    for char in fragment:
        if char in (HIGHLIGHT_PRE, HIGHLIGHT_POST):
            if current:
                segments.append({"text": current, "hit": highlighted})
            current, highlighted = "", char == HIGHLIGHT_PRE
        else:
            current += char
    if current:
        segments.append({"text": current, "hit": highlighted})
    return segments


@given(st.text(alphabet=st.sampled_from(["a", " ", "<", "é", HIGHLIGHT_PRE, HIGHLIGHT_POST]), max_size=60))
def test_segments_agree_with_a_character_walk(fragment):
    segments = snippet_segments(fragment)
    assert segments == _segments_one_char_at_a_time(fragment)
    assert "".join(segment["text"] for segment in segments) == fragment.replace(HIGHLIGHT_PRE, "").replace(HIGHLIGHT_POST, "")


def test_cursor_round_trip_and_tamper_detection():
    cursor = encode_cursor(SECRET, "q", "pages", "relevance", [1.5, "2026-01-01", "u"])
    assert decode_cursor(SECRET, cursor, "q", "pages", "relevance") == [1.5, "2026-01-01", "u"]
    with pytest.raises(QueryError, match="another query"):
        decode_cursor(SECRET, cursor, "other", "pages", "relevance")
    with pytest.raises(QueryError, match="not valid"):
        decode_cursor(b"t" * 32, cursor, "q", "pages", "relevance")
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    with pytest.raises(QueryError):
        decode_cursor(SECRET, tampered, "q", "pages", "relevance")
    for junk in ("", "!!!", "a", "AAAA" * 10):
        with pytest.raises(QueryError):
            decode_cursor(SECRET, junk, "q", "pages", "relevance")


def test_body_has_facets_highlights_sort_and_bounds():
    body = build_search_body(parse("fentanyl"), "listings", sort="date", limit=500, search_after=["x"])
    assert body["size"] == 100
    assert body["search_after"] == ["x"]
    assert set(body["aggs"]) == {"market", "vendor", "coin", "substance", "country", "language"}
    assert body["highlight"]["pre_tags"] == [HIGHLIGHT_PRE]
    assert "fetched_at" in body["sort"][0]
    assert body["highlight"]["fields"]["title"] == {"number_of_fragments": 0}
    assert body["highlight"]["fields"]["description"] == {}
    assert "text" in body["_source"]["excludes"]
    with pytest.raises(QueryError, match="unknown sort"):
        build_search_body(parse("a"), "pages", sort="random")


def test_shape_hit_title_segments_and_snippets():
    raw = {"_id": "1", "_score": 2.0, "_source": {"title": "<script>x</script> fentanyl"},
           "highlight": {"title": [f"<script>x</script> {HIGHLIGHT_PRE}fentanyl{HIGHLIGHT_POST}"],
                         "description": [f"pure {HIGHLIGHT_PRE}fentanyl{HIGHLIGHT_POST}"]}}
    hit = shape_hit(raw, "listings")
    assert hit.title == "<script>x</script> fentanyl"
    assert hit.source["_title_segments"][1] == {"text": "fentanyl", "hit": True}
    assert hit.snippets == [[{"text": "pure ", "hit": False}, {"text": "fentanyl", "hit": True}]]


def answer_with_buckets(field_buckets: dict[str, list[tuple[str, int]]]) -> dict:
    return {"took": 1, "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []},
            "aggregations": {name: {"buckets": [{"key": key, "doc_count": count} for key, count in buckets]}
                             for name, buckets in field_buckets.items()}}


def run_with_answer(kind: str, answer: dict):
    from search.results import search_steps

    steps = search_steps("p", "", kind=kind, cursor_secret=SECRET)
    request = next(steps)
    assert request.index == f"p-{kind}"
    try:
        steps.send(answer)
    except StopIteration as done:
        return done.value
    raise AssertionError("search_steps asked for more than one request")


def test_coin_facet_shows_tickers_on_every_kind():
    # Pages and wallets store the extractor's coin names, listings tickers: the facet says btc for all.
    pages = run_with_answer("pages", answer_with_buckets({"coin": [("bitcoin", 3), ("monero", 1)],
                                                          "market": [("alpha", 2)]}))
    assert pages.facets["coin"] == [{"value": "btc", "count": 3}, {"value": "xmr", "count": 1}]
    assert pages.facets["market"] == [{"value": "alpha", "count": 2}]
    listings = run_with_answer("listings", answer_with_buckets({"coin": [("btc", 2), ("usdt", 1)]}))
    assert listings.facets["coin"] == [{"value": "btc", "count": 2}, {"value": "usdt", "count": 1}]
    # Two spellings in one answer are one value; counts add up and the order stays by count.
    mixed = run_with_answer("wallets", answer_with_buckets({"coin": [("xmr", 2), ("bitcoin", 2), ("btc", 1)]}))
    assert mixed.facets["coin"] == [{"value": "btc", "count": 3}, {"value": "xmr", "count": 2}]
