"""The field catalogue: every indexed field of every kind, and how people search and facet on them.

Public API:

* :class:`Field`, :data:`KIND_FIELDS` -- per kind, every indexed field (dotted
  paths for object properties and multi-fields) with its mapping type and the
  normaliser that gives its stored form.  The index templates in
  ``config/index_templates/<kind>.json`` must agree; ``tests/unit/test_schema.py``
  checks both ways;
* :func:`normalise_document` (kind, document) -> the document with every
  catalogued normaliser applied (the pipeline calls it on pages, listings, vendors);
* :class:`QueryField`, :data:`QUERY_FIELDS` -- every ``name:value`` of the query
  language, the keyword fields it matches and how its value is normalised;
  :data:`DATE_QUERY_FIELDS` and :data:`DATE_FIELDS` for ``date:``/``after:``/``before:``;
* :class:`SearchKind`, :data:`SEARCH_KINDS` -- the kinds one can search: full-text
  fields with boosts, highlighted fields, date, title and the sort tiebreak;
* :class:`Facet`, :data:`FACETS` -- the terms aggregations shown beside results,
  the query field each narrows by, and how a bucket's value is shown.

Adding a field to a kind: add it to :data:`KIND_FIELDS` (and to
:data:`QUERY_FIELDS` or :data:`FACETS` if people search or facet on it), to the
kind's template with a new ``schema_version``, then ``onionscope index migrate KIND``.

Data and pure functions only.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping

from config.schema.normalise import (
    coin_aliases,
    coin_ticker,
    lower_case,
    normalise_coin,
    normalise_fingerprint,
    normalise_onion_host,
    onion_host_from_input,
    upper_case,
)
from config.site_types import site_type_from_input


@dataclass(frozen=True)
class Field:
    """One indexed field: its mapping type, and the normaliser of its stored form (None: stored as it comes).

    A list field's values are normalised one by one, and kept sorted without
    duplicates; a field ``a.b`` normalises key ``b`` of each object in list ``a``.
    """

    type: str
    normalise: Callable[[str], str] | None = None


KW = Field("keyword")
TEXT = Field("text")
DATE = Field("date")
BOOLEAN = Field("boolean")
LONG = Field("long")
INTEGER = Field("integer")
SHORT = Field("short")
FLOAT = Field("float")
DOUBLE = Field("double")
OBJECT = Field("object")
NESTED = Field("nested")
FLATTENED = Field("flattened")
KW_LOWER = Field("keyword", lower_case)
KW_UPPER = Field("keyword", upper_case)
KW_ONION = Field("keyword", normalise_onion_host)
KW_COIN = Field("keyword", normalise_coin)
KW_FINGERPRINT = Field("keyword", normalise_fingerprint)

_SEEN = {"fetched_at": DATE, "first_seen": DATE, "last_seen": DATE, "job_id": KW}
_EVIDENCE = {"evidence": OBJECT, "evidence.file": KW, "evidence.offset": LONG, "evidence.length": LONG,
             "evidence.digest": KW, "evidence.record_id": KW}


def _fields(**fields: Field) -> Mapping[str, Field]:
    # Dotted paths cannot be keyword arguments; callers pass them with **{"a.b": ...}.
    return MappingProxyType(dict(fields))


KIND_FIELDS: Mapping[str, Mapping[str, Field]] = MappingProxyType({
    "pages": _fields(
        url=KW, canonical_url=KW, onion_host=KW_ONION, status=SHORT, content_type=KW, content_hash=KW, **_SEEN,
        title=TEXT, **{"title.keyword": KW}, text=TEXT, links=KW, onion_links=KW, depth=INTEGER,
        language=KW_LOWER, wallets=OBJECT,
        **{"wallets.address": KW, "wallets.coin": KW_COIN, "wallets.network": KW_LOWER, "wallets.address_type": KW},
        emails=KW_LOWER, pgp_fingerprints=KW_FINGERPRINT, contacts=FLATTENED, market=KW, page_type=KW,
        looks_like_market=KW,
        # Every onion the page names (links and text, obfuscated and hidden ones flagged), the shown v3
        # ones offered to discovery, and identifiers found only where the browser shows nothing.
        onion_mentions=OBJECT,
        **{"onion_mentions.host": KW, "onion_mentions.version": SHORT, "onion_mentions.where": KW,
           "onion_mentions.obfuscated": BOOLEAN, "onion_mentions.hidden": BOOLEAN},
        discovery_onions=KW, hidden_identifiers=KW,
        # A forum thread's posts (page type "thread").
        posts=OBJECT,
        **{"posts.author": KW, "posts.posted_at": DATE, "posts.posted_local": KW, "posts.posted_text": KW,
           "posts.text": TEXT},
        # Freshness: the response's validators, and when the content hash last changed.
        etag=KW, last_modified=KW, content_changed_at=DATE,
        # Schema 5: what kind of site the page shows (crawler.extractors.site_type).
        site_type=KW, site_type_confidence=FLOAT, site_type_evidence=KW,
        # The WARC record of the response (crawler.evidence): file, offset, length, sha256 digest, record id.
        **_EVIDENCE,
    ),
    "listings": _fields(
        market=KW, listing_id=KW, url=KW, onion_host=KW_ONION, title=TEXT, **{"title.keyword": KW},
        description=TEXT, price_amount=DOUBLE, price_currency=KW_UPPER,
        # Keys are coins (normalise_coin), values doubles: a dynamic template maps them.
        crypto_prices=OBJECT, coins=KW_COIN,
        vendor=KW, **{"vendor.text": TEXT}, category=KW, **{"category.text": TEXT},
        ships_from=KW, ships_to=KW, escrow=BOOLEAN, finalize_early=BOOLEAN, stock=LONG, sales=LONG, rating=FLOAT,
        substances=KW, substance_classes=KW, wallets=KW, language=KW_LOWER, extractor=KW, **_SEEN,
        market_host_known=BOOLEAN, looks_like_market=KW, price_unit=KW,
        # Missing from its market in a run that crawled it completely; never deleted.
        removed_at=DATE,
        # The WARC record of the page it was read from (crawler.evidence).
        **_EVIDENCE,
        # Schema 5: the weight the price buys and the price per gram in price_currency (crawler.extractors.quantities).
        quantity_grams=DOUBLE, price_per_gram=DOUBLE,
    ),
    "vendors": _fields(
        market=KW, name=KW, **{"name.text": TEXT}, name_folded=KW, profile_url=KW, onion_host=KW_ONION,
        pgp_fingerprints=KW_FINGERPRINT, wallets=KW, contacts=FLATTENED, rating=FLOAT, sales=LONG, joined=KW,
        extractor=KW, **_SEEN, market_host_known=BOOLEAN, looks_like_market=KW,
    ),
    # Entities: the pipeline merges sightings whose values are already normalised (pipelines.entities).
    "wallets": _fields(
        address=KW, coin=KW_COIN, network=KW_LOWER, address_type=KW, first_seen=DATE, last_seen=DATE,
        pages=KW, listings=KW, vendors=KW, markets=KW, onion_hosts=KW_ONION,
        page_count=INTEGER, listing_count=INTEGER, vendor_count=INTEGER, market_count=INTEGER, onion_count=INTEGER,
        mention_count=LONG, refs_truncated=BOOLEAN, sources=KW, job_ids=KW,
    ),
    "onions": _fields(
        onion_host=KW_ONION, first_seen=DATE, last_seen=DATE, page_count=INTEGER, last_status=SHORT, up=BOOLEAN,
        last_url=KW, last_title=TEXT, **{"last_title.keyword": KW}, markets=KW, job_ids=KW,
        # The liveness history's summary (crawler.freshness.liveness.Backoff); recent_checks is stored, not indexed.
        consecutive_down=INTEGER, down_since=DATE, last_check_at=DATE, last_up_at=DATE, last_down_reason=KW,
        next_check_at=DATE,
        # Schema 3: the site type of its pages and its mirror group (pipelines.onion_sites, `onionscope index sites`).
        site_type=KW, site_type_confidence=FLOAT, site_type_evidence=KW, site_type_pages=INTEGER,
        mirror_group=KW, mirror_group_label=KW, mirror_group_members=KW_ONION, mirror_group_similarity=FLOAT,
        mirror_group_reasons=KW, sites_indexed_at=DATE,
    ),
    # ``stats`` and ``errors`` are stored, not indexed.
    "crawl-runs": _fields(
        job_id=KW, spider=KW, started_at=DATE, finished_at=DATE, finish_reason=KW, seeds=KW,
        pages_indexed=LONG, items_indexed=LONG, items_failed=LONG, items_spooled=LONG, items_dropped=LONG,
        # Onion hosts that showed a login wall where content was expected, and hosts that had a session
        # (names only: no session value is ever stored).
        needs_login_sites=KW, session_sites=KW,
        # The crawl job's options (crawler.job.CrawlOptions).
        options=OBJECT,
        **{"options.follow_offsite": BOOLEAN, "options.follow_links": BOOLEAN, "options.allow_clearnet": BOOLEAN,
           "options.depth": INTEGER, "options.max_pages_per_host": LONG, "options.max_pages": LONG,
           "options.concurrency": INTEGER, "options.market_hosts": KW},
        # What changed in the run (pipelines.freshness.changes.run_change_counts).
        listings_new=LONG, listings_changed=LONG, listings_removed=LONG, pages_changed=LONG,
        # Schema 3: the scheduled job, the run's outcome and its figures (pipelines.job_runs);
        # ``errors`` (count per error type) is stored, not indexed.
        job_name=KW, trigger=KW, scheduled_for=DATE, missed_runs=LONG, outcome=KW, outcome_reason=TEXT,
        **{"outcome_reason.keyword": KW}, pages=LONG, items=LONG, bytes=LONG, error_count=LONG, tor_failures=LONG,
        error_types=NESTED, **{"error_types.type": KW, "error_types.count": LONG},
        tor_bootstrap_failures=LONG, tor_circuit_failures=LONG, tor_newnym=LONG,
        bulk_requests=LONG, bulk_seconds=DOUBLE, bulk_seconds_max=DOUBLE,
        # Schema 4: a shared job (crawl --shared), its workers' own figures; their stats are stored, not indexed.
        shared=BOOLEAN, worker_count=LONG, workers=OBJECT,
        **{"workers.worker_id": KW, "workers.hostname": KW, "workers.pid": LONG, "workers.started_at": DATE,
           "workers.finished_at": DATE, "workers.finish_reason": KW, "workers.pages": LONG, "workers.requests": LONG,
           "workers.items_indexed": LONG, "workers.leases_released": LONG},
    ),
    # ``detail`` is stored, not indexed.
    "audit": _fields(
        at=DATE, actor_id=KW, actor_name=KW, role=KW, query=TEXT, **{"query.keyword": KW}, kind=KW,
        result_count=LONG, channel=KW,
    ),
    "tokens": _fields(token_id=KW, name=KW, role=KW, created_at=DATE, revoked_at=DATE),
    # Liveness history: one check per onion host and run; reasons and samples are stored, not indexed.
    "onion-checks": _fields(
        onion_host=KW_ONION, job_id=KW, state=KW, up=BOOLEAN, checked_at=DATE, last_attempt_at=DATE,
        attempts=INTEGER, answered=INTEGER, failed=INTEGER, reason=KW, last_status=SHORT,
        latency_ms_mean=INTEGER, latency_ms_max=INTEGER, samples_truncated=BOOLEAN,
    ),
    # Change records; old and new are stored, not indexed.
    "changes": _fields(
        kind=KW, doc_id=KW, field=KW, old_value=KW, new_value=KW, old_amount=DOUBLE, new_amount=DOUBLE,
        old_currency=KW, new_currency=KW, market=KW, listing_id=KW, onion_host=KW_ONION, url=KW,
        title=TEXT, **{"title.keyword": KW}, changed_at=DATE, previous_seen_at=DATE, job_id=KW,
    ),
    # The discovery queue: one document per onion host that a page named (pipelines.discovery);
    # ``seen_on`` (where, capped) and ``probe`` details are stored, not indexed.
    "discovered-onions": _fields(
        onion_host=KW_ONION, first_seen=DATE, last_seen=DATE, seen_count=LONG, job_ids=KW, status=KW,
        seen_in=KW, source_hosts=KW_ONION, up=BOOLEAN, reason=KW, title=TEXT, **{"title.keyword": KW},
        probed_at=DATE, last_status=SHORT,
    ),
    # Watchlist entries (search.watchlists); ``query`` is the entry in the query language.
    "watchlists": _fields(
        entry_id=KW, kind=KW, value=KW, query=KW, list=KW, shared=BOOLEAN, owner_id=KW, owner_name=KW, note=TEXT,
        created_at=DATE,
    ),
    # Alerts (search.alerts): ``hit`` and ``deliveries`` are stored, not indexed.
    "alerts": _fields(
        alert_id=KW, entry_id=KW, entry_kind=KW, entry_value=KW, list=KW, shared=BOOLEAN, owner_id=KW, job_id=KW,
        created_at=DATE, doc_kind=KW, doc_id=KW, version=KW, url=KW, onion_host=KW_ONION, title=TEXT,
        **{"title.keyword": KW}, evidence_link=KW, read_at=DATE, read_by=KW, webhook_state=KW,
        webhook_attempts=INTEGER, webhook_next_at=DATE, webhook_delivered_at=DATE,
    ),
})


def _normalise_plan(fields: Mapping[str, Field]) -> tuple[tuple[tuple[str, Callable[[str], str]], ...],
                                                         tuple[tuple[str, tuple[tuple[str, Callable[[str], str]], ...]], ...]]:
    """(top-level fields, {list field: keys of its objects}) that have a normaliser, worked out once per kind."""
    top: list[tuple[str, Callable[[str], str]]] = []
    nested: dict[str, list[tuple[str, Callable[[str], str]]]] = {}
    for path, field in fields.items():
        if field.normalise is None:
            continue
        parent, _, key = path.partition(".")
        if key:
            nested.setdefault(parent, []).append((key, field.normalise))
        else:
            top.append((parent, field.normalise))
    return tuple(top), tuple((parent, tuple(keys)) for parent, keys in nested.items())


_NORMALISE_PLANS = {kind: _normalise_plan(fields) for kind, fields in KIND_FIELDS.items()}


def _normalise_object(item: Any, keys: tuple[tuple[str, Callable[[str], str]], ...]) -> Any:
    if not isinstance(item, dict):
        return item
    item = dict(item)
    for key, normalise in keys:
        if isinstance(item.get(key), str):
            item[key] = normalise(item[key])
    return item


def normalise_document(kind: str, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (a new dict) with each catalogued field of ``kind`` in its stored form.

    A scalar is normalised when it is not empty; a list becomes the sorted,
    distinct normalised values of its non-empty items; a field ``a.b`` is
    normalised in each object of the list ``a`` that holds a string ``b``.
    Fields absent from ``document`` stay absent.  Raises KeyError for an unknown kind.
    """
    top, nested = _NORMALISE_PLANS[kind]
    document = dict(document)
    for name, normalise in top:
        if name not in document:
            continue
        value = document[name]
        if isinstance(value, list):
            document[name] = sorted({normalise(str(item)) for item in value if item})
        elif value:
            document[name] = normalise(str(value))
    for parent, keys in nested:
        objects = document.get(parent)
        if isinstance(objects, list):
            document[parent] = [_normalise_object(item, keys) for item in objects]
    return document


