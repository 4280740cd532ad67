"""The crawl scope: onion, other onion, clearnet, IP literals, local names, schemes, redirects."""

from __future__ import annotations

import pytest
import scrapy
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from crawler.middlewares.crawl_scope import CrawlScope, CrawlScopeMiddleware, OutOfScopeSeed
from crawler.spiders.onion import OnionSpider
from crawler.urls import host_kind

SEED_HOST = "a" * 56 + ".onion"
OTHER_ONION = "b" * 56 + ".onion"
SEED = f"http://{SEED_HOST}/"

# Every way a page or a redirect can point outside the onion space.
IP_LITERALS = [
    "http://127.0.0.1:9200/",
    "http://127.1/",
    "http://0x7f.0.0.1/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://10.0.0.5/admin",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://8.8.8.8/",
    "http://[::1]:8080/",
    "http://[::ffff:127.0.0.1]/",
    "http://[fe80::1%25eth0]/",
    "http://[2001:db8::1]/",
    "https://0/",
    "http://example.123/",
]
LOCAL_NAMES = ["http://localhost:9200/", "http://LOCALHOST/", "http://printer.local/", "http://intranet/",
               "http://db.internal/", "http://router.home.arpa/", "http://app.localhost/"]
CLEARNET = ["http://example.com/", "https://www.example.org/x", "http://bücher.de/", "http://user@example.net/"]
BAD_HOSTS = [f"http://{SEED_HOST}./", "http:///path", "http://exa%6dple.com/", "http://a..b.com/"]
OTHER_SCHEMES = [f"ftp://{SEED_HOST}/f", f"file:///etc/passwd", "mailto:a@b.onion", "javascript:alert(1)",
                 f"gopher://{SEED_HOST}/", "data:text/html,hi"]


@pytest.mark.parametrize("url", IP_LITERALS)
def test_ip_literals_in_every_spelling_are_ip_literals(url: str) -> None:
    assert host_kind(url) == "ip_literal"


@pytest.mark.parametrize(
    ("url", "kind"),
    [(SEED, "onion"), (f"http://shop.{OTHER_ONION}:8080/x", "onion")]
    + [(url, "local_name") for url in LOCAL_NAMES]
    + [(url, "clearnet") for url in CLEARNET]
    + [(url, "invalid_host") for url in BAD_HOSTS],
)
def test_host_kind(url: str, kind: str) -> None:
    assert host_kind(url) == kind


def test_default_scope_is_the_seeds_onion_services() -> None:
    scope = CrawlScope.for_seeds([SEED])
    assert scope.refusal(f"http://{SEED_HOST}/page?x=1") is None
    assert scope.refusal(f"https://{SEED_HOST}:8443/") is None
    assert scope.refusal(f"http://forum.{SEED_HOST}/") is None  # the same onion service
    assert scope.refusal(f"http://{OTHER_ONION}/") == "offsite"


def test_follow_offsite_means_other_onions_and_nothing_else() -> None:
    scope = CrawlScope.for_seeds([SEED], follow_offsite=True)
    assert scope.refusal(f"http://{OTHER_ONION}/") is None
    for url in CLEARNET:
        assert scope.refusal(url) == "clearnet", url
    for url in IP_LITERALS:
        assert scope.refusal(url) == "ip_literal", url
    for url in LOCAL_NAMES:
        assert scope.refusal(url) == "local_name", url
    for url in BAD_HOSTS:
        assert scope.refusal(url) == "invalid_host", url


@pytest.mark.parametrize("url", OTHER_SCHEMES)
def test_only_http_and_https_are_in_scope(url: str) -> None:
    assert CrawlScope.for_seeds([SEED], follow_offsite=True, allow_clearnet=True).refusal(url) == "scheme"


def test_clearnet_needs_the_dangerous_option_and_ip_literals_stay_refused_with_it() -> None:
    scope = CrawlScope.for_seeds([SEED], follow_offsite=True, allow_clearnet=True)
    for url in CLEARNET:
        assert scope.refusal(url) is None, url
    for url in IP_LITERALS + LOCAL_NAMES + BAD_HOSTS:
        assert scope.refusal(url) is not None, url
    # Without follow_offsite, clearnet links stay on the seeds' hosts like onion links do.
    on_site = CrawlScope.for_seeds(["http://example.com/"], allow_clearnet=True)
    assert on_site.refusal("http://www.example.com/a") is None
    assert on_site.refusal("http://example.org/") == "offsite"
    assert on_site.refusal(f"http://{OTHER_ONION}/") == "offsite"


@pytest.mark.parametrize(
    ("seed", "allow_clearnet", "words"),
    [
        ("http://127.0.0.1/", False, "IP-literal"),
        ("http://127.0.0.1/", True, "IP-literal"),
        ("http://localhost:8080/", True, "local host name"),
        ("http://example.com/", False, "--dangerously-allow-clearnet"),
    ],
)
def test_out_of_scope_seeds_are_refused_with_the_reason(seed: str, allow_clearnet: bool, words: str) -> None:
    with pytest.raises(OutOfScopeSeed, match=words):
        CrawlScope.for_seeds([SEED, seed], allow_clearnet=allow_clearnet)
    with pytest.raises(ValueError, match=words):
        OnionSpider(seeds=[SEED, seed], dangerously_allow_clearnet=allow_clearnet)


