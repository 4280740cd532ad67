from __future__ import annotations

import dataclasses
import json
import types
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

    assert shard_overrides(load_settings(environ={})) == {"shards": None, "replicas": "0-1"}
    assert shard_overrides(load_settings(environ={"ONIONSCOPE_INDEX_REPLICAS": "2"})) == {"shards": None, "replicas": 2}
    assert shard_overrides(SimpleNamespace(index_shards=3, index_replicas=1)) == {"shards": 3, "replicas": 1}


def test_replicas_follow_the_data_nodes_by_default() -> None:
    """One node: no replica (green); a cluster: one copy of every shard on another node."""
    from config.settings import DEFAULTS
    from pipelines.indices import replica_settings

    assert DEFAULTS["index_replicas"].default == "0-1"
    body = _template_body("p", load_template("pages"), shards=None, replicas=None)
    assert body["template"]["settings"] == {"number_of_shards": 1, "number_of_replicas": 0,
                                            "auto_expand_replicas": "0-1"}
    assert replica_settings("1-all") == {"number_of_replicas": 1, "auto_expand_replicas": "1-all"}
    # A fixed count switches auto-expansion off on an index that had it.
    assert replica_settings(2) == {"number_of_replicas": 2, "auto_expand_replicas": False}
    fixed = _template_body("p", load_template("pages"), shards=2, replicas=1)["template"]["settings"]
    assert fixed == {"number_of_shards": 2, "number_of_replicas": 1}


@pytest.mark.parametrize(("value", "parsed"), [("0-1", "0-1"), ("0-all", "0-all"), ("1", 1), (" 2 ", 2)])
def test_index_replicas_setting_takes_a_count_or_a_range(value: str, parsed: object) -> None:
    from config.settings import load_settings

    assert load_settings(environ={"ONIONSCOPE_INDEX_REPLICAS": value}).index_replicas == parsed


@pytest.mark.parametrize("value", ["2-1", "one", "-1", "0-", "17", "0-1-2"])
def test_index_replicas_setting_refuses_nonsense(value: str) -> None:
    from config.errors import UserError
    from config.settings import load_settings

    with pytest.raises(UserError, match="index_replicas"):
        load_settings(environ={"ONIONSCOPE_INDEX_REPLICAS": value})


def test_prefix_indices_keep_to_the_prefix_and_its_kinds() -> None:
    """`<prefix>-*` also matches a longer prefix's indices; snapshots and deletes must not take them."""
    from pipelines.indices import prefix_indices

    names = ["p-pages-v1", "p-pages", "p-x-pages-v1", "p-tokens-v3", "p-pages-v", "p-pages-v2-old", "q-pages-v1"]
    assert prefix_indices(names, "p") == ["p-pages-v1", "p-tokens-v3"]
    assert prefix_indices(names, "p", squatters=True) == ["p-pages", "p-pages-v1", "p-tokens-v3"]
    assert prefix_indices(names, "p", ("pages",)) == ["p-pages-v1"]
    assert prefix_indices(names, "p-x") == ["p-x-pages-v1"]


class _FakeIndices:
    """The index API calls ensure_indices makes, on an empty cluster; ``create`` waits at ``barrier``."""

    def __init__(self, barrier: "threading.Barrier | None" = None, failing: str | None = None) -> None:
        import threading

        self.lock = threading.Lock()
        self.aliases: dict[str, str] = {}
        self.barrier = barrier
        self.failing = failing

    def get_index_template(self, name: str) -> object:
        return types.SimpleNamespace(body={"index_templates": []})

    def put_index_template(self, name: str, **body: object) -> None:
        pass

    def get_alias(self, name: str) -> object:
        with self.lock:
            if name not in self.aliases:
                raise _not_found()
            return types.SimpleNamespace(body={self.aliases[name]: {}})

    def get(self, index: str, **options: object) -> object:
        if "*" in index:
            return types.SimpleNamespace(body={})
        raise _not_found()

    def create(self, index: str) -> None:
        if self.failing and index.startswith(self.failing + "-"):
            raise RuntimeError(f"cannot create {index}")
        if self.barrier is not None:
            self.barrier.wait()  # raises BrokenBarrierError unless another kind's create runs meanwhile

    def update_aliases(self, actions: list[dict[str, dict[str, str]]]) -> None:
        with self.lock:
            for action in actions:
                self.aliases[action["add"]["alias"]] = action["add"]["index"]


def _not_found() -> Exception:
    from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
    from elasticsearch import NotFoundError

    meta = ApiResponseMeta(status=404, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                           node=NodeConfig("http", "127.0.0.1", 9200))
    return NotFoundError("not found", meta, {})


def test_ensure_indices_sets_the_kinds_up_side_by_side() -> None:
    import threading

    from pipelines.indices import ensure_indices

    # Creating an index waits for its shard: two kinds' creations must be under way at the same time.
    indices = _FakeIndices(barrier=threading.Barrier(2, timeout=10))
    kinds = ("pages", "listings", "vendors", "wallets")
    result = ensure_indices(types.SimpleNamespace(indices=indices), "p", kinds=kinds)
    assert list(result) == list(kinds)
    assert result == {kind: versioned_index_name("p", kind, 1) for kind in kinds}
    assert indices.aliases == {alias_name("p", kind): versioned_index_name("p", kind, 1) for kind in kinds}


def test_ensure_indices_finishes_every_other_kind_before_raising_the_error_of_one() -> None:
    from pipelines.indices import ensure_indices

    indices = _FakeIndices(failing=alias_name("p", "listings"))
    with pytest.raises(RuntimeError, match="cannot create p-listings-v1"):
        ensure_indices(types.SimpleNamespace(indices=indices), "p", kinds=("pages", "listings", "vendors", "wallets"))
    assert set(indices.aliases) == {alias_name("p", kind) for kind in ("pages", "vendors", "wallets")}
