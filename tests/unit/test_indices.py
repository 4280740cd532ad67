from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from crawler.items import Listing, Page, Vendor
from config.errors import UserError
from pipelines.indices import KINDS, _template_body, alias_name, load_template, versioned_index_name


def test_names() -> None:
    assert alias_name("onionscope", "crawl-runs") == "onionscope-crawl-runs"
    assert versioned_index_name("p", "pages", 3) == "p-pages-v3"
    with pytest.raises(UserError, match="unknown index kind"):
        alias_name("p", "page")


@pytest.mark.parametrize(("kind", "item_type", "derived"), [
    # content_changed_at and removed_at are the freshness pipeline's (pipelines.freshness); quantity_grams and
    # price_per_gram are pipelines.documents'.
    ("pages", Page, {"first_seen", "last_seen", "content_changed_at"}),
    ("listings", Listing, {"first_seen", "last_seen", "coins", "removed_at", "quantity_grams", "price_per_gram"}),
    ("vendors", Vendor, {"first_seen", "last_seen", "name_folded"}),
])
def test_strict_mappings_hold_exactly_the_item_fields(kind: str, item_type: type, derived: set[str]) -> None:
    template = load_template(kind)
    assert template.mappings["dynamic"] == "strict"
    item_fields = {field.name for field in dataclasses.fields(item_type)}
    assert set(template.mappings["properties"]) == item_fields | derived


def test_every_template_loads_and_uses_only_core_features() -> None:
    # nested (crawl-runs' error_types, summed by type for /metrics) is core Elasticsearch too.
    allowed_types = {"keyword", "text", "date", "integer", "long", "short", "float", "double", "boolean",
                     "object", "flattened", "nested"}
    for kind in KINDS:
        template = load_template(kind)
        assert template.settings == {"number_of_shards": 1, "number_of_replicas": 0}

        def walk(properties: dict) -> None:
            for spec in properties.values():
                assert spec.get("type", "object") in allowed_types
                assert spec.get("analyzer", "standard") == "standard"
                walk(spec.get("properties", {}))
                walk(spec.get("fields", {}))

        walk(template.mappings["properties"])


def test_template_body_targets_only_versioned_indices_and_takes_overrides() -> None:
    body = _template_body("p", load_template("wallets"), shards=3, replicas=1)
    assert body["index_patterns"] == ["p-wallets-v*"]
    assert body["template"]["settings"]["number_of_shards"] == 3
    assert body["template"]["settings"]["number_of_replicas"] == 1


def test_broken_template_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "pages.json").write_text("{ nope")
    with pytest.raises(UserError, match="pages.json.*not valid JSON"):
        load_template("pages", tmp_path)
    (tmp_path / "listings.json").write_text(json.dumps({"settings": {}}))
    with pytest.raises(UserError, match="schema_version"):
        load_template("listings", tmp_path)


def test_shard_overrides_come_from_settings_when_defined() -> None:
    from types import SimpleNamespace

    from config.settings import load_settings
    from pipelines.indices import shard_overrides

    assert shard_overrides(load_settings(environ={})) == {"shards": None, "replicas": None}
    assert shard_overrides(SimpleNamespace(index_shards=3, index_replicas=1)) == {"shards": 3, "replicas": 1}
