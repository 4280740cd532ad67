"""The freshness downloader middlewares: attempts recorded, back-off gate, conditional requests and pages not due."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from scrapy.exceptions import IgnoreRequest, NotConfigured, StopDownload
from scrapy.http import Request, Response
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from crawler.freshness.context import FreshnessContext
from crawler.freshness.liveness import DOWN, UP, BackoffPolicy, CheckSummary
from crawler.freshness.recrawl import RecrawlPolicy, StoredPage
from crawler.middlewares.conditional_requests import CONDITIONAL_META, NOT_DUE_FLAG, ConditionalRequestMiddleware
from crawler.middlewares.liveness import STARTED_META, BackoffGateMiddleware, LivenessMiddleware
from crawler.spiders.onion import OnionSpider
from crawler.tor.errors import OnionDescriptorNotFound

HOST = "a" * 56 + ".onion"
OTHER = "b" * 56 + ".onion"
NOW = datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _stats() -> MemoryStatsCollector:
    stats = MemoryStatsCollector(get_crawler())
    stats.open_spider()
    return stats


def _context(**kwargs: object) -> FreshnessContext:
    return FreshnessContext("job-1", seeds=[f"http://{HOST}/"], **kwargs)  # type: ignore[arg-type]


def test_every_attempt_is_recorded_with_its_latency_and_reason() -> None:
    context, clock, stats = _context(), Clock(), _stats()
    middleware = LivenessMiddleware(context, stats, clock=clock)
    ok = Request(f"http://{HOST}/ok")
    middleware.process_request(ok)
    clock.now += 0.25
    middleware.process_response(ok, Response(ok.url, status=200))
    failing = Request(f"http://{HOST}/busy")
    middleware.process_request(failing)
    clock.now += 1.5
    middleware.process_response(failing, Response(failing.url, status=503))
    gone = Request(f"http://{OTHER}/")
    middleware.process_request(gone)
    middleware.process_exception(gone, OnionDescriptorNotFound("no descriptor"))
    checks = {check.host: check for check in context.observations.checks()}
    assert checks[HOST].state == UP and checks[HOST].attempts == 2
    assert [(a.up, a.reason, a.status, a.latency_ms) for a in checks[HOST].samples] == [
        (True, None, 200, 250), (False, "http_503", 503, 1500)]
    assert checks[OTHER].state == DOWN and checks[OTHER].reason == "onion_descriptor_not_found"
    assert stats.get_value("liveness/attempts") == 3 and stats.get_value("liveness/attempts_failed") == 2
    # The 503 and the descriptor failure are the latest answers of their URLs.
    assert context.observations.failing_count(HOST) == 1 and context.observations.failing_count(OTHER) == 1


def test_a_retry_that_answers_clears_the_failure() -> None:
    context = _context()
    middleware = LivenessMiddleware(context, clock=Clock())
    first = Request(f"http://{HOST}/page")
    middleware.process_request(first)
    middleware.process_exception(first, TimeoutError())
    retry = first.copy()
    middleware.process_request(retry)
    middleware.process_response(retry, Response(retry.url, status=200))
    assert context.observations.failing_count(HOST) == 0
    assert [a.up for a in context.observations.checks()[0].samples] == [False, True]


def test_requests_refused_before_the_download_are_not_attempts() -> None:
    context = _context()
    middleware = LivenessMiddleware(context, clock=Clock())
    refused = Request(f"http://{HOST}/photo.jpg")
    middleware.process_exception(refused, IgnoreRequest("media"))
    # A page answered by the conditional middleware (not due) never reached the transport either.
    not_due = Request(f"http://{HOST}/stable")
    middleware.process_response(not_due, Response(not_due.url, status=304, flags=[NOT_DUE_FLAG]))
    assert context.observations.checks() == []
    assert context.observations.answered_count(HOST) == 1


def test_a_download_stopped_for_its_content_type_counts_as_answered() -> None:
    context = _context()
    middleware = LivenessMiddleware(context, clock=Clock())
    request = Request(f"http://{HOST}/file")
    middleware.process_request(request)
    middleware.process_exception(request, StopDownload(fail=True))
    assert context.observations.checks()[0].state == UP and STARTED_META not in request.meta


def _backing_off_context() -> FreshnessContext:
    context = _context(backoff=BackoffPolicy(base_seconds=3600))
    context.load([], {HOST: [CheckSummary(iso(NOW - timedelta(minutes=5)), DOWN, "timeout")],
                      OTHER: [CheckSummary(iso(NOW - timedelta(minutes=5)), UP)]})
    return context


def test_a_host_backing_off_is_not_requested_and_counted() -> None:
    context, stats = _backing_off_context(), _stats()
    gate = BackoffGateMiddleware(context, stats)
    for path in ("", "a", "b"):
        with pytest.raises(IgnoreRequest, match="backing off"):
            gate.process_request(Request(f"http://{HOST}/{path}"))
    gate.process_request(Request(f"http://{OTHER}/"))  # up: goes through
    assert stats.get_value("liveness/skipped_requests") == 3
    assert stats.get_value("liveness/hosts_backing_off") == 1
    assert context.observations.backoff_skipped() == {HOST}


def test_the_gate_is_off_when_back_off_is_off() -> None:
    crawler = get_crawler(OnionSpider)
    crawler.spider = OnionSpider(seeds=f"http://{HOST}/")
    crawler.spider.freshness.backoff = BackoffPolicy(base_seconds=0)
    with pytest.raises(NotConfigured):
        BackoffGateMiddleware.from_crawler(crawler)
    crawler.spider = object()
    with pytest.raises(NotConfigured):
        LivenessMiddleware.from_crawler(crawler)


def _stored_context() -> FreshnessContext:
    context = _context(recrawl=RecrawlPolicy(stable_seconds=86400, max_interval_seconds=7 * 86400))
    stable = dict(content_changed_at=iso(NOW - timedelta(days=30)), last_seen=iso(NOW - timedelta(hours=1)))
    context.load([
        StoredPage(f"http://{HOST}/", etag='"home-1"', **stable),  # the seed
        StoredPage(f"http://{HOST}/stable", etag='"s-1"', **stable),
        StoredPage(f"http://{HOST}/fresh", etag='"f-1"', last_modified="Sun, 06 Nov 1994 08:49:37 GMT",
                   content_changed_at=iso(NOW - timedelta(hours=2)), last_seen=iso(NOW - timedelta(hours=1))),
    ], {})
    return context


def test_a_stored_page_is_asked_conditionally() -> None:
    middleware = ConditionalRequestMiddleware(_stored_context(), _stats())
    request = Request(f"http://{HOST}/fresh")
    assert middleware.process_request(request) is None
    assert request.headers.get("If-None-Match") == b'"f-1"'
    assert request.headers.get("If-Modified-Since") == b"Sun, 06 Nov 1994 08:49:37 GMT"
    assert request.meta[CONDITIONAL_META] is True


def test_a_stable_page_not_due_is_answered_without_a_fetch_but_a_seed_always_goes_out() -> None:
    stats = _stats()
    middleware = ConditionalRequestMiddleware(_stored_context(), stats)
    answer = middleware.process_request(Request(f"http://{HOST}/stable"))
    assert isinstance(answer, Response) and answer.status == 304 and NOT_DUE_FLAG in answer.flags
    seed = Request(f"http://{HOST}/")
    assert middleware.process_request(seed) is None and seed.headers.get("If-None-Match") == b'"home-1"'
    assert stats.get_value("freshness/not_due") == 1 and stats.get_value("freshness/conditional_requests") == 1


def test_validators_never_travel_to_another_page() -> None:
    middleware = ConditionalRequestMiddleware(_stored_context())
    redirected = Request(f"http://{HOST}/unknown", headers={"If-None-Match": '"f-1"', "If-Modified-Since": "x"},
                         meta={CONDITIONAL_META: True})
    assert middleware.process_request(redirected) is None
    assert redirected.headers.get("If-None-Match") is None and redirected.headers.get("If-Modified-Since") is None
    assert CONDITIONAL_META not in redirected.meta


def test_without_anything_stored_requests_go_out_unchanged() -> None:
    middleware = ConditionalRequestMiddleware(_context())
    request = Request(f"http://{HOST}/stable")
    assert middleware.process_request(request) is None and not request.headers.get("If-None-Match")
