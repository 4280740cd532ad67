"""crawler.evidence.store and crawler.evidence.chain: WARC records read back with warcio, tampering found."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.evidence.chain import EvidenceRef, manifest_path, verify_warc_file, warc_files
from crawler.evidence.store import EvidenceStore

FETCHED_AT = datetime(2026, 12, 6, 12, 30, 1, 250000, tzinfo=timezone.utc)


def _write(directory: Path, count: int = 4, max_file_bytes: int = 10_000_000) -> tuple[EvidenceStore, list[EvidenceRef]]:
    store = EvidenceStore(directory, max_file_bytes=max_file_bytes, job_id="job-7")
    refs = [
        store.write_response(
            url=f"http://example{index}.onion/page?x={index}", status=200,
            headers=[(b"Content-Type", b"text/html; charset=utf-8"), (b"Set-Cookie", b"a=1"),
                     (b"Set-Cookie", b"b=\xe9")],
            body=f"<html><title>page {index}</title><p>{'word ' * 50}</p></html>".encode(),
            fetched_at=FETCHED_AT, tor_client="127.0.0.1:9050", circuit_id=str(10 + index),
        )
        for index in range(count)
    ]
    store.close()
    return store, refs


def test_records_read_back_with_warcio_verbatim_with_sha256_digests(tmp_path: Path) -> None:
    store, refs = _write(tmp_path)
    [warc] = store.files_written
    with open(warc, "rb") as handle:
        records = []
        for record in ArchiveIterator(handle, check_digests=True):
            body = record.content_stream().read()
            records.append((record, body))
            assert record.digest_checker.passed is not False, record.digest_checker.problems
    assert [record.rec_type for record, _ in records] == ["warcinfo"] + ["response"] * 4
    response, body = records[1]
    headers = response.rec_headers
    assert headers.get_header("WARC-Target-URI") == "http://example0.onion/page?x=0"
    assert headers.get_header("WARC-Date") == "2026-12-06T12:30:01.250000Z"
    assert headers.get_header("WARC-Onionscope-Job-Id") == "job-7"
    assert headers.get_header("WARC-Onionscope-Tor-Client") == "127.0.0.1:9050"
    assert headers.get_header("WARC-Onionscope-Tor-Circuit") == "10"
    assert headers.get_header("WARC-Payload-Digest") == "sha256:" + hashlib.sha256(body).hexdigest()
    assert response.http_headers.get_statuscode() == "200"
    # Both Set-Cookie values, the non-ASCII byte kept as it came (warcio's writer would %-encode it).
    raw = gzip.decompress(Path(warc).read_bytes()[refs[0].offset:refs[0].offset + refs[0].length])
    assert b"Set-Cookie: a=1\r\nSet-Cookie: b=\xe9\r\n" in raw
    assert body.startswith(b"<html><title>page 0</title>")
    # The ref's digest is the stored bytes' sha256, which the manifest also holds.
    stored = Path(warc).read_bytes()[refs[2].offset:refs[2].offset + refs[2].length]
    assert hashlib.sha256(stored).hexdigest() == refs[2].digest
    entries = [json.loads(line) for line in manifest_path(warc).read_text().splitlines()]
    assert entries[4]["digest"] == refs[2].digest and entries[4]["offset"] == refs[2].offset
    assert entries[-1]["sealed"] is True and entries[-1]["records"] == 5
    assert verify_warc_file(warc) == []


def test_the_chain_is_sha256_of_previous_and_digest_from_64_zeros(tmp_path: Path) -> None:
    store, _ = _write(tmp_path, count=2)
    lines = [json.loads(line) for line in manifest_path(store.files_written[0]).read_text().splitlines()][1:-1]
    chain = "0" * 64
    for entry in lines:
        chain = hashlib.sha256((chain + entry["digest"]).encode()).hexdigest()
        assert entry["chain"] == chain


def test_one_changed_byte_is_found_and_named(tmp_path: Path) -> None:
    store, refs = _write(tmp_path)
    warc = store.files_written[0]
    data = bytearray(warc.read_bytes())
    data[refs[1].offset + refs[1].length // 2] ^= 0x01
    warc.write_bytes(bytes(data))
    problems = verify_warc_file(warc)
    assert problems, "a changed byte went unnoticed"
    assert any(problem.record and "record 2 " in problem.record and refs[1].record_id in problem.record
               and "changed" in problem.message for problem in problems), problems
    assert all(str(warc) == problem.file for problem in problems)


def test_a_dropped_record_is_found(tmp_path: Path) -> None:
    store, refs = _write(tmp_path)
    warc = store.files_written[0]
    data = warc.read_bytes()
    warc.write_bytes(data[:refs[1].offset] + data[refs[1].offset + refs[1].length:])
    problems = verify_warc_file(warc)
    assert any(problem.record and refs[1].record_id in problem.record and "missing" in problem.message
               for problem in problems), problems


def test_a_dropped_record_with_its_manifest_line_breaks_the_chain(tmp_path: Path) -> None:
    store, refs = _write(tmp_path)
    warc = store.files_written[0]
    data = warc.read_bytes()
    warc.write_bytes(data[:refs[1].offset] + data[refs[1].offset + refs[1].length:])
    manifest = manifest_path(warc)
    lines = manifest.read_text().splitlines()
    kept = [line for line in lines if refs[1].record_id not in line]
    # Re-number and re-offset the rest, as a careful forger would; only the chain is left to catch it.
    shifted = []
    for line in kept:
        entry = json.loads(line)
        if "n" in entry and entry["n"] > 2:
            entry["n"] -= 1
            entry["offset"] -= refs[1].length
        shifted.append(json.dumps(entry))
    manifest.write_text("\n".join(shifted) + "\n")
    problems = verify_warc_file(warc)
    assert any("chain breaks" in problem.message for problem in problems), problems


def test_bytes_added_after_the_last_record_are_found(tmp_path: Path) -> None:
    store, _ = _write(tmp_path, count=1)
    warc = store.files_written[0]
    warc.write_bytes(warc.read_bytes() + gzip.compress(b"WARC/1.1\r\n\r\n"))
    assert any("not accounted for" in problem.message for problem in verify_warc_file(warc))


def test_files_rotate_by_size_and_each_verifies(tmp_path: Path) -> None:
    store, refs = _write(tmp_path, count=6, max_file_bytes=1200)
    assert len(store.files_written) >= 3
    assert {ref.file for ref in refs} == {path.name for path in store.files_written}
    assert warc_files([tmp_path]) == sorted(store.files_written)
    for path in store.files_written:
        assert verify_warc_file(path) == []


def test_a_missing_manifest_is_a_problem(tmp_path: Path) -> None:
    store, _ = _write(tmp_path, count=1)
    manifest_path(store.files_written[0]).unlink()
    [problem] = verify_warc_file(store.files_written[0])
    assert "manifest" in problem.message


@pytest.mark.parametrize("stored", [
    None, {}, {"file": "../x.warc.gz", "offset": 0, "length": 5, "digest": "a" * 64},
    {"file": "/etc/passwd", "offset": 0, "length": 5, "digest": "a" * 64},
    {"file": "x.warc.gz", "offset": 0, "length": 5, "digest": "not hex"},
])
def test_evidence_pointers_from_documents_are_checked(stored: object) -> None:
    with pytest.raises(ValueError):
        EvidenceRef.from_doc(stored)
