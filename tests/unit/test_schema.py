"""The index schema (config.schema) against the index templates, and its rules written out independently."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path
from typing import Any

import pytest

from config import schema
from config.errors import UserError
from pipelines.indices import load_template

ROOT = Path(__file__).resolve().parents[2]


def mapped_fields(properties: dict[str, Any], prefix: str = "") -> dict[str, str | None]:
    """Every field of a mapping as ``{dotted path: type}``; None for a field that is stored but not indexed."""
    fields: dict[str, str | None] = {}
    for name, spec in properties.items():
        path = prefix + name
        indexed = spec.get("enabled", True) is not False and spec.get("index", True) is not False
        fields[path] = spec.get("type", "object") if indexed else None
        for sub_name, sub_spec in (spec.get("fields") or {}).items():
            fields[f"{path}.{sub_name}"] = sub_spec["type"]
        fields.update(mapped_fields(spec.get("properties") or {}, path + "."))
    return fields


@pytest.mark.parametrize("kind", schema.KINDS)
def test_every_catalogued_field_is_in_the_template_with_its_type(kind: str) -> None:
    mapping = mapped_fields(load_template(kind).mappings["properties"])
    for path, field in schema.KIND_FIELDS[kind].items():
        assert path in mapping, f"{kind}.{path} is catalogued in config.schema but not in {kind}.json"
        assert mapping[path] == field.type, f"{kind}.{path}: schema says {field.type}, template says {mapping[path]}"


@pytest.mark.parametrize("kind", schema.KINDS)
def test_every_searchable_field_of_the_template_is_catalogued(kind: str) -> None:
    mapping = mapped_fields(load_template(kind).mappings["properties"])
    searchable = {path for path, type_ in mapping.items() if type_ is not None}
    missing = sorted(searchable - set(schema.KIND_FIELDS[kind]))
    assert not missing, f"{kind}.json indexes {missing}, which config.schema.KIND_FIELDS does not catalogue"


@pytest.mark.parametrize("kind", schema.KINDS)
def test_the_template_names_its_kind_and_version(kind: str) -> None:
    template = load_template(kind)
    assert template.mappings["_meta"] == {"onionscope_kind": kind, "schema_version": template.schema_version}


def test_every_query_field_facet_sort_and_text_field_is_a_catalogued_field_of_the_right_type() -> None:
    searchable = {name: schema.KIND_FIELDS[name] for name in schema.SEARCH_KINDS}
    for spec in schema.QUERY_FIELDS.values():
        found = [(kind, fields[es_field].type) for es_field in spec.es_fields
                 for kind, fields in searchable.items() if es_field in fields]
        # Terms and wildcards go to keyword fields.  A name that is an object on
        # one kind (pages.wallets, whose keywords are wallets.address...) matches nothing there.
        assert {type_ for _, type_ in found} <= {"keyword", "object"} and "keyword" in {t for _, t in found}, spec.name
        for es_field in spec.es_fields:
            assert any(es_field in fields for fields in searchable.values()), f"{spec.name}: {es_field} is nowhere"
    for facet in schema.FACETS.values():
        assert facet.query_field in schema.QUERY_FIELDS
        for kind, es_field in facet.fields.items():
            assert searchable[kind][es_field].type == "keyword", (facet.name, kind)
            # A facet value links to a query on the same field, so it must be one of the query field's.
            assert es_field in schema.QUERY_FIELDS[facet.query_field].es_fields, (facet.name, kind)
    for kind, spec in schema.SEARCH_KINDS.items():
        fields = searchable[kind]
        assert spec.name == kind
        for text_field in spec.text_fields:
            # multi_match analyses text fields; a keyword field (a wallet's address) matches whole.
            assert fields[text_field.split("^")[0]].type in ("text", "keyword"), (kind, text_field)
        for name in (*spec.highlight_fields, spec.title_highlight):
            assert fields[name].type in ("text", "keyword"), (kind, name)
        assert spec.title_highlight in spec.highlight_fields
        assert fields[spec.date_field].type == "date" and spec.date_field in schema.DATE_FIELDS
        assert spec.title_field in fields
        assert all(fields[name].type == "keyword" for name in spec.tiebreak), kind


def sha256_of(*parts: str) -> str:
    # The documented rule written out independently: sha256 of the parts joined by NUL.
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def test_id_rules() -> None:
    assert schema.page_doc_id("http://x.onion/") == sha256_of("http://x.onion/")
    assert schema.listing_doc_id("m", "7", "X.onion", True) == sha256_of("m", "7")
    assert schema.listing_doc_id("m", "7", "X.onion", False) == sha256_of("m", "x.onion", "7")
    assert schema.vendor_doc_id("m", "Dr Green", "X.onion", False) == sha256_of("m", "x.onion", "dr green")
    assert schema.wallet_doc_id("BTC", "bc1q") == schema.wallet_doc_id("btc", "bc1q") == sha256_of("btc", "bc1q")
    assert schema.onion_doc_id("ABC.onion") == "abc.onion"
    assert schema.crawl_run_doc_id("job-1") == "job-1"
    assert schema.token_doc_id("osk_x") == hashlib.sha256(b"osk_x").hexdigest()


def test_alias_names() -> None:
    assert [schema.alias_name("p", kind) for kind in schema.KINDS] == [f"p-{kind}" for kind in schema.KINDS]
    assert schema.versioned_index_name("p", "crawl-runs", 2) == "p-crawl-runs-v2"
    with pytest.raises(UserError, match="unknown index kind"):
        schema.alias_name("p", "page")


def test_normalisers() -> None:
    assert schema.normalise_fingerprint("0xabcd 1234\tef") == "ABCD1234EF"
    assert schema.normalise_onion_host("ABC.onion") == "abc.onion"
    assert schema.onion_service_host("Sub.ABC.onion") == "abc.onion"
    assert schema.onion_service_host("example.org") is None and schema.onion_service_host(".onion") is None
    assert schema.onion_host_from_input(" http://ABC.onion:80/path ") == "abc.onion"
    assert schema.onion_host_from_input("abc") == "abc.onion" and schema.onion_host_from_input("  ") == ""
    assert schema.coin_ticker("Bitcoin") == "btc" and schema.coin_ticker("XMR") == "xmr"
    assert schema.coin_ticker("weird-coin") == "weird-coin" and schema.coin_ticker(None) is None
    assert schema.coin_aliases("monero") == schema.coin_aliases("XMR") == ("monero", "xmr")
    assert set(schema.COIN_TICKERS.values()) <= schema.CRYPTO_TICKERS


def test_normalise_document_applies_each_field_rule() -> None:
    document = {"onion_host": "ABC.onion", "language": "", "emails": ["B@x.org", "b@X.org", ""],
                "pgp_fingerprints": ["ab cd", "ABCD"], "wallets": [{"coin": "Bitcoin", "network": "MainNet"}, "x"],
                "title": "Kept As Is"}
    normalised = schema.normalise_document("pages", document)
    assert normalised == {"onion_host": "abc.onion", "language": "", "emails": ["b@x.org"],
                          "pgp_fingerprints": ["ABCD"], "wallets": [{"coin": "bitcoin", "network": "mainnet"}, "x"],
                          "title": "Kept As Is"}
    assert document["onion_host"] == "ABC.onion"  # the caller's dict is left alone


HIGHER_LAYERS = ("crawler", "pipelines", "search", "harness", "onionscope", "bench", "tests")


def test_the_schema_imports_nothing_above_the_base_layer() -> None:
    for path in sorted((ROOT / "config" / "schema").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in HIGHER_LAYERS, f"{path.name} imports {name}"


def test_the_fields_pivot_tables_show_are_catalogued() -> None:
    from search import pivots

    for kind, shown in (("listings", pivots.LISTING_SUMMARY), ("vendors", pivots.VENDOR_SUMMARY)):
        assert set(shown) <= set(schema.KIND_FIELDS[kind]), kind
    for heavy in pivots.SOURCE_EXCLUDES:
        assert heavy in schema.KIND_FIELDS["pages"]
