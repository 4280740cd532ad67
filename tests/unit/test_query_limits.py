"""What one query may make Elasticsearch do: terms, clauses, wildcards, and no regex at all.

Each limit, when hit, is a QueryError whose message names the setting (the
API answers 400 with it; tests/integration/test_hostile_users.py).
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.settings import load_settings
from search.query import KINDS, QueryError, build_query, parse

# The only clause types the compiler may make: nothing that runs a regex, a
# fuzzy automaton, a script or a query_string parser on user input.
ALLOWED_CLAUSES = {"bool", "multi_match", "term", "wildcard", "range", "match_all"}
BOOL_KEYS = {"must", "filter", "should", "must_not", "minimum_should_match"}


def _limit_error(query: str, kind: str = "listings", **limits: int) -> QueryError:
    from search.query import QueryLimits

    with pytest.raises(QueryError) as caught:
        build_query(parse(query, QueryLimits(**limits)), kind, QueryLimits(**limits))
    return caught.value


def test_a_word_that_analyses_into_many_terms_counts_them_all():
    # One word for the parser, seventy terms for Elasticsearch's standard analyser.
    error = _limit_error("fentanyl " + "-".join(f"t{n}" for n in range(70)))
    assert "more than 64 terms" in str(error) and "query_max_terms" in str(error)
    assert error.setting == "query_max_terms" and error.column == 10


def test_a_long_phrase_counts_each_word():
    error = _limit_error('"' + " ".join(f"w{n}" for n in range(65)) + '"')
    assert error.setting == "query_max_terms" and error.column == 1


def test_ideographs_are_a_term_each():
    error = _limit_error("芬太尼" * 30)
    assert error.setting == "query_max_terms"


def test_more_wildcards_than_allowed_name_their_limit_and_column():
    ids = " OR ".join(f"pgp:0x{n:016X}" for n in range(5))
    error = _limit_error(ids, kind="vendors")
    assert error.setting == "query_max_wildcards" and "wildcard" in str(error)
    assert error.column == ids.rindex("pgp:") + 1
    # A full fingerprint is an exact term, not a wildcard.
    build_query(parse(" OR ".join("pgp:" + f"{n:040X}" for n in range(5))), "vendors")


def test_clauses_count_once_per_field_a_word_searches():
    # Listings search four text fields: three words are twelve clauses.
    assert len(KINDS["listings"].text_fields) == 4
    error = _limit_error("a b c", max_clauses=11)
    assert error.setting == "query_max_clauses" and error.column == 5
    from search.query import QueryLimits

    build_query(parse("a b c"), "listings", QueryLimits(max_clauses=12))


def test_limits_come_from_the_settings():
    from search.query import QueryLimits

    settings = load_settings(environ={"ONIONSCOPE_QUERY_MAX_TERMS": "3", "ONIONSCOPE_QUERY_MAX_WILDCARDS": "0"})
    limits = QueryLimits.from_settings(settings)
    assert limits.max_terms == 3 and limits.max_wildcards == 0
    assert QueryLimits() == QueryLimits.from_settings(load_settings(environ={}))
    with pytest.raises(QueryError, match="query_max_terms"):
        parse("a b c d", limits)
    with pytest.raises(QueryError, match="query_max_wildcards"):
        build_query(parse("pgp:DEADBEEF", limits), "vendors", limits)


def _walk(clause: dict) -> list[str]:
    """Every clause type in a compiled query, checking each bool's shape on the way."""
    assert len(clause) == 1, clause
    (kind, body), = clause.items()
    found = [kind]
    if kind == "bool":
        assert set(body) <= BOOL_KEYS, body
        for key in ("must", "filter", "should", "must_not"):
            for child in body.get(key, []):
                found += _walk(child)
    elif kind == "multi_match":
        assert body["type"] in ("best_fields", "phrase") and "fuzziness" not in body, body
    return found


_QUERY_PARTS = st.sampled_from(
    ["fentanyl", "a-b-c", '"next day"', "OR", "AND", "NOT", "-", "(", ")", " ", "pgp:0xDEADBEEF", "pgp:ab",
     "market:alpha", "coin:xmr", "wallet:bc1q*", "vendor:.*", "date:2026", "after:2026-01-01", "*", "?", "~2",
     "/a.*b/", "title:x", "_exists_:x", "\\", "芬", "x" * 300]
)


@settings(max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_QUERY_PARTS, max_size=30).map("".join), st.sampled_from(sorted(KINDS)))
def test_no_query_compiles_to_anything_but_the_allowed_clauses_or_past_its_limits(text, kind):
    from search.query import QueryLimits

    limits = QueryLimits()
    try:
        query = build_query(parse(text, limits), kind, limits)
    except QueryError as error:
        assert error.column is None or 1 <= error.column <= len(text) + 1
        return
    types = _walk(query)
    assert set(types) <= ALLOWED_CLAUSES, types
    assert types.count("wildcard") <= limits.max_wildcards
    # Regex-looking input stays a value: no regexp, fuzzy or query_string anywhere.
    assert not re.search(r'"(regexp|fuzzy|prefix|query_string|simple_query_string|script)"', json.dumps(query))
