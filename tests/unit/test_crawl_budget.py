"""Page budgets per host and per job, depth 0 = seeds only, and the breadth-first order."""

from __future__ import annotations

import pytest
import scrapy
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.middlewares.crawl_budget import CrawlBudgetMiddleware, PageBudget
from crawler.settings import scrapy_settings
from crawler.spiders.onion import OnionSpider
from config.settings import load_settings

A = "a" * 56 + ".onion"
B = "b" * 56 + ".onion"


def _middleware(per_host: int | None, per_job: int | None):
    crawler = get_crawler(settings_dict={"CRAWL_MAX_PAGES_PER_HOST": per_host or 0, "CRAWL_MAX_PAGES": per_job or 0})
    return CrawlBudgetMiddleware.from_crawler(crawler), crawler


def _fetch(middleware: CrawlBudgetMiddleware, url: str, **meta) -> bool:
    """True when the request may be downloaded."""
    request = scrapy.Request(url, meta=meta)
    try:
        middleware.request_scheduled(request, None)
        middleware.process_request(request)
    except IgnoreRequest:
        return False
    return True


def test_per_host_budget_caps_each_host_and_counts_what_it_refused() -> None:
    middleware, crawler = _middleware(per_host=3, per_job=None)
    fetched_a = [_fetch(middleware, f"http://{A}/p{n}") for n in range(5)]
    fetched_sub = _fetch(middleware, f"http://forum.{A}/x")  # a subdomain shares the onion service's budget
    fetched_b = [_fetch(middleware, f"http://{B}/p{n}") for n in range(4)]
    assert fetched_a == [True, True, True, False, False]
    assert fetched_sub is False
    assert fetched_b == [True, True, True, False]
    stats = crawler.stats.get_stats()
    assert stats["budget/refused/host"] == 4
    assert stats["budget/hosts_exhausted"] == 2
    assert "budget/job_exhausted" not in stats


def test_job_budget_caps_the_whole_crawl() -> None:
    middleware, crawler = _middleware(per_host=100, per_job=4)
    fetched = [_fetch(middleware, f"http://{host}/p{n}") for n in range(3) for host in (A, B)]
    assert fetched.count(True) == 4 and fetched[4:] == [False, False]
    stats = crawler.stats.get_stats()
    assert stats["budget/refused/job"] == 2 and stats["budget/job_exhausted"] == 1


def test_retries_do_not_spend_the_budget_again_and_redirects_do() -> None:
    middleware, _ = _middleware(per_host=2, per_job=None)
    assert _fetch(middleware, f"http://{A}/p")
    assert _fetch(middleware, f"http://{A}/p", retry_times=1)
    assert _fetch(middleware, f"http://{A}/p", retry_times=2)
    assert _fetch(middleware, f"http://{A}/moved", redirect_urls=[f"http://{A}/p"])
    assert not _fetch(middleware, f"http://{A}/q")


def test_the_queue_cannot_grow_past_the_budget() -> None:
    """A page that links to thousands of new URLs of its host queues no more than the budget allows."""
    middleware, crawler = _middleware(per_host=3, per_job=None)
    assert _fetch(middleware, f"http://{A}/")
    accepted = []
    for n in range(5000):
        request = scrapy.Request(f"http://{A}/p{n}")
        try:
            middleware.request_scheduled(request, None)
            accepted.append(request)
        except IgnoreRequest:
            pass
    assert len(accepted) == 2  # one page fetched, two queued: the budget of 3
    assert crawler.stats.get_value("budget/refused/host") == 4998
    for request in accepted:
        middleware.process_request(request)  # a queued request always gets its page
    assert middleware.budget.spent_per_host[A] == 3 and middleware.budget.reserved == 0


def test_a_dropped_or_refused_request_gives_its_page_back() -> None:
    middleware, _ = _middleware(per_host=2, per_job=None)
    first, duplicate, media = (scrapy.Request(f"http://{A}/{path}") for path in ("a", "a", "b.jpg"))
    middleware.request_scheduled(first, None)
    middleware.request_scheduled(duplicate, None)
    with pytest.raises(IgnoreRequest):
        middleware.request_scheduled(scrapy.Request(f"http://{A}/c"), None)
    middleware.request_dropped(duplicate, None)  # the scheduler's duplicate filter refused it
    middleware.request_scheduled(media, None)
    # The media guard (an earlier downloader middleware) refuses it: Scrapy then calls process_exception.
    middleware.process_exception(media, IgnoreRequest("media"))
    middleware.process_request(first)
    assert _fetch(middleware, f"http://{A}/d")
    assert middleware.budget.spent_per_host[A] == 2 and middleware.budget.reserved == 0


def test_budget_middleware_is_off_without_budgets() -> None:
    with pytest.raises(NotConfigured):
        CrawlBudgetMiddleware.from_crawler(get_crawler(settings_dict={}))
    assert PageBudget(None, None).spend("x") is None and PageBudget(None, None).reserve("x") is None


# --- settings: budgets, breadth-first queues, depth


def _scrapy_values(**environ: str) -> dict:
    settings = load_settings(None, environ={f"ONIONSCOPE_{key.upper()}": value for key, value in environ.items()})
    return scrapy_settings(settings, ["127.0.0.1:9050"])


