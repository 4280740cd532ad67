"""The crawl job: what one crawl is -- its id, seeds, start time and options -- made once and handed on.

``onionscope crawl`` makes the job and hands it to the ``onion`` spider
(``crawl_job=``); under ``scrapy crawl`` the spider makes it from its own
arguments and the crawl's settings, with the same factory.  The spider stamps
the job id on every item; the pipelines read the job from the spider
(:func:`job_of`) for the crawl-run record.  The job is frozen: nothing
downstream can change what the crawl was started with.

Public API:

* :class:`CrawlJob` -- ``job_id``, ``seeds``, ``started_at`` (ISO-8601 UTC),
  ``options``; :meth:`CrawlJob.to_doc` -> the fields the crawl-run document stores;
* :class:`CrawlOptions` -- scope switches and the limits the crawl ran under;
* :func:`create_crawl_job` (seeds, job_id=None, ..., settings=None) -> :class:`CrawlJob`,
  the one factory;
* :func:`new_job_id` (name=None) -> ``<name or 'crawl'>-<UTC timestamp>-<random>``;
* :func:`job_of` (spider) -> the spider's :class:`CrawlJob`, or None for a
  spider that carries none;
* :class:`ResumePoint` -- what a resumed job already indexed and still has to
  fetch (``CrawlJob.resume``); :class:`FetchJournal` (var_dir, job_id) -- the
  URLs a job fetched, appended as they come (survives a SIGKILL);
  :func:`read_journal` (var_dir, job_id) -> those URLs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable


def new_job_id(name: str | None = None) -> str:
    """``<name or 'crawl'>-<UTC timestamp>-<random>``: unique per run, sortable by time."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{name or 'crawl'}-{stamp}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class CrawlOptions:
    """How the crawl was told to run.

    The scope switches are the spider's arguments.  The limits come from the
    crawl's settings (``crawl_depth``, ``crawl_max_pages_per_host``,
    ``crawl_max_pages``, ``crawl_concurrency``, ``market_hosts`` as
    ``MARKET=HOST``); they are None (and no hosts) for a job made without
    settings, where the spider applies none of them itself.
    """

    follow_offsite: bool = False
    follow_links: bool = True
    allow_clearnet: bool = False
    depth: int | None = None
    max_pages_per_host: int | None = None
    max_pages: int | None = None
    concurrency: int | None = None
    market_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed job goes on (``onionscope crawl --resume``).

    ``indexed``: canonical URLs of the pages the job already indexed (never
    fetched again); ``frontier``: ``(url, depth)`` still to fetch -- the links
    of those pages and the seeds that are not indexed; ``fetched_before``:
    canonical URLs the job's earlier runs fetched (its :class:`FetchJournal`),
    so the crawl can count the pages it fetches a second time.
    """

    indexed: frozenset[str] = frozenset()
    frontier: tuple[tuple[str, int], ...] = ()
    fetched_before: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CrawlJob:
    """One crawl: made once by :func:`create_crawl_job`, read by the spider and the pipelines."""

    job_id: str
    seeds: tuple[str, ...]
    started_at: str
    options: CrawlOptions = field(default_factory=CrawlOptions)
    # Set when the job goes on after an interruption; None for a fresh crawl.
    resume: ResumePoint | None = None
    # True for a job run by several workers on the shared frontier (crawler.frontier, `crawl --shared`).
    shared: bool = False

    def to_doc(self) -> dict[str, Any]:
        """``job_id``, ``seeds``, ``started_at`` and ``options`` as the crawl-runs mapping stores them."""
        options = dataclasses.asdict(self.options)
        options["market_hosts"] = list(self.options.market_hosts)
        return {"job_id": self.job_id, "seeds": list(self.seeds), "started_at": self.started_at, "options": options}


def create_crawl_job(
    seeds: Iterable[str],
    job_id: str | None = None,
    *,
    follow_offsite: bool = False,
    follow_links: bool = True,
    allow_clearnet: bool = False,
    settings: Any = None,
) -> CrawlJob:
    """The crawl job for ``seeds`` (already validated), started now.

    ``job_id`` defaults to :func:`new_job_id`.  ``settings`` (a
    :class:`config.settings.Settings`) supplies the limits of
    :class:`CrawlOptions`; without it they stay None.  Raises nothing.
    """
    limits: dict[str, Any] = {}
    if settings is not None:
        limits = {
            "depth": settings.crawl_depth,
            "max_pages_per_host": settings.crawl_max_pages_per_host,
            "max_pages": settings.crawl_max_pages,
            "concurrency": settings.crawl_concurrency,
            "market_hosts": tuple(f"{market}={host}" for market, host in settings.market_hosts),
        }
    return CrawlJob(
        job_id=job_id or new_job_id(),
        seeds=tuple(seeds),
        started_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        options=CrawlOptions(follow_offsite=follow_offsite, follow_links=follow_links, allow_clearnet=allow_clearnet,
                             **limits),
    )


def job_of(spider: Any) -> CrawlJob | None:
    """The :class:`CrawlJob` ``spider`` carries (its ``crawl_job``), or None when it carries none."""
    job = getattr(spider, "crawl_job", None)
    return job if isinstance(job, CrawlJob) else None


class FetchJournal:
    """The canonical URLs a job fetched, one per line, appended as they arrive.

    ``<var_dir>/jobs/<digest of the job id>/fetched.txt`` (folder 0700, file
    0600: crawled URLs are sensitive).  Each line is one ``write`` to a file
    opened with O_APPEND, so a SIGKILL loses at most the line being written
    and never tears an earlier one.  A resumed job reads it to count what it
    fetches again.
    """

    def __init__(self, var_dir: str | Path, job_id: str) -> None:
        self.path = journal_path(var_dir, job_id)
        self._fd: int | None = None

    def append(self, url: str) -> None:
        """Add one URL (newlines removed).  Raises OSError when the journal cannot be written."""
        if self._fd is None:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        os.write(self._fd, (url.replace("\n", " ").replace("\r", " ") + "\n").encode("utf-8", "replace"))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def journal_path(var_dir: str | Path, job_id: str) -> Path:
    """Where the :class:`FetchJournal` of ``job_id`` lives (the id is hashed: it may hold any character)."""
    digest = hashlib.sha256(job_id.encode("utf-8")).hexdigest()[:24]
    return Path(var_dir) / "jobs" / digest / "fetched.txt"


def read_journal(var_dir: str | Path, job_id: str) -> frozenset[str]:
    """The URLs in the job's journal (empty when there is none); a torn last line is left out."""
    path = journal_path(var_dir, job_id)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return frozenset()
    lines = data.decode("utf-8", "replace").split("\n")
    return frozenset(line for line in lines[:-1] if line)  # the part after the last newline is torn

