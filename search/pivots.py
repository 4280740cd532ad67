"""Entity pages and pivots: listing, vendor, wallet, onion and index statistics.

Each function reads the aliases ``<index_prefix>-<kind>`` and returns plain
dicts (the JSON twin of an entity page is exactly this).  They return None
when the entity does not exist, and let Elasticsearch errors through.

Public API:

* :func:`listing_detail` (client, prefix, listing_id) -> dict | None -- with its
  change records (``changes``, newest first) and ``price_history``
* :func:`vendor_detail` (client, prefix, vendor_id) -> dict | None -- with
  ``same_vendor_elsewhere``: vendors on other markets sharing a PGP
  fingerprint or a wallet, each with the reasons for the link
* :func:`wallet_detail` (client, prefix, address) -> dict | None -- the wallet
  entity (without its page and listing reference lists) and the listings,
  vendors, pages and markets that use the address
* :func:`onion_detail` (client, prefix, host) -> dict | None -- liveness (with the
  back-off summary), the liveness history (``checks``, newest first) and pages
* :func:`index_stats` (client, prefix) -> dict -- document counts and top markets
* :func:`vendor_id` (market, name, onion_host, market_host_known) -> str -- the
  vendor ``_id``, by :func:`config.schema.vendor_doc_id` (the one id rule)

Each reader above has a ``*_steps`` twin (``wallet_detail_steps(prefix,
address)`` and so on): the same logic as a generator of
:mod:`search.es_steps` requests, which the API runs with the async client.
"""

from __future__ import annotations

from typing import Any

from config import schema
from config.schema import alias_name, normalise_onion_host, onion_host_from_input
from search.es_steps import Count, Get, Msearch, Search, Steps, run

PIVOT_LIMIT = 100
# What pivot tables show; whole documents are one click away.
LISTING_SUMMARY = ["market", "listing_id", "title", "vendor", "fetched_at", "price_amount", "price_currency",
                   "onion_host", "url", "wallets", "coins"]
VENDOR_SUMMARY = ["market", "name", "onion_host", "fetched_at", "pgp_fingerprints", "wallets", "rating", "sales",
                  "looks_like_market"]
SOURCE_EXCLUDES = ("text", "links", "onion_links")
# A wallet document's reference lists (up to 1000 page URLs and listing ids each):
# the pivot fetches those documents themselves, so the entity answer leaves them out.
WALLET_REFERENCE_LISTS = ["pages", "listings"]


def vendor_id(market: str, name: str, onion_host: str, market_host_known: bool) -> str:
    """The ``_id`` of vendor ``name`` on ``market``, seen on ``onion_host``."""
    return schema.vendor_doc_id(market, name, onion_host, market_host_known)


def _host_known(document: dict[str, Any]) -> bool:
    # Documents written before schema 2 have no market_host_known; their ids came from market + key alone.
    return document.get("market_host_known") is not False


