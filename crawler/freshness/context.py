"""A crawl's freshness context: what it was told about stored pages and hosts, its policies, and what it saw.

The spider carries one :class:`FreshnessContext` (``spider.freshness``).
When the crawl opens, the indexing pipeline loads what is stored into it
(:meth:`FreshnessContext.load`: the validators and change dates of the seed
hosts' pages that could be skipped or asked conditionally, and the seed
hosts' recent liveness checks), and a callable that reads a stored page's
links.  The middlewares read it (:mod:`crawler.middlewares.liveness`,
:mod:`crawler.middlewares.conditional_requests`), the spider and the
middlewares write the run's observations into it, and the pipelines read
those when the run ends.  A crawl without Elasticsearch (tests, benchmarks)
has an empty context: no host backs off, nothing is skipped or asked
conditionally.

Public API: :class:`FreshnessContext` (job_id, recrawl=..., backoff=...) --
:meth:`~FreshnessContext.load`, :meth:`~FreshnessContext.stored_page`,
:meth:`~FreshnessContext.backoff_for`, :meth:`~FreshnessContext.links_of`,
``observations`` (:class:`~crawler.freshness.observations.RunObservations`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Iterable, Mapping

from crawler.freshness.liveness import Backoff, BackoffPolicy, CheckSummary, backoff_state
from crawler.freshness.observations import RunObservations
from crawler.freshness.recrawl import RecrawlPolicy, StoredPage
from crawler.urls import canonical_url


class FreshnessContext:
    """See the module docstring."""

    def __init__(self, job_id: str, *, recrawl: RecrawlPolicy | None = None, backoff: BackoffPolicy | None = None,
                 seeds: Iterable[str] = ()):
        self.recrawl = recrawl or RecrawlPolicy()
        self.backoff = backoff or BackoffPolicy()
        self.observations = RunObservations(job_id)
        self.seeds = frozenset(canonical_url(seed) for seed in seeds)
        self._pages: dict[str, StoredPage] = {}
        self._histories: dict[str, tuple[CheckSummary, ...]] = {}
        self._links_of: Callable[[str], list[str]] | None = None
        self._backoffs: dict[str, Backoff] = {}
        self.loaded = False

    def load(self, pages: Iterable[StoredPage], histories: Mapping[str, Iterable[CheckSummary]],
             links_of: Callable[[str], list[str]] | None = None) -> None:
        """Take what is stored: pages (by canonical URL), each host's checks, and how to read a page's links.

        ``links_of`` (canonical URL -> the links stored for it) may block;
        the spider calls it in a worker thread.
        """
        self._pages = {page.canonical_url: page for page in pages}
        self._histories = {host: tuple(checks) for host, checks in histories.items()}
        self._links_of = links_of
        self._backoffs.clear()
        self.loaded = True

    @property
    def stored_page_count(self) -> int:
        return len(self._pages)

    def stored_page(self, url: str) -> StoredPage | None:
        """What is stored about ``url`` (any spelling of it), or None."""
        return self._pages.get(canonical_url(url))

    def is_seed(self, url: str) -> bool:
        return canonical_url(url) in self.seeds

    def history(self, host: str) -> tuple[CheckSummary, ...]:
        return self._histories.get(host, ())

    def backoff_for(self, host: str, now: datetime | None = None) -> Backoff:
        """Where ``host`` stands by its stored checks (worked out once per crawl; the run's own checks do not count)."""
        found = self._backoffs.get(host)
        if found is None:
            found = self._backoffs[host] = backoff_state(
                self._histories.get(host, ()), now or datetime.now(timezone.utc), self.backoff)
        return found

    def links_of(self, url: str) -> list[str]:
        """The links stored for ``url``'s page (blocking; empty without a store or a page)."""
        if self._links_of is None:
            return []
        return list(self._links_of(canonical_url(url)))
