"""Per-field precision and recall of extracted listings and vendors against a ground truth.

Public API:

* :class:`FieldScore` -- true positives, false positives and misses of one
  field, with :attr:`~FieldScore.precision` and :attr:`~FieldScore.recall`.
* :func:`score_listings` ``(truth, extracted) -> dict[field, FieldScore]`` and
  :func:`score_vendors` -- compare extracted items with ground-truth records
  (the demo generator's ``ground_truth.json`` shape), matched by canonical URL.
* :func:`format_table` -- the scores as an aligned text table.
* :data:`LISTING_FIELDS` and :data:`VENDOR_FIELDS` -- the fields scored.

How a field is counted, per matched page:

* a scalar (title, price, vendor, rating...): right value -> TP; a wrong value
  -> FP and, if the truth has one, FN; no value where the truth has one -> FN;
  a value where the truth says None (the market does not show it) -> FP;
* a list or set (ships_to, substances, wallets, contacts...): each element
  found in the truth is a TP, each extra one a FP, each missing one a FN;
* ``price`` is right only when amount and currency both are;
* an item extracted from a page with no ground-truth item counts FP for every
  field it has; a ground-truth item with no extracted one counts FN for every
  field the truth has.  ``item`` scores detection itself.

Pure functions over dicts and items; no I/O.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable

from crawler.urls import canonical_url

LISTING_FIELDS = (
    "item", "title", "price", "crypto_prices", "vendor", "category", "description", "ships_from", "ships_to",
    "escrow", "finalize_early", "stock", "sales", "rating", "substances", "wallets", "language",
)
VENDOR_FIELDS = ("item", "name", "pgp_fingerprints", "wallets", "contacts", "rating", "sales", "joined")
_SET_FIELDS = {"ships_from", "ships_to", "substances", "wallets", "pgp_fingerprints", "contacts", "crypto_prices"}
_WHITESPACE = re.compile(r"\s+")


@dataclass
class FieldScore:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0

    @property
    def support(self) -> int:
        return self.true_positives + self.false_negatives


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) or isinstance(right, float):
        try:
            return math.isclose(float(left), float(right), rel_tol=1e-6, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    if isinstance(left, str) and isinstance(right, str):
        return _WHITESPACE.sub(" ", left).strip() == _WHITESPACE.sub(" ", right).strip()
    return bool(left == right)


def _contact_key(contact: dict[str, Any]) -> tuple[str, str]:
    kind = str(contact.get("type") or contact.get("kind") or "")
    value = str(contact.get("value") or "").lower().lstrip("@")
    return {"xmpp": "jabber"}.get(kind, kind), value


def _as_set(field: str, value: Any) -> set[Any]:
    if value is None:
        return set()
    if field == "contacts":
        return {_contact_key(contact) for contact in value}
    if field == "crypto_prices":
        return {(currency, round(float(amount), 8)) for currency, amount in dict(value).items()}
    return set(value)


def _score_pair(scores: dict[str, FieldScore], fields: Iterable[str], truth: dict[str, Any] | None, found: dict[str, Any] | None) -> None:
    for field in fields:
        score = scores.setdefault(field, FieldScore())
        if field == "item":
            if truth is not None and found is not None:
                score.true_positives += 1
            elif found is not None:
                score.false_positives += 1
            elif truth is not None:
                score.false_negatives += 1
            continue
        expected = truth.get(field) if truth is not None else None
        actual = found.get(field) if found is not None else None
        if field in _SET_FIELDS:
            expected_set, actual_set = _as_set(field, expected), _as_set(field, actual)
            score.true_positives += len(expected_set & actual_set)
            score.false_positives += len(actual_set - expected_set)
            score.false_negatives += len(expected_set - actual_set)
            continue
        if actual in (None, "") and expected in (None, ""):
            continue
        if actual in (None, ""):
            score.false_negatives += 1
        elif expected in (None, ""):
            score.false_positives += 1
        elif _same(actual, expected):
            score.true_positives += 1
        else:
            score.false_positives += 1
            score.false_negatives += 1


def _listing_record(listing: Any) -> dict[str, Any]:
    record = listing.to_doc() if hasattr(listing, "to_doc") else dict(listing)
    amount, currency = record.get("price_amount"), record.get("price_currency")
    record["price"] = (round(float(amount), 8), currency) if amount is not None and currency else None
    return record


def score_listings(truth: Iterable[dict[str, Any]], extracted: Iterable[Any], fields: Iterable[str] = LISTING_FIELDS) -> dict[str, FieldScore]:
    """Scores per field; ``extracted`` are :class:`crawler.items.Listing` items (or their docs)."""
    fields = tuple(fields)
    expected = {canonical_url(record["url"]): _listing_record(record) for record in truth}
    found: dict[str, dict[str, Any]] = {}
    for listing in extracted:
        record = _listing_record(listing)
        found.setdefault(canonical_url(record["url"]), record)
    scores: dict[str, FieldScore] = {}
    for url in sorted(set(expected) | set(found)):
        _score_pair(scores, fields, expected.get(url), found.get(url))
    return scores


def score_vendors(truth: Iterable[dict[str, Any]], extracted: Iterable[Any], fields: Iterable[str] = VENDOR_FIELDS) -> dict[str, FieldScore]:
    """Scores per field; ``extracted`` are :class:`crawler.items.Vendor` items (or their docs)."""
    fields = tuple(fields)
    expected = {canonical_url(record["profile_url"]): dict(record) for record in truth}
    found: dict[str, dict[str, Any]] = {}
    for vendor in extracted:
        record = vendor.to_doc() if hasattr(vendor, "to_doc") else dict(vendor)
        found.setdefault(canonical_url(record.get("profile_url") or ""), record)
    scores: dict[str, FieldScore] = {}
    for url in sorted(set(expected) | set(found)):
        _score_pair(scores, fields, expected.get(url), found.get(url))
    return scores


def format_table(title: str, scores: dict[str, FieldScore]) -> str:
    """An aligned table: field, precision, recall, TP, FP, FN."""
    lines = [title, f"  {'field':<16}{'precision':>10}{'recall':>8}{'TP':>6}{'FP':>5}{'FN':>5}"]
    for field, score in scores.items():
        lines.append(
            f"  {field:<16}{score.precision:>10.3f}{score.recall:>8.3f}"
            f"{score.true_positives:>6}{score.false_positives:>5}{score.false_negatives:>5}"
        )
    return "\n".join(lines)


@dataclass
class MarketScores:
    """Listing and vendor scores of one market, plus what the run noticed."""

    market: str
    listings: dict[str, FieldScore]
    vendors: dict[str, FieldScore]
    pages: int
    drift_events: int
    rejected_items: int


def evaluate_market(
    market: str,
    pages: Iterable[tuple[str, bytes]],
    truth: dict[str, Any],
    profiles: Any = None,
    fetched_at: str = "2025-12-01T00:00:00Z",
) -> MarketScores:
    """Run :func:`crawler.extractors.document.extract_document` on every ``(url, html)``
    of one market and score its listings and vendors against ``truth``
    (a ground truth with ``listings`` and ``vendors`` lists).  With ``profiles``
    None the generic extractor runs."""
    from crawler.extractors.document import extract_document

    listings: list[Any] = []
    vendors: list[Any] = []
    count = drift = rejected = 0
    for url, html in pages:
        document = extract_document(html, url, fetched_at, "quality", profiles=profiles)
        listings.extend(document.listings)
        vendors.extend(document.vendors)
        count += 1
        drift += len(document.drift)
        rejected += len(document.rejected)
    return MarketScores(
        market=market,
        listings=score_listings([r for r in truth["listings"] if r["market"] == market], listings),
        vendors=score_vendors([r for r in truth["vendors"] if r["market"] == market], vendors),
        pages=count,
        drift_events=drift,
        rejected_items=rejected,
    )
