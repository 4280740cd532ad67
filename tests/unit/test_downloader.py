"""The per-host concurrency: Scrapy 2.19's downloader pops a host's whole queue at once; ours stops at the limit."""

from __future__ import annotations

import asyncio
import inspect
import textwrap

import scrapy
from scrapy.core.downloader import Downloader, Slot
from twisted.internet.defer import Deferred

from crawler.downloader import HostConcurrencyDownloader
from crawler.settings import scrapy_settings
from config.settings import load_settings

def _queue_once(downloader_class: type, queued: int, concurrency: int) -> tuple[int, int]:
    """(requests counted as transferring, requests left queued) after one pass over a slot's queue."""
    downloader = downloader_class.__new__(downloader_class)  # no crawler needed for this method

    async def not_downloading(slot, request, queue_dfd):  # type: ignore[no-untyped-def]
        return None

    downloader._wait_for_download = not_downloading  # type: ignore[method-assign]
    slot = Slot(concurrency, 0.0, 0.0)
    for number in range(queued):
        slot.queue.append((scrapy.Request(f"http://{'h' * 56}.onion/{number}"), Deferred()))
    async def one_pass() -> None:
        downloader._process_queue(slot)  # as Scrapy calls it: inside the running loop
        await asyncio.sleep(0)

    asyncio.run(one_pass())
    return len(slot.transferring), len(slot.queue)


def test_scrapys_downloader_hands_a_host_its_whole_queue_at_once() -> None:
    """The bug: with 10 requests queued for a host limited to 2, all 10 leave the queue in one pass."""
    assert _queue_once(Downloader, queued=10, concurrency=2)[1] == 0


def test_ours_hands_out_only_the_hosts_free_slots() -> None:
    assert _queue_once(HostConcurrencyDownloader, queued=10, concurrency=2) == (2, 8)


def test_scrapys_method_is_the_one_we_copied() -> None:
    """An upgrade that changes Scrapy's _process_queue must be looked at (and this copy with it)."""
    ours = inspect.getsource(HostConcurrencyDownloader._process_queue)
    theirs = inspect.getsource(Downloader._process_queue)
    ours_without_fix = "\n".join(
        line for line in textwrap.dedent(ours).splitlines()
        if "slot.transferring.add(request)" not in line and "The fix:" not in line
    )
    assert ours_without_fix.strip() == textwrap.dedent(theirs).strip()


def test_onionscope_crawls_use_it() -> None:
    assert scrapy_settings(load_settings(environ={}), ["127.0.0.1:9050"])["DOWNLOADER"] == \
        "crawler.downloader.HostConcurrencyDownloader"
