"""Exports: CSV safety, JSON content, STIX 2.1 bundle structure, MISP event attributes."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections import defaultdict

import pytest

from crawler.extractors.document import extract_document
from config.errors import UserError
from pipelines.documents import DOCUMENT_KINDS, upsert_action
from pipelines.entities import merge_wallet, wallet_doc_id, wallet_sightings_from_item
from search.exports import coin_ticker, export_set_from_records, guess_coin, render
from search.exports.csv_export import safe_cell
from search.exports.misp import to_misp_event
from search.exports.stix import STIX_SCO_NAMESPACE, pattern_string, to_stix_bundle

BTC = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
XMR = "4" + "A" * 94
ONION = "a" * 56 + ".onion"
FINGERPRINT = "ABCD" * 10


def sample_set():
    records = [
        {"kind": "listings", "id": "l1", "market": "alpha", "title": "=HYPERLINK(\"http://evil\")", "vendor": "DrGreen",
         "onion_host": ONION, "url": f"http://{ONION}/l/1", "fetched_at": "2026-01-05T10:00:00Z",
         "wallets": [BTC], "price_amount": 10.0, "price_currency": "USD"},
        {"kind": "vendors", "id": "v1", "market": "beta", "name": "Dr'Green", "onion_host": "b" * 56 + ".onion",
         "fetched_at": "2026-01-07T10:00:00Z", "pgp_fingerprints": [FINGERPRINT], "wallets": [BTC, XMR]},
        {"kind": "pages", "id": "p1", "onion_host": ONION, "url": f"http://{ONION}/",
         "fetched_at": "2026-01-04T10:00:00Z", "wallets": [{"address": "Xy" + "1" * 32, "coin": "dash"}],
         "emails": ["x@example.org"]},
    ]
    return export_set_from_records("test export", records)


def test_identifiers_are_gathered_with_coins():
    export_set = sample_set()
    assert export_set.wallets[BTC] == "btc"
    assert export_set.wallets[XMR] == "xmr"
    assert export_set.wallets["Xy" + "1" * 32] == "dash"
    assert export_set.onions == {ONION, "b" * 56 + ".onion"}
    assert export_set.pgp_fingerprints == {FINGERPRINT}
    assert len(export_set.sightings[BTC]) == 2


def test_guess_coin():
    assert guess_coin(BTC) == "btc"
    assert guess_coin("1BoatSLRHtKNngkdXEeobR76b53LETtpyT") == "btc"
    assert guess_coin("0x" + "ab" * 20) == "eth"
    assert guess_coin("not an address") is None


def test_csv_defuses_formulas_and_control_characters():
    assert safe_cell("=1+2") == "'=1+2"
    assert safe_cell("-2") == "'-2"
    assert safe_cell("@SUM") == "'@SUM"
    assert safe_cell("ok\x1b[31m") == "ok[31m"
    text, media_type, suffix = render(sample_set(), "csv")
    assert media_type.startswith("text/csv") and suffix == "csv"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3
    assert rows[0]["title"].startswith("'=HYPERLINK")
    assert rows[1]["wallets"] == f"{BTC} {XMR}"


def test_json_export_round_trips():
    text, media_type, _ = render(sample_set(), "json")
    document = json.loads(text)
    assert media_type == "application/json"
    assert {wallet["address"] for wallet in document["identifiers"]["wallets"]} == {BTC, XMR, "Xy" + "1" * 32}
    assert len(document["records"]) == 3


def test_stix_pattern_escaping():
    assert pattern_string("a'b\\c") == "'a\\'b\\\\c'"


STIX_ID = re.compile(r"^([a-z0-9-]+)--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STIX_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def validate_bundle(bundle):
    """Structural checks from the STIX 2.1 spec that the exporter must meet."""
    assert bundle["type"] == "bundle"
    assert STIX_ID.match(bundle["id"]) and bundle["id"].startswith("bundle--")
    ids = [obj["id"] for obj in bundle["objects"]]
    assert len(ids) == len(set(ids)), "duplicate ids"
    known = set(ids)
    for obj in bundle["objects"]:
        match = STIX_ID.match(obj["id"])
        assert match and match.group(1) == obj["type"], obj["id"]
        assert obj["spec_version"] == "2.1"
        for key, value in obj.items():
            if key.endswith("_ref"):
                assert value in known, (key, value)
            if key.endswith("_refs"):
                assert set(value) <= known, (key, value)
            if key in ("created", "modified", "valid_from", "first_observed", "last_observed"):
                assert STIX_TIME.match(value), (key, value)
        if obj["type"] == "indicator":
            assert obj["pattern_type"] == "stix"
            assert re.fullmatch(r"\[[a-z0-9-]+:value = '(?:[^'\\]|\\.)*'\]", obj["pattern"]), obj["pattern"]
        for extension_id in (obj.get("extensions") or {}):
            assert extension_id in known
    return {obj["id"]: obj for obj in bundle["objects"]}


def test_stix_bundle_is_valid_and_deterministic():
    bundle = to_stix_bundle(sample_set())
    objects = validate_bundle(bundle)
    types = [obj["type"] for obj in objects.values()]
    assert types.count("domain-name") == 2
    assert types.count("cryptocurrency-wallet") == 3
    assert types.count("extension-definition") == 1
    patterns = {obj["pattern"] for obj in objects.values() if obj["type"] == "indicator"}
    assert f"[domain-name:value = '{ONION}']" in patterns
    assert f"[cryptocurrency-wallet:value = '{BTC}']" in patterns
    # Observables follow the STIX 2.1 deterministic id rule.
    expected = "domain-name--" + str(uuid.uuid5(STIX_SCO_NAMESPACE, json.dumps({"value": ONION}, separators=(",", ":"))))
    assert expected in objects
    # Each indicator is based-on an observed-data that refers to its observable.
    relationships = [obj for obj in objects.values() if obj["type"] == "relationship"]
    assert len(relationships) == 5
    for relationship in relationships:
        assert relationship["relationship_type"] == "based-on"
        assert objects[relationship["source_ref"]]["type"] == "indicator"
        assert objects[relationship["target_ref"]]["type"] == "observed-data"
    again = to_stix_bundle(sample_set())
    assert sorted(obj["id"] for obj in again["objects"]) == sorted(objects)
    # First observed comes from the records' fetch times.
    btc_observed = next(obj for obj in objects.values() if obj["type"] == "observed-data"
                        and objects[obj["object_refs"][0]].get("value") == BTC)
    assert btc_observed["first_observed"] == "2026-01-05T10:00:00.000Z"
    assert btc_observed["last_observed"] == "2026-01-07T10:00:00.000Z"


def test_misp_event_types():
    event = to_misp_event(sample_set())["Event"]
    by_value = {attribute["value"]: attribute for attribute in event["Attribute"]}
    assert by_value[BTC]["type"] == "btc" and by_value[BTC]["category"] == "Financial fraud"
    assert by_value[XMR]["type"] == "xmr"
    assert by_value["Xy" + "1" * 32]["type"] == "dash"
    assert by_value[ONION]["type"] == "domain" and "onion" in by_value[ONION]["comment"].lower()
    assert by_value[FINGERPRINT]["type"] == "text"
    assert by_value["x@example.org"]["type"] == "email"
    assert by_value[BTC]["to_ids"] is True
    assert "alpha" in by_value[BTC]["comment"] and "beta" in by_value[BTC]["comment"]
    uuids = [attribute["uuid"] for attribute in event["Attribute"]]
    assert len(uuids) == len(set(uuids))
    assert to_misp_event(sample_set())["Event"]["uuid"] == event["uuid"]


def test_unknown_format():
    with pytest.raises(UserError, match="unknown export format"):
        render(sample_set(), "xml")


# Valid mainnet addresses as a page shows them; the crawl's own extractor
# decides their coin, so the records below have whatever shape it gives.
INDEXED_BTC = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
INDEXED_XMR = ("44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A")
DONATION_HOST = "d" * 56 + ".onion"
DONATION_HTML = (f"<html><head><title>Donate</title></head><body><p>Bitcoin: {INDEXED_BTC}</p>"
                 f"<p>Monero: {INDEXED_XMR}</p></body></html>")


def records_as_indexed():
    """The page and wallet documents the bulk pipeline would write for DONATION_HTML, as a search returns them."""
    document = extract_document(DONATION_HTML, f"http://{DONATION_HOST}/donate", "2026-02-01T10:00:00Z", "job-x")
    records, sightings = [], defaultdict(list)
    for item in document.items():
        if item.kind in DOCUMENT_KINDS:
            action = upsert_action(item, f"test-{item.kind}")
            records.append({"kind": item.kind, "id": action["_id"], **action["upsert"]})
        for sighting in wallet_sightings_from_item(item):
            sightings[wallet_doc_id(sighting.coin, sighting.address)].append(sighting)
    records += [{"kind": "wallets", "id": doc_id, **merge_wallet(None, group)} for doc_id, group in sightings.items()]
    assert {record["address"] for record in records if record["kind"] == "wallets"} == {INDEXED_BTC, INDEXED_XMR}
    return records


def test_coin_ticker():
    assert coin_ticker("bitcoin") == "btc" and coin_ticker("BTC") == "btc" and coin_ticker("Monero") == "xmr"
    assert coin_ticker("bitcoin-cash") == "bch" and coin_ticker("weird-coin") == "weird-coin"
    assert coin_ticker(None) is None and coin_ticker("") is None


@pytest.mark.parametrize("kinds", [("pages",), ("wallets",), ("pages", "wallets")])
def test_exports_label_coins_of_wallets_as_indexed(kinds):
    records = [record for record in records_as_indexed() if record["kind"] in kinds]
    export_set = export_set_from_records("as indexed", records)
    assert export_set.wallets == {INDEXED_BTC: "btc", INDEXED_XMR: "xmr"}
    misp_types = {attribute["value"]: attribute["type"] for attribute in to_misp_event(export_set)["Event"]["Attribute"]}
    assert misp_types[INDEXED_BTC] == "btc" and misp_types[INDEXED_XMR] == "xmr"
    objects = validate_bundle(to_stix_bundle(export_set))
    wallets = {obj["value"]: obj for obj in objects.values() if obj["type"] == "cryptocurrency-wallet"}
    assert wallets[INDEXED_BTC]["currency"] == "btc" and wallets[INDEXED_XMR]["currency"] == "xmr"
    names = {obj["name"] for obj in objects.values() if obj["type"] == "indicator"}
    assert f"BTC wallet {INDEXED_BTC}" in names and f"XMR wallet {INDEXED_XMR}" in names
    identifiers = json.loads(render(export_set, "json")[0])["identifiers"]["wallets"]
    assert {(wallet["address"], wallet["coin"]) for wallet in identifiers} == {(INDEXED_BTC, "btc"), (INDEXED_XMR, "xmr")}


def test_json_exports_escape_bidi_and_c1_and_decode_to_the_same_text():
    title = "rev\u202eslip \x9b31m ünï"
    records = [{"kind": "pages", "id": "p1", "title": title, "onion_host": ONION, "url": f"http://{ONION}/",
                "fetched_at": "2026-01-04T10:00:00Z"}]
    export_set = export_set_from_records(title, records)
    decoded = {}
    for format in ("json", "stix", "misp"):
        text = render(export_set, format)[0]
        assert "\u202e" not in text and "\x9b" not in text, format
        decoded[format] = json.loads(text)
    assert decoded["json"]["records"][0]["title"] == title and decoded["misp"]["Event"]["info"] == title
    assert "ünï" in render(export_set, "json")[0]  # readable text stays readable
