"""Extraction under a per-page time budget, in a pool of worker processes; a page that runs over has its worker killed.

The crawl's extraction used to run in the spider callback, on the reactor
thread: while one page was being read nothing was downloaded, and a hostile
page could stall the whole crawl.  Here it runs in a pool of worker processes
(a pebble ``ProcessPool`` of ``workers`` processes, the ``extraction_workers``
setting: by default one per CPU, at most four, :func:`extraction_worker_count`);
the reactor only waits for the answer, and several pages are read at once on
a machine with several cores.  A page whose extraction takes longer than the
budget has its worker killed and restarted (the other workers go on), and is
then read again for its basics only (title, text, links: see
:func:`crawler.extractors.document.plain_document`), under the same budget.

Public API:

* :func:`extraction_worker_count` ``(setting)`` -> the number of worker processes
  for the ``extraction_workers`` setting (0: one per CPU this process may use, at most 4);
* :func:`load_bound_profiles` ``(markets_dir, market_hosts)`` and
  :func:`load_reference_tables` ``(config_dir)`` -- what a worker loads at its start,
  handed to it with :func:`functools.partial`.  They live here, not in the spider's
  module, so that a worker unpickling them imports no Scrapy, Twisted or Tor transport
  (about half a second of CPU per worker start and restart);
* :class:`BudgetedExtractor` ``(budget_seconds, load_profiles, load_tables, workers=1)`` --
  :meth:`~BudgetedExtractor.extract` and :meth:`~BudgetedExtractor.plain`
  return a :class:`concurrent.futures.Future` of an
  :class:`~crawler.extractors.document.ExtractedDocument`; the future raises
  :class:`TimeoutError` when the page ran over the budget, and
  :class:`pebble.ProcessExpired` when the worker died (a crash or the
  kernel's OOM killer) -- both mean "index this page plainly".
  :meth:`~BudgetedExtractor.start` starts the workers ahead of the first page;
  :meth:`~BudgetedExtractor.close` stops them.  A pool that pebble gave up
  (a worker died outside any page: ``BrokenProcessPool``, "All workers
  expired") is replaced by a new one at the next page (counted in
  ``pool_restarts``), so one such death costs at most the pages queued at
  that moment, never the rest of the crawl.

Cost: the page's bytes go to a worker and the extracted document comes back
pickled, about 0.25 ms per ordinary page on top of the extraction itself
(``bench.extraction`` prints the figure); a worker starts in about two
seconds (imports and the language model) when the crawl starts and after
each kill, and holds its own copy of the profiles, tables and language model
(``bench.crawl`` prints the workers' peak RSS).  A worker is a fresh
interpreter (multiprocessing's ``spawn``), not a fork of the crawl process,
whose threads a fork would copy in a broken state; pipes connect the
processes, no socket.  As with any spawned process, a worker imports the
program's main module again (as ``__mp_main__``), so a script that starts a
crawl keeps its work under ``if __name__ == "__main__":`` (onionscope's
commands, ``scrapy`` and the benchmarks do).

Which worker reads a page does not matter: the extraction of a page depends
on that page and on what every worker loads at its start alone (the market
profiles with the hosts the operator confirmed, the reference tables).  A
site marker never binds a host to a market
(:meth:`crawler.extractors.market_profiles.MarketProfiles.looks_like`), and
what the crawl remembers across pages (the look-alike hosts it warned about)
lives in the crawl process, so pages may be read in any order, by any worker,
and a worker killed and restarted forgets nothing that matters.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable

from pebble import ProcessPool

from crawler.extractors.document import ExtractedDocument, extract_document, plain_document
from crawler.extractors.identifiers import Identifiers
from crawler.extractors.market_profiles import MarketProfiles

logger = logging.getLogger(__name__)

# The worker's profiles and reference tables (lexicon, countries), loaded once per worker
# process by _start_worker.
_profiles: MarketProfiles | None = None
_tables: dict[str, Any] = {}


# The default pool size (extraction_workers 0): one worker per CPU, but no more than this.
MAX_DEFAULT_WORKERS = 4


def extraction_worker_count(setting: int) -> int:
    """The number of extraction worker processes for the ``extraction_workers`` setting.

    ``setting`` itself when positive; 0: one per CPU this process may run on,
    at most :data:`MAX_DEFAULT_WORKERS`.  Raises ValueError for a negative
    setting.
    """
    if setting < 0:
        raise ValueError(f"extraction_workers must be 0 (one per CPU) or more, got {setting}")
    if setting:
        return setting
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_WORKERS))


def load_reference_tables(config_dir: str | Path | None) -> dict[str, Any]:
    """The substance lexicon and the country table of ``config_dir`` (None: the config package's).

    Returns ``{"lexicon": ..., "countries": ...}``, the keyword arguments
    :func:`extract_document` takes for them.  Module-level, so the budget worker
    can be handed it and load the same tables as the spider.  Raises UserError
    for a missing or malformed file.
    """
    from config import paths
    from crawler.extractors.countries import load_country_table
    from crawler.extractors.substances import default_lexicon

    return {
        "lexicon": default_lexicon(config_dir),
        "countries": load_country_table(paths.countries_file(config_dir)),
    }


def load_bound_profiles(markets_dir: str, market_hosts: tuple[tuple[str, str], ...]) -> MarketProfiles:
    """The market profiles in ``markets_dir`` with the operator's confirmed hosts bound.

    Module-level, so the budget worker process can be handed it (with
    :func:`functools.partial`) and load the very profiles the spider uses.
    Raises what :meth:`MarketProfiles.bind_hosts` raises for a wrong confirmation.
    """
    profiles = MarketProfiles.load(markets_dir)
    profiles.bind_hosts(market_hosts)
    return profiles


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
    """Runs :func:`extract_document` for the crawl in ``workers`` worker processes, ``budget_seconds`` per page.

    ``load_profiles`` returns the market profiles the worker extracts with,
    exactly as the crawl process holds them (loaded from a folder, hosts bound);
    it is sent to the worker, so it must pickle: a module-level function, or a
    ``functools.partial`` of one such as ``partial(MarketProfiles.load,
    folder)``.  None: no profiles.  ``load_tables``, pickled the same way,
    returns further keyword arguments of :func:`extract_document` that stay the
    same for every page (the substance lexicon and country table of the
    crawl's ``config_dir``); None: the defaults.  The workers start with
    :meth:`start` or the first page; a page goes to whichever worker is free.
    Raises ``ValueError`` for a budget that is not positive or fewer than one worker.
    """

    def __init__(self, budget_seconds: float, load_profiles: Callable[[], MarketProfiles] | None,
                 load_tables: Callable[[], dict[str, Any]] | None = None, workers: int = 1):
        if budget_seconds <= 0:
            raise ValueError(f"the extraction budget must be positive, got {budget_seconds}")
        if workers < 1:
            raise ValueError(f"the extraction needs at least one worker process, got {workers}")
        self.budget_seconds = budget_seconds
        self.workers = workers
        # Pools started again after pebble gave one up (see _started_pool).
        self.pool_restarts = 0
        self.load_profiles = load_profiles
        self.load_tables = load_tables
        self._pool: ProcessPool | None = None

    def _started_pool(self) -> ProcessPool:
        if self._pool is not None and not self._pool.active:
            # pebble gives a whole pool up ("All workers expired") when a worker dies while it
            # runs no acknowledged task: an idle worker killed from outside (the OOM killer), or a
            # death it cannot pin on a page.  Every later page would then fail; a new pool instead.
            logger.warning("the extraction worker pool stopped (a worker died outside any page); starting a new one")
            self.pool_restarts += 1
            self._discard_pool()
        if self._pool is None:
            # A fresh interpreter: a fork would copy the crawl process's threads in a broken
            # state, and a fork server would be one more socket for the network guard to see.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPool(
                max_workers=self.workers, initializer=_start_worker, initargs=(self.load_profiles, self.load_tables),
                context=context
            )
        return self._pool

    def start(self) -> "Future[bool]":
        """Start the workers now (the crawl calls this when the spider opens, so that they
        boot while the first pages download); the future is done when one of them is ready."""
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

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None

    def close(self) -> None:
        """Stop the workers (pages still running are abandoned); safe to call twice."""
        self._discard_pool()
