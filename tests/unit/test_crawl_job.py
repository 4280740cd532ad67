"""The crawl job is made once, by one factory; the spider takes it or makes it, and the pipelines read it."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from scrapy.utils.test import get_crawler

from crawler.job import CrawlJob, create_crawl_job, job_of, new_job_id
from crawler.extractors.onions import v3_onion_from_pubkey
from crawler.spiders.onion import OnionSpider
from config.settings import load_settings

HOST = v3_onion_from_pubkey(bytes(32))
SEED = f"http://{HOST}/"


def test_a_job_without_settings_has_its_switches_and_no_limits() -> None:
    before = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    job = create_crawl_job([SEED], follow_links=False)
    assert re.fullmatch(r"crawl-\d{8}T\d{6}Z-[0-9a-f]{6}", job.job_id)
    assert job.seeds == (SEED,) and before <= job.started_at <= datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (job.options.follow_links, job.options.follow_offsite, job.options.depth, job.options.market_hosts) == (
        False, False, None, ())
    assert create_crawl_job([SEED]).job_id != create_crawl_job([SEED]).job_id


def test_a_job_takes_its_limits_from_the_settings() -> None:
    settings = load_settings(None, environ={}).replace(
        crawl_depth=0, crawl_max_pages_per_host=7, crawl_max_pages=11, crawl_concurrency=3,
        market_hosts=[f"nebula-market={HOST}"])
    job = create_crawl_job([SEED], "nightly-1", allow_clearnet=True, settings=settings)
    assert job.to_doc() == {
        "job_id": "nightly-1", "seeds": [SEED], "started_at": job.started_at,
        "options": {"follow_offsite": False, "follow_links": True, "allow_clearnet": True, "depth": 0,
                    "max_pages_per_host": 7, "max_pages": 11, "concurrency": 3,
                    "market_hosts": [f"nebula-market={HOST}"]},
    }


def test_job_ids_are_unique_and_named() -> None:
    first, second = new_job_id("nightly"), new_job_id("nightly")
    assert first.startswith("nightly-") and first != second


def test_the_spider_takes_the_job_it_is_given() -> None:
    job = create_crawl_job([SEED], "given", follow_offsite=True, follow_links=False)
    spider = OnionSpider(crawl_job=job)
    assert job_of(spider) is job
    assert (spider.seed_urls, spider.job_id, spider.follow_offsite, spider.follow_links) == ([SEED], "given", True, False)
    assert spider.crawl_scope.refusal("http://" + v3_onion_from_pubkey(bytes(range(32))) + "/") is None  # offsite on
    with pytest.raises(TypeError, match="either crawl_job or seeds"):
        OnionSpider(crawl_job=job, seeds=[SEED])


def test_scrapy_crawl_makes_the_job_from_the_spider_arguments_and_the_settings() -> None:
    settings = load_settings(None, environ={}).replace(crawl_depth=1, crawl_max_pages=5)
    crawler = get_crawler(OnionSpider, {"ONIONSCOPE_SETTINGS": settings})
    # As `scrapy crawl onion -a seeds=... -a job=... -a follow_links=false` passes them: strings.
    spider = OnionSpider.from_crawler(crawler, seeds=SEED, job="from-scrapy", follow_links="false")
    job = job_of(spider)
    assert isinstance(job, CrawlJob) and (job.job_id, job.seeds) == ("from-scrapy", (SEED,))
    assert (job.options.follow_links, job.options.depth, job.options.max_pages) == (False, 1, 5)
    assert spider.job_id == "from-scrapy" and spider.follow_links is False


def test_a_spider_that_carries_no_job_has_none() -> None:
    class Other:
        crawl_job = "not a job"

    assert job_of(Other()) is None and job_of(object()) is None
