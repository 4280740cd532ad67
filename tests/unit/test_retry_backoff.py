"""The retry policy's timing: each retry of a request waits, doubling, before it is sent again."""

from __future__ import annotations

import asyncio

import pytest
import scrapy
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.middlewares import retry_backoff
from crawler.middlewares.retry_backoff import MAX_DELAY_SECONDS, RetryBackoffMiddleware, backoff_delay
from crawler.settings import scrapy_settings
from config.settings import load_settings


def test_delays_double_from_the_setting_and_are_capped() -> None:
    assert [backoff_delay(5, n) for n in (1, 2, 3)] == [5, 10, 20]
    assert backoff_delay(5, 30) == MAX_DELAY_SECONDS


def test_a_retry_waits_once_per_attempt_and_a_first_attempt_never(monkeypatch) -> None:
    waited: list[float] = []

    def record(reactor, delay, function):  # type: ignore[no-untyped-def]
        from twisted.internet.defer import succeed

        waited.append(delay)
        return succeed(None)

    monkeypatch.setattr(retry_backoff, "deferLater", record)
    crawler = get_crawler(settings_dict={"RETRY_BACKOFF_SECONDS": 2})
    middleware = RetryBackoffMiddleware.from_crawler(crawler)
    first = scrapy.Request("http://" + "r" * 56 + ".onion/")
    second = first.replace(meta={"retry_times": 2})

    async def send() -> None:
        await middleware.process_request(first)
        await middleware.process_request(second)
        await middleware.process_request(second)  # the same attempt again (another middleware re-ran it)

    asyncio.run(send())
    assert waited == [4]
    assert crawler.stats.get_value("retry/backoff_waits") == 1 and crawler.stats.get_value("retry/backoff_seconds") == 4


def test_zero_sends_retries_at_once() -> None:
    with pytest.raises(NotConfigured):
        RetryBackoffMiddleware.from_crawler(get_crawler(settings_dict={"RETRY_BACKOFF_SECONDS": 0}))


def test_onionscope_crawls_wait_before_retrying() -> None:
    values = scrapy_settings(load_settings(environ={}), ["127.0.0.1:9050"])
    assert values["RETRY_BACKOFF_SECONDS"] == 5.0 and values["RETRY_TIMES"] == 2
    assert "crawler.middlewares.retry_backoff.RetryBackoffMiddleware" in values["DOWNLOADER_MIDDLEWARES"]
    assert values["TOR_RECONNECT_SECONDS"] == 120.0
