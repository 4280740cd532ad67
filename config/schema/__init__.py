"""The index schema: for each document kind, its ``_id`` rule, its alias, its fields and how they are searched.

One owner for every rule the crawler, the pipelines, the query language and
the exports share.  The mappings themselves are data, in
``config/index_templates/<kind>.json``; ``tests/unit/test_schema.py`` checks
that the catalogue here and the templates agree.

Modules:

* :mod:`config.schema.kinds` -- the kinds, ``<prefix>-<kind>`` alias and
  versioned index names, and the ``_id`` rule of each kind;
* :mod:`config.schema.normalise` -- the stored form of PGP fingerprints,
  onion hosts and coins, and the one coin vocabulary (tickers);
* :mod:`config.schema.fields` -- every indexed field with its type and
  normaliser, the query language's field names, the searchable kinds (text
  fields, highlights, sort tiebreaks) and the facets.

Everything named there is importable from this package.  Adding a field to a
kind touches :data:`~config.schema.fields.KIND_FIELDS` (and the query fields or
facets if people search by it), the kind's template with a new
``schema_version``, and ``onionscope index migrate KIND``.

Imports nothing above the base layer, reads no file, touches no network.
"""

from __future__ import annotations

from config.schema.fields import (
    DATE_FIELDS,
    DATE_QUERY_FIELDS,
    FACETS,
    KIND_FIELDS,
    QUERY_FIELDS,
    SEARCH_KINDS,
    Facet,
    Field,
    QueryField,
    SearchKind,
    normalise_document,
)
from config.schema.kinds import (
    KINDS,
    alert_doc_id,
    alias_name,
    change_doc_id,
    discovered_onion_doc_id,
    check_kind,
    crawl_run_doc_id,
    listing_doc_id,
    market_item_id,
    onion_check_doc_id,
    onion_doc_id,
    page_doc_id,
    prefix_pattern,
    stable_id,
    token_doc_id,
    vendor_doc_id,
    versioned_index_name,
    wallet_doc_id,
    watch_entry_doc_id,
)
from config.schema.normalise import (
    COIN_TICKERS,
    CRYPTO_TICKERS,
    coin_aliases,
    coin_ticker,
    lower_case,
    normalise_coin,
    normalise_fingerprint,
    normalise_onion_host,
    onion_host_from_input,
    onion_service_host,
    upper_case,
)

__all__ = [
    "COIN_TICKERS", "CRYPTO_TICKERS", "DATE_FIELDS", "DATE_QUERY_FIELDS", "FACETS", "KINDS", "KIND_FIELDS",
    "QUERY_FIELDS", "SEARCH_KINDS", "Facet", "Field", "QueryField", "SearchKind", "alias_name", "change_doc_id", "discovered_onion_doc_id",
    "check_kind",
    "coin_aliases", "coin_ticker", "crawl_run_doc_id", "listing_doc_id", "lower_case", "market_item_id",
    "normalise_coin", "normalise_document", "normalise_fingerprint", "normalise_onion_host", "onion_check_doc_id",
    "onion_doc_id",
    "onion_host_from_input", "onion_service_host", "page_doc_id", "prefix_pattern", "stable_id", "token_doc_id",
    "upper_case", "vendor_doc_id", "versioned_index_name", "wallet_doc_id", "watch_entry_doc_id", "alert_doc_id",
]
