"""Exports of a result set or an entity: CSV, JSON, STIX 2.1 and MISP event JSON.

An :class:`ExportSet` is what gets exported: the records (listings, vendors,
pages, wallets as found in the index) and the identifiers gathered from them
(wallet addresses with their coin, onion hosts, PGP fingerprints, e-mails).

Coins: the index names a wallet's coin as the extractor does (``bitcoin``,
``monero``, ``bitcoin-cash``); MISP types and the STIX wallet's ``currency``
want the lower-case ticker (``btc``, ``xmr``, ``bch``), which is also the
index schema's one name for a coin.  :func:`coin_ticker` (the schema's,
:func:`config.schema.coin_ticker`) turns one into the other, so an
ExportSet's wallets always carry tickers.
The JSON formats escape control and bidi characters (``\\u`` escapes, the
rule of :func:`search.cli_output.escape_json_text`): an export printed to a
terminal is as safe as ``search --json``.

Public API:

* :func:`collect_search` (client, prefix, query, kind, limit) -> ExportSet
* :func:`collect_wallet` / :func:`collect_vendor` / :func:`collect_onion`
  (client, prefix, key) -> ExportSet; raise :class:`config.errors.UserError`
  when the entity does not exist
* :func:`export_set_from_records` (title, records) -> ExportSet (pure)
* :func:`coin_ticker` (coin) -> the lower-case ticker of a coin name or ticker
  (:func:`config.schema.coin_ticker`)
* :func:`render` (export_set, format) -> (text, media type, file suffix);
  ``format`` is one of :data:`FORMATS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from config.errors import UserError
from config.i18n import _
from config.schema import alias_name, coin_ticker
from config.settings import DEFAULTS

FORMATS = ("csv", "json", "stix", "misp")
# The default of the setting export_max_records.
EXPORT_MAX_RECORDS = int(DEFAULTS["export_max_records"].default)


@dataclass
class ExportSet:
    title: str
    generated_at: str
    records: list[dict[str, Any]]
    wallets: dict[str, str | None] = field(default_factory=dict)
    onions: set[str] = field(default_factory=set)
    pgp_fingerprints: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    # identifier -> where it was seen: [{"kind", "id", "market", "title"}]
    sightings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# Only used to label an address whose coin the index does not know.
_COIN_SHAPES = (
    (re.compile(r"(bc1|tb1)[02-9ac-hj-np-z]{8,87}", re.I), "btc"),
    (re.compile(r"[13][1-9A-HJ-NP-Za-km-z]{25,34}"), "btc"),
    (re.compile(r"[48][1-9A-HJ-NP-Za-km-z]{94}([1-9A-HJ-NP-Za-km-z]{11})?"), "xmr"),
    (re.compile(r"0x[0-9a-fA-F]{40}"), "eth"),
    (re.compile(r"(ltc1)[02-9ac-hj-np-z]{8,87}|[LM][1-9A-HJ-NP-Za-km-z]{26,33}"), "ltc"),
    (re.compile(r"X[1-9A-HJ-NP-Za-km-z]{33}"), "dash"),
)


def guess_coin(address: str) -> str | None:
    for pattern, coin in _COIN_SHAPES:
        if pattern.fullmatch(address):
            return coin
    return None


def _sighting(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": record.get("kind"),
        "id": record.get("id"),
        "market": record.get("market"),
        "title": record.get("title") or record.get("name") or record.get("url") or record.get("address"),
        "fetched_at": record.get("fetched_at") or record.get("last_seen"),
    }


def export_set_from_records(title: str, records: list[dict[str, Any]]) -> ExportSet:
    """Gather identifiers from records (each a source document plus ``kind`` and ``id``)."""
    export_set = ExportSet(title=title, generated_at=utc_now(), records=records)

    def seen(identifier: str, record: dict[str, Any]) -> None:
        export_set.sightings.setdefault(identifier, []).append(_sighting(record))

    for record in records:
        if record.get("kind") == "wallets" and record.get("address"):
            address = str(record["address"])
            export_set.wallets[address] = coin_ticker(record.get("coin")) or export_set.wallets.get(address)
            seen(address, record)
        for wallet in record.get("wallets") or []:
            if isinstance(wallet, dict):
                # The normalised form is the wallet's identity in the index (pipelines.entities).
                address = str(wallet.get("normalized") or wallet.get("address") or "")
                coin = coin_ticker(wallet.get("coin"))
            else:
                address, coin = str(wallet), None
            if address:
                export_set.wallets[address] = coin or export_set.wallets.get(address)
                seen(address, record)
        host = record.get("onion_host") or (record.get("host") if record.get("kind") == "onions" else None)
        if host:
            export_set.onions.add(str(host))
            seen(str(host), record)
        for fingerprint in record.get("pgp_fingerprints") or []:
            export_set.pgp_fingerprints.add(str(fingerprint))
            seen(str(fingerprint), record)
        for email in record.get("emails") or []:
            export_set.emails.add(str(email))
    for address, coin in list(export_set.wallets.items()):
        if not coin:
            export_set.wallets[address] = guess_coin(address)
    return export_set


def _resolve_coins(client: Any, prefix: str, export_set: ExportSet) -> None:
    unknown = [address for address, coin in export_set.wallets.items() if not coin][:1000]
    if not unknown:
        return
    response = client.search(
        index=alias_name(prefix, "wallets"),
        body={"query": {"terms": {"address": unknown}}, "size": len(unknown), "_source": ["address", "coin"]},
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    for hit in response["hits"]["hits"]:
        source = hit["_source"]
        if source.get("address") in export_set.wallets and source.get("coin"):
            export_set.wallets[source["address"]] = coin_ticker(source["coin"])


def collect_search(client: Any, prefix: str, query: str, kind: str, limit: int = EXPORT_MAX_RECORDS,
                   *, limits: Any = None, max_records: int = EXPORT_MAX_RECORDS) -> ExportSet:
    """Up to ``limit`` (at most ``max_records``) hits of a search.

    Raises QueryError for a bad query, QueryLimitError for one over ``limits``
    (:class:`search.query.QueryLimits`).
    """
    from search.results import MAX_LIMIT, search

    limit = max(1, min(limit, max_records))
    records: list[dict[str, Any]] = []
    cursor = None
    secret = b"export"
    while len(records) < limit:
        result = search(
            client, prefix, query, kind=kind, limit=min(MAX_LIMIT, limit - len(records)), cursor=cursor,
            cursor_secret=secret, with_facets=False, with_highlights=False, limits=limits,
            result_window=limit + MAX_LIMIT,  # the loop stops at limit; never a window error mid-export
        )
        records.extend({"kind": hit.kind, "id": hit.id, **hit.source} for hit in result.hits)
        if not result.next_cursor:
            break
        cursor = result.next_cursor
    export_set = export_set_from_records(f"onionscope search ({kind}): {query}", records)
    _resolve_coins(client, prefix, export_set)
    return export_set


def collect_wallet(client: Any, prefix: str, address: str) -> ExportSet:
    from search.pivots import wallet_detail

    detail = wallet_detail(client, prefix, address)
    if detail is None:
        raise UserError(_("wallet {address} was not seen in the index", address=repr(address[:120])))
    records = [{"kind": "wallets", "id": address, "address": address, "coin": detail["coin"],
                **({"first_seen": detail["entity"].get("first_seen"), "last_seen": detail["entity"].get("last_seen")}
                   if detail["entity"] else {})}]
    records += [{"kind": "listings", **listing} for listing in detail["listings"]]
    records += [{"kind": "vendors", **vendor} for vendor in detail["vendors"]]
    records += [{"kind": "pages", **page} for page in detail["pages"]]
    export_set = export_set_from_records(f"onionscope wallet {address}", records)
    _resolve_coins(client, prefix, export_set)
    return export_set


def collect_vendor(client: Any, prefix: str, vendor_doc_id: str) -> ExportSet:
    from search.pivots import vendor_detail

    detail = vendor_detail(client, prefix, vendor_doc_id)
    if detail is None:
        raise UserError(_("no vendor with id {vendor_id}; vendor ids are shown on vendor pages and in --json output",
                          vendor_id=repr(vendor_doc_id[:80])))
    vendor = detail["vendor"]
    records = [{"kind": "vendors", **vendor}]
    records += [{"kind": "listings", **listing} for listing in detail["listings"]]
    export_set = export_set_from_records(f"onionscope vendor {vendor.get('name')} on {vendor.get('market')}", records)
    _resolve_coins(client, prefix, export_set)
    return export_set


def collect_onion(client: Any, prefix: str, host: str) -> ExportSet:
    from search.pivots import onion_detail

    detail = onion_detail(client, prefix, host)
    if detail is None:
        raise UserError(_("onion host {host} was not crawled", host=repr(host[:80])))
    records = [{"kind": "onions", "id": detail["host"], "host": detail["host"], **detail["liveness"]}]
    records += [{"kind": "pages", "onion_host": detail["host"], **page} for page in detail["pages"]]
    return export_set_from_records(f"onionscope onion {detail['host']}", records)


def render(export_set: ExportSet, format: str, language: str = "en") -> tuple[str, str, str]:
    """The export as text, its media type and the file suffix; STIX and MISP labels in ``language``.

    CSV and JSON carry field names and values only, the same in every language.

    :raises config.errors.UserError: ``format`` is not one of :data:`FORMATS`.
    """
    import json

    from search.cli_output import escape_json_text

    if format == "csv":
        from search.exports.csv_export import to_csv

        return to_csv(export_set), "text/csv; charset=utf-8", "csv"
    if format == "json":
        from search.exports.json_export import to_json

        return escape_json_text(to_json(export_set)), "application/json", "json"
    if format == "stix":
        from search.exports.stix import to_stix_bundle

        text = json.dumps(to_stix_bundle(export_set, language), indent=2, ensure_ascii=False)
        return escape_json_text(text), "application/stix+json;version=2.1", "stix.json"
    if format == "misp":
        from search.exports.misp import to_misp_event

        text = json.dumps(to_misp_event(export_set, language), indent=2, ensure_ascii=False)
        return escape_json_text(text), "application/json", "misp.json"
    raise UserError(_("unknown export format {format}; choose one of: {choices}", format=repr(format),
                      choices=", ".join(FORMATS)))
