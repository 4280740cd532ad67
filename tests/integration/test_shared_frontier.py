"""Two workers on one shared job (crawl --job NAME --shared) through the private Tor network.

Real tor testnet, real Elasticsearch, and a real redis-server started by the
project's harness on a free loopback port.  Each worker is a subprocess, as an
operator starts them.

1. Two workers split one job: every page of the demo world is fetched once
   (counted per URL in the demo server's peer log) and indexed once (distinct
   documents, none missing), and both did part of the work.
2. A SIGKILLed worker loses nothing: one worker is killed with SIGKILL while it
   holds leases; its leases run out, the second worker takes them, and the job
   completes with every page indexed.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest

from crawler.urls import canonical_url
from harness.demo.server import read_peer_log
from harness.demo_world import DemoWorld

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SharedJob:
    def __init__(self, world: DemoWorld, es_url: str, redis_url: str, work_dir: Path, lease_seconds: float):
        self.world = world
        self.es_url = es_url
        self.redis_url = redis_url
        self.prefix = f"test-shared-{secrets.token_hex(4)}"
        self.work_dir = work_dir
        self.lease_seconds = lease_seconds

    def environment(self, worker: str) -> dict[str, str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ONIONSCOPE_")}
        environment.update(
            ONIONSCOPE_TOR_SOCKS=self.world.socks_endpoints[0],
            ONIONSCOPE_ES_URL=self.es_url,
            ONIONSCOPE_INDEX_PREFIX=self.prefix,
            ONIONSCOPE_REDIS_URL=self.redis_url,
            ONIONSCOPE_FRONTIER_LEASE_SECONDS=str(self.lease_seconds),
            ONIONSCOPE_FRONTIER_HEARTBEAT_SECONDS="0.5",
            # Each worker its own var dir (spool, journal), as on its own machine.
            ONIONSCOPE_VAR_DIR=str(self.work_dir / worker / "var"),
            ONIONSCOPE_TESTNET_DIR=str(self.work_dir / "no-testnet"),
            ONIONSCOPE_DISCOVER="off",
        )
        return environment

    def command(self, job: str, *extra: str) -> list[str]:
        seeds = [arg for seed in self.world.seeds for arg in ("--seed", seed)]
        confirmations = [arg for pair in self.world.market_hosts for arg in ("--market-host", pair)]
        return [sys.executable, "-m", "onionscope.cli", "crawl", "--job", job, "--shared", "--json",
                *seeds, *confirmations, *extra]

    def start_worker(self, job: str, worker: str, *extra: str) -> subprocess.Popen[str]:
        (self.work_dir / worker).mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(self.command(job, *extra), cwd=PROJECT_ROOT, env=self.environment(worker),
                                stdout=subprocess.PIPE, stderr=(self.work_dir / worker / "stderr.log").open("w"),
                                text=True)

    def jobs_status(self, job: str) -> dict[str, Any]:
        result = subprocess.run([sys.executable, "-m", "onionscope.cli", "jobs", "status", job, "--json"],
                                cwd=PROJECT_ROOT, env=self.environment("status"), capture_output=True, text=True,
                                timeout=60, check=False)
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads(result.stdout)

    def stderr(self, worker: str) -> str:
        return (self.work_dir / worker / "stderr.log").read_text(errors="replace")[-4000:]


def _finish(job: SharedJob, process: subprocess.Popen[str], worker: str) -> dict[str, Any]:
    stdout, _ = process.communicate(timeout=600)
    assert process.returncode == 0, f"{worker} failed ({process.returncode}):\n{stdout[-2000:]}\n{job.stderr(worker)}"
    return json.loads(stdout)


def _expected_pages(world: DemoWorld) -> set[str]:
    return {canonical_url(url) for site in world.ground_truth["sites"].values() for url in site["pages"]}


def _indexed(job: SharedJob, kind: str, fields: list[str]) -> list[dict[str, Any]]:
    from elasticsearch import Elasticsearch

    client = Elasticsearch(job.es_url)
    try:
        client.indices.refresh(index=f"{job.prefix}-{kind}")
        response = client.search(index=f"{job.prefix}-{kind}", size=5000, query={"match_all": {}}, source=fields)
        return [dict(hit["_source"], _id=hit["_id"]) for hit in response["hits"]["hits"]]
    finally:
        client.close()


def _assert_every_page_indexed_once(job: SharedJob, job_id: str) -> list[dict[str, Any]]:
    pages = _indexed(job, "pages", ["canonical_url", "job_id"])
    urls = [page["canonical_url"] for page in pages]
    expected = _expected_pages(job.world)
    assert len(urls) == len(set(urls)), f"pages indexed twice: {[u for u, n in Counter(urls).items() if n > 1][:5]}"
    assert set(urls) == expected, f"missing {sorted(expected - set(urls))[:5]}, unexpected {sorted(set(urls) - expected)[:5]}"
    assert {page["job_id"] for page in pages} == {job_id}
    return pages


@pytest.fixture
def shared_job(demo_world: DemoWorld, es_node: Any, redis_node: Any, tmp_path: Path) -> Iterator[SharedJob]:
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix, ensure_indices

    job = SharedJob(demo_world, es_node.url, redis_node.url, tmp_path, lease_seconds=6.0)
    client = make_client(es_node.settings)
    # Made once here, not by each worker at its start (slow on a busy machine).
    ensure_indices(client, job.prefix)
    try:
        yield job
    finally:
        delete_prefix(client, job.prefix)
        client.close()


# Several crawler processes, their Elasticsearch set-up and a lease time-out: on a loaded 2-core machine
# this takes 4 to 12 minutes (measured), more than the suite's default 600 s.
@pytest.mark.timeout(1800)
def test_two_workers_split_one_job_every_page_fetched_once_and_indexed_once(shared_job: SharedJob) -> None:
    job = shared_job
    log_before = len(read_peer_log(job.world.peer_log))
    # A small concurrency per worker, so both take part before the frontier runs dry.
    first = job.start_worker("split", "w1", "--concurrency", "4")
    second = job.start_worker("split", "w2", "--concurrency", "4")
    summaries = [_finish(job, first, "w1"), _finish(job, second, "w2")]

    # Fetched once: every GET the sites answered during this job, counted per URL.
    requests = [entry for entry in read_peer_log(job.world.peer_log)[log_before:] if entry["method"] == "GET"]
    per_target = Counter((entry["site"], entry["target"]) for entry in requests)
    assert per_target and max(per_target.values()) == 1, (
        f"fetched more than once: {[key for key, n in per_target.items() if n > 1][:5]}")

    _assert_every_page_indexed_once(job, "split")
    pages_per_worker = [summary["pages"] for summary in summaries]
    print(f"\nshared split: pages per worker {pages_per_worker}, GET requests {len(requests)}, "
          f"URLs {len(per_target)}, most fetches of one URL {max(per_target.values())}")
    assert all(pages > 0 for pages in pages_per_worker), f"one worker did nothing: {pages_per_worker}"
    assert sum(pages_per_worker) == len(requests) - sum(
        1 for entry in requests if int(entry.get("status") or 0) >= 300), (pages_per_worker, len(requests))

    status = job.jobs_status("split")
    assert (status["state"], status["queued"], status["leased"]) == ("finished", 0, 0)
    assert status["done"] >= len(_expected_pages(job.world))
    assert status["workers_alive"] == []

    runs = _indexed(job, "crawl-runs", ["job_id", "shared", "worker_count", "workers", "pages", "outcome"])
    assert len(runs) == 1 and runs[0]["job_id"] == "split"
    run = runs[0]
    assert run["shared"] is True and run["worker_count"] == 2
    assert sorted(worker["pages"] for worker in run["workers"]) == sorted(pages_per_worker)
    assert run["pages"] == sum(pages_per_worker)
    assert run["outcome"] == "ok", run


@pytest.mark.timeout(1800)
def test_a_sigkilled_worker_loses_nothing(shared_job: SharedJob) -> None:
    import redis as redis_client

    from crawler.frontier.leases import JobKeys

    job = shared_job
    keys = JobKeys(job.prefix, "killed")
    started: list[subprocess.Popen[str]] = []
    observer = redis_client.Redis.from_url(job.redis_url)
    try:
        victim = job.start_worker("killed", "victim", "--concurrency", "4")
        started.append(victim)
        # Kill it while it holds leases and has pages done (fetched, some indexed, some still in flight).
        deadline = time.monotonic() + 600
        while not (int(observer.get(keys.done) or 0) >= 3 and observer.hvals(keys.holder)):
            assert victim.poll() is None, f"the worker ended before it could be killed:\n{job.stderr('victim')}"
            assert time.monotonic() < deadline, (
                f"the worker never held leases after pages were done: {job.jobs_status('killed')}\n"
                f"{job.stderr('victim')}")
            time.sleep(0.05)
        held_when_killed = len(observer.hvals(keys.holder))
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        assert victim.returncode == -signal.SIGKILL
        assert held_when_killed > 0

        survivor = job.start_worker("killed", "survivor")  # joins: no seeds needed, but given as an operator would
        started.append(survivor)
        summary = _finish(job, survivor, "survivor")
    finally:
        observer.close()
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()

    print(f"\nshared kill: leases held by the victim when killed {held_when_killed}, pages of the survivor "
          f"{summary['pages']}")
    assert summary["shared"]["joined"] is True
    _assert_every_page_indexed_once(job, "killed")
    status = job.jobs_status("killed")
    assert (status["state"], status["queued"], status["leased"]) == ("finished", 0, 0)
    # The victim's leases ran out and came back to the queue: none was dropped.
    assert status["requeued"] >= held_when_killed
    run = _indexed(job, "crawl-runs", ["job_id", "worker_count", "workers", "outcome"])[0]
    assert run["worker_count"] == 2
    reasons = {worker["finish_reason"] for worker in run["workers"]}
    assert reasons == {"gone", "finished"}, reasons
