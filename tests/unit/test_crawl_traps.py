"""Crawler-trap rules: URL shapes, patterns, the per-pattern budget, and how they meet the page budget."""

from __future__ import annotations

import pytest
import scrapy
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.test import get_crawler

from crawler.middlewares.crawl_budget import CrawlBudgetMiddleware
from crawler.middlewares.crawl_scope import CrawlScopeMiddleware
from crawler.middlewares.crawl_traps import CrawlTrapMiddleware, TrapRules, url_pattern
from crawler.settings import scrapy_settings
from config.settings import load_settings

A = "a" * 56 + ".onion"


@pytest.mark.parametrize(("path", "reason"), [
    ("/shop/item", None),
    ("/" + "x" * 2000, "url_length"),
    ("/s?" + "&".join(f"k{n}=v" for n in range(30)), "query_params"),
    ("/s?q=" + "a" * 600, "query_length"),
    ("/trap/repeat/repeat/repeat/repeat/", "repeated_segment"),
    ("/a/b/a/b/a/b/a/b", "repeated_segment"),
    ("/a/b/a/b/a/b", None),
])
def test_rules_name_the_shape_a_url_breaks(path: str, reason: str | None) -> None:
    rules = TrapRules(max_url_length=1024, max_query_params=24, max_query_length=512, max_path_repeats=3)
    assert rules.refusal(f"http://{A}{path}") == reason


def test_a_limit_of_zero_is_off() -> None:
    assert TrapRules().refusal(f"http://{A}/" + "a/" * 500 + "?" + "x=1&" * 500) is None


@pytest.mark.parametrize(("one", "other"), [
    ("/cal/2024/01", "/cal/2031/07"),
    ("/s/9f3a77c0e1d2b4a6/index", "/s/deadbeefcafebabe/index"),
    ("/t?sid=1&page=2", "/t?page=9&sid=abc"),
    ("/u/" + "q" * 41, "/u/" + "z" * 50),
])
def test_id_like_segments_and_query_values_share_a_pattern(one: str, other: str) -> None:
    assert url_pattern(f"http://{A}{one}") == url_pattern(f"http://sub.{A}{other}")


def test_words_are_kept_in_the_pattern() -> None:
    assert url_pattern(f"http://{A}/shop/pills") != url_pattern(f"http://{A}/shop/powders")
    assert url_pattern(f"http://{A}/cal/2024/01") == f"{A}/cal/*/*"
    assert url_pattern(f"http://{A}/t?b=1&a=2") == f"{A}/t?a&b"


def _stack(**settings):
    crawler = get_crawler(settings_dict={"CRAWL_MAX_PAGES_PER_HOST": 100, "CRAWL_MAX_PAGES_PER_PATTERN": 3, **settings})
    # The order Scrapy builds them in (by priority), so their request_scheduled handlers run in it too.
    return (CrawlScopeMiddleware.from_crawler(crawler), CrawlTrapMiddleware.from_crawler(crawler),
            CrawlBudgetMiddleware.from_crawler(crawler), crawler)


def _schedule(stack, url: str) -> bool:
    """Send request_scheduled to every handler, as Scrapy does; True when none refused."""
    *middlewares, crawler = stack
    request = scrapy.Request(url)
    refused = False
    for middleware in middlewares:
        try:
            middleware.request_scheduled(request, None)
        except IgnoreRequest:
            refused = True
    return refused is False


def test_a_pattern_gets_its_budget_and_its_refusals_hold_no_page_budget() -> None:
    stack = _stack()
    scope, traps, budget, crawler = stack
    months = [_schedule(stack, f"http://{A}/cal/2024/{month:02d}") for month in range(1, 11)]
    assert months == [True] * 3 + [False] * 7
    assert _schedule(stack, f"http://{A}/shop/pills")  # another pattern of the same host
    stats = crawler.stats.get_stats()
    assert stats["trap/refused/pattern_budget"] == 7 and stats["trap/patterns_exhausted"] == 1
    # Only the four queued requests hold pages of the host's budget.
    assert budget.budget.reserved_per_host[A] == 4


def test_a_request_the_scope_refused_counts_against_neither_pattern_nor_budget() -> None:
    stack = _stack()
    _, traps, budget, crawler = stack
    assert not _schedule(stack, "http://127.0.0.1/cal/2024/01")
    assert traps.queued_per_pattern == {} and budget.budget.reserved == 0
    assert crawler.stats.get_value("scope/refused/ip_literal") == 1


def test_a_duplicate_the_scheduler_dropped_gives_its_pattern_place_back() -> None:
    stack = _stack()
    _, traps, _, _ = stack
    request = scrapy.Request(f"http://{A}/cal/2024/01")
    traps.request_scheduled(request, None)
    assert traps.queued_per_pattern[f"{A}/cal/*/*"] == 1
    traps.request_dropped(request, None)
    assert traps.queued_per_pattern[f"{A}/cal/*/*"] == 0


def test_retries_are_not_counted_again() -> None:
    _, traps, _, _ = _stack()
    for _ in range(5):
        traps.request_scheduled(scrapy.Request(f"http://{A}/cal/2024/01", meta={"retry_times": 1}), None)
    assert traps.queued_per_pattern == {}


def test_one_warning_per_host_and_rule(caplog) -> None:
    stack = _stack(CRAWL_MAX_PATH_REPEATS=3)
    for depth in range(4, 9):
        _schedule(stack, f"http://{A}/" + "x/" * depth)
    warnings = [record for record in caplog.records if "a crawler trap?" in record.getMessage()]
    assert len(warnings) == 1 and "crawl_max_path_repeats" in warnings[0].getMessage()


def test_all_limits_off_switches_the_middleware_off() -> None:
    crawler = get_crawler(settings_dict={"CRAWL_MAX_PAGES_PER_PATTERN": 0})
    with pytest.raises(NotConfigured):
        CrawlTrapMiddleware.from_crawler(crawler)


def test_onionscope_settings_switch_the_trap_rules_on_before_the_page_budget() -> None:
    values = scrapy_settings(load_settings(environ={}), ["127.0.0.1:9050"])
    middlewares = values["DOWNLOADER_MIDDLEWARES"]
    assert middlewares["crawler.middlewares.crawl_traps.CrawlTrapMiddleware"] < \
        middlewares["crawler.middlewares.crawl_budget.CrawlBudgetMiddleware"]
    assert (values["CRAWL_MAX_URL_LENGTH"], values["CRAWL_MAX_QUERY_PARAMS"], values["CRAWL_MAX_QUERY_LENGTH"],
            values["CRAWL_MAX_PATH_REPEATS"], values["CRAWL_MAX_PAGES_PER_PATTERN"]) == (1024, 24, 512, 3, 2000)
