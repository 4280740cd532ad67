"""Snapshot and restore on the local node: `onionscope index snapshot`, an index deleted, `index restore`.

The shared node is never touched (it may run without ``path.repo``): the test starts a private
local node through the project's harness (another port and var dir), whose configuration gives
it ``path.repo`` = ``<var_dir>/elasticsearch/snapshots``.  It indexes pages and an API token,
snapshots the prefix with the command, deletes the pages index by name, restores it with the
command, and compares every document, and the alias, with what was there before.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from elasticsearch import helpers

from crawler.items import Page
from tests import PROJECT_ROOT
from tests.integration.launched_client import free_port

pytestmark = pytest.mark.integration

HOST = "s" * 52 + "abcd.onion"
PAGES = 25


@pytest.fixture
def private_node() -> Iterator[Any]:
    """A single local node of our own (settings), started now and stopped and deleted afterwards."""
    from config.settings import load_settings
    from harness import elasticsearch_node

    # Under the project, not /tmp/pytest-of-root (mode 0700, which the node's user cannot enter).
    var_dir = PROJECT_ROOT / "var" / f"test-es-snapshots-{uuid.uuid4().hex[:8]}"
    var_dir.mkdir(parents=True)
    port = free_port()
    settings = load_settings(environ={}).replace(var_dir=str(var_dir), es_port=port,
                                                 es_url=f"http://127.0.0.1:{port}", es_heap="256m")
    try:
        elasticsearch_node.start(settings, timeout=600)
        yield settings
    finally:
        elasticsearch_node.stop(settings)
        shutil.rmtree(var_dir, ignore_errors=True)


def documents(client: Any, index: str) -> dict[str, dict[str, Any]]:
    client.indices.refresh(index=index)
    hits = client.search(index=index, size=1000, query={"match_all": {}})["hits"]["hits"]
    return {hit["_id"]: hit["_source"] for hit in hits}


def onionscope(settings: Any, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ONIONSCOPE_")}
    environment.update(ONIONSCOPE_ES_URL=settings.es_url, ONIONSCOPE_ES_PORT=str(settings.es_port),
                       ONIONSCOPE_VAR_DIR=str(settings.var_dir), ONIONSCOPE_INDEX_PREFIX=prefix)
    return subprocess.run([sys.executable, "-m", "onionscope.cli", *args], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, env=environment, timeout=600)


@pytest.mark.timeout(900)
def test_snapshot_then_a_deleted_index_comes_back_with_the_same_documents(private_node: Any) -> None:
    from pipelines import indices
    from pipelines.documents import upsert_action
    from pipelines.es_client import make_client
    from search.auth import create_token

    settings = private_node
    prefix = f"test-snap-{secrets.token_hex(4)}"
    client = make_client(settings)
    try:
        created = indices.ensure_indices(client, prefix, **indices.shard_overrides(settings))
        pages = [Page(url=f"http://{HOST}/page/{number}", canonical_url=f"http://{HOST}/page/{number}",
                      onion_host=HOST, status=200, content_type="text/html", content_hash=f"h{number}",
                      fetched_at="2026-11-28T10:00:00Z", job_id="job-1", title=f"Page {number}",
                      text=f"body of page {number} mephedrone") for number in range(PAGES)]
        alias = indices.alias_name(prefix, "pages")
        helpers.bulk(client, [upsert_action(page, alias) for page in pages], refresh="wait_for")
        create_token(client, prefix, "viewer", name="kept")
        pages_before = documents(client, alias)
        tokens_before = documents(client, indices.alias_name(prefix, "tokens"))
        assert len(pages_before) == PAGES and len(tokens_before) == 1

        made = onionscope(settings, prefix, "index", "snapshot", "--name", "before-loss")
        assert made.returncode == 0, made.stderr
        assert "snapshot before-loss in repository onionscope" in made.stdout and "SUCCESS" in made.stdout
        listed = onionscope(settings, prefix, "index", "snapshots")
        assert listed.returncode == 0 and listed.stdout.startswith("before-loss  SUCCESS"), listed.stdout + listed.stderr
        repository = Path(settings.var_dir) / "elasticsearch" / "snapshots" / "onionscope"
        assert any(path.name.startswith("index-") for path in repository.iterdir())  # the files, under var/

        # A page written after the snapshot is not in it.
        client.delete(index=alias, id=next(iter(pages_before)), refresh="wait_for")
        refused = onionscope(settings, prefix, "index", "restore", "before-loss", "--kind", "pages")
        assert refused.returncode == 1 and "never overwrites" in refused.stderr, refused.stdout + refused.stderr

        client.indices.delete(index=created["pages"])
        assert indices.current_index(client, prefix, "pages") is None
        restored = onionscope(settings, prefix, "index", "restore", "before-loss", "--kind", "pages")
        assert restored.returncode == 0, restored.stderr
        assert f"restored {created['pages']} from before-loss" in restored.stdout

        assert indices.current_index(client, prefix, "pages") == created["pages"]  # the alias came back with it
        assert documents(client, alias) == pages_before
        assert documents(client, indices.alias_name(prefix, "tokens")) == tokens_before  # untouched
    finally:
        indices.delete_prefix(client, prefix)
        client.close()
