"""Evidence capture in the downloader: every response tor delivered, kept verbatim as a WARC record.

:class:`EvidenceMiddleware` sits next to the download (priority :data:`PRIORITY`, after every
other downloader middleware on the way in, first on the way out), so it sees each response as
the transport delivered it: before decompression, before redirects are followed and retries
are made, before the spider.  Each one becomes a WARC ``response`` record in the crawl's
:class:`crawler.evidence.store.EvidenceStore` (``evidence_dir``), with the fetch time, the job
id, the tor client (``request.meta["tor_client"]``, set by the download handler) and, when
tor's ControlPort is known, the circuit (:mod:`crawler.tor.stream_circuits`).  The record's
:class:`~crawler.evidence.chain.EvidenceRef` goes into ``request.meta["evidence"]`` (as a dict),
where the spider finds it for the page and the listings it yields.

Only responses that came from the transport are kept: a response a middleware made up (the
recrawl policy's "not due" 304) never passed this middleware's ``process_request`` and is
not recorded.  A body the blocklist names by hash (``content_hash``: the body as received, or
decompressed as the spider would read it) is never written (stat ``evidence/not_kept_blocklisted``);
the blocklist middleware then drops it as before.  Media is never fetched, so never recorded.

A record that cannot be written (disk full) is logged and counted (``evidence/write_failed``);
the page is still indexed, without an evidence pointer.

The record is written off the reactor thread, by one writer thread of the middleware (so the
records go into the file in the order the responses came): gzip, the two sha256 digests and
the writes take about a millisecond of a 40 kB page, and compression, hashing and the
writes let other threads run meanwhile.  ``process_response`` is a coroutine that waits for its
record; the response reaches the spider with its pointer, as before.

Scrapy setting read: ``ONIONSCOPE_SETTINGS`` (``evidence_capture``, ``evidence_dir``,
``evidence_max_file_bytes``, ``blocklist_file``, ``download_maxsize``); without them, or with
``evidence_capture`` false, the middleware is off (``NotConfigured``).

Stats: ``evidence/records``, ``evidence/bytes``, ``evidence/files``, ``evidence/write_failed``,
``evidence/not_kept_blocklisted``, ``evidence/circuit_known``.

Public API: :class:`EvidenceMiddleware`, :data:`PATH`, :data:`PRIORITY`, :data:`EVIDENCE_META`.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from scrapy import signals
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from config.blocklist import Blocklist, blocklist_for
from config.paths import evidence_dir
from crawler.evidence.store import EvidenceStore
from crawler.middlewares.blocklist import body_hash
from crawler.tor.download_handler import TOR_CLIENT_META

logger = logging.getLogger(__name__)

PATH = "crawler.middlewares.evidence.EvidenceMiddleware"
# Above every other downloader middleware (LivenessMiddleware is 880): the raw response, every attempt.
PRIORITY = 950
EVIDENCE_META = "evidence"
STAT_PREFIX = "evidence/"


def decoded_body(response: Response, max_size: int) -> bytes | None:
    """The body as the spider would read it (Content-Encoding undone), or None if it cannot be decoded."""
    encodings = [part.strip().lower() for value in response.headers.getlist(b"Content-Encoding")
                 for part in value.split(b",") if part.strip()]
    body = bytes(response.body)
    for encoding in reversed(encodings):
        if encoding == b"identity":
            continue
        try:
            body = HttpCompressionMiddleware._decode(body, encoding, max_size)
        except Exception:  # a bomb, a damaged stream, an encoding Scrapy lacks: the compression middleware decides
            return None
    return body


class EvidenceMiddleware:
    """See the module docstring."""

    def __init__(self, settings: Any, stats: Any = None, blocklist: Blocklist | None = None,
                 circuits: Any = None):
        self.settings = settings
        self.stats = stats
        self.blocklist = blocklist or Blocklist()
        self.circuits = circuits
        self.store: EvidenceStore | None = None
        # The one thread that writes records (started with the store, stopped at close).
        self._writer: ThreadPoolExecutor | None = None
        # Requests handed to the transport and not answered yet (a made-up response was never sent).
        self._sent: "weakref.WeakSet[Request]" = weakref.WeakSet()

    @classmethod
    def from_crawler(cls, crawler: Any) -> "EvidenceMiddleware":
        settings = crawler.settings.get("ONIONSCOPE_SETTINGS")
        if settings is None or not settings.evidence_capture:
            raise NotConfigured("evidence capture is off (evidence_capture)")
        circuits = None
        try:
            from crawler.tor.stream_circuits import StreamCircuits

            circuits = StreamCircuits.for_crawler(crawler, settings)
        except NotConfigured as why:
            logger.info("evidence: no tor circuit ids in the records (%s)", why)
        middleware = cls(settings, crawler.stats, blocklist_for(settings), circuits)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_opened(self, spider: Any) -> None:
        job_id = str(getattr(spider, "job_id", None) or spider.name)
        self.store = EvidenceStore(evidence_dir(self.settings), max_file_bytes=self.settings.evidence_max_file_bytes,
                                   job_id=job_id)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence-writer")
        logger.info("evidence: WARC records of job %s go to %s", job_id, evidence_dir(self.settings))

    def spider_closed(self, spider: Any) -> None:
        if self._writer is not None:
            self._writer.shutdown(wait=True)  # every record asked for is written before the file is sealed
            self._writer = None
        if self.store is not None:
            self.store.close()
            self._set("files", len(self.store.files_written))

    def process_request(self, request: Request, spider: Any = None) -> None:
        self._sent.add(request)

    def process_exception(self, request: Request, exception: BaseException, spider: Any = None) -> None:
        self._sent.discard(request)

    async def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        if request not in self._sent:
            return response  # made up before the transport: nothing was fetched
        self._sent.discard(request)
        # A retry or a redirect copies meta: a pointer from an earlier attempt must not stick.
        request.meta.pop(EVIDENCE_META, None)
        if self.store is None:
            return response
        if self._blocklisted(response):
            self._inc("not_kept_blocklisted")
            return response
        tor_client = request.meta.get(TOR_CLIENT_META)
        circuit_id = self.circuits.circuit_for(tor_client, request.url) if self.circuits is not None else None
        record = dict(
            url=response.url, status=response.status, protocol=response.protocol,
            headers=[(name, value) for name, values in response.headers.items() for value in values],
            body=response.body, fetched_at=datetime.now(timezone.utc), tor_client=tor_client,
            circuit_id=circuit_id,
        )
        try:
            if self._writer is not None:
                ref = await asyncio.wrap_future(self._writer.submit(lambda: self.store.write_response(**record)))
            else:
                ref = self.store.write_response(**record)
        except OSError as exc:
            self._inc("write_failed")
            logger.error("evidence: the WARC record of %.200s could not be written (%s); the page is indexed "
                         "without evidence", response.url, exc)
            return response
        request.meta[EVIDENCE_META] = ref.to_doc()
        self._inc("records")
        self._inc("bytes", ref.length)
        if circuit_id:
            self._inc("circuit_known")
        return response

    def _blocklisted(self, response: Response) -> bool:
        if not self.blocklist.content_hashes or not response.body:
            return False
        if self.blocklist.blocks_hash(body_hash(response.body)):
            return True
        decoded = decoded_body(response, int(self.settings.download_maxsize))
        return decoded is not None and self.blocklist.blocks_hash(body_hash(decoded))

    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(STAT_PREFIX + key, count)

    def _set(self, key: str, value: int) -> None:
        if self.stats is not None:
            self.stats.set_value(STAT_PREFIX + key, value)