def _strip(value: str) -> str:
    return value.strip()


def _strip_lower(value: str) -> str:
    return value.strip().lower()


def _query_coin(value: str) -> str:
    return coin_ticker(value) or ""


@dataclass(frozen=True)
class QueryField:
    """How ``name:value`` is searched: exact terms on keyword fields, any of which may match.

    ``normalise`` turns what a person typed into the value searched for;
    ``aliases`` (when set) gives every stored spelling of that value;
    a value shorter than ``suffix_below`` characters matches the end of a
    stored value (a PGP key id is the end of its fingerprint).
    """

    name: str
    es_fields: tuple[str, ...]
    normalise: Callable[[str], str]
    help: str
    case_insensitive: bool = True
    aliases: Callable[[str], tuple[str, ...]] | None = None
    suffix_below: int | None = None


QUERY_FIELDS: Mapping[str, QueryField] = MappingProxyType({
    spec.name: spec
    for spec in (
        QueryField("market", ("market", "markets"), _strip, "market name"),
        QueryField("vendor", ("vendor", "name", "vendors"), _strip, "vendor name"),
        QueryField("coin", ("coin", "coins", "wallets.coin"), _query_coin, "coin ticker or name: btc, xmr, monero...",
                   aliases=coin_aliases),
        QueryField("wallet", ("address", "wallets", "wallets.address"), _strip, "wallet address",
                   case_insensitive=False),
        QueryField("pgp", ("pgp_fingerprints",), normalise_fingerprint, "PGP fingerprint or key id (spaces ignored)",
                   suffix_below=40),
        QueryField("onion", ("onion_host", "onion_hosts"), onion_host_from_input, "onion host"),
        QueryField("substance", ("substances", "substance_classes"), _strip, "substance or substance class"),
        QueryField("country", ("ships_from", "ships_to"), _strip, "country shipped from or to (ISO code)"),
        QueryField("lang", ("language",), _strip_lower, "language code: en, de, ru..."),
        QueryField("email", ("emails",), _strip_lower, "e-mail address"),
        QueryField("category", ("category",), _strip, "listing category"),
        QueryField("type", ("site_type",), site_type_from_input,
                   "site type: market, vendor-shop, forum, link-list, login-wall, directory, other"),
    )
})
#: ``date:``, ``after:``, ``before:`` -- they search :data:`DATE_FIELDS`.
DATE_QUERY_FIELDS: tuple[str, ...] = ("date", "after", "before")
#: The dates of a document: when it was fetched, or (entities) when last seen.
DATE_FIELDS: tuple[str, ...] = ("fetched_at", "last_seen")


