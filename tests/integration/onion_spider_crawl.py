"""Run the real onion spider with onionscope's own Scrapy settings, minus Elasticsearch, and print what it fetched.

Used by the transport tests as a subprocess (Twisted's reactor starts once per process).
Reads ``{"seeds": [...], "socks_endpoints": [...], "settings": {onionscope key: value},
"spider": {spider argument: value}}`` on stdin.  The Scrapy settings are
:func:`crawler.settings.scrapy_settings` for those onionscope settings (scope, budgets,
depth, breadth-first queues, the tor transport and the refusing resolver), with no item
pipeline.  Prints ``{"responses": [{"url", "status"}...] (in the order they arrived),
"stats": {...}, "error": str | null}``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from scrapy import signals
from scrapy.crawler import CrawlerProcess

from crawler.settings import scrapy_settings
from crawler.spiders.onion import OnionSpider
from config.settings import load_settings


def main() -> int:
    spec = json.load(sys.stdin)
    settings = load_settings(environ={}).replace(**spec.get("settings", {}))
    values = scrapy_settings(settings, spec["socks_endpoints"])
    values.update(ITEM_PIPELINES={}, LOG_LEVEL="WARNING")
    process = CrawlerProcess(values)
    crawler = process.create_crawler(OnionSpider)
    responses: list[dict[str, Any]] = []

    def received(response: Any, request: Any, spider: Any) -> None:
        responses.append({"url": response.url, "status": response.status})

    crawler.signals.connect(received, signal=signals.response_received)
    failures: list[Any] = []
    process.crawl(crawler, seeds=spec["seeds"], **spec.get("spider", {})).addErrback(failures.append)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    json.dump(
        {
            "responses": responses,
            "stats": {key: value for key, value in stats.items() if isinstance(value, (int, float, str))},
            "error": f"{type(failures[0].value).__name__}: {failures[0].value}" if failures else None,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
