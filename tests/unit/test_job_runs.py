"""pipelines.job_runs: a run's outcome, figures and errors by type from Scrapy's stats; records of runs no crawl wrote."""

from __future__ import annotations

import json

import pytest

from crawler.job import create_crawl_job
from pipelines.crawl_runs import crawl_run_document
from tests import PROJECT_ROOT
from pipelines.job_runs import errors_by_type, run_figures, run_labels, run_record

FINE = {
    "onionscope/pages": 12,
    "downloader/response_bytes": 34567,
    "elasticsearch/indexed/pages": 12,
    "elasticsearch/indexed/listings": 5,
    "elasticsearch/indexed/vendors": 2,
    "downloader/response_status_count/200": 11,
    "downloader/response_status_count/404": 1,
}


def test_a_clean_crawl_is_ok_with_its_figures() -> None:
    figures = run_figures(FINE, "finished")
    assert figures["outcome"] == "ok" and figures["outcome_reason"] == ""
    assert (figures["pages"], figures["items"], figures["bytes"]) == (12, 7, 34567)
    assert figures["errors"] == {"http/404": 1} and figures["error_count"] == 1 and figures["tor_failures"] == 0


def test_errors_by_type_counts_tor_failures_once() -> None:
    stats = {
        "tor/socks_error/host_unreachable": 3,
        "tor/socks_error/onion_descriptor_not_found": 2,
        "downloader/exception_type_count/crawler.tor.errors.SocksHostUnreachable": 3,
        "downloader/exception_type_count/twisted.internet.error.TimeoutError": 4,
        "downloader/response_status_count/503": 2,
        "spider_exceptions/KeyError": 1,
        "retry/max_reached": 1,
        "tor/headers_too_large": 1,
        "elasticsearch/spooled": 2,
        "elasticsearch/failed": 2,
        "onionscope/extraction_over_budget": 1,
        "downloader/response_status_count/200": 9,
    }
    assert errors_by_type(stats) == {
        "download/TimeoutError": 4, "extraction/over_budget": 1, "gave_up/retries": 1, "http/503": 2,
        "index/failed": 2, "index/spooled": 2, "spider/KeyError": 1, "tor/headers_too_large": 1,
        "tor/host_unreachable": 3, "tor/onion_descriptor_not_found": 2,
    }
    assert run_figures(stats, "finished")["tor_failures"] == 6


@pytest.mark.parametrize(
    ("extra", "reason", "outcome", "says"),
    [
        ({"network_guard/refused": 1}, "finished", "failed", "network guard"),
        ({"elasticsearch/lost": 3}, "finished", "failed", "3 documents"),
        ({"onionscope/pages": 0, "tor/socks_error/host_unreachable": 4}, "finished", "failed",
         "no page could be fetched (most errors: tor/host_unreachable)"),
        ({"onionscope/pages": 0}, "shutdown", "failed", "SIGTERM"),
        ({"login/needs_login/abc.onion": 2}, "finished", "needs-login", "abc.onion"),
        # The seed itself was a login wall: nothing fetched, but what to do is a fresh session.
        ({"onionscope/pages": 0, "login/needs_login/abc.onion": 1}, "finished", "needs-login", "abc.onion"),
        ({"elasticsearch/spool_error": "the spool folder /x is full", "elasticsearch/spooled": 2}, "spool_failed",
         "failed", "the spool could not be written: the spool folder /x is full"),
        # Spooled during an outage and written back at the end: nothing is missing from the index.
        ({"elasticsearch/spooled": 5, "elasticsearch/spool_left": 0}, "finished", "ok", ""),
        ({"elasticsearch/spooled": 5, "elasticsearch/spool_left": 2}, "finished", "partial", "2 documents went to the spool"),
        ({}, "shutdown", "partial", "SIGTERM"),
        ({}, "closespider_timeout", "partial", "time cap"),
        ({}, "cancelled", "partial", "cancelled"),
        ({"budget/job_exhausted": 1}, "finished", "partial", "page budget"),
        ({"retry/max_reached": 2}, "finished", "partial", "2 requests failed"),
        ({"elasticsearch/spooled": 5}, "finished", "partial", "5 documents went to the spool"),
    ],
)
def test_outcomes(extra: dict, reason: str, outcome: str, says: str) -> None:
    figures = run_figures({**FINE, **extra}, reason)
    assert figures["outcome"] == outcome
    assert says in figures["outcome_reason"]


def test_the_crawl_run_document_fits_the_strict_mapping() -> None:
    template = json.loads((PROJECT_ROOT / "config/index_templates/crawl-runs.json").read_text())
    fields = set(template["mappings"]["properties"])
    labels = run_labels("nightly", "catch-up", "2026-01-01T02:00:00Z", missed_runs=3)
    job = create_crawl_job(["http://x.onion/"], "nightly-1", follow_offsite=True)
    document = crawl_run_document(job, "onion", "2026-01-01T02:01:00Z", "finished", FINE, labels=labels)
    assert set(document) <= fields, set(document) - fields
    # Schema 3 keeps schema 2's crawl job options beside the scheduled job's fields.
    assert document["options"]["follow_offsite"] is True and template["schema_version"] >= 3
    assert document["job_name"] == "nightly" and document["trigger"] == "catch-up" and document["missed_runs"] == 3
    assert document["outcome"] == "ok" and document["pages"] == 12
    skipped = run_record("nightly-2", "nightly", outcome="skipped", reason="the previous run is still going",
                         started_at="2026-01-01T02:00:00Z", finished_at="2026-01-01T02:00:00Z", trigger="schedule")
    assert set(skipped) <= fields, set(skipped) - fields
    assert skipped["outcome"] == "skipped" and skipped["pages"] == 0


def test_bad_outcomes_and_triggers_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        run_record("j", "n", outcome="fine", reason="", started_at="x", finished_at="x")
    with pytest.raises(ValueError, match="unknown trigger"):
        run_labels("n", "cron")