@dataclass(frozen=True)
class SearchKind:
    """A kind one can search: full-text fields (with boosts), what is highlighted, how hits sort and are titled.

    ``tiebreak`` is a unique, sortable keyword set, so ``search_after`` never
    skips or repeats hits that tie on score and date; ``title_highlight`` is
    the highlighted field that carries the title.
    """

    name: str
    text_fields: tuple[str, ...]
    highlight_fields: tuple[str, ...]
    date_field: str
    title_field: str
    title_highlight: str
    tiebreak: tuple[str, ...]


SEARCH_KINDS: Mapping[str, SearchKind] = MappingProxyType({
    "listings": SearchKind(
        "listings", ("title^3", "description", "vendor.text^2", "category.text"), ("title", "description"),
        "fetched_at", "title", "title", ("market", "listing_id"),
    ),
    "pages": SearchKind("pages", ("title^3", "text"), ("title", "text"), "fetched_at", "title", "title",
                        ("canonical_url",)),
    "vendors": SearchKind("vendors", ("name.text^3",), ("name.text",), "fetched_at", "name", "name.text",
                          ("market", "name")),
    "wallets": SearchKind("wallets", ("address^3",), ("address",), "last_seen", "address", "address",
                          ("address", "coin")),
    # An onion service: found by its last title, or by its host typed whole.
    "onions": SearchKind("onions", ("last_title^3", "onion_host"), ("last_title",), "last_seen", "last_title",
                         "last_title", ("onion_host",)),
})


@dataclass(frozen=True)
class Facet:
    """A terms aggregation beside results: the keyword field it counts per kind, and the query field its links add.

    ``show`` (when set) turns a stored value into the one shown, and buckets
    that show the same merge their counts (coins: ``bitcoin`` and ``btc`` are ``btc``).
    """

    name: str
    query_field: str
    fields: Mapping[str, str]
    show: Callable[[str], str | None] | None = None


FACETS: Mapping[str, Facet] = MappingProxyType({
    facet.name: facet
    for facet in (
        Facet("market", "market", {"pages": "market", "listings": "market", "vendors": "market", "wallets": "markets",
                                    "onions": "markets"}),
        Facet("vendor", "vendor", {"listings": "vendor", "vendors": "name", "wallets": "vendors"}),
        Facet("coin", "coin", {"pages": "wallets.coin", "listings": "coins", "wallets": "coin"}, show=coin_ticker),
        Facet("substance", "substance", {"listings": "substances"}),
        Facet("country", "country", {"listings": "ships_from"}),
        Facet("language", "lang", {"pages": "language", "listings": "language"}),
        Facet("site_type", "type", {"pages": "site_type", "onions": "site_type"}),
    )
})
