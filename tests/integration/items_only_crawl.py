"""A real Scrapy crawl that yields items without fetching anything, through onionscope's pipelines.

Run in a subprocess (a Twisted reactor starts once per process):
``python -m tests.integration.items_only_crawl N`` yields N pages of which
only 7 are distinct, plus one invalid page; settings come from ONIONSCOPE_*
variables.  Prints ``STATS <json>`` with the pipelines' stats.
"""

from __future__ import annotations

import json
import sys
from typing import Any, AsyncIterator

import scrapy
from scrapy.crawler import CrawlerProcess

from crawler.items import Page
from crawler.job import create_crawl_job
from config.settings import load_settings

HOST = "y" * 52 + "abcd.onion"
DISTINCT_PAGES = 7


class ItemsOnlySpider(scrapy.Spider):
    name = "items-only"
    crawl_job = create_crawl_job([f"http://{HOST}/"], "items-only-crawl")
    job_id = crawl_job.job_id

    def __init__(self, count: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.count = count

    async def start(self) -> AsyncIterator[Any]:
        for number in range(self.count):
            url = f"http://{HOST}/p/{number % DISTINCT_PAGES}"
            yield Page(url=url, canonical_url=url, onion_host=HOST, status=200, content_type="text/html",
                       content_hash=f"h{number % DISTINCT_PAGES}", fetched_at="2026-11-28T10:00:00Z",
                       job_id=self.job_id, title=f"page {number % DISTINCT_PAGES}", text="text")
        yield Page(url="javascript:void(0)", canonical_url="x", onion_host=HOST, status=200,
                   content_type="text/html", content_hash="bad", fetched_at="2026-11-28T10:00:00Z", job_id=self.job_id)


def main() -> None:
    process = CrawlerProcess({
        "ONIONSCOPE_SETTINGS": load_settings(),
        "ITEM_PIPELINES": {
            "pipelines.validate.ValidatePipeline": 100,
            "pipelines.deduplicate.DeduplicatePipeline": 200,
            "pipelines.elasticsearch_bulk.ElasticsearchBulkPipeline": 300,
        },
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
    })
    crawler = process.create_crawler(ItemsOnlySpider)
    process.crawl(crawler, count=int(sys.argv[1]))
    process.start()
    stats = crawler.stats.get_stats()
    ours = {k: v for k, v in stats.items() if k.split("/")[0] in ("elasticsearch", "validate", "deduplicate")}
    print("STATS " + json.dumps(ours, sort_keys=True))


if __name__ == "__main__":
    main()
