"""The crawl-run document of a real crawl records the job it was started with.

A crawl of two demo sites through the private Tor network into the real
Elasticsearch, once as ``onionscope crawl`` and once as ``scrapy crawl onion``
(each in a subprocess, as an operator runs them): the crawl-runs document
carries the job id every page was stamped with, the seeds, the job's start
time and its options.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from harness.demo_world import DemoWorld
from tests.integration.test_crawl_end_to_end import CrawlRun

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]


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
    assert pages and {page["job_id"] for page in pages} == {job_id}
    # The job started before anything was fetched, and the run ended after.
    assert began <= document["started_at"] <= min(page["fetched_at"] for page in pages)
    assert document["started_at"] <= document["finished_at"] <= ended
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
