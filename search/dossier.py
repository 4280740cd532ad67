"""Vendor dossiers: everything about one vendor identity across markets, and why each part belongs to it.

A vendor document (:mod:`pipelines.documents`) is one name on one market.
A dossier starts from one of them and gathers the identity around it:

* **strong links** -- another vendor document that shares a PGP fingerprint or
  a wallet address with a vendor already in the identity (followed from vendor
  to vendor, at most :data:`MAX_ROUNDS` steps and :data:`MAX_MEMBERS` vendors);
  these vendors are the identity, and every figure of the dossier covers them;
* **weak links** -- a vendor on another market whose name is the same once case
  and punctuation are set aside (``DrGreen``, ``dr_green``) but that shares no
  key and no wallet.  Anyone can take a name, so these are listed with their
  evidence and left out of the figures.

Public API:

* :func:`name_key` (name) -> str -- a name without case, spaces or punctuation;
* :func:`dossier_steps` (prefix, vendor_id, days=365) -> dict | None -- the dossier
  (None for an unknown vendor id); run it with :mod:`search.es_steps`.

The dossier (also the JSON twin of ``/vendors/{id}/dossier``)::

  root: vendor id
  names: [{name, markets}]                      # the name variants of the identity
  members: [{id, market, name, onion_host, first_seen, last_seen, listing_count, pgp_fingerprints,
             wallets, contacts, rating, sales, joined, looks_like_market, link: root|strong}]
  weak_members: [{id, market, name, ..., link: weak}]
  links: [{source, target, source_name, source_market, target_name, target_market,
           strength: strong|weak, reasons: [{kind: pgp|wallet|name, value}]}]
  markets: [{market, names, first_seen, last_seen, listing_count}]   # activity across markets
  pgp_keys, wallets: [{value, vendors: [id]}]; contacts: [{type, value, vendors}]
  substances, ships_from, ships_to: [{value, count}]
  listings_over_time: {days, series: {market: {day: count}}}  (search.timelines)
  listings: [the most recent listings, at most PIVOT_LIMIT]
  pages: [pages that show one of the identity's keys or wallets (a forum profile, a signature)]
  truncated: bool                                # a member cap was hit

Elasticsearch errors propagate.  Cost: two to five searches to gather the
identity, then one multi-search and the two requests of the chart.
"""

from __future__ import annotations

import re
from typing import Any

from config.schema import alias_name, normalise_onion_host
from search.es_steps import Get, Msearch, Search, Steps
from search.pivots import LISTING_SUMMARY, PIVOT_LIMIT, SOURCE_EXCLUDES
from search.timelines import listings_per_market_steps

MAX_ROUNDS = 3
MAX_MEMBERS = 50
MAX_WEAK = 20
VENDOR_FIELDS = ["market", "name", "onion_host", "first_seen", "last_seen", "fetched_at", "pgp_fingerprints",
                 "wallets", "contacts", "rating", "sales", "joined", "looks_like_market", "market_host_known",
                 "profile_url"]
_NOT_NAME = re.compile(r"[\W_]+", re.UNICODE)


def name_key(name: str) -> str:
    """``name`` folded for comparison: case folded, without spaces, punctuation or underscores."""
    return _NOT_NAME.sub("", str(name).casefold())


def _vendor(hit: dict[str, Any]) -> dict[str, Any]:
    return {"id": hit["_id"], **{key: hit["_source"].get(key) for key in VENDOR_FIELDS}}


