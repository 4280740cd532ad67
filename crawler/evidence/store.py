"""Writes fetched responses as WARC records, one gzip member each, into size-rotated files with manifests.

:class:`EvidenceStore` owns the WARC files of one crawl process under ``evidence_dir``:

* files are named ``<job>-<UTC time>-<pid>-<sequence>.warc.gz``; each starts with a
  ``warcinfo`` record (software, job id, format) and is followed by ``response`` records;
* a file is closed and a new one started when the next record would take it past
  ``max_file_bytes`` (one record larger than that gets a file of its own); a closed file's
  manifest ends with a seal line (:mod:`crawler.evidence.chain`);
* each record is written whole and flushed, then its manifest line; files are fsynced when closed.

A ``response`` record's block is the HTTP message as the crawl received it: the status line,
the headers (names as Scrapy holds them, title-cased; values byte for byte, in the order
received per name) and the body exactly as it came off the wire (still content-encoded,
chunked transfer decoded), capped by ``download_maxsize`` as every fetch is.  Its WARC headers
carry ``WARC-Date`` (the fetch time), ``WARC-Block-Digest`` and ``WARC-Payload-Digest`` as
``sha256:<hex>``, and onionscope's own ``WARC-Onionscope-Job-Id``, ``-Tor-Client`` (the SOCKS
address of the tor client that fetched it) and ``-Tor-Circuit`` (tor's circuit id, when the
ControlPort told it).  The record is serialised here (WARC/1.1 is a short text format) rather
than by warcio's writer, which re-encodes non-ASCII header values; everything that reads
records (verify, export, the tests) reads them with warcio.

Public API: :class:`EvidenceStore` (``write_response(...) -> EvidenceRef``, ``close()``),
:func:`http_block` (status, headers, body -> bytes), :func:`warc_record_bytes`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import threading
import uuid
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO, Iterable

from crawler.evidence.chain import (
    GENESIS,
    MANIFEST_FORMAT,
    WARC_SUFFIX,
    EvidenceRef,
    chain_next,
    manifest_path,
    record_digest,
)

SOFTWARE = "onionscope evidence capture"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def _warc_date(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def http_block(status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes, protocol: str | None = None) -> bytes:
    """The HTTP response message as bytes: status line, headers, blank line, body. Raises nothing."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    lines = [f"{protocol or 'HTTP/1.1'} {status} {reason}".rstrip().encode("latin-1")]
    for name, value in headers:
        # A header value never holds CR or LF (the HTTP parser split on them); keep the record well-formed anyway.
        lines.append(bytes(name).replace(b"\r", b"").replace(b"\n", b"") + b": "
                     + bytes(value).replace(b"\r", b" ").replace(b"\n", b" "))
    return b"\r\n".join(lines) + b"\r\n\r\n" + bytes(body)


