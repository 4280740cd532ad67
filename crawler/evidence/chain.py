"""The manifest of one WARC evidence file, its running hash chain, and the check of a file against it.

Each WARC file ``X.warc.gz`` has a manifest ``X.warc.gz.manifest.jsonl`` beside it: one JSON
object per line.  The first line is a header (``format``, ``warc_file``, ``created_at``,
``job_id``); then one line per record, in file order::

    {"n": 0, "offset": 0, "length": 512, "digest": "<sha256 hex>", "chain": "<sha256 hex>",
     "record_id": "<urn:uuid:...>", "type": "warcinfo" | "response", ...}

``digest`` is the SHA-256 of the record's bytes exactly as they sit in the file (its gzip
member, ``length`` bytes from ``offset``).  ``chain`` is the running hash:
``sha256(previous chain + digest)`` over the two lowercase hex strings as ASCII, the previous
chain of record 0 being :data:`GENESIS` (64 zeros).  A file that is complete ends with a seal
line ``{"sealed": true, "records": N, "chain": <chain of the last record>}``.

:func:`verify_warc_file` reads a file and its manifest and reports every :class:`Problem`: a
record whose bytes no longer hash to its digest (one changed byte), a record that is missing
(its bytes are gone, or its line is gone and the chain breaks), bytes the manifest does not
account for, a seal that does not match, and records whose WARC digests (``WARC-Block-Digest``
and ``WARC-Payload-Digest``, sha256) fail in warcio.

Public API: :data:`GENESIS`, :class:`EvidenceRef`, :func:`record_digest`, :func:`chain_next`,
:func:`manifest_path`, :func:`read_manifest` (raises :class:`ManifestError`), :class:`Problem`,
:func:`verify_warc_file`, :func:`warc_files`, :func:`read_record_bytes`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from config.i18n import _
from config.os_reasons import os_reason

GENESIS = "0" * 64
MANIFEST_SUFFIX = ".manifest.jsonl"
MANIFEST_FORMAT = "onionscope-evidence-manifest/1"
WARC_SUFFIX = ".warc.gz"
_HEX = frozenset("0123456789abcdef")


class ManifestError(ValueError):
    """A manifest cannot be read as one (missing, not JSON lines, no header)."""


@dataclass(frozen=True)
class EvidenceRef:
    """Where one record lives: its WARC file (relative to ``evidence_dir``), offset, length, digest, id."""

    file: str
    offset: int
    length: int
    digest: str
    record_id: str

    def to_doc(self) -> dict[str, Any]:
        """The ``evidence`` object stored on a page or listing document."""
        return {"file": self.file, "offset": self.offset, "length": self.length, "digest": self.digest,
                "record_id": self.record_id}

    @classmethod
    def from_doc(cls, value: Any) -> "EvidenceRef":
        """The ref of a stored ``evidence`` object; raises ValueError when it is not one."""
        if not isinstance(value, dict):
            raise ValueError(_("no evidence pointer"))
        try:
            ref = cls(str(value["file"]), int(value["offset"]), int(value["length"]), str(value["digest"]),
                      str(value.get("record_id") or ""))
        except (KeyError, TypeError, ValueError):
            raise ValueError(_("malformed evidence pointer {value}", value=f"{value!r:.200}")) from None
        # The file name comes from a document: never let it leave evidence_dir.
        parts = Path(ref.file).parts
        if not ref.file or Path(ref.file).is_absolute() or ".." in parts or ref.offset < 0 or ref.length <= 0:
            raise ValueError(_("malformed evidence pointer {value}", value=f"{value!r:.200}"))
        if len(ref.digest) != 64 or not set(ref.digest) <= _HEX:
            raise ValueError(_("malformed evidence digest {value}", value=f"{ref.digest!r:.80}"))
        return ref


def record_digest(data: bytes) -> str:
    """The SHA-256 (lowercase hex) of a record's bytes as stored."""
    return hashlib.sha256(data).hexdigest()


def chain_next(previous: str, digest: str) -> str:
    """The chain after a record: ``sha256(previous + digest)`` of the two hex strings, as hex.

    The same as ``printf '%s%s' "$previous" "$digest" | sha256sum`` in a shell.
    """
    return hashlib.sha256((previous + digest).encode("ascii")).hexdigest()


def manifest_path(warc_path: str | os.PathLike[str]) -> Path:
    """The manifest of a WARC file: the same path with :data:`MANIFEST_SUFFIX` added."""
    return Path(str(warc_path) + MANIFEST_SUFFIX)


