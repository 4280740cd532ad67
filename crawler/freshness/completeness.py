"""When a run crawled a host completely -- the condition for marking its missing listings removed.

A listing missing from a market is marked removed only after a run that saw
the whole market.  :func:`incomplete_reason` says why a run does *not*
vouch for a host; a host is crawled completely when it returns None, which
needs every one of these:

1. the run finished normally (Scrapy's finish reason ``finished``: not
   stopped by SIGTERM, Ctrl-C, a time cap or an error);
2. the run followed links (not ``--no-follow``);
3. no page budget was reached: neither the crawl's (``budget/job_exhausted``)
   nor the host's (``budget/host_exhausted/<host>``);
4. nothing was lost on the way to the index: no document failed, was
   spooled or lost, no listing was dropped as invalid, and the network guard
   refused nothing;
5. no login or CAPTCHA page stood where content was expected (``login/needed/...``)
   and the spider raised on no page (``spider_exceptions/...``);
6. the host was not skipped for backing off, and answered at least one page;
7. no page of the host ended in failure: every URL whose attempt failed (an
   error, a timeout, a SOCKS error, a status of 500 or more) was answered on
   a later attempt;
8. every link to the host that was not followed because its page sat at
   ``crawl_depth`` was fetched by another path in the same run;
9. every page of the host was read in full (no extraction ran over its
   budget or failed), and the run's record of the host did not overflow.

Public API: :func:`incomplete_reason` (host, observations, finish_reason,
stats, follow_links) -> str or None; :func:`completeness` (...) -> {host:
reason or None} for every host the run touched.  Pure.
"""

from __future__ import annotations

from typing import Any, Mapping

from crawler.freshness.observations import RunObservations

# validate/dropped/<code> codes that drop listings (a dropped listing keeps its old last_seen).
LISTING_DROP_CODES = ("missing_market_or_listing_id", "listing_id_too_long", "bad_url", "missing_title",
                      "bad_price_amount", "bad_rating", "bad_crypto_prices", "unknown_item")


def _count(stats: Mapping[str, Any], key: str) -> int:
    value = stats.get(key, 0)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _run_reason(finish_reason: str | None, stats: Mapping[str, Any], follow_links: bool) -> str | None:
    if finish_reason != "finished":
        return f"the run did not finish normally ({finish_reason or 'unknown'})"
    if not follow_links:
        return "the run followed no links"
    if _count(stats, "budget/job_exhausted"):
        return "the crawl's page budget (crawl_max_pages) was reached"
    for key in ("elasticsearch/failed", "elasticsearch/spooled", "elasticsearch/lost"):
        if _count(stats, key):
            return f"documents were not indexed ({key.rsplit('/', 1)[1]})"
    if any(_count(stats, f"validate/dropped/{code}") for code in LISTING_DROP_CODES):
        return "listings were dropped as invalid"
    if _count(stats, "network_guard/refused"):
        return "the network guard refused a connection"
    if any(key.startswith("login/needed/") and _count(stats, key) for key in stats):
        return "a login page stood where content was expected"
    if any(key.startswith("spider_exceptions/") and _count(stats, key) for key in stats):
        return "the spider failed on a page"
    return None


def incomplete_reason(
    host: str, observations: RunObservations, finish_reason: str | None, stats: Mapping[str, Any],
    follow_links: bool = True,
) -> str | None:
    """Why the run did not crawl ``host`` completely, or None when it did (the rules in the module docstring)."""
    run_reason = _run_reason(finish_reason, stats, follow_links)
    if run_reason is not None:
        return run_reason
    if _count(stats, f"budget/host_exhausted/{host}"):
        return "the host's page budget (crawl_max_pages_per_host) was reached"
    if host in observations.backoff_skipped():
        return "the host was skipped while backing off"
    if not observations.answered_count(host):
        return "no page of the host answered"
    failing = observations.failing_count(host)
    if failing:
        return f"{failing} pages of the host could not be fetched"
    cut = observations.uncovered_depth_cuts(host)
    if cut:
        return f"{cut} links of the host lay beyond crawl_depth"
    problems = observations.problems(host)
    if problems:
        return "pages were not read in full (" + ", ".join(f"{k}: {v}" for k, v in sorted(problems.items())) + ")"
    if observations.overflowed(host):
        return "the run's record of the host overflowed its caps"
    return None


def completeness(
    observations: RunObservations, finish_reason: str | None, stats: Mapping[str, Any], follow_links: bool = True,
) -> dict[str, str | None]:
    """Every host the run touched -> why it was not crawled completely, or None when it was."""
    return {host: incomplete_reason(host, observations, finish_reason, stats, follow_links)
            for host in sorted(observations.hosts())}
