"""Extraction under a per-page time budget, in a worker process that is killed when a page runs over.

The crawl's extraction used to run in the spider callback, on the reactor
thread: while one page was being read nothing was downloaded, and a hostile
page could stall the whole crawl.  Here it runs in one worker process (a
pebble ``ProcessPool``); the reactor only waits for the answer.  A page whose
extraction takes longer than the budget has its worker killed and restarted,
and is then read again for its basics only (title, text, links: see
:func:`crawler.extractors.document.plain_document`), under the same budget.

Public API:

* :class:`BudgetedExtractor` ``(budget_seconds, load_profiles)`` --
  :meth:`~BudgetedExtractor.extract` and :meth:`~BudgetedExtractor.plain`
  return a :class:`concurrent.futures.Future` of an
  :class:`~crawler.extractors.document.ExtractedDocument`; the future raises
  :class:`TimeoutError` when the page ran over the budget, and
  :class:`pebble.ProcessExpired` when the worker died (a crash or the
  kernel's OOM killer) -- both mean "index this page plainly".
  :meth:`~BudgetedExtractor.start` starts the worker ahead of the first page;
  :meth:`~BudgetedExtractor.close` stops it.

Cost: the page's bytes go to the worker and the extracted document comes back
pickled, about 0.25 ms per ordinary page on top of the extraction itself
(``bench.extraction`` prints the figure); the worker starts in about two
seconds (imports and the language model) when the crawl starts and after
each kill.  The worker is a fresh interpreter (multiprocessing's ``spawn``),
not a fork of the crawl process, whose threads a fork would copy in a broken
state; pipes connect the two, no socket.  As with any spawned process, the
worker imports the program's main module again (as ``__mp_main__``), so a
script that starts a crawl keeps its work under ``if __name__ ==
"__main__":`` (onionscope's commands, ``scrapy`` and the benchmarks do).  One worker keeps pages in the
order they arrive, so a market that a page's marker bound to its host stays
bound for the host's later pages, as when extraction ran in the crawl process
(a kill forgets the worker's bindings).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from concurrent.futures import Future
from typing import Any, Callable

from pebble import ProcessPool

from crawler.extractors.document import ExtractedDocument, extract_document, plain_document
from crawler.extractors.identifiers import Identifiers
from crawler.extractors.market_profiles import MarketProfiles

# The worker's profiles and reference tables (lexicon, countries), loaded once per worker
# process by _start_worker.
_profiles: MarketProfiles | None = None
_tables: dict[str, Any] = {}


def _start_worker(load_profiles: Callable[[], MarketProfiles] | None,
                  load_tables: Callable[[], dict[str, Any]] | None = None) -> None:
    """Load the market profiles and reference tables and warm the language model, outside any page's budget."""
    global _profiles, _tables
    from crawler.extractors.language import detect_language

    _profiles = load_profiles() if load_profiles is not None else None
    _tables = load_tables() if load_tables is not None else {}
    detect_language("warm the language model up before the first page is timed")


def _extract(html: bytes, url: str, arguments: dict[str, Any]) -> ExtractedDocument:
    document = extract_document(html, url, profiles=_profiles, **_tables, **arguments)
    # The spider reads the items, stats and problems; the raw hits (every match with
    # its context) would only make the answer slower to send back.
    return dataclasses.replace(document, identifiers=Identifiers())


def _ready() -> bool:
    return True


def _plain(html: bytes, url: str, arguments: dict[str, Any]) -> ExtractedDocument:
    return plain_document(html, url, **arguments)


class BudgetedExtractor:
    """Runs :func:`extract_document` for the crawl in a worker process, ``budget_seconds`` per page.

    ``load_profiles`` returns the market profiles the worker extracts with,
    exactly as the crawl process holds them (loaded from a folder, hosts bound);
    it is sent to the worker, so it must pickle: a module-level function, or a
    ``functools.partial`` of one such as ``partial(MarketProfiles.load,
    folder)``.  None: no profiles.  ``load_tables``, pickled the same way,
    returns further keyword arguments of :func:`extract_document` that stay the
    same for every page (the substance lexicon and country table of the
    crawl's ``config_dir``); None: the defaults.  The worker starts with the
    first page; raises ``ValueError`` for a budget that is not positive.
    """

    def __init__(self, budget_seconds: float, load_profiles: Callable[[], MarketProfiles] | None,
                 load_tables: Callable[[], dict[str, Any]] | None = None):
        if budget_seconds <= 0:
            raise ValueError(f"the extraction budget must be positive, got {budget_seconds}")
        self.budget_seconds = budget_seconds
        self.load_profiles = load_profiles
        self.load_tables = load_tables
        self._pool: ProcessPool | None = None

    def _started_pool(self) -> ProcessPool:
        if self._pool is None:
            # A fresh interpreter: a fork would copy the crawl process's threads in a broken
            # state, and a fork server would be one more socket for the network guard to see.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPool(
                max_workers=1, initializer=_start_worker, initargs=(self.load_profiles, self.load_tables),
                context=context
            )
        return self._pool

    def start(self) -> "Future[bool]":
        """Start the worker now (the crawl calls this when the spider opens, so that the
        worker boots while the first pages download); the future is done when it is ready."""
        return self._started_pool().schedule(_ready)

    def extract(self, html: bytes, url: str, **arguments: Any) -> "Future[ExtractedDocument]":
        """The full extraction of one page (keyword arguments as for :func:`extract_document`).

        The document comes back without its raw identifier hits
        (``identifiers``); its items, stats and problems are complete.
        """
        return self._started_pool().schedule(_extract, args=(html, url, arguments), timeout=self.budget_seconds)

    def plain(self, html: bytes, url: str, **arguments: Any) -> "Future[ExtractedDocument]":
        """The page basics only (:func:`plain_document`), under the same budget."""
        return self._started_pool().schedule(_plain, args=(html, url, arguments), timeout=self.budget_seconds)

    def close(self) -> None:
        """Stop the worker (a page still running is abandoned); safe to call twice."""
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None