def _hits(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return (answer.get("hits") or {}).get("hits") or []


def _listings_of(vendor: dict[str, Any]) -> dict[str, Any]:
    """The listings query of one vendor document: same market and name (and host, when the market's is unknown)."""
    clauses: list[dict[str, Any]] = [
        {"term": {"market": {"value": vendor.get("market") or "", "case_insensitive": True}}},
        {"term": {"vendor": {"value": vendor.get("name") or "", "case_insensitive": True}}},
    ]
    if vendor.get("market_host_known") is False:
        clauses.append({"term": {"onion_host": normalise_onion_host(str(vendor.get("onion_host") or ""))}})
    return {"bool": {"filter": clauses}}


def _shared(one: dict[str, Any], other: dict[str, Any]) -> list[dict[str, str]]:
    reasons = [{"kind": "pgp", "value": value}
               for value in sorted(set(one.get("pgp_fingerprints") or []) & set(other.get("pgp_fingerprints") or []))]
    reasons += [{"kind": "wallet", "value": value}
                for value in sorted(set(one.get("wallets") or []) & set(other.get("wallets") or []))]
    return reasons


def _strong_identity(prefix: str, root: dict[str, Any]) -> Steps:
    members = {root["id"]: root}
    truncated = False
    for _ in range(MAX_ROUNDS):
        fingerprints = sorted({str(v) for member in members.values() for v in member.get("pgp_fingerprints") or []})
        wallets = sorted({str(v) for member in members.values() for v in member.get("wallets") or []})
        if not fingerprints and not wallets:
            break
        should = []
        if fingerprints:
            should.append({"terms": {"pgp_fingerprints": fingerprints}})
        if wallets:
            should.append({"terms": {"wallets": wallets}})
        answer = yield Search(alias_name(prefix, "vendors"), {
            "query": {"bool": {"should": should, "minimum_should_match": 1,
                               "must_not": [{"ids": {"values": sorted(members)}}]}},
            "size": MAX_MEMBERS, "_source": {"includes": VENDOR_FIELDS},
            "sort": [{"first_seen": {"order": "asc", "unmapped_type": "date"}}, "_doc"],
        })
        found = [_vendor(hit) for hit in _hits(answer)]
        if not found:
            break
        for vendor in found:
            if len(members) >= MAX_MEMBERS:
                truncated = True
                break
            members[vendor["id"]] = vendor
    return members, truncated


def _weak_candidates(prefix: str, members: dict[str, dict[str, Any]]) -> Steps:
    names = sorted({str(member.get("name") or "") for member in members.values() if member.get("name")})
    keys = {name_key(name) for name in names} - {""}
    if not keys:
        return []
    answer = yield Search(alias_name(prefix, "vendors"), {
        "query": {"bool": {
            "should": [{"match": {"name.text": {"query": name, "fuzziness": "AUTO"}}} for name in names]
            + [{"terms": {"name_folded": sorted({name.casefold() for name in names})}}],
            "minimum_should_match": 1, "must_not": [{"ids": {"values": sorted(members)}}]}},
        "size": 200, "_source": {"includes": VENDOR_FIELDS},
    })
    weak = [_vendor(hit) for hit in _hits(answer) if name_key(hit["_source"].get("name") or "") in keys]
    return weak[:MAX_WEAK]


def _value_rows(buckets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"value": str(bucket["key"]), "count": int(bucket["doc_count"])} for bucket in buckets]


