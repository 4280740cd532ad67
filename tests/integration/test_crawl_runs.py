"""The crawl-run document of a real crawl records the job it was started with.

A crawl of two demo sites through the private Tor network into the real
Elasticsearch, once as ``onionscope crawl`` and once as ``scrapy crawl onion``
(each in a subprocess, as an operator runs them): the crawl-runs document
carries the job id every page was stamped with, the seeds, the job's start
time and its options.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from harness.demo_world import DemoWorld
from tests import PROJECT_ROOT
from tests.integration.test_crawl_end_to_end import CrawlRun

pytestmark = pytest.mark.integration

# What schema 4 adds to schema 3: the shared job (crawl --shared) and its workers.
SCHEMA_4_FIELDS = ("shared", "worker_count", "workers")
# What schema 3 of crawl-runs adds to schema 2 (the crawl job's options): the scheduled job, the outcome, the figures.
SCHEMA_3_FIELDS = ("job_name", "trigger", "scheduled_for", "missed_runs", "outcome", "outcome_reason", "pages",
                   "items", "bytes", "errors", "error_types", "error_count", "tor_failures", "tor_bootstrap_failures",
                   "tor_circuit_failures", "tor_newnym", "bulk_requests", "bulk_seconds", "bulk_seconds_max")


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def run(demo_world: DemoWorld, es_node: Any, tmp_path: Path) -> Iterator[CrawlRun]:
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix

    crawl_run = CrawlRun(demo_world, es_node.url, f"test-{secrets.token_hex(4)}", tmp_path)
    client = make_client(es_node.settings)
    try:
        yield crawl_run
    finally:
        delete_prefix(client, crawl_run.prefix)
        client.close()


def stored(run: CrawlRun, kind: str, **query: Any) -> list[dict[str, Any]]:
    from elasticsearch import Elasticsearch

    client = Elasticsearch(run.es_url)
    try:
        client.indices.refresh(index=f"{run.prefix}-{kind}")
        response = client.search(index=f"{run.prefix}-{kind}", size=1000, query=query or {"match_all": {}})
        return [dict(hit["_source"], _id=hit["_id"]) for hit in response["hits"]["hits"]]
    finally:
        client.close()


def check_crawl_run(run: CrawlRun, job_id: str, seeds: list[str], began: str, ended: str) -> dict[str, Any]:
    """The crawl-run document of ``job_id``, after the checks every crawl must pass; returns its options."""
    [document] = stored(run, "crawl-runs")
    assert document["_id"] == document["job_id"] == job_id
    assert document["seeds"] == seeds
    assert document["finish_reason"] == "finished"
    pages = stored(run, "pages")
    assert pages and {page["job_id"] for page in pages} == {job_id}, (
        document.get("outcome"), document.get("outcome_reason"), document.get("errors"), document.get("pages"))
    # The job started before anything was fetched, and the run ended after.
    assert began <= document["started_at"] <= min(page["fetched_at"] for page in pages)
    assert document["started_at"] <= document["finished_at"] <= ended
    # Schema 3: the same document has the run's outcome and figures; a crawl by hand names no scheduled job.
    assert document["outcome"] == "ok" and document["pages"] == len(pages) and document["error_count"] == 0
    assert "job_name" not in document
    return document["options"]


def test_onionscope_crawl_records_its_job_in_the_crawl_run(run: CrawlRun) -> None:
    seeds = run.world.seeds[:2]
    confirmations = run.world.market_hosts
    began = utc_now()
    result = run.onionscope(
        "crawl", "--json", "--quiet", "--depth", "0", "--max-pages", "40", "--max-pages-per-host", "30",
        "--concurrency", "8", *(arg for seed in seeds for arg in ("--seed", seed)),
        *(arg for pair in confirmations for arg in ("--market-host", pair)),
    )
    ended = utc_now()
    assert result.returncode == 0, f"crawl failed:\n{result.stdout}\n{result.stderr[-4000:]}"
    summary = json.loads(result.stdout)
    assert summary["pages"] == len(seeds)  # depth 0: the seeds only
    # No --job: the id was made once, and the summary, the pages and the crawl run all carry it.
    options = check_crawl_run(run, summary["job_id"], seeds, began, ended)
    assert options == {
        "follow_offsite": False, "follow_links": True, "allow_clearnet": False, "depth": 0,
        "max_pages_per_host": 30, "max_pages": 40, "concurrency": 8,
        "market_hosts": sorted(confirmations),
    }


def test_scrapy_crawl_records_its_job_in_the_crawl_run(run: CrawlRun) -> None:
    seeds = run.world.seeds[:2]
    environment = run.environment()
    environment.update(ONIONSCOPE_CRAWL_DEPTH="0", ONIONSCOPE_CRAWL_MAX_PAGES="40")
    job_id = f"scrapy-job-{secrets.token_hex(3)}"
    began = utc_now()
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "onion", "-a", f"seeds={','.join(seeds)}", "-a", f"job={job_id}",
         "-a", "follow_links=false", "-s", "LOG_LEVEL=WARNING"],
        cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=600, check=False,
    )
    ended = utc_now()
    assert result.returncode == 0, f"scrapy crawl failed:\n{result.stdout}\n{result.stderr[-4000:]}"
    options = check_crawl_run(run, job_id, seeds, began, ended)
    assert (options["follow_links"], options["follow_offsite"], options["allow_clearnet"]) == (False, False, False)
    assert (options["depth"], options["max_pages"], options["market_hosts"]) == (0, 40, [])


def test_migrating_crawl_runs_from_schema_2_keeps_the_options_and_takes_the_run_figures(
    es_node: Any, tmp_path: Path,
) -> None:
    """`onionscope index migrate crawl-runs` from schema 2 (options, no outcome) to the current schema (4)."""
    import shutil

    from crawler.job import create_crawl_job
    from pipelines.crawl_runs import crawl_run_document
    from pipelines.es_client import make_client
    from pipelines.indices import DEFAULT_TEMPLATES_DIR, delete_prefix, ensure_indices, index_status
    from pipelines.job_runs import run_record, write_run_record

    schema_2 = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES_DIR, schema_2)
    template = json.loads((schema_2 / "crawl-runs.json").read_text())
    current = template["schema_version"]
    assert current == 4
    template["schema_version"] = template["mappings"]["_meta"]["schema_version"] = 2
    for name in (*SCHEMA_3_FIELDS, *SCHEMA_4_FIELDS):
        del template["mappings"]["properties"][name]
    (schema_2 / "crawl-runs.json").write_text(json.dumps(template))

    prefix = f"test-{secrets.token_hex(4)}"
    client = make_client(es_node.settings)
    try:
        ensure_indices(client, prefix, kinds=("crawl-runs",), templates_dir=schema_2)
        job = create_crawl_job(["http://" + "a" * 56 + ".onion/"], "old-run", follow_offsite=True)
        old = crawl_run_document(job, "onion", utc_now(), "finished", {"elasticsearch/indexed/pages": 3})
        old = {key: value for key, value in old.items() if key not in SCHEMA_3_FIELDS}
        client.index(index=f"{prefix}-crawl-runs", id=old["job_id"], document=old, refresh="wait_for")
        # The schema-2 mapping is strict: a schema-3 record is refused before the migration.
        record = run_record("new-run", "nightly", outcome="skipped", reason="the previous run is still going",
                            started_at=utc_now(), finished_at=utc_now(), trigger="schedule")
        with pytest.raises(Exception, match="strict_dynamic_mapping_exception"):
            client.index(index=f"{prefix}-crawl-runs", id="new-run", document=record)
        [row] = [r for r in index_status(client, prefix) if r.kind == "crawl-runs"]
        assert row.needs_migration and (row.index_schema_version, row.template_schema_version) == (2, current)

        environment = {k: v for k, v in os.environ.items() if not k.startswith("ONIONSCOPE_")}
        environment.update(ONIONSCOPE_ES_URL=es_node.url, ONIONSCOPE_INDEX_PREFIX=prefix,
                           ONIONSCOPE_VAR_DIR=str(tmp_path / "var"), ONIONSCOPE_TESTNET_DIR=str(tmp_path / "no-testnet"))
        result = subprocess.run([sys.executable, "-m", "onionscope.cli", "index", "migrate", "crawl-runs"],
                                cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr

        [row] = [r for r in index_status(client, prefix) if r.kind == "crawl-runs"]
        assert not row.needs_migration and row.index_schema_version == current
        client.indices.refresh(index=f"{prefix}-crawl-runs")
        kept = client.get(index=f"{prefix}-crawl-runs", id="old-run")["_source"]
        assert kept["options"]["follow_offsite"] is True and kept["pages_indexed"] == 3
        write_run_record(client, prefix, record)
        assert client.get(index=f"{prefix}-crawl-runs", id="new-run")["_source"]["outcome"] == "skipped"
    finally:
        delete_prefix(client, prefix)
        client.close()
