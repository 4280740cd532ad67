"""Watchlist entries, alert documents, roles and webhook signatures: the pure parts (no Elasticsearch)."""

from __future__ import annotations

import hashlib
import hmac
import sys
import types

import pytest

from config.errors import UserError
from config.schema import page_doc_id
from search.alerts import _alert_documents
from search.auth import ROLES, role_allows
from search.query import QueryError, QueryLimitError, QueryLimits, parse
from search.watchlists import WatchEntry, check_entry, entry_query
from config.settings import load_settings
from search.webhooks import _retryable, body_for, misp_event, payload, signature, webhook_settings

ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
HOST = "alpha" + "a" * 51 + ".onion"


def test_each_entry_kind_is_a_query_in_the_query_language() -> None:
    assert entry_query("wallet", f"  {ADDRESS} ") == f"wallet:{ADDRESS}"
    assert entry_query("vendor", "Dr Green") == 'vendor:"Dr Green"'
    assert entry_query("pgp", "0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567") == \
        "pgp:0123456789ABCDEF0123456789ABCDEF01234567"
    assert entry_query("onion", f"http://{HOST.upper()}/listing/1") == f"onion:{HOST}"
    assert entry_query("query", ' fentanyl market:"alpha" ') == 'fentanyl market:"alpha"'
    # A value cannot leave its field: quotes are dropped, the whole value stays one value.
    assert parse(entry_query("vendor", 'x" OR market:beta')).name == "vendor"


@pytest.mark.parametrize("kind,value", [("wallet", "  "), ("onion", ""), ("pgp", " "), ("nope", "x"),
                                        ("wallet", "x" * 2001)])
def test_an_empty_value_or_unknown_kind_is_refused(kind: str, value: str) -> None:
    with pytest.raises(UserError):
        check_entry(kind, value)


@pytest.mark.parametrize("text", ["fentanyl (", 'vendor:"unterminated', "nosuchfield:x", "date:2026-13-45",
                                  "a AND"])
def test_a_bad_query_is_refused_with_the_search_parsers_own_message(text: str) -> None:
    with pytest.raises(QueryError) as search_error:
        parse(text)
    with pytest.raises(QueryError) as saved:
        check_entry("query", text)
    assert str(saved.value) == str(search_error.value)


def test_a_query_over_the_search_limits_is_refused_naming_the_limit() -> None:
    with pytest.raises(QueryLimitError) as refused:
        check_entry("query", " ".join(f"word{n}" for n in range(10)), QueryLimits(max_terms=5))
    assert refused.value.setting == "query_max_terms"


def test_an_empty_query_which_would_match_everything_is_refused() -> None:
    for text in ("", "   "):
        with pytest.raises(QueryError, match="at least one term"):
            check_entry("query", text)


def test_roles_are_ordered_viewer_analyst_admin() -> None:
    assert ROLES == ("viewer", "analyst", "admin")
    allowed = {(role, needed) for role in ROLES for needed in ROLES if role_allows(role, needed)}
    assert allowed == {("viewer", "viewer"), ("analyst", "viewer"), ("analyst", "analyst"),
                       ("admin", "viewer"), ("admin", "analyst"), ("admin", "admin")}
    assert not role_allows("root", "viewer") and not role_allows("admin", "root")


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"alert": 1}'
    expected = hmac.new(b"k3y", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature(b"k3y", "1700000000", body) == "sha256=" + expected
    assert signature(b"k3y", "1700000001", body) != signature(b"k3y", "1700000000", body)


def test_only_refused_connections_timeouts_5xx_408_and_429_are_retried() -> None:
    assert [status for status in (None, 200, 301, 400, 401, 404, 408, 410, 429, 500, 503) if _retryable(status)] == \
        [None, 408, 429, 500, 503]


def test_the_payload_leaves_out_delivery_bookkeeping() -> None:
    sent = payload({"alert_id": "a", "entry_value": ADDRESS, "deliveries": [{"status": 503}], "webhook_state": "x",
                    "read_at": "2026-01-01T00:00:00Z"})
    assert b"deliveries" not in sent and b"webhook_state" not in sent and b"read_at" not in sent
    assert ADDRESS.encode() in sent


ENTRY = WatchEntry(entry_id="e1", kind="wallet", value=ADDRESS, query=f"wallet:{ADDRESS}", list="watchlist",
                   shared=True, owner_id="", owner_name="", note="", created_at="2026-01-01T00:00:00Z")
LISTING_URL = f"http://{HOST}/listing/a1"
LISTING = {"url": LISTING_URL, "title": "Fentanyl powder", "market": "alpha", "listing_id": "a1",
           "wallets": [ADDRESS], "onion_host": HOST, "job_id": "run-1", "last_seen": "2026-01-01T00:00:00Z"}
PAGE = {"url": LISTING_URL, "canonical_url": LISTING_URL, "title": "Fentanyl powder", "content_hash": "h1",
        "onion_host": HOST, "job_id": "run-1"}


def test_a_listing_and_its_page_make_one_alert_for_the_page_version() -> None:
    page_id = page_doc_id(LISTING_URL)
    other = {**PAGE, "url": f"http://{HOST}/", "canonical_url": f"http://{HOST}/", "content_hash": "h9"}
    documents = _alert_documents(ENTRY, [("listings", "L1", LISTING), ("pages", page_id, PAGE),
                                         ("pages", "P2", other)], {page_id: PAGE}, "run-1", "pending")
    assert len(documents) == 2
    (first,) = [document for document in documents if document["doc_id"] == page_id]
    assert first["hit"]["kind"] == "listings" and first["hit"]["id"] == "L1"
    assert sorted(match["kind"] for match in first["hit"]["matched"]) == ["listings", "pages"]
    assert first["version"] == "c:h1" and first["webhook_state"] == "pending" and first["evidence_link"] is None
    # The same page version in a later run is the same alert; a new version is another.
    again = _alert_documents(ENTRY, [("pages", page_id, {**PAGE, "job_id": "run-2"})], {}, "run-2", "off")
    changed = _alert_documents(ENTRY, [("pages", page_id, {**PAGE, "content_hash": "h2"})], {}, "run-3", "off")
    assert again[0]["alert_id"] == first["alert_id"]
    assert changed[0]["alert_id"] != first["alert_id"]


def test_a_listing_whose_page_is_not_indexed_is_its_own_target_versioned_by_its_content() -> None:
    first = _alert_documents(ENTRY, [("listings", "L1", LISTING)], {}, "run-1", "off")
    seen_again = _alert_documents(ENTRY, [("listings", "L1", {**LISTING, "job_id": "run-2",
                                                              "last_seen": "2026-02-01T00:00:00Z"})], {}, "run-2", "off")
    repriced = _alert_documents(ENTRY, [("listings", "L1", {**LISTING, "price_amount": 99.0})], {}, "run-3", "off")
    assert first[0]["doc_id"] == "L1" and first[0]["doc_kind"] == "listings"
    assert seen_again[0]["alert_id"] == first[0]["alert_id"]
    assert repriced[0]["alert_id"] != first[0]["alert_id"]


def test_the_evidence_link_comes_from_search_evidence_when_it_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    module = types.ModuleType("search.evidence")
    module.evidence_link = lambda hit: seen.append(hit) or f"/evidence/{hit['id']}"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "search.evidence", module)
    (document,) = _alert_documents(ENTRY, [("listings", "L1", LISTING)], {}, "run-1", "off")
    assert document["evidence_link"] == "/evidence/L1"
    assert seen[0]["kind"] == "listings" and seen[0]["source"]["url"] == LISTING_URL


