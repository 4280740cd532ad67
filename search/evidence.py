"""From a search hit to its bytes: the evidence link, and the self-contained evidence package.

A page or listing document carries ``evidence`` (:class:`crawler.evidence.chain.EvidenceRef`):
the WARC file under ``evidence_dir``, the record's offset and length there, and the SHA-256 of
the record's bytes.  This module turns that into what an analyst hands over:

* :func:`evidence_link` (hit) -> ``/evidence/<id>`` (the UI's and API's download of the
  package as a zip) or None when the hit has no evidence record (a vendor, a wallet, a page
  indexed before evidence capture);
* :func:`hit_document_steps` (index_prefix, hit_id) -> :mod:`search.es_steps` steps whose result
  is ``(kind, source)`` of the page or listing with that ``_id``, or None (blocklisted
  documents answer as missing, as everywhere on the search side);
* :func:`write_package` (evidence_dir, kind, hit_id, source, out_dir) -> :class:`EvidencePackage`:
  the WARC record (``record.warc.gz``, its bytes exactly as stored), the source file's manifest
  (``source-manifest.jsonl``: the record's place in the hash chain), the record's manifest entry
  and pointer (``evidence.json``), the extracted fields (``fields.json``), a text rendering of
  the page made from the record's body without running anything in it (``page.txt``), a
  ``README.txt`` on verifying with ``sha256sum`` and warcio, and ``SHA256SUMS`` over all of
  them (``sha256sum -c SHA256SUMS``).  The record is checked against its digest before it is
  copied: a changed record raises :class:`EvidenceError` instead of being exported.  Every
  export marks the record protected (:func:`crawler.evidence.retention.mark_protected`);
* :func:`zip_package` (package) -> the zip's bytes.

Raises :class:`EvidenceError` (a :class:`config.errors.UserError`) with a message for people.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote

from config.errors import UserError
from config.i18n import _
from config.os_reasons import os_reason
from config.schema import alias_name
from crawler.evidence.chain import (
    EvidenceRef,
    ManifestError,
    manifest_path,
    read_manifest,
    read_record_bytes,
    record_digest,
)
from crawler.evidence.retention import mark_protected
from search.es_steps import Get, Steps

EVIDENCE_KINDS = ("pages", "listings")
# Characters of the text rendering kept (the same order as a page's indexed text).
TEXT_MAX_CHARS = 2_000_000


class EvidenceError(UserError):
    """A hit has no evidence, or its record is missing or does not match its digest."""


def _field(hit: Any, name: str, default: Any = None) -> Any:
    if isinstance(hit, Mapping):
        return hit.get(name, default)
    return getattr(hit, name, default)


def evidence_link(hit: Any) -> str | None:
    """The URL path of ``hit``'s evidence package (``/evidence/<id>``), or None when it has no record.

    ``hit`` is a :class:`search.results.Hit`, its JSON form (``id``, ``kind``, ``source``), an
    Elasticsearch hit (``_id``, ``_source``) or a document with its ``id`` among its fields
    (the entity pages' form).  Raises nothing.
    """
    hit_id = _field(hit, "id") or _field(hit, "_id")
    source = _field(hit, "source") or _field(hit, "_source") or (hit if isinstance(hit, Mapping) else {})
    kind = _field(hit, "kind")
    if not hit_id or not isinstance(source, Mapping):
        return None
    if kind is not None and kind not in EVIDENCE_KINDS:
        return None
    try:
        EvidenceRef.from_doc(source.get("evidence"))
    except ValueError:
        return None
    return "/evidence/" + quote(str(hit_id), safe="")


def hit_document_steps(index_prefix: str, hit_id: str) -> Steps:
    """Steps whose result is ``(kind, source)`` of the page or listing ``hit_id``, or None."""
    for kind in EVIDENCE_KINDS:
        answer = yield Get(alias_name(index_prefix, kind), hit_id)
        if answer and answer.get("found", True) and answer.get("_source") is not None:
            return kind, dict(answer["_source"])
    return None


@dataclass(frozen=True)
class EvidencePackage:
    """A written package: its folder and the files in it (names relative to it), SHA256SUMS last."""

    directory: Path
    files: tuple[str, ...]
    ref: EvidenceRef


def _record_file(evidence_dir: Path, ref: EvidenceRef) -> Path:
    path = (evidence_dir / ref.file).resolve()
    if evidence_dir.resolve() not in path.parents:
        raise EvidenceError(_("the evidence pointer names {file}, outside evidence_dir", file=repr(ref.file)))
    return path


def _text_rendering(record_bytes: bytes, max_chars: int = TEXT_MAX_CHARS) -> str:
    """The page's visible text from the record's body (decoded as the crawl did); scripts never run."""
    from warcio.archiveiterator import ArchiveIterator

    from crawler.extractors.document import decode_html
    from crawler.extractors.html_page import parse_html_page

    for record in ArchiveIterator(io.BytesIO(record_bytes)):
        if record.rec_type != "response":
            continue
        content_type = (record.http_headers.get_header("Content-Type") or "text/html") if record.http_headers else ""
        body = record.content_stream().read()  # Content-Encoding and chunking undone by warcio
        url = record.rec_headers.get_header("WARC-Target-URI") or ""
        if content_type.split(";", 1)[0].strip().lower() == "text/plain":
            return decode_html(body, content_type)[:max_chars]
        # Parsed as data by lxml: nothing in the page is executed or fetched.
        return parse_html_page(decode_html(body, content_type), url, max_text_chars=max_chars).text
    return ""


def _readme(kind: str, hit_id: str, ref: EvidenceRef, entry: dict[str, Any], previous_chain: str) -> str:
    return f"""onionscope evidence package
===========================

Hit: {kind} {hit_id}
Source WARC file: {ref.file} (offset {ref.offset}, {ref.length} bytes)
WARC-Record-ID: {ref.record_id}
Record SHA-256: {ref.digest}
Fetched at: {entry.get('fetched_at')}   job: {entry.get('job_id')}
Tor client: {entry.get('tor_client') or 'unknown'}   circuit: {entry.get('circuit_id') or 'not known'}

Files
-----
record.warc.gz        the WARC response record exactly as stored by the crawl (one gzip member;
                      a valid WARC file on its own): status line, headers and body as received
                      through Tor, the body capped at download_maxsize
fields.json           the fields onionscope extracted and indexed for this hit
page.txt              the page's visible text, made from the record's body without running it
evidence.json         the pointer from the index to the record, and the record's manifest entry
source-manifest.jsonl the manifest of the whole source WARC file: every record's digest and the
                      running hash chain up to and past this record
SHA256SUMS            SHA-256 of every file above

How to verify
-------------
1. Every file is intact:

       sha256sum -c SHA256SUMS

2. The record is the one the index points to: its SHA-256 is the "digest" in evidence.json and
   in fields.json (evidence.digest):

       sha256sum record.warc.gz

3. The record is well-formed and its own digests hold (WARC-Block-Digest and
   WARC-Payload-Digest are sha256; warcio is at https://pypi.org/project/warcio/):

       warcio check -v record.warc.gz
       warcio index record.warc.gz

   and the HTTP response can be read with `warcio extract --payload record.warc.gz 0`.

4. The record holds its place in the hash chain of its WARC file: in source-manifest.jsonl each
   record line has "digest" and "chain", where chain = sha256(previous chain + digest) over the
   two lowercase hex strings (the previous chain of record 0 is 64 zeros). For this record:

       printf '%s%s' {previous_chain} {ref.digest} | sha256sum

   prints {entry.get('chain')}. The whole source file is checked with
   `onionscope evidence verify {ref.file}` where the evidence store is kept.
"""


def write_package(evidence_dir: str | os.PathLike[str], kind: str, hit_id: str, source: Mapping[str, Any],
                  out_dir: str | os.PathLike[str], *, protect: bool = True) -> EvidencePackage:
    """Write the evidence package of one hit into ``out_dir`` (created); returns what was written.

    Raises :class:`EvidenceError` when the document has no evidence pointer, or its WARC file,
    manifest entry or bytes are missing or do not match the digest; OSError when ``out_dir``
    cannot be written.
    """
    evidence_dir = Path(evidence_dir)
    try:
        ref = EvidenceRef.from_doc(source.get("evidence"))
    except ValueError as exc:
        raise EvidenceError(_("{kind} {hit_id} has no evidence record ({problem}); it was indexed before evidence "
                              "capture, or with evidence_capture off", kind=kind, hit_id=hit_id, problem=exc)) from None
    warc = _record_file(evidence_dir, ref)
    try:
        data = read_record_bytes(warc, ref.offset, ref.length)
    except OSError as exc:
        raise EvidenceError(_("the evidence file {file} cannot be read ({reason}); was it pruned or moved?",
                              file=ref.file, reason=os_reason(exc))) from None
    if record_digest(data) != ref.digest:
        raise EvidenceError(_("{file}: the record at offset {offset} does not hash to {digest}: it was changed or is "
                              "missing; run `onionscope evidence verify` and do not use it", file=ref.file,
                              offset=ref.offset, digest=ref.digest))
    try:
        _header, entries, _seal = read_manifest(manifest_path(warc))
    except ManifestError as exc:
        raise EvidenceError(str(exc)) from None
    previous_chain = "0" * 64
    entry: dict[str, Any] | None = None
    for candidate in entries:
        if candidate.get("offset") == ref.offset:
            entry = candidate
            break
        previous_chain = str(candidate.get("chain"))
    if entry is None or entry.get("digest") != ref.digest:
        raise EvidenceError(_("{file}: the manifest has no entry for the record at offset {offset} with digest "
                              "{digest}", file=ref.file, offset=ref.offset, digest=ref.digest))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {
        "record.warc.gz": data,
        "fields.json": (json.dumps({"kind": kind, "id": hit_id, "fields": dict(source)}, indent=2, sort_keys=True,
                                   ensure_ascii=False) + "\n").encode("utf-8"),
        "page.txt": (_text_rendering(data) + "\n").encode("utf-8"),
        "evidence.json": (json.dumps({"pointer": ref.to_doc(), "manifest_entry": entry,
                                      "previous_chain": previous_chain}, indent=2, sort_keys=True) + "\n").encode(),
        "source-manifest.jsonl": manifest_path(warc).read_bytes(),
        "README.txt": _readme(kind, hit_id, ref, entry, previous_chain).encode("utf-8"),
    }
    for name, content in files.items():
        (out / name).write_bytes(content)
    sums = "".join(f"{hashlib.sha256(content).hexdigest()}  {name}\n" for name, content in files.items())
    (out / "SHA256SUMS").write_text(sums, encoding="ascii")
    if protect:
        mark_protected(evidence_dir, ref, f"export {kind} {hit_id}")
    return EvidencePackage(out, (*files, "SHA256SUMS"), ref)


def zip_package(package: EvidencePackage) -> bytes:
    """The package's files in one zip (stored under a folder named after the record digest)."""
    buffer = io.BytesIO()
    folder = f"evidence-{package.ref.digest[:16]}"
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in package.files:
            archive.write(package.directory / name, f"{folder}/{name}")
    return buffer.getvalue()
