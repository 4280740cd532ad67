"""What one crawl run saw of each host: fetch attempts, answers, failures, pages unchanged, and gaps.

The liveness middleware (:mod:`crawler.middlewares.liveness`) and the spider
note here what happens; at the end of the run the pipelines read it to write
the liveness history (:meth:`RunObservations.checks`), move ``last_seen`` of
pages answered "not modified", and decide which hosts were crawled completely
(:mod:`crawler.freshness.completeness`).

Memory is bounded: at most :data:`MAX_HOSTS` hosts are tracked, and each set
per host has its cap.  A host that overflows a cap is marked so
(:meth:`RunObservations.overflowed`), and it never counts as crawled
completely -- the run cannot vouch for what it stopped recording.

Public API: :class:`RunObservations` (job_id) with ``record_attempt``,
``note_answer``, ``note_failure``, ``note_depth_cut``, ``note_unchanged``,
``note_problem``, ``note_backoff_skip`` and the read side (``checks``,
``hosts``, ``failing_count``, ``uncovered_depth_cuts``, ``unchanged_pages``,
``problems``, ``backoff_skipped``, ``overflowed``).  Thread-unsafe by design:
everything runs on the reactor thread.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Iterable

from config.schema import page_doc_id
from crawler.freshness.liveness import Attempt, HostCheck, HostCheckBuilder
from crawler.urls import canonical_url, onion_host, site_host

MAX_HOSTS = 10_000
MAX_URLS_PER_HOST = 200_000
MAX_DEPTH_CUTS_PER_HOST = 20_000
MAX_UNCHANGED = 200_000


def _digest(url: str) -> bytes:
    return hashlib.blake2b(canonical_url(url).encode("utf-8"), digest_size=8).digest()


class RunObservations:
    """The run's record of each host (see the module docstring)."""

    def __init__(self, job_id: str):
        self.job_id = job_id
        self._checks: dict[str, HostCheckBuilder] = {}
        self._answered: dict[str, set[bytes]] = {}
        self._failing: dict[str, set[bytes]] = {}
        self._depth_cut: dict[str, set[bytes]] = {}
        self._unchanged: dict[str, dict[str, str]] = {}
        self._unchanged_count = 0
        self._problems: dict[str, Counter[str]] = {}
        self._backoff_skipped: set[str] = set()
        self._overflowed: set[str] = set()

    # ------------------------------------------------------------ writing

    def _room(self, table: dict, host: str) -> bool:
        if host in table:
            return True
        if len(table) >= MAX_HOSTS:
            self._overflowed.add(host)
            return False
        return True

    def record_attempt(self, attempt: Attempt) -> None:
        """One fetch attempt that reached the transport (onion hosts only; others are ignored)."""
        if not onion_host("http://" + attempt.host + "/") or not self._room(self._checks, attempt.host):
            return
        builder = self._checks.get(attempt.host)
        if builder is None:
            builder = self._checks[attempt.host] = HostCheckBuilder(attempt.host, self.job_id)
        builder.add(attempt)

    def note_answer(self, url: str) -> None:
        """``url`` answered (any status below 500, a 304 or a page not due included)."""
        host = site_host(url)
        if not host:
            return
        digest = _digest(url)
        failing = self._failing.get(host)
        if failing is not None:
            failing.discard(digest)
        if not self._room(self._answered, host):
            return
        answered = self._answered.setdefault(host, set())
        if len(answered) >= MAX_URLS_PER_HOST:
            self._overflowed.add(host)
            return
        answered.add(digest)

    def note_failure(self, url: str) -> None:
        """The latest attempt of ``url`` failed (an error or a status of 500 or more); an answer clears it."""
        host = site_host(url)
        if not host or not self._room(self._failing, host):
            return
        failing = self._failing.setdefault(host, set())
        if len(failing) >= MAX_URLS_PER_HOST:
            self._overflowed.add(host)
            return
        failing.add(_digest(url))

    def note_depth_cut(self, links: Iterable[str]) -> None:
        """Links not followed because their page was at ``crawl_depth``; each is filed under its own host."""
        for link in links:
            host = site_host(link)
            if not host or not self._room(self._depth_cut, host):
                continue
            cuts = self._depth_cut.setdefault(host, set())
            if len(cuts) >= MAX_DEPTH_CUTS_PER_HOST:
                self._overflowed.add(host)
                continue
            cuts.add(_digest(link))

    def note_unchanged(self, url: str, seen_at: str) -> None:
        """``url`` was answered 304, or not fetched because it is not due: seen, unchanged, at ``seen_at``."""
        host = site_host(url)
        if not host:
            return
        if self._unchanged_count >= MAX_UNCHANGED or not self._room(self._unchanged, host):
            self._overflowed.add(host)
            return
        pages = self._unchanged.setdefault(host, {})
        doc_id = page_doc_id(canonical_url(url))
        if doc_id not in pages:
            self._unchanged_count += 1
        pages[doc_id] = seen_at

    def note_problem(self, url: str, what: str) -> None:
        """Something on ``url`` was not read in full (``what``: ``extraction``...): its host is not complete."""
        host = site_host(url)
        if host:
            self._problems.setdefault(host, Counter())[what] += 1

    def note_backoff_skip(self, host: str) -> None:
        """Requests to ``host`` were not made because it is backing off."""
        self._backoff_skipped.add(host)

    # ------------------------------------------------------------ reading

    def checks(self) -> list[HostCheck]:
        """One :class:`HostCheck` per onion host attempted in this run."""
        return [builder.build() for _, builder in sorted(self._checks.items()) if builder.attempts]

    def hosts(self) -> set[str]:
        """Every host the run answered, failed on, cut links to, or skipped."""
        return set(self._answered) | set(self._failing) | set(self._depth_cut) | self._backoff_skipped

    def answered_count(self, host: str) -> int:
        return len(self._answered.get(host, ()))

    def failing_count(self, host: str) -> int:
        """URLs of ``host`` whose latest attempt failed."""
        return len(self._failing.get(host, ()))

    def uncovered_depth_cuts(self, host: str) -> int:
        """Links to ``host`` cut at the depth limit that the run did not fetch by another path."""
        return len(self._depth_cut.get(host, set()) - self._answered.get(host, set()))

    def unchanged_pages(self, host: str | None = None) -> dict[str, str]:
        """Page document ids seen unchanged -> when (of ``host``, or of every host)."""
        if host is not None:
            return dict(self._unchanged.get(host, {}))
        merged: dict[str, str] = {}
        for pages in self._unchanged.values():
            merged.update(pages)
        return merged

    def problems(self, host: str) -> dict[str, int]:
        return dict(self._problems.get(host, {}))

    def backoff_skipped(self) -> set[str]:
        return set(self._backoff_skipped)

    def overflowed(self, host: str) -> bool:
        return host in self._overflowed