def warc_record_bytes(warc_headers: list[tuple[str, str]], block: bytes, content_type: str) -> bytes:
    """One WARC/1.1 record (headers, block, two CRLFs), gzip-compressed as a member of its own."""
    head = ["WARC/1.1", *(f"{name}: {value}" for name, value in warc_headers),
            f"Content-Type: {content_type}", f"Content-Length: {len(block)}"]
    raw = ("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + block + b"\r\n\r\n"
    return gzip.compress(raw, compresslevel=6, mtime=0)


def _header_value(text: str | None, limit: int = 512) -> str:
    """A WARC header value: one line, printable, capped (it may come from a hostile URL)."""
    text = str(text or "")[:limit * 3]  # an escape is at most 3 characters: enough for the cap
    if text.isprintable():
        return text[:limit]
    cleaned = "".join(ch if ch.isprintable() else "%{:02X}".format(ord(ch) & 0xFF) for ch in text)
    return cleaned[:limit]


class EvidenceStore:
    """The WARC evidence files of one crawl process (see the module docstring).

    Cost: one gzip compression per record (the body is at most ``download_maxsize``) and
    two small writes; the record is held in memory once.  Thread-safe.  Raises OSError
    when the folder or a file cannot be written.
    """

    def __init__(self, directory: str | os.PathLike[str], *, max_file_bytes: int, job_id: str,
                 software: str = SOFTWARE):
        self.directory = Path(directory)
        self.max_file_bytes = int(max_file_bytes)
        self.job_id = str(job_id)
        self.software = software
        self._lock = threading.Lock()
        self._sequence = 0
        self._warc: BinaryIO | None = None
        self._manifest: BinaryIO | None = None
        self._path: Path | None = None
        self._size = 0
        self._count = 0
        self._chain = GENESIS
        self._warcinfo_id = ""
        self.files_written: list[Path] = []

    # ------------------------------------------------------------------ writing
    def write_response(
        self,
        *,
        url: str,
        status: int,
        headers: Iterable[tuple[bytes, bytes]],
        body: bytes,
        fetched_at: datetime,
        protocol: str | None = None,
        tor_client: str | None = None,
        circuit_id: str | None = None,
    ) -> EvidenceRef:
        """Append one response record; returns where it is (file relative to the folder, offset, digest)."""
        block = http_block(status, headers, body, protocol)
        body_start = block.index(b"\r\n\r\n") + 4
        record_id = f"<urn:uuid:{uuid.uuid4()}>"
        payload_digest = hashlib.sha256(memoryview(block)[body_start:]).hexdigest()
        warc_headers = [
            ("WARC-Type", "response"),
            ("WARC-Record-ID", record_id),
            ("WARC-Date", _warc_date(fetched_at)),
            ("WARC-Target-URI", _header_value(url, 8192)),
            ("WARC-Block-Digest", "sha256:" + hashlib.sha256(block).hexdigest()),
            ("WARC-Payload-Digest", "sha256:" + payload_digest),
            ("WARC-Onionscope-Job-Id", _header_value(self.job_id, 256)),
        ]
        if tor_client:
            warc_headers.append(("WARC-Onionscope-Tor-Client", _header_value(tor_client, 128)))
        if circuit_id:
            warc_headers.append(("WARC-Onionscope-Tor-Circuit", _header_value(circuit_id, 32)))
        with self._lock:
            if self._warc is None:
                self._open()
            warc_headers.insert(4, ("WARC-Warcinfo-ID", self._warcinfo_id))
            data = warc_record_bytes(warc_headers, block, "application/http; msgtype=response")
            if self._count > 1 and self._size + len(data) > self.max_file_bytes:
                self._close_file()
                self._open()
                warc_headers[4] = ("WARC-Warcinfo-ID", self._warcinfo_id)
                data = warc_record_bytes(warc_headers, block, "application/http; msgtype=response")
            return self._append(data, record_id, "response", {
                "target_uri": _header_value(url, 8192), "status": int(status),
                "fetched_at": _warc_date(fetched_at), "job_id": self.job_id,
                "tor_client": tor_client, "circuit_id": circuit_id,
                "payload_digest": payload_digest,
            })

    def close(self) -> None:
        """Seal and close the current file (if any). Raises OSError when it cannot be written."""
        with self._lock:
            self._close_file()

    # ------------------------------------------------------------------ files
    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._sequence += 1
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        job = _UNSAFE_NAME.sub("_", self.job_id)[:60] or "job"
        path = self.directory / f"{job}-{stamp}-{os.getpid()}-{self._sequence:05d}{WARC_SUFFIX}"
        while path.exists():  # the same second, a second store of the same job and process
            self._sequence += 1
            path = self.directory / f"{job}-{stamp}-{os.getpid()}-{self._sequence:05d}{WARC_SUFFIX}"
        self._path = path
        self._warc = open(path, "xb")
        self._manifest = open(manifest_path(path), "xb")
        self._size = 0
        self._count = 0
        self._chain = GENESIS
        created = _warc_date(datetime.now(timezone.utc))
        self._write_manifest_line({"format": MANIFEST_FORMAT, "warc_file": path.name, "created_at": created,
                                   "job_id": self.job_id, "chain": "sha256(previous chain hex + digest hex)",
                                   "genesis": GENESIS})
        self._warcinfo_id = f"<urn:uuid:{uuid.uuid4()}>"
        info = (f"software: {self.software}\r\nformat: WARC File Format 1.1\r\n"
                f"onionscope-job-id: {_header_value(self.job_id, 256)}\r\n"
                f"manifest: {manifest_path(path).name}\r\n").encode("utf-8")
        data = warc_record_bytes([
            ("WARC-Type", "warcinfo"), ("WARC-Record-ID", self._warcinfo_id), ("WARC-Date", created),
            ("WARC-Filename", path.name), ("WARC-Block-Digest", "sha256:" + hashlib.sha256(info).hexdigest()),
        ], info, "application/warc-fields")
        self._append(data, self._warcinfo_id, "warcinfo", {})
        self.files_written.append(path)

    def _append(self, data: bytes, record_id: str, record_type: str, extra: dict[str, Any]) -> EvidenceRef:
        assert self._warc is not None and self._path is not None
        offset = self._size
        self._warc.write(data)
        self._warc.flush()
        digest = record_digest(data)
        self._chain = chain_next(self._chain, digest)
        self._write_manifest_line({"n": self._count, "offset": offset, "length": len(data), "digest": digest,
                                   "chain": self._chain, "record_id": record_id, "type": record_type, **extra})
        self._size += len(data)
        self._count += 1
        return EvidenceRef(self._path.name, offset, len(data), digest, record_id)

    def _write_manifest_line(self, value: dict[str, Any]) -> None:
        assert self._manifest is not None
        self._manifest.write(json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n")
        self._manifest.flush()

    def _close_file(self) -> None:
        if self._warc is None or self._manifest is None:
            return
        self._write_manifest_line({"sealed": True, "records": self._count, "chain": self._chain,
                                   "sealed_at": _warc_date(datetime.now(timezone.utc))})
        for handle in (self._warc, self._manifest):
            os.fsync(handle.fileno())
            handle.close()
        self._warc = self._manifest = None
