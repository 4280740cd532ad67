"""Listings schema 5 (price per gram) on the real Elasticsearch: a migration from 4 fills it in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.items import Listing
from pipelines import indices
from pipelines.documents import upsert_action
from tests.integration.older_templates import older_templates

pytestmark = pytest.mark.integration
NEW_FIELDS = ("quantity_grams", "price_per_gram")


def listings_schema_4_templates(tmp_path: Path) -> Path:
    """The templates as they were before the price per gram: listings at schema 4, without its fields."""
    return older_templates(tmp_path / "templates-listings-4", {"listings": (4, NEW_FIELDS)})


def test_listings_from_before_the_price_per_gram_get_it_when_migrated(es: tuple[Any, str], tmp_path: Path) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=("listings",), templates_dir=listings_schema_4_templates(tmp_path))
    alias = indices.alias_name(prefix, "listings")
    old = {
        "g": Listing(market="m", listing_id="1", url="http://x/1", title="2.5g Ketamine needles",
                     fetched_at="2026-01-01T00:00:00Z", job_id="j", price_amount=50.0, price_currency="EUR"),
        "tabs": Listing(market="m", listing_id="2", url="http://x/2", title="LSD 10 tabs",
                        fetched_at="2026-01-01T00:00:00Z", job_id="j", price_amount=50.0, price_currency="EUR"),
    }
    for listing in old.values():
        document = {key: value for key, value in upsert_action(listing, alias)["upsert"].items()
                    if key not in NEW_FIELDS}
        client.index(index=alias, id=listing.doc_id(), document=document, refresh=True)
    [row] = [r for r in indices.index_status(client, prefix) if r.kind == "listings"]
    assert (row.index_schema_version, row.template_schema_version) == (4, 5)

    report = indices.migrate(client, prefix, "listings")
    assert report.target_docs == 2
    client.indices.refresh(index=alias)
    grams = client.get(index=alias, id=old["g"].doc_id())["_source"]
    assert (grams["quantity_grams"], grams["price_per_gram"]) == (2.5, 20.0)
    tabs = client.get(index=alias, id=old["tabs"].doc_id())["_source"]
    assert tabs["price_per_gram"] is None
    median = client.search(index=alias, size=0, aggs={"m": {"percentiles": {"field": "price_per_gram", "percents": [50]}}})
    assert median["aggregations"]["m"]["values"]["50.0"] == 20.0
