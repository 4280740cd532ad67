"""``onionscope crawl``: crawl onion sites through Tor into Elasticsearch.

Runs the ``onion`` spider in this process with the Scrapy settings from
:func:`crawler.settings.scrapy_settings`, then prints a summary (pages,
items indexed, errors, spooled failures, network guard refusals, URLs out
of scope, page budgets reached, look-alike pages).  Exit status 0 when the
crawl ran and nothing was lost; 1 when items were spooled, nothing could be
fetched, or the network guard (:mod:`crawler.tor.network_guard`) refused a
lookup or a connection -- then stderr says so.  Raises
:class:`config.errors.UserError` for bad or out-of-scope seeds, a bad
``--market-host`` confirmation, indices of an older schema (run ``onionscope
index migrate KIND``), or when neither Tor nor Elasticsearch can be reached
(checked before the crawl starts).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from config.errors import UserError
from config.paths import markets_dir
from config.settings import Settings

if TYPE_CHECKING:
    from crawler.job import CrawlJob


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", action="append", default=[], metavar="URL", help="seed URL (repeatable)")
    parser.add_argument("--seeds-file", metavar="FILE", help="file with one seed URL per line")
    parser.add_argument("--depth", type=int, metavar="N",
                        help="links followed from a seed; 0 fetches only the seeds (default: crawl_depth)")
    parser.add_argument("--job", metavar="NAME", help="crawl job id stored on every document")
    parser.add_argument("--follow-offsite", action="store_true",
                        help="also crawl onion services other than the seeds' (never clearnet or IP hosts)")
    parser.add_argument("--max-pages-per-host", type=int, metavar="N",
                        help="pages fetched from one onion service (default: crawl_max_pages_per_host)")
    parser.add_argument("--max-pages", type=int, metavar="N", help="pages fetched in all (default: crawl_max_pages)")
    parser.add_argument(
        "--dangerously-allow-clearnet", action="store_true",
        help="DANGEROUS: also crawl clearnet (non-onion) sites, through tor exit relays that see the traffic; "
             "IP addresses and local names stay refused",
    )
    parser.add_argument(
        "--market-host", action="append", default=[], metavar="MARKET=HOST",
        help="confirm that onion HOST is market MARKET's (repeatable; adds to market_hosts): its pages are "
             "extracted and indexed as that market's. Without it a page that merely looks like a market is "
             "indexed under its own host",
    )
    parser.add_argument("--no-follow", action="store_true", help="fetch only the seed URLs, follow no link")
    parser.add_argument("--concurrency", type=int, metavar="N", help="requests in flight (default: crawl_concurrency)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--quiet", action="store_true", help="only warnings and errors from Scrapy")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from crawler.job import create_crawl_job
    from crawler.middlewares.crawl_scope import CrawlScope
    from crawler.spiders.onion import parse_seeds

    follow_offsite = bool(args.follow_offsite or settings.follow_offsite)
    try:
        seeds = parse_seeds(args.seed, args.seeds_file)
        # Refuse out-of-scope seeds before anything connects anywhere.
        CrawlScope.for_seeds(seeds, follow_offsite=follow_offsite, allow_clearnet=args.dangerously_allow_clearnet)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    overrides: dict[str, Any] = {}
    if args.depth is not None:
        overrides["crawl_depth"] = args.depth
    if args.concurrency is not None:
        overrides["crawl_concurrency"] = args.concurrency
    if args.max_pages_per_host is not None:
        overrides["crawl_max_pages_per_host"] = args.max_pages_per_host
    if args.max_pages is not None:
        overrides["crawl_max_pages"] = args.max_pages
    if args.market_host:
        overrides["market_hosts"] = [*settings.market_hosts, *args.market_host]
    if overrides:
        settings = settings.replace(**overrides)
    # The one crawl job: the spider and the pipelines receive it, the crawl-run record keeps it.
    job = create_crawl_job(seeds, args.job, follow_offsite=follow_offsite, follow_links=not args.no_follow,
                           allow_clearnet=args.dangerously_allow_clearnet, settings=settings)
    stats = run_crawl(settings, job, quiet=args.quiet)
    summary = summarize(job.job_id, stats)
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(format_summary(summary))
    if summary["network_refused"]:
        from crawler.tor.network_guard import refusal_message

        print(f"error: {refusal_message(summary['network_refused'])}", file=sys.stderr)
        return 1
    lost = summary["items_spooled"] > 0 or summary["items_lost"] > 0
    return 1 if lost or summary["pages"] == 0 else 0


def run_crawl(
    settings: Settings,
    job: CrawlJob,
    quiet: bool = False,
    extra_scrapy_settings: dict[str, Any] | None = None,
    spider_class: type | None = None,
) -> dict[str, Any]:
    """Run the crawl ``job`` to completion in this process; returns Scrapy's final stats.

    The job (:func:`crawler.job.create_crawl_job`) holds the seeds and the
    scope switches; with ``allow_clearnet`` the crawl may fetch clearnet host
    names (through tor), while IP literals and local names stay out of scope.

    ``extra_scrapy_settings`` override the computed Scrapy settings last and
    ``spider_class`` replaces the onion spider (benchmarks use both to compare
    transports).  Scrapy's reactor runs once per
    process, so call this once per process.
    """
    from scrapy.crawler import CrawlerProcess

    from crawler.extractors.market_profiles import MarketProfiles
    from crawler.settings import scrapy_settings
    from crawler.spiders.onion import OnionSpider
    from crawler.tor.endpoints import resolve_tor_endpoints
    from crawler.tor.network_guard import REFUSED_STAT, process_guard
    from pipelines.es_client import ensure_reachable, make_client
    from pipelines.indices import index_status

    # The spider binds these too; a wrong confirmation must stop us here, as one line, not inside Scrapy.
    MarketProfiles.load(markets_dir(settings.config_dir)).bind_hosts(settings.market_hosts)
    endpoints = resolve_tor_endpoints(settings)
    client = make_client(settings)
    try:
        ensure_reachable(client, settings)
        # A strict mapping of an older schema rejects the fields this version writes: every
        # document would be spooled.  Say so now, before anything is fetched.
        stale = [row.kind for row in index_status(client, settings.index_prefix) if row.needs_migration]
    finally:
        client.close()
    if stale:
        raise UserError(
            f"the {', '.join(stale)} indices of prefix {settings.index_prefix!r} have an older schema than this "
            "version writes; migrate them first: "
            + ", ".join(f"`onionscope index migrate {kind}`" for kind in stale)
        )

    endpoints.require_socks()  # raises UserError naming the setting when no SOCKS port is known
    scrapy_values = scrapy_settings(settings, endpoints.socks_strings())
    if quiet:
        scrapy_values["LOG_LEVEL"] = "WARNING"
    scrapy_values.update(extra_scrapy_settings or {})
    process = CrawlerProcess(scrapy_values)
    crawler = process.create_crawler(spider_class or OnionSpider)
    process.crawl(crawler, crawl_job=job)
    process.start()
    stats = dict(crawler.stats.get_stats())
    guard = process_guard()
    if guard.armed:  # refusals after the engine stopped (reactor shutdown) count too
        stats[REFUSED_STAT] = max(int(stats.get(REFUSED_STAT, 0)), guard.refused)
    return stats


def summarize(job_id: str, stats: dict[str, Any]) -> dict[str, Any]:
    """The figures an investigator wants after a crawl, from Scrapy's stats."""
    errors = {key.rsplit("/", 1)[1]: value for key, value in stats.items() if key.startswith("tor/socks_error/")}
    return {
        "job_id": job_id,
        "pages": int(stats.get("onionscope/pages", stats.get("response_received_count", 0))),
        "requests": int(stats.get("downloader/request_count", 0)),
        "items_indexed": _total(stats, "elasticsearch/indexed/"),
        "indexed_by_kind": {key.rsplit("/", 1)[1]: value for key, value in stats.items()
                            if key.startswith("elasticsearch/indexed/")},
        "items_spooled": int(stats.get("elasticsearch/spooled", 0)),
        # Items neither indexed nor spooled (the spool itself failed at close); logged as critical.
        "items_lost": int(stats.get("elasticsearch/lost", 0)),
        "items_dropped_invalid": _total(stats, "validate/dropped/"),
        # Media links the spider never followed, plus requests and bodies the guard stopped.
        "media_blocked": _total(stats, "media_guard/") + int(stats.get("onionscope/media_links_skipped", 0)),
        "profile_drift": _total(stats, "extract/drift/"),
        # Pages carrying a market's site marker on a host that is not the market's (indexed under their host).
        "look_alike_pages": _total(stats, "extract/looks_like/"),
        "socks_errors": errors,
        "dns_lookups_refused": int(stats.get("tor/dns_lookups_refused", 0)),
        # Lookups and connections outside tor and Elasticsearch that the network guard stopped.
        "network_refused": int(stats.get("network_guard/refused", 0)),
        "response_headers_too_large": int(stats.get("tor/headers_too_large", 0)),
        # URLs not fetched because they were outside the crawl scope, by reason.
        "out_of_scope": {key.rsplit("/", 1)[1]: int(value) for key, value in stats.items()
                         if key.startswith("scope/refused/")},
        "out_of_scope_redirects": int(stats.get("scope/refused_redirects", 0)),
        "page_budget": {
            "hosts_at_limit": int(stats.get("budget/hosts_exhausted", 0)),
            "requests_refused_host_limit": int(stats.get("budget/refused/host", 0)),
            "job_limit_reached": bool(stats.get("budget/job_exhausted", 0)),
            "requests_refused_job_limit": int(stats.get("budget/refused/job", 0)),
        },
        "elapsed_seconds": round(float(stats.get("elapsed_time_seconds", 0.0)), 2),
    }


