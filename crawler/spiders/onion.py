"""The ``onion`` spider: crawls onion sites from seed URLs, one Page item per URL.

Arguments (``-a name=value`` with ``scrapy crawl``, or keyword arguments):

* ``seeds`` -- seed URLs separated by commas or white space;
* ``seeds_file`` -- a file with one seed URL per line (``#`` starts a comment);
* ``job`` -- the crawl job id stored on every document (default: generated);
* ``follow_offsite`` -- ``true`` to follow links to onion hosts other than the seeds';
* ``follow_links`` -- ``false`` to fetch only the seeds (benchmarks, re-checks);
* ``markets_dir`` -- folder of market profiles (default ``config/markets``).

The crawl stays within the seed hosts by default (``allowed_domains``), never
requests media (:mod:`crawler.middlewares.media_guard`), and stops at
``DEPTH_LIMIT``.  Every response with an allowed content type yields a
:class:`crawler.items.Page` plus the listings, vendors and wallet mentions the
extractors find.  The extractors run in a worker process with a time budget
per page (``EXTRACTION_BUDGET_SECONDS``, :mod:`crawler.extractors.budget`), so
downloads go on while a page is read, and a page over budget is indexed with
its title, text and links only (stat ``onionscope/extraction_over_budget``).
Raises :class:`ValueError` for a seed that is not an absolute http(s) URL,
before anything is fetched.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Iterable
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse

from crawler.extractors.budget import BudgetedExtractor
from crawler.extractors.document import ExtractedDocument, extract_document, plain_document
from crawler.extractors.market_profiles import MarketProfiles
from crawler.urls import is_media_url
from onionscope.settings import DEFAULTS, PROJECT_ROOT


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
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.seed_urls = parse_seeds(seeds, seeds_file)
        self.job_id = job or new_job_id()
        self.follow_offsite = _flag(follow_offsite)
        self.follow_links = _flag(follow_links)
        self.markets_dir = Path(markets_dir or PROJECT_ROOT / "config" / "markets")
        self.profiles = MarketProfiles.load(self.markets_dir)
        # Set by from_crawler when EXTRACTION_BUDGET_SECONDS > 0 (the default).
        self.extractor: BudgetedExtractor | None = None
        hosts = [urlsplit(url).hostname or "" for url in self.seed_urls]
        # Scrapy's OffsiteMiddleware reads allowed_domains; None means anywhere.
        self.allowed_domains = None if self.follow_offsite else sorted({h.lower() for h in hosts})

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> "OnionSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        budget = crawler.settings.getfloat(
            "EXTRACTION_BUDGET_SECONDS", DEFAULTS["extraction_budget_seconds"].default
        )
        if budget > 0:
            # The worker loads the same profiles; MarketProfiles do not pickle (compiled XPath).
            spider.extractor = BudgetedExtractor(budget, functools.partial(MarketProfiles.load, str(spider.markets_dir)))
            # Booting the worker (about two seconds) overlaps the first downloads.
            crawler.signals.connect(spider._start_extractor, signal=signals.spider_opened)
            crawler.signals.connect(spider.extractor.close, signal=signals.spider_closed)
        return spider

    def _start_extractor(self) -> None:
        if self.extractor is not None:
            self.extractor.start()

    async def start(self):  # type: ignore[no-untyped-def]
        for url in self.seed_urls:
            yield scrapy.Request(url, callback=self.parse)

    async def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("onionscope/non_text_responses")
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
        for key, count in document.stats().items():
            self.crawler.stats.inc_value(key, count)
        document.log_problems(self.logger.logger)
        for item in document.items():
            yield item
        if not self.follow_links:
            return
        for link in document.page.links:
            if is_media_url(link):
                self.crawler.stats.inc_value("onionscope/media_links_skipped")
                continue
            yield response.follow(link, callback=self.parse)

    async def _extract(self, body: bytes, url: str, arguments: dict[str, Any]) -> ExtractedDocument:
        """The page's extraction; its basics only when it runs over the budget or fails.

        The worker runs while the reactor goes on downloading.  Over budget:
        stat ``onionscope/extraction_over_budget`` and a WARNING; the worker
        dying or the extraction raising: ``onionscope/extraction_failed`` and an
        ERROR.  Either way the page is indexed plainly and the crawl goes on.
        """
        if self.extractor is None:  # EXTRACTION_BUDGET_SECONDS = 0: here, with no budget
            return extract_document(body, url, profiles=self.profiles, **arguments)
        try:
            return await asyncio.wrap_future(self.extractor.extract(body, url, **arguments))
        except TimeoutError:
            self.crawler.stats.inc_value("onionscope/extraction_over_budget")
            self.logger.warning(
                "extraction of %s ran over its budget of %s s; indexed as a plain page "
                "(no listings, vendors or identifiers)", url, self.extractor.budget_seconds,
            )
        except Exception as error:  # the worker died, or the extraction has a bug this page found
            self.crawler.stats.inc_value("onionscope/extraction_failed")
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
