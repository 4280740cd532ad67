"""Benchmark: the cost of evidence capture and of verifying it.

Run as ``.venv/bin/python -m bench.evidence [--pages N] [--kilobytes K] [--seed S]``.

Writes N deterministic HTML responses of about K kB each (varied text, so gzip has real work)
through :class:`crawler.evidence.store.EvidenceStore` into a temporary folder, with files
rotated at 64 MiB, then runs :func:`crawler.evidence.chain.verify_warc_file` over every file.
Prints records/s and MB/s of body for writing (what the crawl's reactor thread spends per
response) and for verifying, and the stored size against the raw size.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from crawler.evidence.chain import verify_warc_file
from crawler.evidence.store import EvidenceStore

WORDS = ("vendor escrow bitcoin monero shipping stealth listing price gram pill review feedback "
         "market order dispute pgp finalize tracking refund bulk sample quality").split()


def _page(rng: random.Random, size: int) -> bytes:
    parts = ["<html><head><title>listing</title></head><body>"]
    length = 0
    while length < size:
        sentence = " ".join(rng.choice(WORDS) for _ in range(12)) + f" {rng.getrandbits(64):x}"
        parts.append(f"<p>{sentence}</p>")
        length += len(sentence) + 7
    parts.append("</body></html>")
    return "".join(parts).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--kilobytes", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pages = [_page(rng, args.kilobytes * 1024) for _ in range(min(args.pages, 200))]
    raw_bytes = 0
    with tempfile.TemporaryDirectory(prefix="onionscope-bench-evidence-") as folder:
        store = EvidenceStore(folder, max_file_bytes=64 * 1024 * 1024, job_id="bench")
        headers = [(b"Content-Type", b"text/html; charset=utf-8"), (b"Server", b"nginx")]
        started = time.perf_counter()
        for index in range(args.pages):
            body = pages[index % len(pages)]
            raw_bytes += len(body)
            store.write_response(url=f"http://{'a' * 56}.onion/item/{index}", status=200, headers=headers,
                                 body=body, fetched_at=datetime.now(timezone.utc), tor_client="127.0.0.1:9050",
                                 circuit_id="7")
        store.close()
        write_seconds = time.perf_counter() - started
        stored = sum(path.stat().st_size for path in Path(folder).glob("*.warc.gz"))
        started = time.perf_counter()
        problems = [problem for path in store.files_written for problem in verify_warc_file(path)]
        verify_seconds = time.perf_counter() - started
    megabytes = raw_bytes / 1e6
    print(f"evidence capture: {args.pages} responses of ~{args.kilobytes} kB ({megabytes:.1f} MB of body)")
    print(f"  write:  {args.pages / write_seconds:8.0f} records/s  {megabytes / write_seconds:7.1f} MB/s  "
          f"({1000 * write_seconds / args.pages:.2f} ms per record)")
    print(f"  verify: {args.pages / verify_seconds:8.0f} records/s  {megabytes / verify_seconds:7.1f} MB/s "
          "(sha256 of each record, the chain, warcio's digest check)")
    print(f"  stored: {stored / 1e6:.1f} MB in {len(store.files_written)} files "
          f"({100 * stored / raw_bytes:.0f} % of the raw body bytes)")
    if problems:
        print(f"verify found {len(problems)} problems in freshly written files: {problems[0]}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