ALERT = {"alert_id": "a" * 64, "entry_kind": "wallet", "entry_value": ADDRESS, "url": LISTING_URL, "onion_host": HOST,
         "created_at": "2026-03-01T10:00:00Z", "webhook_state": "pending", "deliveries": []}


def test_a_misp_event_carries_the_watched_value_the_page_and_its_onion() -> None:
    event = misp_event(ALERT)["Event"]
    assert {(a["type"], a["category"], a["value"], a["to_ids"]) for a in event["Attribute"]} == {
        ("text", "Financial fraud", ADDRESS, True), ("url", "Network activity", LISTING_URL, False),
        ("domain", "Network activity", HOST, False)}
    assert event["published"] is False and event["date"] == "2026-03-01" and event["timestamp"] == "1772359200"
    assert misp_event(ALERT)["Event"] == event  # a retry sends the same event (UUIDv5 of the alert)
    onion = misp_event({**ALERT, "entry_kind": "onion", "entry_value": HOST})["Event"]
    assert [(a["type"], a["value"]) for a in onion["Attribute"]] == [("domain", HOST), ("url", LISTING_URL)]


def test_the_webhook_needs_its_secret_and_misp_its_key() -> None:
    assert webhook_settings(load_settings(environ={})) is None
    with pytest.raises(UserError, match="alert_webhook_secret"):
        webhook_settings(load_settings(environ={"ONIONSCOPE_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/hook"}))
    misp = {"ONIONSCOPE_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/events/add", "ONIONSCOPE_ALERT_WEBHOOK_SECRET": "s",
            "ONIONSCOPE_ALERT_WEBHOOK_FORMAT": "misp"}
    with pytest.raises(UserError, match="alert_misp_key"):
        webhook_settings(load_settings(environ=misp))
    webhook = webhook_settings(load_settings(environ={**misp, "ONIONSCOPE_ALERT_MISP_KEY": "k"}))
    assert body_for(webhook, ALERT).startswith(b'{"Event"')
    plain = webhook_settings(load_settings(environ={**misp, "ONIONSCOPE_ALERT_WEBHOOK_FORMAT": "onionscope"}))
    assert b'"type": "onionscope.alert"' in body_for(plain, ALERT)


def test_new_alerts_protect_their_evidence_and_a_bad_pointer_is_skipped(tmp_path) -> None:
    from config.paths import evidence_dir
    from crawler.evidence.retention import protected_files
    from onionscope.alerting import protect_alert_evidence

    good = {"file": "job-1.warc.gz", "offset": 0, "length": 10, "digest": "ab" * 32, "record_id": "r1"}
    escaping = {"file": "../../etc/passwd", "offset": 0, "length": 1, "digest": "cd" * 32}
    assert protect_alert_evidence(tmp_path, {"alert-1": good, "alert-2": {"offset": 1}, "alert-3": escaping}) == 1
    assert protected_files(tmp_path) == {"job-1.warc.gz": ["watchlist alert alert-1"]}
    # Unset, the evidence folder is the var folder's, wherever that is.
    assert evidence_dir({"evidence_dir": None, "var_dir": tmp_path}) == tmp_path / "evidence"
    assert evidence_dir({"evidence_dir": tmp_path / "x", "var_dir": "/nowhere"}) == tmp_path / "x"
