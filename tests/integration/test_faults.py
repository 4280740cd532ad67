"""Faults in the middle of a real crawl (private testnet, real Elasticsearch): nothing is lost.

* The tor client the crawl uses is killed (SIGKILL) mid-crawl and its supervisor -- here the
  test, with :func:`crawler.tor.control.launch_tor` on the same torrc, as systemd or docker
  would -- starts it again a few seconds later, when every retry is long spent.  The crawl holds its requests until tor's SOCKS port answers again
  (``tor_reconnect_seconds``) and completes with every page indexed once.
* The web server behind an onion service goes away and comes back (same port).  Requests that
  fail meanwhile are retried as the retry policy says (``retry_times``, waiting
  ``retry_backoff_seconds``, doubling) and every page is indexed once.

Readiness checks, not sleeps: the fault is injected once the site has answered a number of
requests; the outage itself lasts a fixed time by design.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable, Iterator

import pytest

from crawler.tor import control
from tests.integration.hostile_sites import HostileSite
from tests.integration.hostile_world import (
    crawl_environment,
    finish_measured_crawl,
    indexed_pages,
    start_measured_crawl,
)
from tests.integration.launched_client import launch_private_client
from tests.integration.transport_network import publish_sites

pytestmark = pytest.mark.integration

PAGES = 40
PEAK_RSS_BOUND_MIB = 600
OUTAGE_SECONDS = 4.0
TOR_DOWN_SECONDS = 6.0
CRAWL_SETTINGS = {"crawl_concurrency_per_host": 2, "download_timeout": 30, "retry_times": 2,
                  "retry_backoff_seconds": 3}


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def world(testnet, testnet_network, es_node, tmp_path_factory) -> Iterator[dict[str, Any]]:
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix

    sites = {name: HostileSite(name) for name in ("tor-killed", "service-down")}
    manifest, onions = publish_sites(testnet_network, list(sites.values()), prefix="faults")
    prefix = f"test-faults-{uuid.uuid4().hex[:8]}"
    client = make_client(es_node.settings)
    try:
        yield {"manifest": manifest, "onions": onions, "sites": sites, "prefix": prefix, "client": client,
               "es_url": es_node.url, "tmp": tmp_path_factory}
    finally:
        delete_prefix(client, prefix)
        client.close()
        for site in sites.values():
            site.close()


def _crawl(world: dict[str, Any], name: str, socks: str, **settings: Any):  # type: ignore[no-untyped-def]
    site = world["sites"][name]
    seeds = [f"http://{world['onions'][name]}/slow/{number}" for number in range(PAGES)]
    environment = crawl_environment(world["es_url"], world["prefix"], socks, world["tmp"].mktemp(name))
    return site, seeds, start_measured_crawl(seeds, name, environment, {**CRAWL_SETTINGS, **settings})


def _assert_every_page_indexed_once(world: dict[str, Any], seeds: list[str], report: dict[str, Any]) -> None:
    pages = indexed_pages(world["client"], world["prefix"], ["url", "canonical_url", "job_id"])
    ours = {url: page for url, page in pages.items() if url in set(seeds)}
    assert set(ours) == set(seeds), f"lost: {sorted(set(seeds) - set(ours))[:5]}"
    canonical = [page["canonical_url"] for page in ours.values()]
    assert len(canonical) == len(set(canonical))
    summary = report["summary"]
    assert summary["items_lost"] == 0 and summary["items_spooled"] == 0
    assert summary["indexed_by_kind"]["pages"] == len(seeds)  # each page extracted once, indexed once
    assert report["peak_rss_mib"] < PEAK_RSS_BOUND_MIB
    assert report["children_peak_rss_mib"] < PEAK_RSS_BOUND_MIB


def test_the_tor_client_is_killed_mid_crawl_and_the_crawl_reattaches_when_it_is_back(world):
    launched = launch_private_client(world["manifest"], world["tmp"].mktemp("client"))
    try:
        tor_controller = control.attach(launched.control)
        try:
            control.wait_for_bootstrap(tor_controller, timeout=90)
        finally:
            tor_controller.close()
        socks = f"{launched.socks[0]}:{launched.socks[1]}"
        # Retries a second apart: they are spent long before tor is back, so only the wait for tor saves the pages.
        site, seeds, crawl = _crawl(world, "tor-killed", socks, retry_backoff_seconds=0.5)
        _wait_for(lambda: len(site.requests_for("/slow/")) >= 8, 120, "the crawl to fetch 8 pages")
        started = time.monotonic()
        launched.process.kill()  # SIGKILL: no clean shutdown, circuits and streams just vanish
        launched.process.wait(10)
        fetched_when_killed = len(site.requests_for("/slow/"))
        time.sleep(TOR_DOWN_SECONDS)  # the supervisor's restart delay, by design
        launched = control.launch_tor(launched.torrc_path, timeout=60)  # the supervisor starts it again
        print(f"\ntor killed after {fetched_when_killed} of {PAGES} pages; back (ControlPort open) after "
              f"{time.monotonic() - started:.1f} s")
        report = finish_measured_crawl(crawl, timeout=240)
    finally:
        launched.stop()
    print(f"crawl: {report['summary']['pages']} pages in {report['seconds']} s; peak RSS {report['peak_rss_mib']} MiB "
          f"(crawl), {report['children_peak_rss_mib']} MiB (worker); stats "
          f"{ {k: v for k, v in report['stats'].items() if k.startswith(('tor/re', 'retry/'))} }")
    assert fetched_when_killed < PAGES  # the crawl was in the middle
    _assert_every_page_indexed_once(world, seeds, report)
    stats = report["stats"]
    assert stats["tor/reconnected"] >= 1 and stats.get("tor/reconnect_gave_up", 0) == 0
    assert stats["tor/reconnect_waits"] >= 1
    assert "stopped answering" in report["log"] and "answers again after" in report["log"]
    assert "retry/max_reached" not in stats


def test_an_onion_service_that_goes_down_and_comes_back_is_retried_as_the_policy_says(world):
    socks = f"127.0.0.1:{world['manifest']['clients'][0]['socks_port']}"
    site, seeds, crawl = _crawl(world, "service-down", socks)
    _wait_for(lambda: len(site.requests_for("/slow/")) >= 8, 120, "the crawl to fetch 8 pages")
    site.stop()  # connections to the service's port are refused now; tor still publishes the onion
    down_at = len(site.requests_for("/slow/"))
    time.sleep(OUTAGE_SECONDS)  # the outage, by design
    site.start()
    report = finish_measured_crawl(crawl, timeout=240)
    stats = report["stats"]
    print(f"\nservice down after {down_at} of {PAGES} pages for {OUTAGE_SECONDS} s; crawl: "
          f"{report['summary']['pages']} pages in {report['seconds']} s; peak RSS {report['peak_rss_mib']} MiB; "
          f"stats { {k: v for k, v in stats.items() if k.startswith(('retry/', 'tor/socks_error'))} }")
    assert down_at < PAGES
    _assert_every_page_indexed_once(world, seeds, report)
    # Requests sent during the outage failed (tor's SOCKS reply), waited and were sent again.
    assert sum(v for k, v in stats.items() if k.startswith("tor/socks_error/")) >= 1
    assert stats["retry/count"] >= 1 and stats["retry/backoff_waits"] == stats["retry/count"]
    assert "retry/max_reached" not in stats
    assert "(retry_backoff_seconds)" in report["log"]
