"""One timed crawl for bench.crawl, in its own process (Scrapy's reactor runs once per process).

``python -m bench.crawl_worker --transport onionscope|privoxy --work fetch|crawl
--urls FILE --concurrency N --out FILE [--proxy URL] [--progress FILE] [--shared JOB]``

``--work crawl`` runs the real crawl: the onion spider, every extractor and the
Elasticsearch pipeline, over the URLs (no link following).  ``--work fetch``
runs the same Scrapy engine, settings and transport with a spider that only
counts responses, so the transport is measured on its own.  Only the download
path differs between the transports:

* ``onionscope`` -- the Tor SOCKS5 download handler, as every crawl uses it;
* ``privoxy`` -- the design ahmia uses: Scrapy's stock HTTP/1.1 handler
  sending every request to an HTTP proxy (Privoxy) that forwards to the same
  tor with ``forward-socks5t``.

``--shared JOB`` makes the process one worker of the shared job ``JOB`` on the
Redis frontier (``ONIONSCOPE_REDIS_URL``), started or joined exactly as
``onionscope crawl --job JOB --shared`` does it
(:func:`onionscope.commands.crawl._join_shared_job`): every worker of the job
is given the same URL list; the first one writes the job, the others join it,
and the shared seen-set makes each URL one request of the whole job.

Writes ``{"pages", "requests", "indexed", "seconds", "started", "finished",
"errors"}`` as JSON to
``--out``; with ``--progress``, the pages done so far are written to that file
every half second (:class:`ProgressFile`: ``bench.crawl`` reads it to say how
far the crawl was when it sampled the memory).  The environment supplies the
tor, Elasticsearch and extraction settings (ONIONSCOPE_*).  The crawl's page
limits are lifted, so every URL of the list is fetched.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

STOCK_HANDLER = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"
PROGRESS_FILE_SETTING = "BENCH_PROGRESS_FILE"


class ProgressFile:
    """Scrapy extension: writes the crawl's ``onionscope/pages`` count to a file every half second."""

    def __init__(self, crawler: Any, path: Path):
        self.crawler = crawler
        self.path = path
        self.loop: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> "ProgressFile":
        from scrapy import signals
        from scrapy.exceptions import NotConfigured

        path = crawler.settings.get(PROGRESS_FILE_SETTING)
        if not path:
            raise NotConfigured("no progress file")
        extension = cls(crawler, Path(path))
        crawler.signals.connect(extension.opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.closed, signal=signals.spider_closed)
        return extension

    def write(self) -> None:
        pages = int(self.crawler.stats.get_value("onionscope/pages", 0))
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(str(pages))
        temporary.replace(self.path)

    def opened(self) -> None:
        from twisted.internet import task

        self.loop = task.LoopingCall(self.write)
        self.loop.start(0.5)

    def closed(self) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.write()


def fetch_only_spider() -> type:
    """The onion spider's requests, without extraction: each response is only counted.

    Made on demand: this module is the extraction workers' ``__mp_main__`` (they are
    spawned, so they import the main module again), and importing Scrapy and the
    spider here would add half a second of CPU to every worker start, which
    ``onionscope crawl`` (whose main module imports neither) does not pay.
    """
    from crawler.spiders.onion import OnionSpider

    class FetchOnlySpider(OnionSpider):
        name = "fetch-only"

        def parse(self, response: Any, **kwargs: object):  # type: ignore[override]
            self.crawler.stats.inc_value("onionscope/pages")
            return iter(())

    return FetchOnlySpider


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=("onionscope", "privoxy"), required=True)
    parser.add_argument("--work", choices=("fetch", "crawl"), default="crawl")
    parser.add_argument("--urls", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--proxy", help="HTTP proxy URL for --transport privoxy")
    parser.add_argument("--progress", type=Path, help="write the pages done to this file every half second")
    parser.add_argument("--profile", type=Path,
                        help="profile the reactor thread (cProfile) and write the pstats to this file")
    parser.add_argument("--shared", metavar="JOB",
                        help="be one worker of the shared job JOB on the Redis frontier (crawl --job JOB --shared)")
    args = parser.parse_args()

    from config.settings import load_settings
    from crawler.job import create_crawl_job
    from onionscope.commands.crawl import run_crawl

    # Every URL of the list is fetched: a long generated list must not meet the crawl's page limits.
    settings = load_settings().replace(
        crawl_concurrency=args.concurrency, crawl_concurrency_per_host=args.concurrency,
        crawl_max_pages=1_000_000_000, crawl_max_pages_per_host=100_000_000, crawl_max_pages_per_pattern=0,
    )
    extra: dict[str, object] = {"LOG_LEVEL": "WARNING"}
    if args.progress:
        extra[PROGRESS_FILE_SETTING] = str(args.progress)
    if args.transport == "privoxy":
        if not args.proxy:
            parser.error("--transport privoxy needs --proxy")
        # Stock handler + HttpProxyMiddleware reading http_proxy: ahmia's set-up.  Both guards
        # are off: this design connects to Privoxy directly, which is what is being measured.
        os.environ["http_proxy"] = args.proxy
        extra.update(
            DOWNLOAD_HANDLERS={"http": STOCK_HANDLER, "https": STOCK_HANDLER},
            HTTPPROXY_ENABLED=True,
            EXTENSIONS={
                "crawler.tor.download_handler.TorTransportGuard": None,
                "crawler.tor.network_guard.NetworkGuardExtension": None,
            },
        )
    urls = [line.strip() for line in args.urls.read_text().splitlines() if line.strip()]
    job = create_crawl_job(urls, args.shared or f"bench-{args.transport}", follow_links=False, settings=settings)
    if args.shared:
        import dataclasses

        from onionscope.commands.crawl import _join_shared_job

        # What `onionscope crawl --job JOB --shared` does before its crawl: start or join the job.
        frontier = _join_shared_job(dataclasses.replace(job, shared=True), settings, joining=False)
        job = frontier["job"]
        extra.update(frontier["scrapy_settings"])
    if args.progress:
        from scrapy.settings import default_settings

        # Beside Scrapy's own extensions, so the crawl's EXTENSIONS (and the privoxy overrides) stay as they are.
        extra["EXTENSIONS_BASE"] = {**default_settings.EXTENSIONS_BASE, "bench.crawl_worker.ProgressFile": 950}
    profiler = None
    if args.profile:
        import cProfile

        # cProfile sees the thread that enables it: here, the reactor's (not the bulk threads).
        profiler = cProfile.Profile()
        profiler.enable()
    if args.work == "fetch":
        extra.update(ITEM_PIPELINES={})
        stats = run_crawl(settings, job, quiet=True, extra_scrapy_settings=extra, spider_class=fetch_only_spider())
    else:
        stats = run_crawl(settings, job, quiet=True, extra_scrapy_settings=extra)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    start, finish = stats.get("start_time"), stats.get("finish_time")
    seconds = (finish - start).total_seconds() if start and finish else float(stats.get("elapsed_time_seconds", 0))
    errors = {k: v for k, v in stats.items() if k.startswith(("downloader/exception_type_count/", "tor/socks_error/"))}
    result = {
        "pages": int(stats.get("onionscope/pages", 0)),
        "requests": int(stats.get("downloader/request_count", 0)),
        "indexed": sum(int(v) for k, v in stats.items() if k.startswith("elasticsearch/indexed/")),
        "seconds": seconds,
        # Wall-clock start and end of the crawl (epoch seconds): a shared job's span is from its
        # first worker's start to its last worker's end.
        "started": start.timestamp() if start else None,
        "finished": finish.timestamp() if finish else None,
        "errors": errors,
    }
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
