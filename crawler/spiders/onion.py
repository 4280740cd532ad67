"""The ``onion`` spider: crawls onion sites from seed URLs, one Page item per URL.

Arguments (``-a name=value`` with ``scrapy crawl``, or keyword arguments):

* ``seeds`` -- seed URLs separated by commas or white space;
* ``seeds_file`` -- a file with one seed URL per line (``#`` starts a comment);
* ``job`` -- the crawl job id stored on every document (default: generated);
* ``crawl_job`` -- a :class:`crawler.job.CrawlJob` made by the caller (``onionscope crawl``), instead of
  ``seeds``, ``seeds_file``, ``job`` and the three switches below;
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

A job resumed after an interruption (``CrawlJob.resume``, :class:`crawler.job.ResumePoint`)
starts from its frontier instead of its seeds and never fetches a page it already indexed;
every fetched URL goes to the job's :class:`crawler.job.FetchJournal`, and a page fetched
again after the interruption is counted (``resume/pages_fetched_again``).

Login walls (:mod:`crawler.extractors.login_wall`): a page that is a login, CAPTCHA or
anti-DDoS form where content was expected -- including one answered with 401 or 403, which
reach the spider for this reason only -- yields no item and no link; the site is counted
(``login/needs_login/<host>``, :func:`crawler.middlewares.login_wall.record_needs_login`).
A login page the crawl reached by a link that named it (``/login``) was expected: it is
skipped (``login/login_pages_skipped``), not counted against the site.  Links to a logout
URL are never followed (``login/logout_links_skipped``): they would end the session.

The extractors run in a pool of worker processes (``EXTRACTION_WORKERS``) with a time budget per
page (``EXTRACTION_BUDGET_SECONDS``, :mod:`crawler.extractors.budget`), so downloads go on while
pages are read, and a page over budget is indexed with its title, text and links only (stat
``onionscope/extraction_over_budget``).

Freshness (:mod:`crawler.freshness`): the spider carries ``freshness``, a
:class:`~crawler.freshness.context.FreshnessContext` the indexing pipeline
fills with what is stored when the crawl opens.  A ``304`` -- the site's
"not modified" to a conditional request, or a page not due under the recrawl
policy (:mod:`crawler.middlewares.conditional_requests`) -- is "unchanged,
seen": no Page item, its stored links are followed as the page's own would
be (stats ``freshness/not_modified``, ``freshness/unchanged_links_followed``).
A page's ``ETag`` and ``Last-Modified`` are kept on its Page item when they
are well-formed.

Evidence: the page and the listings read from a response carry ``evidence``, the pointer to
the WARC record :mod:`crawler.middlewares.evidence` wrote for it (file, offset, length, digest).
"""

from __future__ import annotations

import asyncio
import functools
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Iterable
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse

# The loaders live beside the worker pool, so a worker unpickling them imports no Scrapy; named here too.
from crawler.extractors.budget import (
    BudgetedExtractor, extraction_worker_count, load_bound_profiles, load_reference_tables,
)
from crawler.extractors.document import ExtractedDocument, extract_document, plain_document
from crawler.extractors.market_profiles import MarketProfiles
from crawler.freshness.context import FreshnessContext
from crawler.freshness.liveness import BackoffPolicy
from crawler.freshness.recrawl import RecrawlPolicy, safe_etag, safe_last_modified
from crawler.extractors.login_wall import detect_login_wall, is_login_url, is_logout_url
from crawler.job import CrawlJob, FetchJournal, create_crawl_job
from crawler.middlewares.conditional_requests import CONDITIONAL_META, NOT_DUE_FLAG
from crawler.middlewares.crawl_scope import REFUSED_STAT_PREFIX, CrawlScope
from crawler.middlewares.evidence import EVIDENCE_META
from crawler.items import Listing, Page
from crawler.middlewares.login_wall import record_needs_login
from crawler.urls import canonical_url, is_media_url
from config import paths
from config.i18n import _
from config.os_reasons import os_reason
from config.settings import DEFAULTS