def read_manifest(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]:
    """(header, record entries, seal or None) of a manifest file.

    Raises :class:`ManifestError` (naming the file and line) for a missing file, a line that
    is not a JSON object or a first line that is not a header.
    """
    path = Path(path)
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise ManifestError(_("{path}: cannot read the manifest ({reason})", path=path,
                              reason=os_reason(exc))) from None
    objects = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            raise ManifestError(_("{path}: line {line} is not JSON", path=path, line=number)) from None
        if not isinstance(value, dict):
            raise ManifestError(_("{path}: line {line} is not a JSON object", path=path, line=number))
        objects.append(value)
    if not objects or objects[0].get("format") != MANIFEST_FORMAT:
        raise ManifestError(_("{path}: the first line is not a {format} header", path=path, format=MANIFEST_FORMAT))
    header, rest = objects[0], objects[1:]
    seal = None
    if rest and rest[-1].get("sealed") is True:
        seal = rest.pop()
    return header, rest, seal


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a WARC evidence file: the file, the record (or None) and what."""

    file: str
    record: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.record + ': ' if self.record else ''}{self.message}"


def _record_name(entry: dict[str, Any], index: int) -> str:
    return f"record {entry.get('n', index)} ({entry.get('record_id') or 'no id'}, offset {entry.get('offset')})"


def read_record_bytes(warc_path: str | os.PathLike[str], offset: int, length: int) -> bytes:
    """``length`` bytes of a WARC file from ``offset`` (fewer at the end of the file); raises OSError."""
    with open(warc_path, "rb") as handle:
        handle.seek(offset)
        return handle.read(length)


def _warc_digest_problems(data: bytes) -> list[str]:
    """What warcio says about one record's bytes: parse errors and failed sha256 digests."""
    from warcio.archiveiterator import ArchiveIterator

    problems: list[str] = []
    try:
        iterator = ArchiveIterator(io.BytesIO(data), check_digests=True)
        records = 0
        for record in iterator:
            records += 1
            stream = record.content_stream()
            while stream.read(1 << 16):
                pass
            if record.digest_checker.passed is False:
                problems.extend(str(problem) for problem in record.digest_checker.problems)
        if records != 1:
            problems.append(f"holds {records} WARC records, not 1")
    except Exception as exc:  # warcio raises many kinds on damaged bytes; each is a finding here
        problems.append(f"is not a readable WARC record ({type(exc).__name__}: {exc})")
    return problems


def verify_warc_file(warc_path: str | os.PathLike[str], *, check_warc_digests: bool = True) -> list[Problem]:
    """Every problem of one WARC file against its manifest; an empty list when it verifies.

    Reads the whole file once (each record's bytes are hashed, and with
    ``check_warc_digests`` parsed by warcio).  Raises nothing: an unreadable file
    or manifest is a problem too.
    """
    warc_path = Path(warc_path)
    name = str(warc_path)
    try:
        header, entries, seal = read_manifest(manifest_path(warc_path))
    except ManifestError as exc:
        return [Problem(name, None, str(exc))]
    try:
        size = warc_path.stat().st_size
    except OSError as exc:
        return [Problem(name, None, f"cannot read the WARC file ({exc.strerror or exc})")]
    problems: list[Problem] = []
    if header.get("warc_file") not in (None, warc_path.name):
        problems.append(Problem(name, None, f"the manifest is for {header.get('warc_file')!r}, not this file"))
    previous_chain = GENESIS
    expected_offset = 0
    with open(warc_path, "rb") as handle:
        for index, entry in enumerate(entries):
            record = _record_name(entry, index)
            try:
                offset, length = int(entry["offset"]), int(entry["length"])
                digest, chain = str(entry["digest"]), str(entry["chain"])
            except (KeyError, TypeError, ValueError):
                problems.append(Problem(name, record, "the manifest entry lacks offset, length, digest or chain"))
                continue
            if entry.get("n") != index:
                problems.append(Problem(name, record, f"is entry {index} of the manifest: a manifest line before "
                                                      "it is missing"))
            if offset != expected_offset:
                problems.append(Problem(name, record, f"starts at {offset}, but the record before ends at "
                                                      f"{expected_offset}: records or bytes are missing or added"))
            if chain_next(previous_chain, digest) != chain:
                problems.append(Problem(name, record, "the hash chain breaks here: a manifest entry before it was "
                                                      "removed or changed"))
            previous_chain = chain
            expected_offset = offset + length
            handle.seek(offset)
            data = handle.read(length)
            if len(data) < length:
                problems.append(Problem(name, record, f"is missing: the file ends at {size} bytes"))
                continue
            if record_digest(data) != digest:
                following = entries[index + 1] if index + 1 < len(entries) else None
                if following is not None and _bytes_at(handle, offset, following) == following.get("digest"):
                    problems.append(Problem(name, record, "is missing: the next record's bytes are at its offset"))
                else:
                    problems.append(Problem(name, record, "its bytes do not hash to the manifest's digest "
                                                          f"{digest}: the record was changed"))
                continue
            if check_warc_digests:
                problems.extend(Problem(name, record, f"warcio: {message}") for message in _warc_digest_problems(data))
    if expected_offset < size:
        problems.append(Problem(name, None, f"{size - expected_offset} bytes after the last record in the manifest "
                                            f"(offset {expected_offset}) are not accounted for"))
    if seal is not None:
        if seal.get("records") != len(entries) or seal.get("chain") != previous_chain:
            problems.append(Problem(name, None, f"the seal says {seal.get('records')} records ending in chain "
                                                f"{seal.get('chain')}, the manifest has {len(entries)} ending in "
                                                f"{previous_chain}: records were removed"))
    return problems


def _bytes_at(handle: Any, offset: int, entry: dict[str, Any]) -> str | None:
    try:
        length = int(entry["length"])
    except (KeyError, TypeError, ValueError):
        return None
    handle.seek(offset)
    return record_digest(handle.read(length))


def warc_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The WARC evidence files named by ``paths``: files as given, folders searched recursively, sorted.

    Raises FileNotFoundError for a path that does not exist.
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(path.rglob("*" + WARC_SUFFIX)))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(_("{path}: no such file or folder", path=path))
    return found