def _document(answer: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if answer is None else {"id": answer["_id"], **answer["_source"]}


def _hits(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": hit["_id"], **hit["_source"]} for hit in response["hits"]["hits"]]


def _any_term(fields: list[str], value: Any, case_insensitive: bool = False) -> dict[str, Any]:
    clauses = []
    for name in fields:
        term: dict[str, Any] = {"value": value}
        if case_insensitive:
            term["case_insensitive"] = True
        clauses.append({"term": {name: term}})
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def listing_detail_steps(prefix: str, listing_id: str) -> Steps:
    listing = _document((yield Get(alias_name(prefix, "listings"), listing_id, SOURCE_EXCLUDES)))
    if listing is None:
        return None
    vendor_name = listing.get("vendor")
    changes = _hits((yield Search(alias_name(prefix, "changes"), _changes_query(listing["id"]))))
    return {
        "listing": listing,
        # A listing's vendor sits on the same market and host, so the same id rule finds it.
        "vendor_id": vendor_id(listing["market"], vendor_name, str(listing.get("onion_host") or ""), _host_known(listing))
        if vendor_name and listing.get("market") else None,
        # Newest first: price, stock and vendor changes, removals and returns (pipelines.freshness.changes).
        "changes": changes,
        "price_history": _price_history(listing, changes),
    }


CHANGE_FIELDS = ["field", "old_value", "new_value", "old_amount", "new_amount", "old_currency", "new_currency",
                 "changed_at", "previous_seen_at", "job_id"]


def _changes_query(doc_id: str) -> dict[str, Any]:
    return {
        "query": {"bool": {"filter": [{"term": {"kind": "listings"}}, {"term": {"doc_id": doc_id}}]}},
        "size": PIVOT_LIMIT,
        "_source": {"includes": CHANGE_FIELDS},
        "sort": [{"changed_at": {"order": "desc", "unmapped_type": "date"}}],
    }


def _price_history(listing: dict[str, Any], changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The listing's prices, newest first: the current one, then each earlier one with when it was replaced.

    Each entry: ``amount``, ``currency``, ``until`` (when a later price replaced
    it; None for the current price).  Built from the price change records
    (at most :data:`PIVOT_LIMIT`), so the oldest prices of a listing that
    changed more often than that are not shown.
    """
    history: list[dict[str, Any]] = []
    if listing.get("price_amount") is not None:
        history.append({"amount": listing.get("price_amount"), "currency": listing.get("price_currency"),
                        "until": None})
    for change in changes:
        if change.get("field") == "price":
            history.append({"amount": change.get("old_amount"), "currency": change.get("old_currency"),
                            "until": change.get("changed_at")})
    return history


def vendor_detail_steps(prefix: str, vendor_doc_id: str) -> Steps:
    vendor = _document((yield Get(alias_name(prefix, "vendors"), vendor_doc_id, SOURCE_EXCLUDES)))
    if vendor is None:
        return None
    fingerprints = [str(value) for value in vendor.get("pgp_fingerprints") or []]
    wallets = [str(value) for value in vendor.get("wallets") or []]
    same_vendor = [
        {"term": {"market": {"value": vendor.get("market", ""), "case_insensitive": True}}},
        {"term": {"vendor": {"value": vendor.get("name", ""), "case_insensitive": True}}},
    ]
    if not _host_known(vendor):
        # A vendor keyed by its host owns only the listings seen on that host.
        same_vendor.append({"term": {"onion_host": normalise_onion_host(str(vendor.get("onion_host") or ""))}})
    searches: list[tuple[str, dict[str, Any]]] = [(
        alias_name(prefix, "listings"),
        {
            "query": {"bool": {"filter": same_vendor}},
            "size": PIVOT_LIMIT,
            "_source": {"includes": LISTING_SUMMARY},
            "sort": [{"fetched_at": {"order": "desc", "unmapped_type": "date"}}],
        },
    )]
    if fingerprints or wallets:
        should: list[dict[str, Any]] = []
        if fingerprints:
            should.append({"terms": {"pgp_fingerprints": fingerprints}})
        if wallets:
            should.append({"terms": {"wallets": wallets}})
        searches.append((
            alias_name(prefix, "vendors"),
            {
                "query": {"bool": {"should": should, "minimum_should_match": 1,
                                   "must_not": [{"ids": {"values": [vendor["id"]]}}]}},
                "size": PIVOT_LIMIT,
                "_source": {"includes": VENDOR_SUMMARY},
            },
        ))
    answers = yield Msearch(tuple(searches))
    listings = _hits(answers[0])
    elsewhere: list[dict[str, Any]] = []
    if len(answers) > 1:
        mine_fingerprints = set(fingerprints)
        mine_wallets = set(wallets)
        for other in _hits(answers[1]):
            reasons = [
                {"kind": "pgp", "value": value}
                for value in sorted(mine_fingerprints & set(other.get("pgp_fingerprints") or []))
            ] + [{"kind": "wallet", "value": value} for value in sorted(mine_wallets & set(other.get("wallets") or []))]
            elsewhere.append(
                {
                    "id": other["id"],
                    "market": other.get("market"),
                    "name": other.get("name"),
                    "same_market": other.get("market") == vendor.get("market"),
                    # A copy of a market's markup on another host: shown as such, never as that market.
                    "looks_like_market": other.get("looks_like_market"),
                    "reasons": reasons,
                }
            )
    return {
        "vendor": vendor,
        "listings": listings,
        "same_vendor_elsewhere": elsewhere,
    }


def wallet_detail_steps(prefix: str, address: str) -> Steps:
    address = address.strip()
    by_date = [{"fetched_at": {"order": "desc", "unmapped_type": "date"}}]
    entity_answer, listings_answer, vendors_answer, pages_answer = yield Msearch(
        (
            # One document per (coin, address); an address is almost always one coin.
            (alias_name(prefix, "wallets"), {"query": _any_term(["address"], address), "size": 1,
                                   "_source": {"excludes": WALLET_REFERENCE_LISTS}}),
            (
                alias_name(prefix, "listings"),
                {
                    "query": {"bool": {"filter": [_any_term(["wallets"], address)]}},
                    "size": PIVOT_LIMIT,
                    "_source": {"includes": LISTING_SUMMARY},
                    "sort": by_date,
                },
            ),
            (
                alias_name(prefix, "vendors"),
                {
                    "query": {"bool": {"filter": [_any_term(["wallets"], address)]}},
                    "size": PIVOT_LIMIT,
                    "_source": {"includes": VENDOR_SUMMARY},
                },
            ),
            (
                alias_name(prefix, "pages"),
                {
                    "query": {"bool": {"filter": [_any_term(["wallets.address"], address)]}},
                    "size": PIVOT_LIMIT,
                    "_source": {"includes": ["url", "title", "onion_host", "fetched_at", "market", "wallets", "evidence"]},
                    "sort": by_date,
                },
            ),
        )
    )
    entity_hits = _hits(entity_answer)
    entity = entity_hits[0] if entity_hits else None
    listings, vendors, pages = _hits(listings_answer), _hits(vendors_answer), _hits(pages_answer)
    if entity is None and not (listings or vendors or pages):
        return None
    markets: dict[str, int] = {}
    for document in (*listings, *vendors, *pages):
        market = document.get("market")
        if market:
            markets[market] = markets.get(market, 0) + 1
    for vendor in vendors:
        vendor["vendor_id"] = vendor["id"]
    coin = (entity or {}).get("coin")
    if coin is None:
        for page in pages:
            for mention in page.get("wallets") or []:
                if isinstance(mention, dict) and mention.get("address") == address:
                    coin = mention.get("coin")
    return {
        "address": address,
        "coin": coin,
        "entity": entity,
        "listings": listings,
        "vendors": vendors,
        "pages": pages,
        "markets": [{"market": name, "count": count} for name, count in sorted(markets.items(), key=lambda item: -item[1])],
    }


def onion_detail_steps(prefix: str, host: str) -> Steps:
    host = onion_host_from_input(host)
    entity = _document((yield Get(alias_name(prefix, "onions"), schema.onion_doc_id(host), SOURCE_EXCLUDES)))
    response = yield Search(
        alias_name(prefix, "pages"),
        {
            "query": {"bool": {"filter": [{"term": {"onion_host": host}}]}},
            "size": PIVOT_LIMIT,
            "_source": {"includes": ["url", "title", "status", "fetched_at", "page_type", "market", "site_type", "evidence"]},
            "sort": [{"fetched_at": {"order": "desc", "unmapped_type": "date"}}],
            "track_total_hits": True,
        },
    )
    pages = _hits(response)
    if entity is None and not pages:
        return None
    checks = _hits((yield Search(alias_name(prefix, "onion-checks"), {
        "query": {"bool": {"filter": [{"term": {"onion_host": host}}]}},
        "size": CHECK_LIMIT,
        "_source": {"includes": CHECK_FIELDS},
        "sort": [{"checked_at": {"order": "desc", "unmapped_type": "date"}}],
    })))
    # The latest crawl that met a login wall on this host or had a session for it: when the wall
    # is in it, the site needs a fresh session (host names only are stored, never a session value).
    login_runs = _hits((yield Search(
        alias_name(prefix, "crawl-runs"),
        {
            "query": {"bool": {"should": [{"term": {"needs_login_sites": host}}, {"term": {"session_sites": host}}],
                               "minimum_should_match": 1}},
            "size": 1,
            "_source": {"includes": ["job_id", "finished_at", "needs_login_sites", "session_sites"]},
            "sort": [{"finished_at": {"order": "desc", "unmapped_type": "date"}}],
        },
    )))
    latest = login_runs[0] if login_runs else None
    needs_login = None
    if latest is not None and host in (latest.get("needs_login_sites") or []):
        needs_login = {"job_id": latest.get("job_id"), "finished_at": latest.get("finished_at"),
                       "had_session": host in (latest.get("session_sites") or [])}
    last_page = pages[0] if pages else {}
    entity_or_empty = entity or {}
    liveness = {
        "last_status": entity_or_empty.get("last_status", last_page.get("status")),
        "last_seen": entity_or_empty.get("last_seen", last_page.get("fetched_at")),
        "first_seen": entity_or_empty.get("first_seen"),
        "up": entity_or_empty.get("up"),
        # The back-off summary (crawler.freshness.liveness.Backoff), when the host has been checked.
        **{key: entity_or_empty.get(key) for key in BACKOFF_FIELDS},
    }
    return {
        "host": host,
        "entity": entity,
        "liveness": liveness,
        # Newest first: one check per crawl run (pipelines.freshness.liveness_history).
        "checks": checks,
        "page_count": response["hits"]["total"]["value"],
        "pages": pages,
        "needs_login": needs_login,
        # What kind of site it is and its mirror group (pipelines.onion_sites, `onionscope index sites`).
        "site_type": {key: entity_or_empty.get(key) for key in SITE_TYPE_FIELDS},
        "mirror_group": ({key: entity_or_empty.get(key) for key in MIRROR_GROUP_FIELDS}
                         if entity_or_empty.get("mirror_group") else None),
    }


CHECK_LIMIT = 50
SITE_TYPE_FIELDS = ("site_type", "site_type_confidence", "site_type_evidence", "site_type_pages")
MIRROR_GROUP_FIELDS = ("mirror_group", "mirror_group_label", "mirror_group_members", "mirror_group_similarity",
                       "mirror_group_reasons")
CHECK_FIELDS = ["job_id", "state", "checked_at", "attempts", "answered", "failed", "reason", "last_status",
                "latency_ms_mean"]
BACKOFF_FIELDS = ("consecutive_down", "down_since", "last_check_at", "last_up_at", "last_down_reason", "next_check_at")


def index_stats_steps(prefix: str) -> Steps:
    counts: dict[str, int] = {}
    for kind in ("pages", "listings", "vendors", "wallets", "onions"):
        counts[kind] = yield Count(alias_name(prefix, kind))
    markets_response = yield Search(
        alias_name(prefix, "listings"),
        {
            "size": 0,
            "aggs": {
                "markets": {"terms": {"field": "market", "size": 50}},
                "last_fetch": {"max": {"field": "fetched_at"}},
            },
        },
    )
    aggregations = markets_response.get("aggregations") or {}
    last_runs = _hits((yield Search(
        alias_name(prefix, "crawl-runs"),
        {"query": {"match_all": {}}, "size": 1,
         "_source": {"includes": ["job_id", "finished_at", "needs_login_sites", "session_sites"]},
         "sort": [{"finished_at": {"order": "desc", "unmapped_type": "date"}}]},
    )))
    last_run = last_runs[0] if last_runs else None
    return {
        # The sites the latest crawl met a login wall on: each needs a fresh session.
        "last_crawl": None if last_run is None else {
            "job_id": last_run.get("job_id"), "finished_at": last_run.get("finished_at"),
            "needs_login_sites": sorted(last_run.get("needs_login_sites") or []),
            "session_sites": sorted(last_run.get("session_sites") or []),
        },
        "counts": counts,
        "listings_per_market": [
            {"market": bucket["key"], "count": bucket["doc_count"]}
            for bucket in (aggregations.get("markets") or {}).get("buckets", [])
        ],
        "last_listing_fetched_at": (aggregations.get("last_fetch") or {}).get("value_as_string"),
    }


def listing_detail(client: Any, prefix: str, listing_id: str) -> dict[str, Any] | None:
    return run(client, listing_detail_steps(prefix, listing_id))


def vendor_detail(client: Any, prefix: str, vendor_doc_id: str) -> dict[str, Any] | None:
    return run(client, vendor_detail_steps(prefix, vendor_doc_id))


def wallet_detail(client: Any, prefix: str, address: str) -> dict[str, Any] | None:
    return run(client, wallet_detail_steps(prefix, address))


def onion_detail(client: Any, prefix: str, host: str) -> dict[str, Any] | None:
    return run(client, onion_detail_steps(prefix, host))


def index_stats(client: Any, prefix: str) -> dict[str, Any]:
    return run(client, index_stats_steps(prefix))