def dossier_steps(prefix: str, vendor_id: str, days: int = 365) -> Steps:
    root_answer = yield Get(alias_name(prefix, "vendors"), vendor_id, SOURCE_EXCLUDES)
    if root_answer is None:
        return None
    root = _vendor(root_answer)
    members, truncated = yield from _strong_identity(prefix, root)
    weak = yield from _weak_candidates(prefix, members)

    links: list[dict[str, Any]] = []
    ordered = list(members.values())
    for index, one in enumerate(ordered):
        for other in ordered[index + 1:]:
            reasons = _shared(one, other)
            if reasons:
                if name_key(one.get("name") or "") == name_key(other.get("name") or ""):
                    reasons.append({"kind": "name", "value": str(other.get("name"))})
                links.append({"source": one["id"], "target": other["id"], "strength": "strong", "reasons": reasons})
    for candidate in weak:
        twin = next(member for member in ordered
                    if name_key(member.get("name") or "") == name_key(candidate.get("name") or ""))
        links.append({"source": twin["id"], "target": candidate["id"], "strength": "weak",
                      "reasons": [{"kind": "name", "value": str(candidate.get("name"))}]})

    described = {vendor["id"]: vendor for vendor in (*ordered, *weak)}
    for link in links:
        for end in ("source", "target"):
            link[f"{end}_name"] = described[link[end]].get("name")
            link[f"{end}_market"] = described[link[end]].get("market")

    identity_listings = {"bool": {"should": [_listings_of(member) for member in ordered], "minimum_should_match": 1}}
    fingerprints = sorted({str(v) for member in ordered for v in member.get("pgp_fingerprints") or []})
    wallets = sorted({str(v) for member in ordered for v in member.get("wallets") or []})
    searches: list[tuple[str, dict[str, Any]]] = [(alias_name(prefix, "listings"), {
        "query": identity_listings, "size": PIVOT_LIMIT, "_source": {"includes": LISTING_SUMMARY},
        "sort": [{"fetched_at": {"order": "desc", "unmapped_type": "date"}}], "track_total_hits": True,
        "aggs": {
            "markets": {"terms": {"field": "market", "size": MAX_MEMBERS}, "aggs": {
                "vendors": {"terms": {"field": "vendor", "size": MAX_MEMBERS}},
                "first": {"min": {"field": "first_seen"}}, "last": {"max": {"field": "last_seen"}}}},
            "substances": {"terms": {"field": "substances", "size": 50}},
            "ships_from": {"terms": {"field": "ships_from", "size": 50}},
            "ships_to": {"terms": {"field": "ships_to", "size": 50}},
        },
    })]
    page_should = []
    if fingerprints:
        page_should.append({"terms": {"pgp_fingerprints": fingerprints}})
    if wallets:
        page_should.append({"terms": {"wallets.address": wallets}})
    if page_should:
        searches.append((alias_name(prefix, "pages"), {
            "query": {"bool": {"should": page_should, "minimum_should_match": 1}},
            "size": PIVOT_LIMIT, "_source": {"includes": ["url", "title", "onion_host", "market", "fetched_at",
                                                          "page_type", "pgp_fingerprints", "wallets.address"]},
            "sort": [{"fetched_at": {"order": "desc", "unmapped_type": "date"}}],
        }))
    answers = yield Msearch(tuple(searches))
    listings_answer = answers[0]
    aggregations = listings_answer.get("aggregations") or {}
    pages = [{"id": hit["_id"], **hit["_source"]} for hit in _hits(answers[1])] if len(answers) > 1 else []
    for page in pages:
        # Which of the identity's keys and wallets the page shows (the evidence for listing it here).
        shown_wallets = {str(item.get("address")) for item in page.pop("wallets", None) or [] if isinstance(item, dict)}
        page["shows"] = sorted(set(page.pop("pgp_fingerprints", None) or []) & set(fingerprints)) + \
            sorted(shown_wallets & set(wallets))

    per_market = {str(bucket["key"]): bucket for bucket in (aggregations.get("markets") or {}).get("buckets", [])}
    listing_counts: dict[str, int] = {}
    for member in ordered:
        bucket = per_market.get(str(member.get("market")))
        counts = {str(v["key"]).casefold(): int(v["doc_count"]) for v in (bucket or {}).get("vendors", {}).get("buckets", [])}
        member["listing_count"] = counts.get(str(member.get("name") or "").casefold(), 0)
        member["link"] = "root" if member["id"] == root["id"] else "strong"
        listing_counts[member["id"]] = member["listing_count"]
    for candidate in weak:
        candidate["link"] = "weak"

    markets: dict[str, dict[str, Any]] = {}
    for member in ordered:
        entry = markets.setdefault(str(member.get("market")), {
            "market": str(member.get("market")), "names": [], "first_seen": None, "last_seen": None,
            "listing_count": 0})
        if member.get("name") not in entry["names"]:
            entry["names"].append(member.get("name"))
        entry["listing_count"] += member["listing_count"]
        for key, pick in (("first_seen", min), ("last_seen", max)):
            values = [value for value in (entry[key], member.get(key)) if value]
            entry[key] = pick(values) if values else None
    for name, bucket in per_market.items():
        if name in markets:
            first, last = (bucket.get("first") or {}).get("value_as_string"), (bucket.get("last") or {}).get("value_as_string")
            if first and (markets[name]["first_seen"] is None or first < markets[name]["first_seen"]):
                markets[name]["first_seen"] = first
            if last and (markets[name]["last_seen"] is None or last > markets[name]["last_seen"]):
                markets[name]["last_seen"] = last

    def owners(field: str) -> list[dict[str, Any]]:
        rows: dict[str, list[str]] = {}
        for member in ordered:
            for value in member.get(field) or []:
                rows.setdefault(str(value), []).append(member["id"])
        return [{"value": value, "vendors": ids} for value, ids in sorted(rows.items())]

    contacts: dict[tuple[str, str], list[str]] = {}
    for member in ordered:
        raw = member.get("contacts") or []
        for contact in raw if isinstance(raw, list) else [raw]:
            if isinstance(contact, dict) and contact.get("value"):
                contacts.setdefault((str(contact.get("type") or contact.get("kind") or ""), str(contact["value"])),
                                    []).append(member["id"])

    names: dict[str, list[str]] = {}
    for member in ordered:
        markets_of_name = names.setdefault(str(member.get("name")), [])
        if member.get("market") not in markets_of_name:
            markets_of_name.append(str(member.get("market")))

    over_time = yield from listings_per_market_steps(prefix, days, within=identity_listings)
    return {
        "root": root["id"],
        "vendor": root,
        "names": [{"name": name, "markets": market_list} for name, market_list in names.items()],
        "members": ordered,
        "weak_members": weak,
        "links": links,
        "markets": sorted(markets.values(), key=lambda entry: (entry["first_seen"] or "", entry["market"])),
        "pgp_keys": owners("pgp_fingerprints"),
        "wallets": owners("wallets"),
        "contacts": [{"type": kind, "value": value, "vendors": ids} for (kind, value), ids in sorted(contacts.items())],
        "substances": _value_rows((aggregations.get("substances") or {}).get("buckets", [])),
        "ships_from": _value_rows((aggregations.get("ships_from") or {}).get("buckets", [])),
        "ships_to": _value_rows((aggregations.get("ships_to") or {}).get("buckets", [])),
        "listing_total": ((listings_answer.get("hits") or {}).get("total") or {}).get("value", 0),
        "listings_over_time": over_time,
        "listings": [{"id": hit["_id"], **hit["_source"]} for hit in _hits(listings_answer)],
        "pages": pages,
        "truncated": truncated,
    }