def test_spider_scope_comes_from_its_arguments() -> None:
    assert OnionSpider(seeds=[SEED]).crawl_scope.refusal(f"http://{OTHER_ONION}/") == "offsite"
    offsite = OnionSpider(seeds=[SEED], follow_offsite="true").crawl_scope
    assert offsite.refusal(f"http://{OTHER_ONION}/") is None
    assert offsite.refusal("http://example.com/") == "clearnet"
    clearnet = OnionSpider(seeds=[SEED], follow_offsite="true", dangerously_allow_clearnet="true").crawl_scope
    assert clearnet.refusal("http://example.com/") is None


# --- the middleware, with Scrapy's own RedirectMiddleware producing the redirect


def _crawler_with(spider: scrapy.Spider):
    crawler = get_crawler(type(spider))
    crawler.spider = spider
    spider.crawler = crawler
    return crawler


def _redirect(crawler, location: str) -> scrapy.Request:
    """The request Scrapy's RedirectMiddleware makes for a 302 from the seed to ``location``."""
    redirect = RedirectMiddleware.from_crawler(crawler)
    source = scrapy.Request(SEED + "go")
    response = Response(source.url, status=302, headers={"Location": location}, request=source)
    redirected = redirect.process_response(source, response)
    assert isinstance(redirected, scrapy.Request) and redirected.meta["redirect_urls"] == [source.url]
    return redirected


@pytest.mark.parametrize(
    ("location", "reason"),
    [("http://127.0.0.1:9200/_cat/indices", "ip_literal"), ("http://[::1]/", "ip_literal"),
     ("http://localhost/", "local_name"), ("http://example.com/", "clearnet"), (f"http://{SEED_HOST}./", "invalid_host")],
)
def test_a_redirect_out_of_scope_is_refused_and_counted_even_with_follow_offsite(location: str, reason: str) -> None:
    spider = OnionSpider(seeds=[SEED], follow_offsite=True)
    crawler = _crawler_with(spider)
    middleware = CrawlScopeMiddleware.from_crawler(crawler)
    redirected = _redirect(crawler, location)
    redirected.dont_filter = True  # Scrapy's OffsiteMiddleware would let this through; the scope must not
    redirected.meta["allow_offsite"] = True
    with pytest.raises(IgnoreRequest, match=reason):
        middleware.request_scheduled(redirected, spider)
    with pytest.raises(IgnoreRequest):
        middleware.process_request(redirected, spider)
    stats = crawler.stats.get_stats()
    assert stats[f"scope/refused/{reason}"] == 2
    assert stats["scope/refused_redirects"] == 2


def test_a_redirect_to_another_onion_follows_the_offsite_rule() -> None:
    for follow_offsite, allowed in ((False, False), (True, True)):
        spider = OnionSpider(seeds=[SEED], follow_offsite=follow_offsite)
        crawler = _crawler_with(spider)
        middleware = CrawlScopeMiddleware.from_crawler(crawler)
        redirected = _redirect(crawler, f"http://{OTHER_ONION}/")
        if allowed:
            assert middleware.process_request(redirected, spider) is None
        else:
            with pytest.raises(IgnoreRequest, match="offsite"):
                middleware.process_request(redirected, spider)


def test_a_spider_without_a_scope_gets_onions_only() -> None:
    spider = scrapy.Spider(name="plain")
    crawler = _crawler_with(spider)
    middleware = CrawlScopeMiddleware.from_crawler(crawler)
    assert middleware.process_request(scrapy.Request(f"http://{OTHER_ONION}/"), spider) is None
    with pytest.raises(IgnoreRequest):
        middleware.process_request(scrapy.Request("http://127.0.0.1/"), spider)


# --- the spider does not follow out-of-scope links


def test_spider_follows_only_in_scope_links_and_counts_the_rest() -> None:
    spider = OnionSpider(seeds=[SEED], follow_offsite=True)
    crawler = _crawler_with(spider)
    links = [f"http://{SEED_HOST}/in", f"http://{OTHER_ONION}/other", *IP_LITERALS, *LOCAL_NAMES, *CLEARNET]
    body = "".join(f'<a href="{link}">x</a>' for link in links)
    response = HtmlResponse(SEED, body=f"<html><body>{body}</body></html>".encode(), encoding="utf-8",
                            request=scrapy.Request(SEED, meta={"depth": 0}))
    followed = [item.url for item in parse_all(spider, response) if isinstance(item, scrapy.Request)]
    assert followed == [f"http://{SEED_HOST}/in", f"http://{OTHER_ONION}/other"]
    stats = crawler.stats.get_stats()
    assert stats["scope/refused/ip_literal"] == len(IP_LITERALS)
    assert stats["scope/refused/local_name"] == len(LOCAL_NAMES)
    # bücher.de reaches the extractor as a link too; every clearnet link is refused
    assert stats["scope/refused/clearnet"] == len(CLEARNET)


def parse_all(spider, response) -> list:
    """Everything the (async) parse callback yields for ``response``."""
    import asyncio

    async def collect():
        return [out async for out in spider.parse(response)]

    return asyncio.run(collect())
