"""Run a real Scrapy crawl of a list of URLs through the tor transport and print what happened as JSON.

Used by the transport tests as a subprocess (Twisted's reactor cannot restart inside one
pytest process).  Reads ``{"urls": [...], "settings": {...}, "transport": {...} | null}``
on stdin; ``transport`` holds the keyword arguments of
:func:`crawler.tor.download_handler.transport_settings` (``null`` = leave the settings as
given).  Prints ``{"results": [...], "stats": {...}, "seconds": float, "error": str | null,
"dns_lookups_refused": int}`` (names the refusing reactor resolver turned away):
one result per URL, with ``status`` and ``text`` or ``error`` (the exception's class name)
and ``message``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess

from crawler.tor.refusing_resolver import RefusingResolver



class RecordedRefusingResolver(RefusingResolver):
    """onionscope's refusing resolver, remembered so the report can say how many names it refused."""

    installed: "RecordedRefusingResolver | None" = None

    def install_on_reactor(self) -> None:
        super().install_on_reactor()
        RecordedRefusingResolver.installed = self


class FetchSpider(scrapy.Spider):
    name = "fetch"

    def __init__(self, urls: list[str], results: list[dict[str, Any]], **kwargs: Any):
        super().__init__(**kwargs)
        self.urls = urls
        self.results = results

    async def start(self):  # type: ignore[override]
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse, errback=self.failed, dont_filter=True)

    def parse(self, response: scrapy.http.Response) -> None:
        self.results.append(
            {
                "url": response.url,
                "status": response.status,
                "text": response.text[:500],
                "retries": response.request.meta.get("retry_times", 0) if response.request else 0,
            }
        )

    def failed(self, failure: Any) -> None:
        self.results.append(
            {
                "url": failure.request.url,
                "error": type(failure.value).__name__,
                "error_module": type(failure.value).__module__,
                "message": str(failure.value),
                "retries": failure.request.meta.get("retry_times", 0),
            }
        )


def main() -> int:
    spec = json.load(sys.stdin)
    settings: dict[str, Any] = {
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "COOKIES_ENABLED": False,
        "TWISTED_DNS_RESOLVER": RecordedRefusingResolver,  # the class itself: this file runs as __main__
        "CONCURRENT_REQUESTS": 64,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
    }
    if spec.get("transport") is not None:
        from crawler.tor.download_handler import transport_settings

        settings.update(transport_settings(**spec["transport"]))
    settings.update(spec.get("settings", {}))
    results: list[dict[str, Any]] = []
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(FetchSpider)
    started = time.monotonic()
    error = None
    deferred = process.crawl(crawler, urls=spec["urls"], results=results)
    failures: list[Any] = []
    deferred.addErrback(failures.append)
    process.start()
    if failures:
        error = f"{type(failures[0].value).__name__}: {failures[0].value}"
    stats = crawler.stats.get_stats() if crawler.stats else {}
    # None would mean the refusing resolver was never installed.
    installed = RecordedRefusingResolver.installed
    dns_lookups_refused = installed.refused if installed is not None else None
    json.dump(
        {
            "results": results,
            "stats": {key: value for key, value in stats.items() if isinstance(value, (int, float, str))},
            "seconds": time.monotonic() - started,
            "error": error,
            "dns_lookups_refused": dns_lookups_refused,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
