"""The ``onion`` spider: crawls onion sites from seed URLs, one Page item per URL.

Arguments (``-a name=value`` with ``scrapy crawl``, or keyword arguments):

* ``seeds`` -- seed URLs separated by commas or white space;
* ``seeds_file`` -- a file with one seed URL per line (``#`` starts a comment);
* ``job`` -- the crawl job id stored on every document (default: generated);
* ``follow_offsite`` -- ``true`` to follow links to onion services other than the seeds';
* ``dangerously_allow_clearnet`` -- ``true`` to allow clearnet (non-onion) host names, as seeds
  and, with ``follow_offsite``, as links; still through tor.  Off unless given explicitly;
* ``follow_links`` -- ``false`` to fetch only the seeds (benchmarks, re-checks);
* ``config_dir`` -- the folder of data-only configuration whose market profiles,
  substance lexicon and country table the extraction uses (default: the config
  package's; a crawl with onionscope's Scrapy settings passes ``settings.config_dir``);
* ``markets_dir`` -- folder of market profiles (default ``<config_dir>/markets``).

Onion hosts belong to a market only by its profile's ``hosts`` /
``host_patterns`` or by the operator's confirmation, the ``market_hosts``
setting (``onionscope crawl --market-host MARKET=HOST``), bound when the
spider is created from a crawler.  A page on any other host that carries a
market's site marker is indexed under its own host with
``looks_like_market``; the spider logs one warning per such host.

What may be fetched is the spider's ``crawl_scope``
(:class:`crawler.middlewares.crawl_scope.CrawlScope`): the seeds' onion services, other
onions only with ``follow_offsite``, never an IP literal or a local name.  Links outside it
are not followed (counted as ``scope/refused/<reason>``); redirects outside it are refused
by :class:`~crawler.middlewares.crawl_scope.CrawlScopeMiddleware`.  The spider never requests
media (:mod:`crawler.middlewares.media_guard`) and follows links only from pages shallower
than ``crawl_depth`` (0: the seeds only); Scrapy's queues make the order breadth-first.
Every response with an allowed content type yields a :class:`crawler.items.Page` plus the
listings, vendors and wallet mentions the extractors find.  Raises :class:`ValueError` for a
seed that is not an absolute http(s) URL or is out of the crawl scope
(:class:`~crawler.middlewares.crawl_scope.OutOfScopeSeed`), before anything is fetched.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse

from crawler.extractors.countries import load_country_table
from crawler.extractors.document import extract_document
from crawler.extractors.market_profiles import MarketProfiles
from crawler.extractors.substances import default_lexicon
from crawler.middlewares.crawl_scope import REFUSED_STAT_PREFIX, CrawlScope
from crawler.urls import is_media_url
from config import paths


def new_job_id(name: str | None = None) -> str:
    """``<name or 'crawl'>-<UTC timestamp>-<random>``: unique per run, sortable by time."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{name or 'crawl'}-{stamp}-{secrets.token_hex(3)}"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_seeds(seeds: str | Iterable[str] | None = None, seeds_file: str | Path | None = None) -> list[str]:
    """Seed URLs from a string/list and a file, validated, de-duplicated, in order.

    Raises ValueError naming the bad seed (and the file and line for a file).
    """
    found: list[tuple[str, str]] = []
    if isinstance(seeds, str):
        found.extend((part, "seed") for part in seeds.replace(",", " ").split())
    elif seeds:
        found.extend((str(part).strip(), "seed") for part in seeds if str(part).strip())
    if seeds_file:
        path = Path(seeds_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValueError(f"seeds file {path}: {exc.strerror or exc}") from None
        for number, line in enumerate(lines, 1):
            line = line.split("#", 1)[0].strip()
            if line:
                found.append((line, f"{path}:{number}"))
    seeds_out: list[str] = []
    for url, where in found:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{where}: {url!r} is not an absolute http:// or https:// URL")
        if url not in seeds_out:
            seeds_out.append(url)
    if not seeds_out:
        raise ValueError("no seed URLs given")
    return seeds_out


def _flag(value: str | bool) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class OnionSpider(scrapy.Spider):
    """Breadth-first crawl of onion sites; see the module docstring for arguments."""

    name = "onion"

    def __init__(
        self,
        seeds: str | Iterable[str] | None = None,
        seeds_file: str | None = None,
        job: str | None = None,
        follow_offsite: str | bool = False,
        follow_links: str | bool = True,
        markets_dir: str | None = None,
        dangerously_allow_clearnet: str | bool = False,
        config_dir: str | Path | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.seed_urls = parse_seeds(seeds, seeds_file)
        self.job_id = job or new_job_id()
        self.follow_offsite = _flag(follow_offsite)
        self.follow_links = _flag(follow_links)
        # One rule for links, seeds and redirects; CrawlScopeMiddleware reads it from here.
        self.crawl_scope = CrawlScope.for_seeds(
            self.seed_urls, follow_offsite=self.follow_offsite, allow_clearnet=_flag(dangerously_allow_clearnet)
        )
        # None: follow links at every depth (DEPTH_LIMIT alone applies); set from crawl_depth in from_crawler.
        self.max_link_depth: int | None = None
        self.profiles = MarketProfiles.load(markets_dir or paths.markets_dir(config_dir))
        self.lexicon = default_lexicon(config_dir)
        self.countries = load_country_table(paths.countries_file(config_dir))
        self._look_alike_hosts: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> "OnionSpider":
        """The spider, with config_dir, crawl_depth and the operator's ``market_hosts`` confirmations bound.

        Raises UserError if a confirmation is wrong.
        """
        onionscope_settings = crawler.settings.get("ONIONSCOPE_SETTINGS")
        if onionscope_settings is not None:
            kwargs.setdefault("config_dir", onionscope_settings.config_dir)
        spider = super().from_crawler(crawler, *args, **kwargs)
        if onionscope_settings is not None:
            spider.profiles.bind_hosts(onionscope_settings.market_hosts)
            # crawl_depth 0 means "seeds only"; Scrapy's DEPTH_LIMIT 0 would mean "no limit".
            spider.max_link_depth = onionscope_settings.crawl_depth
        if spider.crawl_scope.allow_clearnet:
            spider.logger.warning(
                "clearnet crawling is ON (dangerously_allow_clearnet): non-onion sites will be fetched "
                "through tor exit relays, which see and may tamper with that traffic"
            )
        return spider

    async def start(self):  # type: ignore[no-untyped-def]
        for url in self.seed_urls:
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("onionscope/non_text_responses")
            return
        self.crawler.stats.inc_value("onionscope/pages")
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        document = extract_document(
            response.body,
            response.url,
            fetched_at=utc_now(),
            job_id=self.job_id,
            profiles=self.profiles,
            status=response.status,
            content_type=content_type.split(";", 1)[0].strip().lower() or "text/html",
            depth=int(response.meta.get("depth", 0)),
            max_text_chars=self.crawler.settings.getint("PAGE_TEXT_MAX_CHARS", 200_000),
            lexicon=self.lexicon,
            countries=self.countries,
        )
        for key, count in document.stats().items():
            self.crawler.stats.inc_value(key, count)
        document.log_problems(self.logger.logger)
        host = document.page.onion_host
        if document.looks_like_market and host not in self._look_alike_hosts:
            self._look_alike_hosts.add(host)
            self.logger.warning(
                "%s carries the site marker of market %r but is not one of its hosts; its pages are indexed "
                "under their own host (if it is that market, confirm it with --market-host %s=%s)",
                host, document.looks_like_market, document.looks_like_market, host,
            )
        yield from document.items()
        if not self.follow_links:
            return
        depth = int(response.meta.get("depth", 0))
        if self.max_link_depth is not None and depth >= self.max_link_depth:
            self.crawler.stats.inc_value("onionscope/links_beyond_depth", len(document.page.links))
            return
        for link in document.page.links:
            refusal = self.crawl_scope.refusal(link)
            if refusal is not None:
                self.crawler.stats.inc_value(REFUSED_STAT_PREFIX + refusal)
                continue
            if is_media_url(link):
                self.crawler.stats.inc_value("onionscope/media_links_skipped")
                continue
            yield response.follow(link, callback=self.parse)
