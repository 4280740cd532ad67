"""The progress line of an interactive crawl: pages, items, errors, rate and elapsed time, redrawn in place.

A Scrapy extension that :func:`onionscope.commands.crawl.run_crawl` adds when
the crawl is interactive (``onionscope crawl`` on a terminal, or
``--progress``).  Twice a second it reads the crawl's stats and redraws one
line on stderr with tqdm, for example::

    crawl: 412 pages [00:31, 13.2 pages/s], items=96 errors=3

``items`` are the listings and vendors found, ``errors`` every error by type
(:func:`pipelines.job_runs.errors_by_type`: Tor failures, download errors,
HTTP 4xx/5xx, ...).  The line shows numbers only, never crawled text.

Public API: :class:`CrawlProgress` (stats, stream, interval); :func:`progress_figures`
(stats) -> dict; :data:`EXTENSION_PATH`.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from pipelines.job_runs import errors_by_type

EXTENSION_PATH = "onionscope.progress.CrawlProgress"


def progress_figures(stats: dict[str, Any]) -> dict[str, int]:
    """``pages`` fetched, ``items`` (listings and vendors) found, ``errors`` so far."""
    def number(value: Any) -> int:
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0

    return {
        "pages": number(stats.get("onionscope/pages", 0)),
        "items": sum(number(value) for key, value in stats.items()
                     if key.startswith(("extract/listings/", "extract/vendors/"))),
        "errors": sum(errors_by_type(stats).values()),
    }


class CrawlProgress:
    """Redraws the progress line every ``interval`` seconds while the spider runs, and once at the end."""

    def __init__(self, stats: Any, stream: TextIO | None = None, interval: float = 0.5):
        self.stats = stats
        self.stream = stream or sys.stderr
        self.interval = interval
        self._bar: Any = None
        self._loop: Any = None
        self._shown = 0

    @classmethod
    def from_crawler(cls, crawler: Any) -> "CrawlProgress":
        from scrapy import signals

        extension = cls(crawler.stats)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Any = None) -> None:
        from twisted.internet import task

        self.start()
        self._loop = task.LoopingCall(self.update)
        self._loop.start(self.interval, now=False)

    def spider_closed(self, spider: Any = None, reason: str | None = None) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self.close()

    def start(self) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=None, desc="crawl", unit=" pages", file=self.stream, dynamic_ncols=True,
                         bar_format="{desc}: {n_fmt}{unit} [{elapsed}, {rate_fmt}]{postfix}", mininterval=0)
        self._shown = 0

    def update(self) -> None:
        """Read the stats and redraw the line."""
        if self._bar is None:
            return
        figures = progress_figures(dict(self.stats.get_stats()))
        self._bar.set_postfix_str(f"items={figures['items']} errors={figures['errors']}", refresh=False)
        step = figures["pages"] - self._shown
        self._shown = figures["pages"]
        if step > 0:
            self._bar.update(step)
        else:
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self.update()
            self._bar.close()
            self._bar = None
