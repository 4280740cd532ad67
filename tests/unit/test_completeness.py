"""When a run crawled a host completely (crawler.freshness.completeness): both ways, rule by rule."""

from __future__ import annotations

from typing import Any

import pytest

from crawler.freshness.completeness import completeness, incomplete_reason
from crawler.freshness.observations import RunObservations

HOST = "a" * 56 + ".onion"
OTHER = "b" * 56 + ".onion"


def _seen(*paths: str) -> RunObservations:
    observations = RunObservations("job")
    for path in paths:
        observations.note_answer(f"http://{HOST}{path}")
    return observations


def test_a_finished_run_that_answered_every_page_crawled_the_host_completely() -> None:
    observations = _seen("/", "/category/1", "/item/1")
    assert incomplete_reason(HOST, observations, "finished", {"elasticsearch/indexed/listings": 3}) is None
    assert completeness(observations, "finished", {}) == {HOST: None}


@pytest.mark.parametrize(("finish_reason", "stats", "follow_links", "expected"), [
    ("shutdown", {}, True, "did not finish normally (shutdown)"),
    ("closespider_timeout", {}, True, "did not finish normally"),
    (None, {}, True, "did not finish normally (unknown)"),
    ("finished", {}, False, "followed no links"),
    ("finished", {"budget/job_exhausted": 1}, True, "crawl_max_pages"),
    ("finished", {f"budget/host_exhausted/{HOST}": 1}, True, "crawl_max_pages_per_host"),
    ("finished", {"elasticsearch/spooled": 2, "elasticsearch/failed": 2}, True, "documents were not indexed"),
    ("finished", {"elasticsearch/lost": 1}, True, "documents were not indexed (lost)"),
    ("finished", {"validate/dropped/missing_title": 1}, True, "listings were dropped"),
    ("finished", {"network_guard/refused": 1}, True, "network guard"),
    ("finished", {"login/needed/some-market": 1}, True, "login page"),
    ("finished", {"spider_exceptions/KeyError": 1}, True, "the spider failed"),
])
def test_a_partial_or_failed_run_vouches_for_no_host(finish_reason: str | None, stats: dict[str, Any],
                                                     follow_links: bool, expected: str) -> None:
    reason = incomplete_reason(HOST, _seen("/"), finish_reason, stats, follow_links)
    assert reason is not None and expected in reason


def test_another_hosts_budget_does_not_matter() -> None:
    assert incomplete_reason(HOST, _seen("/"), "finished", {f"budget/host_exhausted/{OTHER}": 1}) is None


def test_a_page_that_failed_for_good_makes_the_host_incomplete_a_retry_that_answered_does_not() -> None:
    observations = _seen("/")
    observations.note_failure(f"http://{HOST}/category/2")
    assert "1 pages of the host could not be fetched" in incomplete_reason(HOST, observations, "finished", {})
    observations.note_answer(f"http://{HOST}/category/2")
    assert incomplete_reason(HOST, observations, "finished", {}) is None


def test_links_cut_at_the_depth_limit_count_unless_fetched_by_another_path() -> None:
    observations = _seen("/", "/category/1")
    observations.note_depth_cut([f"http://{HOST}/category/1", f"http://{OTHER}/elsewhere"])
    assert incomplete_reason(HOST, observations, "finished", {}) is None  # already fetched
    observations.note_depth_cut([f"http://{HOST}/category/9"])
    assert "beyond crawl_depth" in incomplete_reason(HOST, observations, "finished", {})
    observations.note_answer(f"http://{HOST}/category/9")
    assert incomplete_reason(HOST, observations, "finished", {}) is None


def test_a_host_skipped_unanswered_or_not_read_in_full_is_incomplete() -> None:
    skipped = _seen("/")
    skipped.note_backoff_skip(HOST)
    assert "backing off" in incomplete_reason(HOST, skipped, "finished", {})
    silent = RunObservations("job")
    silent.note_failure(f"http://{HOST}/")
    assert "no page of the host answered" in incomplete_reason(HOST, silent, "finished", {})
    unread = _seen("/")
    unread.note_problem(f"http://{HOST}/category/1", "extraction_over_budget")
    assert "not read in full" in incomplete_reason(HOST, unread, "finished", {})
