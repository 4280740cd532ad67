"""Scrapy's downloader with the per-host concurrency enforced again.

In Scrapy 2.19 with the asyncio reactor, ``Downloader._process_queue`` pops requests from a
host's slot while ``slot.free_transfer_slots()`` is positive, and schedules each download as an
asyncio task; the request is counted as transferring only when that task starts.  So one pass
pops the whole queue: a host got every queued request at once (the fault tests saw 25 requests
reach one onion service within 40 ms with ``crawl_concurrency_per_host`` 2), and only the total
``CONCURRENT_REQUESTS`` held.  For onion services, which one tor circuit carries and which
often run on small machines, the per-host limit is what keeps a crawl polite and its circuits
usable.

Public API: :class:`HostConcurrencyDownloader` (Scrapy setting ``DOWNLOADER``) -- the same
method with one line added: a popped request is marked as transferring before its task is
scheduled (``_download`` adds it again, a no-op, and removes it when it ends).
tests/unit/test_downloader.py checks that Scrapy's own method is still the one this copies.
"""

from __future__ import annotations

from time import monotonic

from scrapy.core.downloader import Downloader, Slot
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro

PATH = "crawler.downloader.HostConcurrencyDownloader"


class HostConcurrencyDownloader(Downloader):
    """See the module docstring."""

    def _process_queue(self, slot: Slot) -> None:
        if slot.latercall:
            # block processing until slot.latercall is called
            return

        # Delay queue processing if a download_delay is configured
        now = monotonic()
        delay = slot.download_delay()
        if delay:
            penalty = delay - now + slot.lastseen
            if penalty > 0:
                slot.latercall = call_later(penalty, self._latercall, slot)
                return

        # Process enqueued requests if there are free slots to transfer for this slot
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = now
            request, queue_dfd = slot.queue.popleft()
            # The fix: counted at once, not when its task starts, so the loop stops at the limit.
            slot.transferring.add(request)
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))
            # prevent burst if inter-request delays were configured
            if delay:
                self._process_queue(slot)
                break
