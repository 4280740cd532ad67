"""``onionscope crawl``: crawl onion sites through Tor into Elasticsearch.

Runs the ``onion`` spider in this process with the Scrapy settings from
:func:`crawler.settings.scrapy_settings`, then prints a summary (pages,
items indexed, errors, spooled failures, network guard refusals, URLs out
of scope, page budgets reached, look-alike pages, sites that need a fresh
login session; for ``--resume``, the pages already indexed and the pages
fetched a second time).  ``--resume --job NAME`` goes on with an interrupted
job (:mod:`pipelines.job_resume`).  ``--job NAME --shared`` starts the job on the
shared frontier in Redis, or joins it while it runs (:mod:`crawler.frontier`):
seeds are needed only to start it, the job's limits are the first worker's, and a
worker that fetched nothing (its peers took every request) still exits 0; Redis out
of reach is a UserError naming it.  Exit status 0 when the crawl ran and
nothing was lost; 1 when items stay in the spool (what the crawl spooled and
could write back at its end does not count), the spool could not be written
(the crawl is then stopped early), or the network guard
(:mod:`crawler.tor.network_guard`) refused a lookup or a connection -- then
stderr says so; :data:`EXIT_NEEDS_LOGIN` (3) when, with nothing lost, a site
answered with a login or CAPTCHA page where content was expected (stderr names
the sites: export a fresh session from Tor Browser, ``--session FILE``); 1 when
nothing could be fetched at all.  ``--discover POLICY`` (or the ``discover``
setting): with ``probe`` or ``crawl`` the new onions the crawl queued are
then probed or crawled (:mod:`onionscope.discovery_followup`; the JSON
summary's ``discovery``).  Then the watchlists run over what the crawl
indexed and new matches become alerts, delivered to the webhook by a child
process when one is set (:mod:`onionscope.alerting`; the summary's ``alerts``;
a failure there is reported, the exit status stays the crawl's).  ``--session FILE`` (or the ``sessions_file``
setting) gives the login sessions (:mod:`crawler.sessions`); a bad file is a
UserError naming its line.  Raises
:class:`config.errors.UserError` for bad or out-of-scope seeds, a bad
``--market-host`` confirmation, a bad blocklist file, indices of an older schema (run ``onionscope
index migrate KIND``), or when neither Tor nor Elasticsearch can be reached
(checked before the crawl starts).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import TYPE_CHECKING, Any

from config.errors import UserError
from config.paths import markets_dir
from config.settings import Settings
from config.i18n import _

if TYPE_CHECKING:
    from crawler.job import CrawlJob

# A site needs a fresh login session (and nothing was lost): distinct, so a scheduler can tell.
EXIT_NEEDS_LOGIN = 3


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", action="append", default=[], metavar="URL", help=_("seed URL (repeatable)"))
    parser.add_argument("--seeds-file", metavar="FILE", help=_("file with one seed URL per line"))
    parser.add_argument("--depth", type=int, metavar="N",
                        help=_("links followed from a seed; 0 fetches only the seeds (default: crawl_depth)"))
    parser.add_argument("--job", metavar="NAME", help=_("crawl job id stored on every document"))
    parser.add_argument("--follow-offsite", action="store_true",
                        help=_("also crawl onion services other than the seeds' (never clearnet or IP hosts)"))
    parser.add_argument("--max-pages-per-host", type=int, metavar="N",
                        help=_("pages fetched from one onion service (default: crawl_max_pages_per_host)"))
    parser.add_argument("--max-pages", type=int, metavar="N", help=_("pages fetched in all (default: crawl_max_pages)"))
    parser.add_argument(
        "--dangerously-allow-clearnet", action="store_true",
        help=_("DANGEROUS: also crawl clearnet (non-onion) sites, through tor exit relays that see the traffic; "
             "IP addresses and local names stay refused"),
    )
    parser.add_argument(
        "--market-host", action="append", default=[], metavar="MARKET=HOST",
        help=_("confirm that onion HOST is market MARKET's (repeatable; adds to market_hosts): its pages are "
             "extracted and indexed as that market's. Without it a page that merely looks like a market is "
             "indexed under its own host"),
    )
    parser.add_argument(
        "--session", metavar="FILE",
        help=_("login sessions exported from Tor Browser: Netscape cookies.txt, or YAML/JSON with cookies and headers "
             "per onion host (default: the sessions_file setting); each site's are sent to that host only"),
    )
    parser.add_argument(
        "--discover", choices=("off", "record", "probe", "crawl"), metavar="POLICY",
        help=_("onions that pages name, in links or text: off, record (queue them), probe (then fetch each new "
             "one's front page once through Tor) or crawl (then crawl them to discover_crawl_depth) "
             "(default: the discover setting)"),
    )
    parser.add_argument("--no-follow", action="store_true", help=_("fetch only the seed URLs, follow no link"))
    parser.add_argument(
        "--resume", action="store_true",
        help=_("go on with the interrupted job named by --job (same seeds): pages it already indexed are not "
             "fetched again; the summary says how many pages it fetched a second time"),
    )
    parser.add_argument(
        "--shared", action="store_true",
        help=_("start or join the shared job named by --job: every worker (on any machine) started with the same "
             "--job and --shared shares its request queue, seen-set and stats in Redis (redis_url); seeds are "
             "needed only by the first worker"),
    )
    parser.add_argument("--concurrency", type=int, metavar="N", help=_("requests in flight (default: crawl_concurrency)"))
    parser.add_argument("--json", action="store_true", help=_("print the summary as JSON"))
    parser.add_argument("--quiet", action="store_true", help=_("only warnings and errors from Scrapy"))
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help=_("show a progress line (pages, items, errors, rate, elapsed) on stderr "
                             "(default: when stderr is a terminal and --json is not given)"))


def run(args: argparse.Namespace, settings: Settings) -> int:
    from crawler.job import create_crawl_job
    from crawler.middlewares.crawl_scope import CrawlScope
    from crawler.spiders.onion import parse_seeds

    follow_offsite = bool(args.follow_offsite or settings.follow_offsite)
    shared = bool(getattr(args, "shared", False))
    if shared and not args.job:
        raise UserError(_("--shared needs --job NAME: the shared job to start or join"))
    if shared and args.resume:
        raise UserError(_("a shared job goes on by itself: start a worker again with --job NAME --shared, "
                          "without --resume"))
    frontier = None
    # A worker joining a running shared job needs no seeds: the job's are in Redis.
    joining = shared and not (args.seed or args.seeds_file)
    try:
        seeds = [] if joining else parse_seeds(args.seed, args.seeds_file)
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
    if getattr(args, "session", None):
        overrides["sessions_file"] = args.session
    if getattr(args, "discover", None):
        overrides["discover"] = args.discover
    if overrides:
        settings = settings.replace(**overrides)
    # The one crawl job: the spider and the pipelines receive it, the crawl-run record keeps it.
    job = create_crawl_job(seeds, args.job, follow_offsite=follow_offsite, follow_links=not args.no_follow,
                           allow_clearnet=args.dangerously_allow_clearnet, settings=settings)
    if args.resume:
        if not args.job:
            raise UserError(_("--resume needs --job NAME: the id of the interrupted job to go on with"))
        job = dataclasses.replace(job, resume=_resume_point(job, settings))
    extra: dict[str, Any] = {}
    if shared:
        frontier = _join_shared_job(dataclasses.replace(job, shared=True), settings, joining)
        # The job as the shared frontier holds it (its first worker's seeds, start time and options).
        job = frontier["job"]
        extra = frontier["scrapy_settings"]
        # Every worker crawls to the job's limits, whatever its own settings say.
        limits = {"crawl_depth": job.options.depth, "crawl_max_pages_per_host": job.options.max_pages_per_host,
                  "crawl_max_pages": job.options.max_pages, "market_hosts": list(job.options.market_hosts)}
        settings = settings.replace(**{key: value for key, value in limits.items() if value is not None})
        try:
            CrawlScope.for_seeds(job.seeds, follow_offsite=job.options.follow_offsite,
                                 allow_clearnet=job.options.allow_clearnet)
        except ValueError as exc:
            raise UserError(_("shared job {job}: {error}", job=repr(job.job_id), error=exc)) from None
    stats = run_crawl(settings, job, quiet=args.quiet, progress=wants_progress(args), extra_scrapy_settings=extra)
    summary = summarize(job.job_id, stats)
    if frontier is not None:
        summary["shared"] = {"worker_id": frontier["worker_id"], "joined": frontier["joined"]}
    if settings.discover in ("probe", "crawl") and not summary["network_refused"] and frontier is None:
        from onionscope.discovery_followup import follow_up

        summary["discovery"] = follow_up(settings, job.job_id, settings.discover, config_path=args.config)
    if not summary["network_refused"] and summary["pages"]:
        summary["sites"] = index_onion_sites(settings)
    if not summary["network_refused"] and summary["items_indexed"]:
        # Nothing indexed, nothing new to match.
        from onionscope.alerting import alert_after_run

        summary["alerts"] = alert_after_run(settings, job.job_id, config_path=getattr(args, "config", None))
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(format_summary(summary))
    if summary["network_refused"]:
        from crawler.tor.network_guard import refusal_message

        print(_("error: {message}", message=refusal_message(summary["network_refused"])), file=sys.stderr)
        return 1
    if summary["spool_error"]:
        print(_("error: the crawl was stopped because the spool could not be written: {error}",
                error=summary["spool_error"]), file=sys.stderr)
    lost = summary["items_left_in_spool"] > 0 or summary["items_lost"] > 0 or bool(summary["spool_error"])
    # A resumed job may find nothing left to fetch: that is no failure.
    # So may a worker of a shared job whose other workers took every request.
    nothing_fetched = summary["pages"] == 0 and not summary["pages_already_indexed"] and frontier is None
    if lost:
        return 1
    if summary["needs_login_sites"]:
        print(_("error: {message}", message=needs_login_message(summary)), file=sys.stderr)
        return EXIT_NEEDS_LOGIN
    return 1 if nothing_fetched else 0


def index_onion_sites(settings: Settings) -> dict[str, Any]:
    """The post-crawl step (``onionscope index sites``): site types and mirror groups of every onion.

    Returns its counts, or ``{"error": ...}`` when Elasticsearch failed (the crawl's own
    figures stand; run ``onionscope index sites`` again later).
    """
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from pipelines.es_client import make_client
    from pipelines.onion_sites import index_sites

    client = make_client(settings)
    try:
        report = index_sites(client, settings.index_prefix)
    except (TransportError, ApiError, RuntimeError) as exc:
        return {"error": f"{type(exc).__name__}: {str(exc)[:300]}; run `onionscope index sites` again"}
    finally:
        client.close()
    return {"onions": report.onions, "site_types": report.site_types,
            "groups": [{key: group[key] for key in ("label", "members")} for group in report.groups]}


def _join_shared_job(job: CrawlJob, settings: Settings, joining: bool) -> dict[str, Any]:
    """Start the shared job ``job`` in Redis, or join the running one of its id.

    Returns ``{"job", "joined", "worker_id", "scrapy_settings"}``: the job as
    Redis holds it (its first worker's seeds, start time and options).  Raises
    UserError when Redis does not answer, or when ``joining`` (no seeds given)
    and no job of that id runs.
    """
    from crawler.frontier import connect, job_keys, shared_scrapy_settings
    from crawler.frontier.workers import job_state, new_worker_id, start_or_join

    client = connect(settings)
    try:
        keys = job_keys(settings, job.job_id)
        if joining and job_state(client, keys).get("state") != "running":
            raise UserError(_("no shared job {job} is running; give its seeds (--seed or --seeds-file) to start it",
                              job=repr(job.job_id)))
        job, joined = start_or_join(client, keys, job)
    finally:
        client.close()
    if not job.seeds:
        raise UserError(_("shared job {job} has no seeds; give them (--seed or --seeds-file)", job=repr(job.job_id)))
    worker_id = new_worker_id()
    return {"job": job, "joined": joined, "worker_id": worker_id,
            "scrapy_settings": shared_scrapy_settings(settings, job.job_id, worker_id)}


def needs_login_message(summary: dict[str, Any]) -> str:
    """One line naming the sites that showed a login wall, and what to do."""
    sites = summary["needs_login_sites"]
    with_session = set(summary.get("session_sites") or ())
    stale = [host for host in sorted(sites) if host in with_session]
    fresh = [host for host in sorted(sites) if host not in with_session]
    parts = []
    if stale:
        parts.append(_("the session for {sites} was refused or has expired", sites=", ".join(stale)))
    if fresh:
        parts.append(_("{sites} needs a login session", sites=fresh[0]) if len(fresh) == 1
                     else _("{sites} need a login session", sites=", ".join(fresh)))
    return "; ".join(parts) + ": " + _("their pages behind the login were not indexed; log in with Tor Browser, "
                                       "export the cookies (cookies.txt) and crawl again with --session FILE")


def _resume_point(job: CrawlJob, settings: Settings) -> Any:
    """The job's :class:`crawler.job.ResumePoint`, read from the index and its fetch journal; raises UserError."""
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from crawler.job import read_journal
    from crawler.middlewares.crawl_scope import CrawlScope
    from pipelines.es_client import describe_error, make_client
    from pipelines.job_resume import resume_point

    scope = CrawlScope.for_seeds(job.seeds, follow_offsite=job.options.follow_offsite,
                                 allow_clearnet=job.options.allow_clearnet)
    client = make_client(settings)
    try:
        return resume_point(client, settings.index_prefix, job.job_id, job.seeds,
                            fetched_before=read_journal(settings.var_dir, job.job_id),
                            max_depth=settings.crawl_depth, refusal=scope.refusal,
                            follow_links=job.options.follow_links)
    except (ApiError, TransportError) as exc:
        raise UserError(_("cannot read what job {job} indexed: {error}", job=repr(job.job_id),
                          error=describe_error(exc, settings))) from None
    finally:
        client.close()


def wants_progress(args: argparse.Namespace) -> bool:
    """The progress line: as asked with --progress/--no-progress, else only on a terminal without --json."""
    if args.progress is not None:
        return bool(args.progress)
    return not args.json and sys.stderr.isatty()


def run_crawl(
    settings: Settings,
    job: CrawlJob,
    quiet: bool = False,
    extra_scrapy_settings: dict[str, Any] | None = None,
    spider_class: type | None = None,
    spider_arguments: dict[str, Any] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the crawl ``job`` to completion in this process; returns Scrapy's final stats.

    The job (:func:`crawler.job.create_crawl_job`) holds the seeds and the
    scope switches; with ``allow_clearnet`` the crawl may fetch clearnet host
    names (through tor), while IP literals and local names stay out of scope.

    ``spider_arguments`` go to the spider as attributes (``run_labels`` for a
    scheduled job's run record).  ``progress`` shows the progress line on
    stderr (:mod:`onionscope.progress`) and keeps Scrapy's log to warnings.

    ``extra_scrapy_settings`` override the computed Scrapy settings last and
    ``spider_class`` replaces the onion spider (benchmarks use both to compare
    transports).  Scrapy's reactor runs once per
    process, so call this once per process.
    """
    from scrapy.crawler import CrawlerProcess

    from config.blocklist import blocklist_for
    from crawler.extractors.market_profiles import MarketProfiles
    from crawler.settings import scrapy_settings
    from crawler.sessions import load_sessions
    from crawler.spiders.onion import OnionSpider
    from crawler.tor.endpoints import resolve_tor_endpoints
    from crawler.tor.network_guard import REFUSED_STAT, process_guard
    from pipelines.es_client import ensure_reachable, make_client
    from pipelines.indices import index_status

    # The spider binds these too; a wrong confirmation must stop us here, as one line, not inside Scrapy.
    MarketProfiles.load(markets_dir(settings.config_dir)).bind_hosts(settings.market_hosts)
    # The blocklist middleware loads it too; a bad entry stops us here, naming the file and line.
    blocklist_for(settings)
    if settings.sessions_file:
        load_sessions(settings.sessions_file)  # a bad session file stops us before anything connects
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
        raise UserError(_(
            "the {kinds} indices of prefix {prefix} have an older schema than this version writes; migrate them "
            "first: {commands}", kinds=", ".join(stale), prefix=repr(settings.index_prefix),
            commands=", ".join(f"`onionscope index migrate {kind}`" for kind in stale)))

    endpoints.require_socks()  # raises UserError naming the setting when no SOCKS port is known
    scrapy_values = scrapy_settings(settings, endpoints.socks_strings(), pool=endpoints.pool_strings())
    if quiet:
        scrapy_values["LOG_LEVEL"] = "WARNING"
    if progress:
        from onionscope.progress import EXTENSION_PATH as PROGRESS_PATH

        scrapy_values["EXTENSIONS"][PROGRESS_PATH] = 900
        scrapy_values["LOG_LEVEL"] = "WARNING"
    scrapy_values.update(extra_scrapy_settings or {})
    process = CrawlerProcess(scrapy_values)
    crawler = process.create_crawler(spider_class or OnionSpider)
    process.crawl(crawler, crawl_job=job, **(spider_arguments or {}))
    process.start()
    stats = dict(crawler.stats.get_stats())
    guard = process_guard()
    if guard.armed:  # refusals after the engine stopped (reactor shutdown) count too
        stats[REFUSED_STAT] = max(int(stats.get(REFUSED_STAT, 0)), guard.refused)
    return stats


def summarize(job_id: str, stats: dict[str, Any]) -> dict[str, Any]:
    """The figures an investigator wants after a crawl, from Scrapy's stats."""
    from crawler.middlewares.login_wall import needs_login_sites, session_sites

    errors = {key.rsplit("/", 1)[1]: value for key, value in stats.items() if key.startswith("tor/socks_error/")}
    return {
        "job_id": job_id,
        "pages": int(stats.get("onionscope/pages", stats.get("response_received_count", 0))),
        "requests": int(stats.get("downloader/request_count", 0)),
        "items_indexed": _total(stats, "elasticsearch/indexed/"),
        "indexed_by_kind": {key.rsplit("/", 1)[1]: value for key, value in stats.items()
                            if key.startswith("elasticsearch/indexed/")},
        "items_spooled": int(stats.get("elasticsearch/spooled", 0)),
        # Spooled records the crawl wrote back at its end (Elasticsearch answered again), and those left.
        "items_replayed": int(stats.get("elasticsearch/replayed", 0)),
        "items_left_in_spool": int(stats.get("elasticsearch/spool_left", stats.get("elasticsearch/spooled", 0))),
        # Items neither indexed nor spooled (the spool itself failed at close); logged as critical.
        "items_lost": int(stats.get("elasticsearch/lost", 0)),
        # Why the spool refused items (a full disk, say); the crawl was stopped then.  None when it never did.
        "spool_error": stats.get("elasticsearch/spool_error"),
        "finish_reason": stats.get("finish_reason"),
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
        # Hostile responses: dropped (over a cap, binary, dripping) and counted.
        "responses_refused": {
            "over_download_maxsize": int(stats.get("download/maxsize_exceeded", 0)),
            "decompressed_over_download_maxsize": int(stats.get("download/decompressed_maxsize_exceeded", 0)),
            "body_timeout": int(stats.get("download/body_timeout", 0)),
            "binary_body": int(stats.get("media_guard/binary_body", 0)),
        },
        "redirect_chains_at_limit": int(stats.get("redirect/max_reached", 0)),
        # URLs not queued because they looked like a crawler trap, by rule.
        "traps_refused": {key.rsplit("/", 1)[1]: int(value) for key, value in stats.items()
                          if key.startswith("trap/refused/")},
        "links_to_other_schemes": int(stats.get("extract/links_not_followed/scheme", 0)),
        # URLs not fetched and bodies not indexed because the blocklist names them.
        "blocklisted": {key.rsplit("/", 1)[1]: int(value) for key, value in stats.items()
                        if key.startswith("blocklist/refused/")},
        "pages_flattened": int(stats.get("extract/deep_nesting_flattened", 0)),
        # Onion host -> pages that showed a login or CAPTCHA page where content was expected.
        "needs_login_sites": needs_login_sites(stats),
        # Hosts the session file had cookies or headers for (names only, never a value).
        "session_sites": session_sites(stats),
        "expired_session_cookies": int(stats.get("login/expired_cookies", 0)),
        "elapsed_seconds": round(float(stats.get("elapsed_time_seconds", 0.0)), 2),
        "freshness": freshness_summary(stats),
        # Set for a resumed job (--resume): pages it had indexed before, and pages it fetched a second time.
        "resumed": "resume/pages_already_indexed" in stats,
        "pages_already_indexed": int(stats.get("resume/pages_already_indexed", 0)),
        "pages_fetched_again": int(stats.get("resume/pages_fetched_again", 0)),
        # Onions that pages named, queued for discovery (pipelines.discovery); blocklisted ones never are.
        "discovered_onions_queued": int(stats.get("discovery/queued", 0)),
        "discovered_onions_blocklisted": int(stats.get("discovery/blocklisted", 0)),
    }


def freshness_summary(stats: dict[str, Any]) -> dict[str, int]:
    """Pages answered "not modified" or not due, onions left alone while backing off, and what changed."""
    from pipelines.freshness.changes import run_change_counts

    return {
        "not_modified": int(stats.get("freshness/not_modified", 0)),
        "not_due": int(stats.get("freshness/not_due", 0)),
        "hosts_backing_off": int(stats.get("liveness/hosts_backing_off", 0)),
        **run_change_counts(stats),
    }


def _total(stats: dict[str, Any], prefix: str) -> int:
    return sum(int(value) for key, value in stats.items() if key.startswith(prefix))


def format_summary(summary: dict[str, Any]) -> str:
    """The crawl's summary for a person, in the command's language (one line per figure that matters)."""
    def pairs(counts: dict[str, Any]) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))

    by_kind = ", ".join(f"{n} {k}" for k, n in sorted(summary["indexed_by_kind"].items())) or _("none")
    lines = [
        _("crawl {job}: {pages} pages in {seconds} s", job=summary["job_id"], pages=summary["pages"],
          seconds=summary["elapsed_seconds"]),
        "  " + _("indexed {indexed} documents ({by_kind}); spooled {spooled} ({replayed} written back at the end, "
                 "{left} left); dropped as invalid {invalid}", indexed=summary["items_indexed"], by_kind=by_kind,
                 spooled=summary["items_spooled"], replayed=summary["items_replayed"],
                 left=summary["items_left_in_spool"], invalid=summary["items_dropped_invalid"]),
        "  " + _("media never fetched: {count} media links and responses blocked", count=summary["media_blocked"]),
    ]
    if summary["profile_drift"]:
        lines.append("  " + _("market profile drift: {count} fields matched nothing (see the log)",
                              count=summary["profile_drift"]))
    if summary["look_alike_pages"]:
        lines.append("  " + _("{count} pages look like a profiled market on a host that is not its own; indexed under "
                              "their own host (see the log; confirm a real one with --market-host MARKET=HOST)",
                              count=summary["look_alike_pages"]))
    if summary["resumed"]:
        lines.append("  " + _("resumed: {indexed} pages were already indexed (not fetched again); {again} pages "
                              "fetched again (fetched before the interruption, not yet indexed)",
                              indexed=summary["pages_already_indexed"], again=summary["pages_fetched_again"]))
    if summary["socks_errors"]:
        lines.append("  " + _("Tor errors: {errors}", errors=pairs(summary["socks_errors"])))
    if summary["network_refused"]:
        lines.append("  " + _("NETWORK GUARD: refused {count} lookup(s)/connection(s) outside tor and Elasticsearch; "
                              "the crawl was stopped (see the log)", count=summary["network_refused"]))
    if summary["response_headers_too_large"]:
        lines.append("  " + _("responses refused for oversized headers: {count}",
                              count=summary["response_headers_too_large"]))
    if summary["out_of_scope"]:
        lines.append("  " + _("out of scope, not fetched: {count} URLs ({reasons}; {redirects} of them redirects)",
                              count=sum(summary["out_of_scope"].values()), reasons=pairs(summary["out_of_scope"]),
                              redirects=summary["out_of_scope_redirects"]))
    refused = {key: value for key, value in summary.get("responses_refused", {}).items() if value}
    if refused:
        lines.append("  " + _("responses dropped: {reasons}", reasons=pairs(refused)))
    if summary.get("redirect_chains_at_limit"):
        lines.append("  " + _("redirect chains cut at REDIRECT_MAX_TIMES: {count}",
                              count=summary["redirect_chains_at_limit"]))
    if summary.get("traps_refused"):
        lines.append("  " + _("crawler traps, not fetched: {count} URLs ({reasons})",
                              count=sum(summary["traps_refused"].values()), reasons=pairs(summary["traps_refused"])))
    if summary.get("blocklisted"):
        lines.append("  " + _("on the blocklist, not fetched or not indexed: {reasons}",
                              reasons=pairs(summary["blocklisted"])))
    if summary.get("links_to_other_schemes"):
        lines.append("  " + _("links to javascript:, data:, file: and other non-web URIs, not followed: {count}",
                              count=summary["links_to_other_schemes"]))
    if summary.get("pages_flattened"):
        lines.append("  " + _("pages nested too deep for the parser, flattened and read: {count}",
                              count=summary["pages_flattened"]))
    budget = summary["page_budget"]
    if budget["hosts_at_limit"]:
        lines.append("  " + _("page budget: {hosts} hosts reached crawl_max_pages_per_host ({refused} requests not "
                              "made)", hosts=budget["hosts_at_limit"], refused=budget["requests_refused_host_limit"]))
    if budget["job_limit_reached"]:
        lines.append("  " + _("page budget: the crawl reached crawl_max_pages ({refused} requests not made)",
                              refused=budget["requests_refused_job_limit"]))
    fresh = summary.get("freshness") or {}
    if fresh.get("not_modified") or fresh.get("not_due"):
        lines.append("  " + _("unchanged pages: {not_modified} answered \"not modified\", {not_due} not due (recrawl "
                              "policy), both counted as seen", not_modified=fresh["not_modified"],
                              not_due=fresh["not_due"]))
    if fresh.get("hosts_backing_off"):
        lines.append("  " + _("{count} onions backing off after failed checks were not fetched (see the log for "
                              "their next check)", count=fresh["hosts_backing_off"]))
    if any(fresh.get(key) for key in ("listings_new", "listings_changed", "listings_removed", "pages_changed")):
        lines.append("  " + _("changes: {new} new listings, {changed} changed, {removed} marked removed; {pages} "
                              "pages changed", new=fresh["listings_new"], changed=fresh["listings_changed"],
                              removed=fresh["listings_removed"], pages=fresh["pages_changed"]))
    if summary.get("discovered_onions_queued"):
        lines.append("  " + _("discovery: {count} onions named by pages queued (see /discovered)",
                              count=summary["discovered_onions_queued"]))
    follow = summary.get("discovery")
    if follow and follow.get("hosts"):
        lines.append("  " + _("discover {policy}: {hosts} new onions, {up} up, {down} down, {not_checked} not "
                              "checked", policy=follow["policy"], hosts=follow["hosts"], up=follow["up"],
                              down=follow["down"], not_checked=follow["not_checked"]))
    alerts = summary.get("alerts")
    if alerts and (alerts.get("created") or alerts.get("error")):
        delivery = alerts.get("delivery") or {}
        line = "  " + _("alerts: {created} new for {entries} watchlist entries", created=alerts["created"],
                        entries=alerts["entries"])
        if delivery:
            line += "; " + _("webhook: {delivered} delivered, {retrying} to retry, {failed} failed",
                             delivered=delivery.get("delivered", 0), retrying=delivery.get("retrying", 0),
                             failed=delivery.get("failed", 0))
        if alerts.get("error"):
            line += "; " + _("ALERTS FAILED: {error}", error=alerts["error"])
        lines.append(line)
    if summary["spool_error"]:
        lines.append("  " + _("STOPPED: the spool could not be written ({error})", error=summary["spool_error"]))
    if summary.get("session_sites"):
        line = "  " + _("login sessions used for: {sites}", sites=", ".join(summary["session_sites"]))
        if summary.get("expired_session_cookies"):
            line += " " + _("({count} expired cookies not sent)", count=summary["expired_session_cookies"])
        lines.append(line)
    for host, pages in sorted((summary.get("needs_login_sites") or {}).items()):
        lines.append("  " + _("NEEDS LOGIN: {host} showed a login or CAPTCHA page for {pages} page(s); it needs a "
                              "fresh session (export one from Tor Browser, then --session FILE)", host=host,
                              pages=pages))
    if summary["items_lost"]:
        lines.append("  " + _("LOST: {count} documents could be neither indexed nor spooled (see the log)",
                              count=summary["items_lost"]))
    if summary["items_left_in_spool"]:
        lines.append("  " + _("some documents could not be indexed; run `onionscope index replay-spool` once "
                              "Elasticsearch is healthy"))
    return "\n".join(lines)
