"""crawler.middlewares.evidence: what the downloader hands the crawl is recorded raw, and only that."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import threading
from pathlib import Path

from scrapy.http import HtmlResponse, Request
from warcio.archiveiterator import ArchiveIterator

from config.blocklist import Blocklist
from config.settings import load_settings
from crawler.middlewares.evidence import EVIDENCE_META, EvidenceMiddleware
from crawler.tor.download_handler import TOR_CLIENT_META

BODY = b"<html><title>t</title><p>secret shop</p></html>"


class _Spider:
    name = "onion"
    job_id = "unit-job"


def _middleware(tmp_path: Path, blocklist: Blocklist | None = None) -> EvidenceMiddleware:
    (tmp_path / "empty.yml").write_text("{}\n")
    settings = load_settings(tmp_path / "empty.yml", environ={}).replace(evidence_dir=str(tmp_path / "evidence"))
    middleware = EvidenceMiddleware(settings, blocklist=blocklist)
    middleware.spider_opened(_Spider())
    return middleware


def _respond(middleware: EvidenceMiddleware, request: Request, response: HtmlResponse) -> object:
    return asyncio.run(middleware.process_response(request, response))


def _read(tmp_path: Path, evidence: dict) -> tuple[object, bytes]:
    data = (tmp_path / "evidence" / evidence["file"]).read_bytes()[evidence["offset"]:][:evidence["length"]]
    for record in ArchiveIterator(io.BytesIO(data)):
        return record, record.raw_stream.read()
    raise AssertionError("no record")


def test_a_transported_response_is_recorded_raw_and_its_pointer_put_in_meta(tmp_path: Path) -> None:
    middleware = _middleware(tmp_path)
    request = Request("http://shop.onion/item/1", meta={TOR_CLIENT_META: "127.0.0.1:9050"})
    middleware.process_request(request)
    compressed = gzip.compress(BODY)
    response = HtmlResponse(request.url, status=200, body=compressed, request=request,
                            headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
    assert _respond(middleware, request, response) is response
    evidence = request.meta[EVIDENCE_META]
    record, raw_body = _read(tmp_path, evidence)
    assert raw_body == compressed  # as it came off the wire, before decompression
    assert record.rec_headers.get_header("WARC-Onionscope-Tor-Client") == "127.0.0.1:9050"
    assert record.rec_headers.get_header("WARC-Onionscope-Job-Id") == "unit-job"
    assert record.http_headers.get_header("Content-Encoding") == "gzip"
    middleware.spider_closed(_Spider())


def test_a_made_up_response_is_not_recorded(tmp_path: Path) -> None:
    middleware = _middleware(tmp_path)
    # The recrawl policy's "not due" 304 never passed process_request of this middleware.
    request = Request("http://shop.onion/")
    response = HtmlResponse(request.url, status=304, body=b"", request=request)
    _respond(middleware, request, response)
    assert EVIDENCE_META not in request.meta
    assert middleware.store is not None and middleware.store.files_written == []


def test_a_retry_does_not_keep_the_pointer_of_an_earlier_attempt(tmp_path: Path) -> None:
    middleware = _middleware(tmp_path)
    first = Request("http://shop.onion/")
    middleware.process_request(first)
    _respond(middleware, first, HtmlResponse(first.url, status=503, body=b"busy", request=first))
    retry = first.copy()  # RetryMiddleware's copy carries the meta, the pointer included
    assert EVIDENCE_META in retry.meta
    middleware.process_request(retry)
    middleware.process_exception(retry, TimeoutError())
    # The retry failed: nothing recorded for it, and an answer that arrives unsent is not recorded either.
    _respond(middleware, retry, HtmlResponse(retry.url, status=200, body=BODY, request=retry))
    assert retry.meta.get(EVIDENCE_META) == first.meta[EVIDENCE_META]  # untouched: never recorded twice
    again = first.copy()
    middleware.process_request(again)
    _respond(middleware, again, HtmlResponse(again.url, status=200, body=BODY, request=again))
    assert again.meta[EVIDENCE_META]["digest"] != first.meta[EVIDENCE_META]["digest"]


def test_a_blocklisted_body_is_never_written_even_compressed(tmp_path: Path) -> None:
    blocked = hashlib.sha256(BODY).hexdigest()
    middleware = _middleware(tmp_path, Blocklist(content_hashes=frozenset({blocked}), source="test"))
    for headers, body in (({}, BODY), ({"Content-Encoding": "gzip"}, gzip.compress(BODY))):
        request = Request("http://shop.onion/")
        middleware.process_request(request)
        _respond(middleware, request, HtmlResponse(request.url, status=200, body=body, request=request,
                                                          headers={"Content-Type": "text/html", **headers}))
        assert EVIDENCE_META not in request.meta
    assert middleware.store is not None and middleware.store.files_written == []
    for path in (tmp_path / "evidence").glob("*"):
        assert b"secret shop" not in path.read_bytes()


def test_the_record_is_written_off_the_calling_thread_in_the_order_responses_came(tmp_path: Path) -> None:
    """The reactor thread does not compress, hash and write the record (bench.crawl --profile showed it)."""
    middleware = _middleware(tmp_path)
    assert middleware.store is not None
    writers: list[threading.Thread] = []
    write = middleware.store.write_response

    def recorded(**record: object) -> object:
        writers.append(threading.current_thread())
        return write(**record)

    middleware.store.write_response = recorded  # type: ignore[method-assign]

    async def crawl() -> list[Request]:
        requests = [Request(f"http://shop.onion/{number}") for number in range(5)]
        for request in requests:
            middleware.process_request(request)
        await asyncio.gather(*(middleware.process_response(
            request, HtmlResponse(request.url, status=200, body=BODY, request=request)) for request in requests))
        return requests

    requests = asyncio.run(crawl())
    assert writers and all(writer is not threading.current_thread() for writer in writers)
    assert [request.meta[EVIDENCE_META]["offset"] for request in requests] == sorted(
        request.meta[EVIDENCE_META]["offset"] for request in requests)
    middleware.spider_closed(_Spider())