def _total(stats: dict[str, Any], prefix: str) -> int:
    return sum(int(value) for key, value in stats.items() if key.startswith(prefix))


def format_summary(summary: dict[str, Any]) -> str:
    lines = [
        f"crawl {summary['job_id']}: {summary['pages']} pages in {summary['elapsed_seconds']} s",
        f"  indexed {summary['items_indexed']} documents "
        f"({', '.join(f'{n} {k}' for k, n in sorted(summary['indexed_by_kind'].items())) or 'none'}); "
        f"spooled {summary['items_spooled']}; "
        f"dropped as invalid {summary['items_dropped_invalid']}",
        f"  media never fetched: {summary['media_blocked']} media links and responses blocked",
    ]
    if summary["profile_drift"]:
        lines.append(f"  market profile drift: {summary['profile_drift']} fields matched nothing (see the log)")
    if summary["look_alike_pages"]:
        lines.append(f"  {summary['look_alike_pages']} pages look like a profiled market on a host that is not its own; "
                     "indexed under their own host (see the log; confirm a real one with --market-host MARKET=HOST)")
    if summary["socks_errors"]:
        lines.append("  Tor errors: " + ", ".join(f"{k}={v}" for k, v in sorted(summary["socks_errors"].items())))
    if summary["network_refused"]:
        lines.append(f"  NETWORK GUARD: refused {summary['network_refused']} lookup(s)/connection(s) outside tor "
                     "and Elasticsearch; the crawl was stopped (see the log)")
    if summary["response_headers_too_large"]:
        lines.append(f"  responses refused for oversized headers: {summary['response_headers_too_large']}")
    if summary["out_of_scope"]:
        lines.append(
            f"  out of scope, not fetched: {sum(summary['out_of_scope'].values())} URLs ("
            + ", ".join(f"{k}={v}" for k, v in sorted(summary["out_of_scope"].items()))
            + f"; {summary['out_of_scope_redirects']} of them redirects)"
        )
    budget = summary["page_budget"]
    if budget["hosts_at_limit"]:
        lines.append(f"  page budget: {budget['hosts_at_limit']} hosts reached crawl_max_pages_per_host "
                     f"({budget['requests_refused_host_limit']} requests not made)")
    if budget["job_limit_reached"]:
        lines.append(f"  page budget: the crawl reached crawl_max_pages "
                     f"({budget['requests_refused_job_limit']} requests not made)")
    if summary["items_lost"]:
        lines.append(f"  LOST: {summary['items_lost']} documents could be neither indexed nor spooled (see the log)")
    if summary["items_spooled"]:
        lines.append("  some documents could not be indexed; run `onionscope index replay-spool` once Elasticsearch is healthy")
    return "\n".join(lines)
