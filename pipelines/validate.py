"""First item pipeline: drop items that are broken, cap the ones that are too big.

Crawled data is hostile: a page can carry megabytes of text, thousands of
links or a 10 kB "vendor name".  Every item leaving this pipeline has its
required fields present and sane and every size capped, so one document can
never blow up a bulk request or the index.

Public API:

* :class:`Limits` -- the caps (plain values);
* :func:`problem_with` (item) -> the reason to drop it, or None;
* :func:`cap_item` (item, limits) -> (capped copy, names of the fields cut);
* :class:`ValidatePipeline` -- the Scrapy pipeline: drops with
  ``DropItem`` (stat ``validate/dropped/<reason>`` and a log line naming the
  reason), counts cuts in ``validate/capped/<field>``.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scrapy.exceptions import DropItem

from crawler.items import Listing, Page, Vendor, WalletMention

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    text_max_chars: int = 200_000
    description_max_chars: int = 100_000
    title_max_chars: int = 1_000
    name_max_chars: int = 256
    url_max_chars: int = 2_048
    short_field_max_chars: int = 512
    list_max_entries: int = 1_000
    identifier_list_max_entries: int = 500


def _valid_date(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.tzinfo is not None


def _is_http_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _finite(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value))


def problem_with(item: Any, limits: Limits = Limits()) -> str | None:
    """Why ``item`` cannot be indexed (a short reason code with detail), or None when it can."""
    if not isinstance(item, (Page, Listing, Vendor, WalletMention)):
        return f"unknown_item: {type(item).__name__}"
    if not isinstance(item.job_id, str) or not item.job_id:
        return "missing_job_id"
    if not _valid_date(item.fetched_at):
        return f"bad_fetched_at: {str(item.fetched_at)[:40]!r}"
    if isinstance(item, Page):
        for name in ("url", "canonical_url"):
            value = getattr(item, name)
            if not _is_http_url(value):
                return f"bad_{name}"
            if len(value) > limits.url_max_chars:
                return f"{name}_too_long"
        if not item.onion_host:
            return "missing_onion_host"
        if not isinstance(item.status, int) or not 0 <= item.status <= 999:
            return "bad_status"
    elif isinstance(item, Listing):
        if not item.market or not item.listing_id:
            return "missing_market_or_listing_id"
        if len(item.listing_id) > limits.short_field_max_chars:
            return "listing_id_too_long"
        if not _is_http_url(item.url) or len(item.url) > limits.url_max_chars:
            return "bad_url"
        if not item.title or not item.title.strip():
            return "missing_title"
        for name in ("price_amount", "rating"):
            if not _finite(getattr(item, name)):
                return f"bad_{name}"
        if any(not _finite(price) or price is None for price in item.crypto_prices.values()):
            return "bad_crypto_prices"
    elif isinstance(item, Vendor):
        if not item.market or not item.name or not item.name.strip():
            return "missing_market_or_name"
        if len(item.name) > limits.name_max_chars:
            return "name_too_long"
        if not _finite(item.rating):
            return "bad_rating"
    elif isinstance(item, WalletMention):
        if not item.address or not item.coin:
            return "missing_address_or_coin"
        if len(item.address) > limits.name_max_chars or any(char.isspace() for char in item.address):
            return "bad_address"
        if not _is_http_url(item.page_url):
            return "bad_page_url"
    return None


def _cap_text(value: str | None, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and len(value) > limit else value


def _cap_list(values: list[Any], limit: int, entry_max_chars: int | None = None) -> list[Any]:
    kept = [v for v in values if entry_max_chars is None or not isinstance(v, str) or len(v) <= entry_max_chars]
    return kept[:limit]


@functools.lru_cache(maxsize=64)
def _caps(item_type: type, limits: Limits) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int, int | None], ...]]:
    """(text fields with their cap, list fields with their entry cap and entry size cap) an item type has."""
    text_caps = {
        "title": limits.title_max_chars,
        "text": limits.text_max_chars,
        "description": limits.description_max_chars,
        "vendor": limits.name_max_chars,
        "category": limits.short_field_max_chars,
        "content_type": limits.short_field_max_chars,
        "joined": limits.short_field_max_chars,
        "price_currency": 16,
    }
    list_caps: dict[str, tuple[int, int | None]] = {
        "links": (limits.list_max_entries, limits.url_max_chars),
        "onion_links": (limits.list_max_entries, limits.url_max_chars),
        "ships_from": (limits.identifier_list_max_entries, limits.short_field_max_chars),
        "ships_to": (limits.identifier_list_max_entries, limits.short_field_max_chars),
        "substances": (limits.identifier_list_max_entries, limits.short_field_max_chars),
        "substance_classes": (limits.identifier_list_max_entries, limits.short_field_max_chars),
        "wallets": (limits.identifier_list_max_entries, limits.name_max_chars),
        "emails": (limits.identifier_list_max_entries, 320),
        "pgp_fingerprints": (limits.identifier_list_max_entries, 128),
        "contacts": (limits.identifier_list_max_entries, None),
        "onion_mentions": (limits.identifier_list_max_entries, None),
        "discovery_onions": (limits.identifier_list_max_entries, 128),
        "hidden_identifiers": (limits.identifier_list_max_entries, limits.name_max_chars),
    }
    field_names = {f.name for f in dataclasses.fields(item_type)}
    return (tuple((name, limit) for name, limit in text_caps.items() if name in field_names),
            tuple((name, limit, entry_max) for name, (limit, entry_max) in list_caps.items() if name in field_names))


def cap_item(item: Any, limits: Limits = Limits()) -> tuple[Any, list[str]]:
    """A copy of ``item`` with every size within ``limits``, and the names of the fields that were cut."""
    changes: dict[str, Any] = {}
    text_caps, list_caps = _caps(type(item), limits)
    for name, limit in text_caps:
        value = getattr(item, name)
        capped = _cap_text(value, limit)
        if capped is not value:
            changes[name] = capped
    for name, limit, entry_max in list_caps:
        value = getattr(item, name)
        capped = _cap_list(value, limit, entry_max)
        if len(capped) != len(value):
            changes[name] = capped
    if isinstance(item, Listing) and len(item.crypto_prices) > 32:
        changes["crypto_prices"] = dict(list(item.crypto_prices.items())[:32])
    if not changes:
        return item, []
    return dataclasses.replace(item, **changes), sorted(changes)


class ValidatePipeline:
    """Drop broken items, cap big ones.  ``from_crawler`` reads the settings; ``__init__`` takes plain values."""

    def __init__(self, limits: Limits, stats: Any = None):
        self.limits = limits
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> "ValidatePipeline":
        settings = crawler.settings.get("ONIONSCOPE_SETTINGS")
        text_max = (
            int(settings.page_text_max_chars) if settings is not None
            else crawler.settings.getint("PAGE_TEXT_MAX_CHARS", Limits.text_max_chars)
        )
        return cls(Limits(text_max_chars=text_max), stats=crawler.stats)

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)

    def process_item(self, item: Any) -> Any:
        problem = problem_with(item, self.limits)
        if problem is not None:
            code = problem.split(":", 1)[0]
            self._inc(f"validate/dropped/{code}")
            logger.warning("dropped %s item: %s", getattr(item, "kind", type(item).__name__), problem)
            raise DropItem(f"invalid item: {problem}")
        capped, cut = cap_item(item, self.limits)
        for name in cut:
            self._inc(f"validate/capped/{name}")
        self._inc("validate/passed")
        return capped
