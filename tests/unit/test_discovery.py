"""The discovery queue's documents and the discover policy (pipelines.discovery, the discover setting)."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from types import SimpleNamespace

import pytest

from config.blocklist import parse_blocklist
from config.settings import ConfigError, load_settings
from pipelines.discovery import CRAWLED, NEW, PROBED, DiscoveryRecorder, merge_discovered, page_onions, page_sightings


def _v3(seed: str) -> str:
    # An independent encoder (rend-spec-v3), not the extractor's.
    pubkey = hashlib.sha256(seed.encode()).digest()
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + b"\x03").digest()[:2]
    return base64.b32encode(pubkey + checksum + b"\x03").decode().lower() + ".onion"


SOURCE, TEXT_ONLY, LINKED, SEED = _v3("source"), _v3("text-only"), _v3("linked"), _v3("seed")


def _page(**fields):
    base = dict(kind="pages", url=f"http://{SOURCE}/about", onion_host=SOURCE, fetched_at="2026-12-06T10:00:00Z",
                job_id="job-1", onion_links=[])
    base.update(fields)
    return SimpleNamespace(**base)


def test_page_onions_prefers_discovery_onions_and_falls_back_to_onion_links():
    with_field = _page(discovery_onions=[TEXT_ONLY.upper(), LINKED, SOURCE, LINKED], onion_links=[LINKED])
    assert page_onions(with_field) == [TEXT_ONLY, LINKED]
    without_field = _page(onion_links=[LINKED, SOURCE])
    assert page_onions(without_field) == [LINKED]


def test_sighting_says_link_or_text_from_the_mentions():
    page = _page(discovery_onions=[TEXT_ONLY, LINKED], onion_mentions=[
        {"host": TEXT_ONLY, "where": "text", "hidden": False},
        {"host": LINKED, "where": "link", "hidden": False},
        {"host": LINKED, "where": "text", "hidden": True},
    ])
    where = {s.host: s.where for s in page_sightings(page)}
    assert where == {TEXT_ONLY: ("text",), LINKED: ("link",)}


def test_merge_builds_a_new_document_and_counts_later_sightings():
    first = page_sightings(_page(discovery_onions=[TEXT_ONLY],
                                 onion_mentions=[{"host": TEXT_ONLY, "where": "text"}]))
    document = merge_discovered(None, first, known=False)
    assert document["status"] == NEW
    assert document["onion_host"] == TEXT_ONLY
    assert document["seen_count"] == 1 and document["seen_in"] == ["text"]
    assert document["seen_on"] == [{"url": f"http://{SOURCE}/about", "onion_host": SOURCE, "where": ["text"],
                                    "seen_at": "2026-12-06T10:00:00Z", "job_id": "job-1"}]
    later = page_sightings(_page(url=f"http://{SOURCE}/other", fetched_at="2026-12-07T10:00:00Z", job_id="job-2",
                                 discovery_onions=[TEXT_ONLY], onion_mentions=[{"host": TEXT_ONLY, "where": "link"}]))
    document = merge_discovered(document, later, known=False)
    assert document["first_seen"] == "2026-12-06T10:00:00Z" and document["last_seen"] == "2026-12-07T10:00:00Z"
    assert document["seen_count"] == 2 and document["seen_in"] == ["link", "text"]
    assert document["job_ids"] == ["job-1", "job-2"] and len(document["seen_on"]) == 2


def test_seen_on_is_bounded_but_seen_count_is_exact():
    sightings = [s for n in range(50) for s in page_sightings(_page(url=f"http://{SOURCE}/{n}",
                                                                     discovery_onions=[LINKED]))]
    document = merge_discovered(None, sightings, known=False)
    assert len(document["seen_on"]) == 20 and document["seen_count"] == 50


def test_a_known_host_is_crawled_and_a_probed_one_never_goes_back_to_new():
    sightings = page_sightings(_page(discovery_onions=[SEED]))
    assert merge_discovered(None, sightings, known=True)["status"] == CRAWLED
    assert merge_discovered({"status": PROBED, "up": True}, sightings, known=False)["status"] == PROBED
    assert merge_discovered({"status": NEW}, sightings, known=True)["status"] == CRAWLED


def test_blocklisted_hosts_are_never_queued():
    blocklist = parse_blocklist(f"onion_hosts:\n  - {TEXT_ONLY}\n", path=__import__("pathlib").Path("b.yml"))
    recorder = DiscoveryRecorder(blocklist, seed_hosts=[SEED])
    outcome = SimpleNamespace(stats=Counter())
    by_host = recorder.sightings([_page(discovery_onions=[TEXT_ONLY, LINKED])], outcome)
    assert list(by_host) == [LINKED]
    assert outcome.stats["discovery/blocklisted"] == 1


@pytest.mark.parametrize("value, policy", [("off", "off"), (False, "off"), ("probe", "probe"), ("CRAWL", "crawl")])
def test_discover_setting_parses_the_four_policies(monkeypatch, value, policy):
    from config.settings import DEFAULTS as SETTINGS

    assert SETTINGS["discover"].parse("discover", value) == policy
    assert SETTINGS["discover"].default == "record"


def test_discover_setting_refuses_an_unknown_policy(monkeypatch):
    monkeypatch.setenv("ONIONSCOPE_DISCOVER", "probes")
    with pytest.raises(ConfigError):
        load_settings(None)


def test_crawl_option_and_job_key_set_the_policy():
    from crawler.schedules import ScheduledJob
    from onionscope.cli import build_parser
    from onionscope.scheduling.runner import job_settings

    args = build_parser(only="crawl").parse_args(["crawl", "--seed", f"http://{SEED}/", "--discover", "probe"])
    assert args.discover == "probe"
    with pytest.raises(SystemExit):
        build_parser(only="crawl").parse_args(["crawl", "--discover", "sometimes"])
    job = ScheduledJob(name="nightly", seeds=(f"http://{SEED}/",), seeds_file=None, cron=None, every_seconds=60.0,
                       discover="off")
    assert job_settings(load_settings(None), job).discover == "off"


def test_metrics_render_the_discovery_queue_size_by_status(tmp_path):
    from search.api.metrics_routes import render_metrics

    text = render_metrics({}, tmp_path, {"new": 3, "probed": 1, "crawled": 0, "blocked": 0}).decode()
    assert 'onionscope_discovery_queue_size{status="new"} 3.0' in text
    assert 'onionscope_discovery_queue_size{status="probed"} 1.0' in text


def test_scheduler_metrics_read_the_queue_at_scrape_and_survive_a_failed_read():
    from prometheus_client import generate_latest

    from onionscope.scheduling.metrics import SchedulerMetrics

    sizes = {"new": 2}
    metrics = SchedulerMetrics(["nightly"], queue_sizes=lambda: dict(sizes))
    assert 'onionscope_discovery_queue_size{status="new"} 2.0' in generate_latest(metrics.registry).decode()
    sizes["new"] = 5
    assert 'onionscope_discovery_queue_size{status="new"} 5.0' in generate_latest(metrics.registry).decode()

    def broken() -> dict:
        raise ConnectionError("refused")

    text = generate_latest(SchedulerMetrics(["nightly"], queue_sizes=broken).registry).decode()
    assert "onionscope_job_runs_total" in text and "onionscope_discovery_queue_size{" not in text