def _onionscope_addon_enabled(scrapy_values: Any) -> bool:
    """True when the crawl's Scrapy settings enable :class:`crawler.settings.OnionscopeAddon`."""
    addons = scrapy_values.getdict("ADDONS") if hasattr(scrapy_values, "getdict") else {}
    return any(str(name).endswith("OnionscopeAddon") or getattr(name, "__name__", "") == "OnionscopeAddon"
               for name, priority in addons.items() if priority is not None)


# The spider arguments a crawl job is made of (see crawl_job_from_arguments).
JOB_ARGUMENTS = ("seeds", "seeds_file", "job", "follow_offsite", "follow_links", "dangerously_allow_clearnet")


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_seeds(seeds: str | Iterable[str] | None = None, seeds_file: str | Path | None = None) -> list[str]:
    """Seed URLs from a string/list and a file, validated, de-duplicated, in order.

    Raises ValueError naming the bad seed (and the file and line for a file).
    """
    found: list[tuple[str, str]] = []
    if isinstance(seeds, str):
        found.extend((part, _("seed")) for part in seeds.replace(",", " ").split())
    elif seeds:
        found.extend((str(part).strip(), _("seed")) for part in seeds if str(part).strip())
    if seeds_file:
        path = Path(seeds_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise ValueError(_("seeds file {path}: no such file", path=path)) from None
        except OSError as exc:
            raise ValueError(_("seeds file {path}: {reason}", path=path, reason=os_reason(exc))) from None
        for number, line in enumerate(lines, 1):
            line = line.split("#", 1)[0].strip()
            if line:
                found.append((line, f"{path}:{number}"))
    seeds_out: list[str] = []
    for url, where in found:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(_("{where}: {url} is not an absolute http:// or https:// URL", where=where, url=repr(url)))
        if url not in seeds_out:
            seeds_out.append(url)
    if not seeds_out:
        raise ValueError(_("no seed URLs given"))
    return seeds_out


def _flag(value: str | bool) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def crawl_job_from_arguments(
    seeds: str | Iterable[str] | None = None,
    seeds_file: str | Path | None = None,
    job: str | None = None,
    follow_offsite: str | bool = False,
    follow_links: str | bool = True,
    dangerously_allow_clearnet: str | bool = False,
    settings: Any = None,
) -> CrawlJob:
    """The :class:`CrawlJob` of the spider's arguments (``-a`` strings or values); ValueError for bad seeds."""
    return create_crawl_job(
        parse_seeds(seeds, seeds_file), job, follow_offsite=_flag(follow_offsite), follow_links=_flag(follow_links),
        allow_clearnet=_flag(dangerously_allow_clearnet), settings=settings,
    )


def _canonical_or_same(url: str) -> str:
    try:
        return canonical_url(url)
    except ValueError:  # a malformed port, say: kept as it came
        return url


class OnionSpider(scrapy.Spider):
    """Breadth-first crawl of onion sites; see the module docstring for arguments."""

    name = "onion"
    # 304 reaches parse: "not modified" (a conditional request) or not due (the recrawl policy).
    # 401 and 403 reach parse so that a login form behind them is seen; otherwise they are dropped there.
    handle_httpstatus_list = [304, 401, 403]

    def __init__(
        self,
        seeds: str | Iterable[str] | None = None,
        seeds_file: str | None = None,
        job: str | None = None,
        follow_offsite: str | bool = False,
        follow_links: str | bool = True,
        markets_dir: str | None = None,
        dangerously_allow_clearnet: str | bool = False,
        crawl_job: CrawlJob | None = None,
        config_dir: str | Path | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if crawl_job is not None and (seeds or seeds_file or job):
            raise TypeError("give the spider either crawl_job or seeds, seeds_file and job, not both")
        # The pipelines read the job from here (crawler.job.job_of) for the crawl-run record.
        self.crawl_job = crawl_job or crawl_job_from_arguments(
            seeds, seeds_file, job, follow_offsite, follow_links, dangerously_allow_clearnet)
        self.seed_urls = list(self.crawl_job.seeds)
        self.job_id = self.crawl_job.job_id
        self.follow_offsite = self.crawl_job.options.follow_offsite
        self.follow_links = self.crawl_job.options.follow_links
        # One rule for links, seeds and redirects; CrawlScopeMiddleware reads it from here.
        self.crawl_scope = CrawlScope.for_seeds(
            self.seed_urls, follow_offsite=self.follow_offsite, allow_clearnet=self.crawl_job.options.allow_clearnet
        )
        # None: follow links at every depth (DEPTH_LIMIT alone applies); set from crawl_depth in from_crawler.
        self.max_link_depth: int | None = None
        self.config_dir = config_dir
        self.markets_dir = Path(markets_dir or paths.markets_dir(config_dir))
        self.profiles = MarketProfiles.load(self.markets_dir)
        self.lexicon, self.countries = load_reference_tables(config_dir).values()
        self._look_alike_hosts: set[str] = set()
        # Set by from_crawler when EXTRACTION_BUDGET_SECONDS > 0 (the default).
        self.extractor: BudgetedExtractor | None = None
        # Filled by the indexing pipeline when the crawl opens; policies from the settings in from_crawler.
        self.freshness = FreshnessContext(self.job_id, seeds=self.seed_urls)
        # The URLs this job fetched (for a later --resume); set by from_crawler with onionscope's settings.
        self.fetch_journal: FetchJournal | None = None
        self.resume = self.crawl_job.resume

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> "OnionSpider":
        """The spider, with config_dir, crawl_depth, the operator's ``market_hosts`` confirmations
        (UserError if one is wrong) and the budget worker bound.

        Without a ``crawl_job`` argument (``scrapy crawl``) the job is made here, once, from the
        spider's arguments and the crawl's settings.
        """
        market_hosts: tuple[tuple[str, str], ...] = ()
        onionscope_settings = crawler.settings.get("ONIONSCOPE_SETTINGS")
        if onionscope_settings is None and _onionscope_addon_enabled(crawler.settings):
            # `scrapy crawl onion`: Scrapy builds the spider before its add-ons run, so the
            # settings OnionscopeAddon is about to apply are loaded here too (the same files and
            # environment, so the same values).
            from config.settings import load_settings

            onionscope_settings = load_settings()
        if kwargs.get("crawl_job") is None and onionscope_settings is not None:
            arguments = {name: kwargs.pop(name) for name in JOB_ARGUMENTS if name in kwargs}
            kwargs["crawl_job"] = crawl_job_from_arguments(**arguments, settings=onionscope_settings)
        if onionscope_settings is not None:
            kwargs.setdefault("config_dir", onionscope_settings.config_dir)
        spider = super().from_crawler(crawler, *args, **kwargs)
        if onionscope_settings is not None:
            market_hosts = tuple(onionscope_settings.market_hosts)
            spider.profiles.bind_hosts(market_hosts)
            # crawl_depth 0 means "seeds only"; Scrapy's DEPTH_LIMIT 0 would mean "no limit".
            spider.max_link_depth = onionscope_settings.crawl_depth
            spider.freshness.recrawl = RecrawlPolicy(onionscope_settings.recrawl_stable_seconds,
                                                     onionscope_settings.recrawl_max_interval_seconds)
            spider.freshness.backoff = BackoffPolicy(onionscope_settings.liveness_backoff_seconds,
                                                     onionscope_settings.liveness_backoff_max_seconds)
            spider.fetch_journal = FetchJournal(onionscope_settings.var_dir, spider.job_id)
            crawler.signals.connect(spider.fetch_journal.close, signal=signals.spider_closed)
        if spider.resume is not None:
            crawler.signals.connect(spider._count_resume_point, signal=signals.spider_opened)
        if spider.crawl_scope.allow_clearnet:
            spider.logger.warning(
                "clearnet crawling is ON (dangerously_allow_clearnet): non-onion sites will be fetched "
                "through tor exit relays, which see and may tamper with that traffic"
            )
        budget = crawler.settings.getfloat(
            "EXTRACTION_BUDGET_SECONDS", DEFAULTS["extraction_budget_seconds"].default
        )
        if budget > 0:
            # The worker loads the same profiles with the same confirmations; MarketProfiles do not
            # pickle (compiled XPath), so it gets how to load them.
            workers = extraction_worker_count(crawler.settings.getint(
                "EXTRACTION_WORKERS", DEFAULTS["extraction_workers"].default))
            spider.extractor = BudgetedExtractor(
                budget, functools.partial(load_bound_profiles, str(spider.markets_dir), market_hosts),
                functools.partial(load_reference_tables, spider.config_dir), workers=workers,
            )
            # Booting the workers (about two seconds) overlaps the first downloads.
            crawler.signals.connect(spider._start_extractor, signal=signals.spider_opened)
            crawler.signals.connect(spider.extractor.close, signal=signals.spider_closed)
        return spider

    def _start_extractor(self) -> None:
        if self.extractor is not None:
            self.extractor.start()

    async def start(self):  # type: ignore[no-untyped-def]
        if self.resume is not None:
            # Going on after an interruption: what is still to fetch, at the depth it was found.
            for url, depth in self.resume.frontier:
                yield scrapy.Request(url, callback=self.parse, meta={"depth": depth})
            return
        for url in self.seed_urls:
            yield scrapy.Request(url, callback=self.parse)

    def _count_resume_point(self) -> None:
        # Stats exist once the crawl is open, not when the spider is made.
        assert self.resume is not None
        self.crawler.stats.set_value("resume/pages_already_indexed", len(self.resume.indexed))
        self.crawler.stats.set_value("resume/pages_fetched_again", 0)

    def _journal_fetch(self, url: str) -> None:
        fetched = _canonical_or_same(url)
        if self.fetch_journal is not None:
            self.fetch_journal.append(fetched)
        if self.resume is not None and fetched in self.resume.fetched_before:
            # Fetched before the interruption, but its items never reached the index.
            self.crawler.stats.inc_value("resume/pages_fetched_again")

    async def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        self._journal_fetch(response.url)
        if response.status == 304:
            async for request in self._unchanged(response):
                yield request
            return
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("onionscope/non_text_responses")
            return
        if self._is_login_wall(response):
            return
        if response.status in (401, 403):
            # What Scrapy's HttpErrorMiddleware does with a status it does not let through.
            self.crawler.stats.inc_value("httperror/response_ignored_count")
            self.crawler.stats.inc_value(f"httperror/response_ignored_status_count/{response.status}")
            self.logger.info("Ignoring response %r: HTTP status code is not handled or not allowed", response)
            return
        self.crawler.stats.inc_value("onionscope/pages")
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        arguments: dict[str, Any] = dict(
            fetched_at=utc_now(),
            job_id=self.job_id,
            status=response.status,
            content_type=content_type.split(";", 1)[0].strip().lower() or "text/html",
            depth=int(response.meta.get("depth", 0)),
            max_text_chars=self.crawler.settings.getint("PAGE_TEXT_MAX_CHARS", 200_000),
        )
        document = await self._extract(response.body, response.url, arguments)
        document.page.etag = safe_etag(response.headers.get(b"ETag"))
        document.page.last_modified = safe_last_modified(response.headers.get(b"Last-Modified"))
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
        # The WARC record of this response (crawler.middlewares.evidence), on the page and its listings.
        evidence = response.meta.get(EVIDENCE_META)
        for item in document.items():
            if evidence and isinstance(item, (Page, Listing)):
                item.evidence = dict(evidence)
            yield item
        for request in self._follow(response, document.page.links):
            yield request

    def _follow(self, response: Response, links: list[str]) -> Iterable[scrapy.Request]:
        """Requests for the ``links`` of ``response``'s page that are in scope, within depth and not media."""
        if not self.follow_links:
            return
        depth = int(response.meta.get("depth", 0))
        if self.max_link_depth is not None and depth >= self.max_link_depth:
            self.crawler.stats.inc_value("onionscope/links_beyond_depth", len(links))
            self.freshness.observations.note_depth_cut(
                link for link in links if self.crawl_scope.refusal(link) is None and not is_media_url(link))
            return
        for link in links:
            refusal = self.crawl_scope.refusal(link)
            if refusal is not None:
                self.crawler.stats.inc_value(REFUSED_STAT_PREFIX + refusal)
                continue
            if is_media_url(link):
                self.crawler.stats.inc_value("onionscope/media_links_skipped")
                continue
            if self.resume is not None and _canonical_or_same(link) in self.resume.indexed:
                self.crawler.stats.inc_value("resume/links_already_indexed")
                continue
            if is_logout_url(link):
                self.crawler.stats.inc_value("login/logout_links_skipped")
                continue
            yield response.follow(link, callback=self.parse)

    def _is_login_wall(self, response: TextResponse) -> bool:
        """True (and counted) when ``response`` is a login or CAPTCHA page rather than content."""
        reason = detect_login_wall(response.body, response.status,
                                   www_authenticate=b"WWW-Authenticate" in response.headers)
        if reason is None:
            return False
        requested = (response.meta.get("redirect_urls") or [response.url])[0]
        if int(response.meta.get("depth", 0)) > 0 and is_login_url(requested):
            self.crawler.stats.inc_value("login/login_pages_skipped")
        else:
            host = (urlsplit(response.url).hostname or "").lower()
            record_needs_login(self.crawler, host, requested, reason)
        return True

    async def _unchanged(self, response: Response) -> AsyncIterator[Any]:
        """A 304: the page is unchanged and seen now; its stored links are followed as its own would be."""
        not_due = NOT_DUE_FLAG in response.flags
        stored = self.freshness.stored_page(response.url)
        if stored is None or not (not_due or response.meta.get(CONDITIONAL_META)):
            # A 304 we did not ask for says nothing about a page we hold: ignore it.
            self.crawler.stats.inc_value("freshness/unexpected_not_modified")
            return
        if not not_due:
            self.crawler.stats.inc_value("onionscope/pages")
            self.crawler.stats.inc_value("freshness/not_modified")
        self.freshness.observations.note_unchanged(response.url, utc_now())
        if not self.follow_links:
            return
        links = await asyncio.to_thread(self.freshness.links_of, response.url)
        self.crawler.stats.inc_value("freshness/unchanged_links_followed", len(links))
        for request in self._follow(response, links):
            yield request

    async def _extract(self, body: bytes, url: str, arguments: dict[str, Any]) -> ExtractedDocument:
        """The page's extraction; its basics only when it runs over the budget or fails.

        The worker runs while the reactor goes on downloading.  Over budget:
        stat ``onionscope/extraction_over_budget`` and a WARNING; the worker
        dying or the extraction raising: ``onionscope/extraction_failed`` and an
        ERROR.  Either way the page is indexed plainly and the crawl goes on.
        """
        if self.extractor is None:  # EXTRACTION_BUDGET_SECONDS = 0: here, with no budget
            return extract_document(body, url, profiles=self.profiles, lexicon=self.lexicon,
                                    countries=self.countries, **arguments)
        try:
            return await asyncio.wrap_future(self.extractor.extract(body, url, **arguments))
        except TimeoutError:
            self.crawler.stats.inc_value("onionscope/extraction_over_budget")
            self.freshness.observations.note_problem(url, "extraction_over_budget")
            self.logger.warning(
                "extraction of %s ran over its budget of %s s; indexed as a plain page "
                "(no listings, vendors or identifiers)", url, self.extractor.budget_seconds,
            )
        except Exception as error:  # the worker died, or the extraction has a bug this page found
            self.crawler.stats.inc_value("onionscope/extraction_failed")
            self.freshness.observations.note_problem(url, "extraction_failed")
            # repr and a cap: the message may quote the hostile page.
            self.logger.error(
                "extraction of %s failed (%s: %.300r); indexed as a plain page", url, type(error).__name__, str(error)
            )
        try:
            return await asyncio.wrap_future(self.extractor.plain(body, url, **arguments))
        except Exception as error:
            self.crawler.stats.inc_value("onionscope/extraction_basics_failed")
            self.logger.warning(
                "even the title, text and links of %s could not be read within %s s (%s); "
                "indexed with its URL and status only", url, self.extractor.budget_seconds, type(error).__name__,
            )
            return plain_document(body, url, read_html=False, **arguments)
