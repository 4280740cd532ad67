"""The document kinds, the names of their indices, and the ``_id`` rule of each.

Public API:

* :data:`KINDS` -- every kind, one index alias each;
* :func:`check_kind` (kind) -- raises :class:`config.errors.UserError` for an unknown kind;
* :func:`alias_name` (prefix, kind) -> ``<prefix>-<kind>``, the one name readers and writers use;
* :func:`versioned_index_name` (prefix, kind, version) -> ``<prefix>-<kind>-v<version>``;
* :func:`prefix_pattern` (prefix) -> ``<prefix>-*``, every index and template of a prefix;
* the ``_id`` rules, one per kind:

  ======================  ==================================================
  pages                   :func:`page_doc_id` (canonical URL)
  listings                :func:`listing_doc_id` (market, listing id, host)
  vendors                 :func:`vendor_doc_id` (market, name, host)
  wallets                 :func:`wallet_doc_id` (coin, address)
  onions                  :func:`onion_doc_id` (host)
  crawl-runs              :func:`crawl_run_doc_id` (job id)
  audit                   chosen by Elasticsearch
  tokens                  :func:`token_doc_id` (the token)
  onion-checks            :func:`onion_check_doc_id` (host, job id)
  changes                 :func:`change_doc_id` (kind, document, field, when, new value)
  discovered-onions       :func:`discovered_onion_doc_id` (host)
  watchlists             :func:`watch_entry_doc_id` (random, made once)
  alerts                 :func:`alert_doc_id` (entry, document, content version)
  ======================  ==================================================

  built from :func:`stable_id` (sha256 of the parts) and :func:`market_item_id`.

The listing and vendor rule (:func:`market_item_id`): an item whose onion host
is one of its market's known hosts (the profile lists or patterns the host,
the operator confirmed it, or the market *is* the host) is keyed by market and
key alone, so the market's mirrors share one document; any other item is
keyed by market, host and key, so a page on another onion can never reach a
known market's documents.

Pure functions; nothing here reads a file or talks to Elasticsearch.
"""

from __future__ import annotations

import hashlib
import secrets

from config.errors import UserError
from config.i18n import _
from config.schema.normalise import normalise_coin, normalise_onion_host

KINDS: tuple[str, ...] = ("pages", "listings", "vendors", "wallets", "onions", "crawl-runs", "audit", "tokens",
                          "onion-checks", "changes", "discovered-onions", "watchlists", "alerts")


def check_kind(kind: str) -> None:
    """Returns None for a known kind; raises UserError naming the kinds otherwise."""
    if kind not in KINDS:
        raise UserError(_("unknown index kind {kind}; choose one of: {choices}", kind=repr(kind), choices=", ".join(KINDS)))


def alias_name(prefix: str, kind: str) -> str:
    """``<prefix>-<kind>``: the name every reader and writer uses; raises UserError for an unknown kind."""
    check_kind(kind)
    return f"{prefix}-{kind}"


def versioned_index_name(prefix: str, kind: str, version: int) -> str:
    """``<prefix>-<kind>-v<version>``: the concrete index behind the alias."""
    return f"{alias_name(prefix, kind)}-v{version}"


def prefix_pattern(prefix: str) -> str:
    """``<prefix>-*``: a wildcard over every index and template of ``prefix`` (and of longer prefixes)."""
    return f"{prefix}-*"


def stable_id(*parts: str) -> str:
    """sha256 hex of the parts joined by NUL; the ``_id`` of a document."""
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def page_doc_id(canonical_url: str) -> str:
    """The ``_id`` of a page: :func:`stable_id` of its canonical URL, so a re-crawl updates it."""
    return stable_id(canonical_url)


def market_item_id(market: str, key: str, onion_host: str, market_host_known: bool) -> str:
    """The ``_id`` of a listing (key: listing id) or vendor (key: case-folded name).

    Returns ``stable_id(market, key)`` when ``onion_host`` is one of the
    market's known hosts, else ``stable_id(market, onion_host, key)``.
    """
    if market_host_known:
        return stable_id(market, key)
    return stable_id(market, normalise_onion_host(onion_host), key)


def listing_doc_id(market: str, listing_id: str, onion_host: str, market_host_known: bool) -> str:
    """The ``_id`` of listing ``listing_id`` of ``market`` seen on ``onion_host``."""
    return market_item_id(market, listing_id, onion_host, market_host_known)


def vendor_doc_id(market: str, name: str, onion_host: str, market_host_known: bool) -> str:
    """The ``_id`` of vendor ``name`` of ``market`` seen on ``onion_host``; names match case-folded."""
    return market_item_id(market, name.casefold(), onion_host, market_host_known)


def wallet_doc_id(coin: str, address: str) -> str:
    """The ``_id`` of a wallet: sha256 of the stored coin (lower case, so BTC and btc are one wallet) and address."""
    return stable_id(normalise_coin(coin), address)


def onion_doc_id(onion_host: str) -> str:
    """The ``_id`` of an onion document: the host itself, lower case."""
    return normalise_onion_host(onion_host)


def crawl_run_doc_id(job_id: str) -> str:
    """The ``_id`` of a crawl-run document: its job id."""
    return str(job_id)


def token_doc_id(token: str) -> str:
    """sha256 hex of an API token: its stored form and ``_id`` (nothing stored turns back into a token)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def onion_check_doc_id(onion_host: str, job_id: str) -> str:
    """The ``_id`` of a liveness check: :func:`stable_id` of the host (lower case) and the run's job id."""
    return stable_id(normalise_onion_host(onion_host), str(job_id))


def change_doc_id(kind: str, doc_id: str, field: str, changed_at: str, new_value: str) -> str:
    """The ``_id`` of a change record: one per document, field, time and new value (a replay rewrites it)."""
    return stable_id(kind, doc_id, field, changed_at, new_value)


def discovered_onion_doc_id(onion_host: str) -> str:
    """The ``_id`` of a discovery queue document: the host itself, lower case."""
    return normalise_onion_host(onion_host)


def watch_entry_doc_id() -> str:
    """A new watchlist entry's ``_id`` (and ``entry_id``): 16 random hex digits, made once when it is added."""
    return secrets.token_hex(8)


def alert_doc_id(entry_id: str, doc_id: str, version: str) -> str:
    """The ``_id`` of an alert: one per watchlist entry, matched document and content version of that document.

    Written with ``op_type=create``: a re-crawl that finds the same version again makes no second alert.
    """
    return stable_id("alert", entry_id, doc_id, version)