def test_budgets_and_breadth_first_settings_reach_scrapy() -> None:
    values = _scrapy_values(crawl_max_pages_per_host="7", crawl_max_pages="70")
    assert values["CRAWL_MAX_PAGES_PER_HOST"] == 7 and values["CRAWL_MAX_PAGES"] == 70
    assert "crawler.middlewares.crawl_budget.CrawlBudgetMiddleware" in values["DOWNLOADER_MIDDLEWARES"]
    middlewares = values["DOWNLOADER_MIDDLEWARES"]
    # Scope first (before Scrapy's OffsiteMiddleware at 50), media next, then the budget.
    assert (middlewares["crawler.middlewares.crawl_scope.CrawlScopeMiddleware"] < 50
            < middlewares["crawler.middlewares.media_guard.MediaGuardMiddleware"]
            < middlewares["crawler.middlewares.crawl_budget.CrawlBudgetMiddleware"])
    assert values["DEPTH_PRIORITY"] == 1
    assert values["SCHEDULER_MEMORY_QUEUE"] == "scrapy.squeues.FifoMemoryQueue"
    assert values["SCHEDULER_DISK_QUEUE"] == "scrapy.squeues.PickleFifoDiskQueue"


def test_scheduler_with_our_settings_hands_out_requests_breadth_first() -> None:
    """Scrapy's real scheduler and DepthMiddleware, fed a small tree depth-first as a spider yields it."""
    from types import SimpleNamespace

    from scrapy.core.downloader import Downloader
    from scrapy.core.scheduler import Scheduler
    from scrapy.spidermiddlewares.depth import DepthMiddleware

    values = _scrapy_values(crawl_depth="5")
    ordering = ("DEPTH_LIMIT", "DEPTH_PRIORITY", "SCHEDULER_MEMORY_QUEUE", "SCHEDULER_DISK_QUEUE", "SCHEDULER_PRIORITY_QUEUE")
    crawler = get_crawler(OnionSpider, settings_dict={key: values[key] for key in ordering if key in values})
    spider = OnionSpider(seeds=[f"http://{A}/"])
    crawler.spider = spider
    # The default priority queue asks the downloader how busy each host's slot is.
    crawler.engine = SimpleNamespace(downloader=Downloader(crawler))
    depth = DepthMiddleware.from_crawler(crawler)
    scheduler = Scheduler.from_crawler(crawler)
    scheduler.open(spider)
    tree = {"/": ["/a", "/b"], "/a": ["/a1", "/a2"], "/b": ["/b1", "/b2"], "/a1": ["/a11"], "/b1": ["/b11"]}

    def response_for(request: scrapy.Request) -> HtmlResponse:
        return HtmlResponse(request.url, body=b"<html></html>", request=request)

    scheduler.enqueue_request(scrapy.Request(f"http://{A}/", meta={"depth": 0}))
    order = []
    while scheduler.has_pending_requests():
        request = scheduler.next_request()
        path = request.url.split(".onion", 1)[1]
        order.append(path)
        response = response_for(request)
        response.meta["depth"] = request.meta["depth"]
        children = [scrapy.Request(f"http://{A}{child}") for child in tree.get(path, [])]
        for child in depth.process_spider_output(response, children):
            scheduler.enqueue_request(child)
    scheduler.close("finished")
    assert order == ["/", "/a", "/b", "/a1", "/a2", "/b1", "/b2", "/a11", "/b11"]


def test_depth_zero_means_the_seeds_only() -> None:
    values = _scrapy_values(crawl_depth="0")
    crawler = get_crawler(OnionSpider, settings_dict={"ONIONSCOPE_SETTINGS": values["ONIONSCOPE_SETTINGS"],
                                                      "DEPTH_LIMIT": values["DEPTH_LIMIT"]})
    spider = OnionSpider.from_crawler(crawler, seeds=[f"http://{A}/"])
    seed_response = HtmlResponse(f"http://{A}/", body=f'<a href="http://{A}/next">n</a>'.encode(),
                                 request=scrapy.Request(f"http://{A}/", meta={"depth": 0}))
    seed_response.meta["depth"] = 0
    requests = [out for out in parse_all(spider, seed_response) if isinstance(out, scrapy.Request)]
    assert requests == []
    assert crawler.stats.get_value("onionscope/links_beyond_depth") == 1


def test_depth_n_follows_links_from_pages_shallower_than_n() -> None:
    values = _scrapy_values(crawl_depth="2")
    crawler = get_crawler(OnionSpider, settings_dict={"ONIONSCOPE_SETTINGS": values["ONIONSCOPE_SETTINGS"]})
    spider = OnionSpider.from_crawler(crawler, seeds=[f"http://{A}/"])
    followed = {}
    for depth in (0, 1, 2):
        response = HtmlResponse(f"http://{A}/d{depth}", body=f'<a href="http://{A}/x{depth}">n</a>'.encode(),
                                request=scrapy.Request(f"http://{A}/d{depth}", meta={"depth": depth}))
        response.meta["depth"] = depth
        followed[depth] = [out.url for out in parse_all(spider, response) if isinstance(out, scrapy.Request)]
    assert followed == {0: [f"http://{A}/x0"], 1: [f"http://{A}/x1"], 2: []}


def parse_all(spider, response) -> list:
    """Everything the (async) parse callback yields for ``response``."""
    import asyncio

    async def collect():
        return [out async for out in spider.parse(response)]

    return asyncio.run(collect())


def test_a_request_the_crawl_scope_refused_holds_no_page_of_the_budget() -> None:
    """Scrapy calls every request_scheduled handler even after one refused; the budget must not hold a page for it."""
    from crawler.middlewares.crawl_scope import CrawlScopeMiddleware

    middleware, crawler = _middleware(per_host=2, per_job=None)
    scope = CrawlScopeMiddleware.from_crawler(crawler)
    for number in range(5):  # e.g. redirects to 127.0.0.1
        request = scrapy.Request(f"http://127.0.0.1/p{number}")
        with pytest.raises(IgnoreRequest):
            scope.request_scheduled(request, None)
        middleware.request_scheduled(request, None)
    assert middleware.budget.reserved == 0
    assert _fetch(middleware, f"http://{A}/p") and _fetch(middleware, f"http://{A}/q")
