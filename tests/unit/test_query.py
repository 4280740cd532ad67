"""The query language: parsing, errors with positions, and the DSL it builds."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.query import (
    FIELDS,
    KINDS,
    MAX_CLAUSES,
    MAX_DEPTH,
    And,
    DateRange,
    FieldMatch,
    MatchAll,
    Not,
    Or,
    Phrase,
    QueryError,
    Word,
    build_query,
    field_values,
    parse,
    quote_value,
)


def test_words_are_anded_and_phrases_kept_whole():
    node = parse('fentanyl "next day delivery"')
    assert node == And((Word("fentanyl", 1), Phrase("next day delivery", 10)))


def test_or_binds_looser_than_and():
    node = parse("a b OR c")
    assert isinstance(node, Or)
    assert node.children[0] == And((Word("a", 1), Word("b", 3)))
    assert node.children[1] == Word("c", 8)


def test_parentheses_group():
    node = parse("(a OR b) c")
    assert isinstance(node, And)
    assert isinstance(node.children[0], Or)


def test_not_and_minus_negate():
    assert parse("NOT escrow") == Not(Word("escrow", 5))
    assert parse("-escrow") == Not(Word("escrow", 2))
    node = parse('fentanyl -"free sample" -market:beta')
    assert isinstance(node, And)
    assert node.children[1] == Not(Phrase("free sample", 11))
    assert node.children[2] == Not(FieldMatch("market", "beta", 26))


def test_lower_case_operators_are_words():
    assert parse("salt and pepper") == And((Word("salt", 1), Word("and", 6), Word("pepper", 10)))


def test_fields_are_normalised():
    assert parse("coin:XMR") == FieldMatch("coin", "xmr", 1)
    assert parse('pgp:"abcd 1234 ef"').value == "ABCD1234EF"
    assert parse("onion:http://ABC.onion/path").value == "abc.onion"
    assert parse("onion:abc").value == "abc.onion"
    assert parse('vendor:"Dr Green"') == FieldMatch("vendor", "Dr Green", 1)
    assert parse("Lang:DE") == FieldMatch("lang", "de", 1)


def test_urls_are_words_not_fields():
    assert parse("http://abc.onion/x") == Word("http://abc.onion/x", 1)


def test_unknown_field_names_column_and_suggestion():
    with pytest.raises(QueryError) as caught:
        parse("vendr:x")
    assert str(caught.value) == "unknown field 'vendr' at column 1; did you mean 'vendor'?"
    assert caught.value.column == 1
    with pytest.raises(QueryError) as caught:
        parse("fentanyl zzzz:1")
    assert caught.value.column == 10
    assert "known fields" in str(caught.value)


@pytest.mark.parametrize(
    "query, column, words",
    [
        ("(a OR b", 1, "unclosed '('"),
        ("a OR b)", 7, "unbalanced ')'"),
        ('a "b c', 3, "unterminated quote"),
        ("a OR", 5, "after the operator"),
        ("OR a", 1, "needs a term on each side"),
        ("a AND OR b", 7, "needs a term on each side"),
        ("()", 1, "empty parentheses"),
        ('""', 1, "empty phrase"),
        ("market:", 1, "needs a value"),
        ("date:2026-13-01", 6, "not a valid date"),
        ("date:yesterday", 6, "not a date"),
        ("date:2026-02-01..2026-01-01", 6, "ends before it starts"),
        ("after:", 1, "needs a date"),
    ],
)
def test_malformed_queries_point_at_the_problem(query, column, words):
    with pytest.raises(QueryError) as caught:
        parse(query)
    assert caught.value.column == column, str(caught.value)
    assert words in str(caught.value)
    assert f"at column {column}" in str(caught.value)


def test_date_forms():
    assert parse("date:2026-01-01..2026-01-31") == DateRange("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", 1)
    assert parse("date:2026-02") == DateRange("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", 1)
    assert parse("date:2026-12") == DateRange("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", 1)
    assert parse("date:2026") == DateRange("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", 1)
    assert parse("date:2026-03-01..") == DateRange("2026-03-01T00:00:00Z", None, 1)
    assert parse("after:2026-03-01") == DateRange("2026-03-01T00:00:00Z", None, 1)
    assert parse("before:2026-03-01") == DateRange(None, "2026-03-01T00:00:00Z", 1)


def test_limits():
    with pytest.raises(QueryError, match="deeper"):
        parse("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(QueryError, match="more than"):
        parse(" ".join(f"w{i}" for i in range(MAX_CLAUSES + 1)))
    with pytest.raises(QueryError, match="longer"):
        parse("a" * 5000)
    with pytest.raises(QueryError, match="NUL"):
        parse("a\x00b")


def test_empty_query_matches_all():
    assert parse("") == MatchAll()
    assert parse("   ") == MatchAll()
    assert build_query(MatchAll(), "pages") == {"match_all": {}}


def test_field_clauses_are_filters_with_case_insensitive_terms():
    query = build_query(parse("fentanyl market:Alpha"), "listings")
    assert query["bool"]["must"][0]["multi_match"]["query"] == "fentanyl"
    market = query["bool"]["filter"][0]
    terms = [clause["term"] for clause in market["bool"]["should"]]
    assert {"market": {"value": "Alpha", "case_insensitive": True}} in terms


def test_wallet_terms_are_exact_case():
    query = build_query(parse("wallet:bc1QabC"), "listings")
    clauses = query["bool"]["filter"][0]["bool"]["should"]
    assert all(clause["term"][name]["value"] == "bc1QabC" for clause in clauses for name in clause["term"])
    assert all("case_insensitive" not in clause["term"][name] for clause in clauses for name in clause["term"])


def test_short_pgp_id_matches_fingerprint_suffix():
    query = build_query(parse("pgp:0xdeadbeefcafebabe"), "vendors")
    wildcard = query["bool"]["filter"][0]["wildcard"]["pgp_fingerprints"]
    assert wildcard["value"] == "*DEADBEEFCAFEBABE"


def test_negations_go_to_must_not():
    query = build_query(parse("fentanyl -escrow -country:nl"), "listings")
    assert len(query["bool"]["must_not"]) == 2


def test_range_clause():
    query = build_query(parse("after:2026-01-01"), "pages")
    should = query["bool"]["filter"][0]["bool"]["should"]
    assert {"range": {"fetched_at": {"gte": "2026-01-01T00:00:00Z"}}} in should


def test_phrase_uses_phrase_matching_on_the_kind_fields():
    query = build_query(parse('"next day"'), "pages")
    assert query["multi_match"]["type"] == "phrase"
    assert query["multi_match"]["fields"] == list(KINDS["pages"].text_fields)


def test_hostile_text_stays_a_value():
    hostile = '"} OR *:* {"query_string'
    query = build_query(parse(f'"{hostile.replace(chr(34), "")}"'), "pages")
    assert "query_string" not in json.dumps(list(query["multi_match"].keys()))
    text = json.dumps(query)
    assert "query_string" not in text.replace(hostile.replace('"', ""), "")


def test_unknown_kind_is_a_query_error_without_a_column():
    with pytest.raises(QueryError, match="unknown kind") as caught:
        build_query(parse("a"), "bananas")
    assert caught.value.column is None and "column" not in str(caught.value)


def test_field_values_and_quote_value_round_trip():
    node = parse('a market:alpha (market:"two words" OR b)')
    assert field_values(node, "market") == ["alpha", "two words"]
    for value in ("alpha", "two words", "a:b", "OR", "x(y)"):
        reparsed = parse(f"market:{quote_value(value)}")
        assert reparsed == FieldMatch("market", value.replace('"', ""), 1)


_QUERY_ALPHABET = st.sampled_from(
    list('abcXYZ019 ()"-:.*\\\t\n') + ["AND", "OR", "NOT", " AND ", " OR ", " NOT ", "market:", "date:", "vendr:",
                                       "2026-01-01", "..", "\u202e", "\x1b", "\ue000"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_QUERY_ALPHABET, max_size=40).map("".join))
def test_parser_never_crashes_on_query_shaped_input(text):
    try:
        node = parse(text)
    except QueryError as error:
        assert 1 <= error.column <= len(text) + 1
        assert "column" in str(error)
        return
    for kind in KINDS:
        json.dumps(build_query(node, kind))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_parser_never_crashes_on_any_text(text):
    try:
        node = parse(text)
    except QueryError as error:
        assert error.column >= 1
        return
    json.dumps(build_query(node, "listings"))


def test_every_field_has_help_and_es_fields():
    for spec in FIELDS.values():
        assert spec.help and spec.es_fields


def test_coin_matches_both_ticker_and_name() -> None:
    from search.query import build_query, parse

    for text in ("coin:xmr", "coin:Monero"):
        body = repr(build_query(parse(text), "pages"))
        assert "'xmr'" in body and "'monero'" in body
    body = repr(build_query(parse("coin:unknowncoin"), "pages"))
    assert "'unknowncoin'" in body and "'xmr'" not in body


def test_coin_values_are_tickers_whatever_the_spelling() -> None:
    # One vocabulary: the value a coin: clause carries is the ticker the facets show.
    for text in ("coin:monero", "coin:Monero", "coin:XMR", 'coin:" xmr "'):
        assert parse(text) == FieldMatch("coin", "xmr", 1), text
    assert parse("coin:bitcoin-cash").value == "bch" and parse("coin:unknowncoin").value == "unknowncoin"
    # The clause still matches both stored spellings (names on wallets and pages, tickers on listings).
    assert build_query(parse("coin:bitcoin"), "pages") == build_query(parse("coin:btc"), "pages")


def test_onion_values_fold_subdomains_as_the_crawler_stores_hosts() -> None:
    from crawler.urls import onion_host

    for text in ("onion:shop.ABC.onion", "onion:http://shop.abc.onion:8080/x?y=1", "onion:abc"):
        assert parse(text).value == "abc.onion", text
    url = "http://shop." + "a" * 56 + ".onion/x"
    assert parse(f"onion:{url}").value == onion_host(url)
