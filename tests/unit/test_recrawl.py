"""Incremental recrawl (crawler.freshness.recrawl): the policy, and validators that are safe to send back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crawler.freshness.recrawl import (
    RecrawlPolicy,
    StoredPage,
    conditional_headers,
    is_due,
    next_due_at,
    safe_etag,
    safe_last_modified,
)

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
DAY = 86400.0
POLICY = RecrawlPolicy(stable_seconds=2 * DAY, max_interval_seconds=7 * DAY)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def page(changed_days_ago: float, seen_days_ago: float) -> StoredPage:
    return StoredPage("http://x.onion/a", content_changed_at=iso(T0 - timedelta(days=changed_days_ago)),
                      last_seen=iso(T0 - timedelta(days=seen_days_ago)))


def test_a_page_that_changed_recently_is_due_at_every_crawl() -> None:
    young = page(changed_days_ago=1, seen_days_ago=0)  # unchanged for 1 day < 2
    assert next_due_at(young, POLICY) is None and is_due(young, T0, POLICY)


def test_a_stable_page_waits_half_its_unchanged_time() -> None:
    stable = page(changed_days_ago=10, seen_days_ago=2)  # unchanged for 8 days when last seen
    assert next_due_at(stable, POLICY) == T0 - timedelta(days=2) + timedelta(days=4)
    assert not is_due(stable, T0, POLICY)
    assert is_due(stable, T0 + timedelta(days=2), POLICY)


def test_the_wait_is_capped() -> None:
    ancient = page(changed_days_ago=400, seen_days_ago=1)
    assert next_due_at(ancient, POLICY) == T0 - timedelta(days=1) + timedelta(days=7)


def test_a_page_without_dates_or_with_the_policy_off_is_due() -> None:
    assert is_due(StoredPage("http://x.onion/"), T0, POLICY)
    assert is_due(page(100, 0), T0, RecrawlPolicy(stable_seconds=0))


@pytest.mark.parametrize("value", ['"abc"', 'W/"5f-1a2b"', '""', b'"bytes-too"'])
def test_well_formed_etags_are_kept(value: str | bytes) -> None:
    assert safe_etag(value) == (value.decode() if isinstance(value, bytes) else value)


@pytest.mark.parametrize("value", ['abc', '"a"\r\nX-Evil: 1', '"a" "b"', '"' + "x" * 300 + '"', None, 12, '"é"'])
def test_malformed_etags_are_never_sent_back(value: object) -> None:
    assert safe_etag(value) is None


def test_last_modified_must_be_an_http_date() -> None:
    assert safe_last_modified("Sun, 06 Nov 1994 08:49:37 GMT") == "Sun, 06 Nov 1994 08:49:37 GMT"
    for value in ("yesterday", "Sun, 06 Nov 1994 08:49:37 GMT\r\nX: y", "", None, "1" * 100):
        assert safe_last_modified(value) is None


def test_conditional_headers_carry_the_stored_validators() -> None:
    stored = StoredPage("http://x.onion/", etag='"v1"', last_modified="Sun, 06 Nov 1994 08:49:37 GMT")
    assert conditional_headers(stored) == {"If-None-Match": '"v1"', "If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"}
    assert conditional_headers(StoredPage("http://x.onion/")) == {}


def test_a_stored_document_with_a_hostile_validator_keeps_none() -> None:
    stored = StoredPage.from_doc({"canonical_url": "http://x.onion/", "etag": '"a"\nInjected: yes'})
    assert stored is not None and stored.etag is None
    assert StoredPage.from_doc({"etag": '"a"'}) is None
