"""search.evidence (package, link), crawler.evidence.retention (marks, prune) and `onionscope evidence`."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.evidence.chain import manifest_path, verify_warc_file
from crawler.evidence.retention import mark_protected, protected_files, prune
from crawler.evidence.store import EvidenceStore
from search.evidence import EvidenceError, evidence_link, write_package, zip_package
from search.results import Hit

PAGE = (b"<html><head><title>Shop</title><script>document.write('RAN A SCRIPT')</script></head>"
        b"<body><p>Pay to bc1qexample</p><p style='display:none'>hidden</p></body></html>")


def _record(directory: Path, body: bytes = PAGE, *, gzip_body: bool = False, fetched_at: datetime | None = None,
            job_id: str = "job-1"):
    store = EvidenceStore(directory, max_file_bytes=1 << 20, job_id=job_id)
    headers = [(b"Content-Type", b"text/html; charset=utf-8")]
    if gzip_body:
        headers.append((b"Content-Encoding", b"gzip"))
        body = gzip.compress(body)
    ref = store.write_response(url="http://shop.onion/", status=200, headers=headers, body=body,
                               fetched_at=fetched_at or datetime.now(timezone.utc), tor_client="127.0.0.1:9050")
    store.close()
    return store, ref


def test_the_package_verifies_with_sha256sum_and_reads_with_warcio(tmp_path: Path) -> None:
    evidence_dir = tmp_path / "evidence"
    _store, ref = _record(evidence_dir, gzip_body=True)
    source = {"url": "http://shop.onion/", "title": "Shop", "evidence": ref.to_doc()}
    package = write_package(evidence_dir, "pages", "page-1", source, tmp_path / "out")
    out = package.directory
    # The real sha256sum, as the README tells a reader to run it.
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert sorted(line.split()[1] for line in (out / "SHA256SUMS").read_text().splitlines()) == sorted(
        name for name in package.files if name != "SHA256SUMS")
    # The record is the stored bytes, and warcio reads it with its sha256 digests holding.
    assert subprocess.run(["sha256sum", "record.warc.gz"], cwd=out, capture_output=True,
                          text=True).stdout.split()[0] == ref.digest
    with open(out / "record.warc.gz", "rb") as handle:
        records = []
        for record in ArchiveIterator(handle, check_digests=True):
            records.append(record)
            body = record.content_stream().read()  # read while the iterator stands on the record
            assert record.digest_checker.passed is not False, record.digest_checker.problems
    assert len(records) == 1
    # warcio's own command, as the README tells a reader to run it: the sha256 digests pass.
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v", "record.warc.gz"], cwd=out,
                           capture_output=True, text=True)
    assert check.returncode == 0 and "digest pass" in check.stdout, check.stdout + check.stderr
    assert body == PAGE  # warcio undoes the Content-Encoding kept in the record
    assert record.rec_headers.get_header("WARC-Record-ID") == ref.record_id
    text = (out / "page.txt").read_text()
    assert "Pay to bc1qexample" in text and "RAN A SCRIPT" not in text and "hidden" not in text
    fields = json.loads((out / "fields.json").read_text())
    assert fields["fields"]["evidence"]["digest"] == ref.digest and fields["kind"] == "pages"
    chain = json.loads((out / "evidence.json").read_text())
    import hashlib
    assert hashlib.sha256((chain["previous_chain"] + ref.digest).encode()).hexdigest() == chain["manifest_entry"]["chain"]
    assert "sha256sum -c SHA256SUMS" in (out / "README.txt").read_text()
    # Exporting protects the record's file from pruning.
    assert ref.file in protected_files(evidence_dir)
    with zipfile.ZipFile(__import__("io").BytesIO(zip_package(package))) as archive:
        assert sorted(Path(name).name for name in archive.namelist()) == sorted(package.files)


def test_a_one_byte_change_in_a_package_fails_sha256sum(tmp_path: Path) -> None:
    _store, ref = _record(tmp_path / "evidence")
    out = write_package(tmp_path / "evidence", "pages", "p", {"evidence": ref.to_doc()}, tmp_path / "out").directory
    data = bytearray((out / "record.warc.gz").read_bytes())
    data[len(data) // 2] ^= 0x01
    (out / "record.warc.gz").write_bytes(bytes(data))
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True)
    assert checked.returncode == 1 and "record.warc.gz: FAILED" in checked.stdout


def test_a_changed_record_is_not_exported(tmp_path: Path) -> None:
    evidence_dir = tmp_path / "evidence"
    store, ref = _record(evidence_dir)
    warc = store.files_written[0]
    data = bytearray(warc.read_bytes())
    data[ref.offset + 40] ^= 0x01
    warc.write_bytes(bytes(data))
    with pytest.raises(EvidenceError, match="does not hash"):
        write_package(evidence_dir, "pages", "p", {"evidence": ref.to_doc()}, tmp_path / "out")


def test_a_hit_without_evidence_has_no_link_and_no_package(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="no evidence record"):
        write_package(tmp_path, "pages", "p", {"url": "http://x.onion/"}, tmp_path / "out")
    assert evidence_link({"id": "p", "kind": "pages", "source": {}}) is None
    assert evidence_link({"id": "v", "kind": "vendors", "source": {"evidence": {}}}) is None


def test_evidence_link_of_each_hit_form(tmp_path: Path) -> None:
    _store, ref = _record(tmp_path)
    source = {"evidence": ref.to_doc()}
    assert evidence_link(Hit(id="a/b", kind="pages", title="", score=None, source=source, snippets=[])) == "/evidence/a%2Fb"
    assert evidence_link({"id": "x", "kind": "listings", "source": source}) == "/evidence/x"
    assert evidence_link({"_id": "x", "_source": source}) == "/evidence/x"
    assert evidence_link({"id": "x", **source}) == "/evidence/x"
    assert evidence_link({"id": "x", "kind": "pages", "source": {"evidence": {**ref.to_doc(), "file": "../x"}}}) is None


def test_prune_removes_old_files_keeps_protected_and_recent_and_what_it_keeps_verifies(tmp_path: Path) -> None:
    evidence_dir = tmp_path / "evidence"
    now = datetime(2027, 6, 1, tzinfo=timezone.utc)
    old = now - timedelta(days=200)
    old_store, _old_ref = _record(evidence_dir, fetched_at=old, job_id="old")
    kept_store, kept_ref = _record(evidence_dir, fetched_at=old, job_id="watched")
    recent_store, _ = _record(evidence_dir, fetched_at=now - timedelta(days=3), job_id="recent")
    mark_protected(evidence_dir, kept_ref, "watchlist wallets-1")
    dry = prune(evidence_dir, 180, now=now, dry_run=True)
    assert [entry["file"] for entry in dry.removed] == [old_store.files_written[0].name]
    assert old_store.files_written[0].exists()
    report = prune(evidence_dir, 180, now=now)
    assert [entry["file"] for entry in report.removed] == [old_store.files_written[0].name]
    assert not old_store.files_written[0].exists() and not manifest_path(old_store.files_written[0]).exists()
    assert report.protected == [{"file": kept_store.files_written[0].name, "reasons": ["watchlist wallets-1"]}]
    assert report.kept_recent == 1
    for store in (kept_store, recent_store):
        assert store.files_written[0].exists() and verify_warc_file(store.files_written[0]) == []
    assert prune(evidence_dir, 0, now=now + timedelta(days=10_000)).removed == []


def _cli(*args: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-m", "onionscope.cli", "evidence", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_the_verify_command_exits_1_naming_file_and_record_and_0_when_all_verify(tmp_path: Path) -> None:
    evidence_dir = tmp_path / "evidence"
    store, ref = _record(evidence_dir)
    env = {"ONIONSCOPE_EVIDENCE_DIR": str(evidence_dir), "ONIONSCOPE_CONFIG": str(tmp_path / "none.yml")}
    (tmp_path / "none.yml").write_text("{}\n")
    ok = _cli("verify", env_extra=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "all verify" in ok.stderr
    warc = store.files_written[0]
    copy = tmp_path / "copy"
    shutil.copytree(evidence_dir, copy)
    data = bytearray(warc.read_bytes())
    data[ref.offset + ref.length - 5] ^= 0x40
    warc.write_bytes(bytes(data))
    failed = _cli("verify", env_extra=env)
    assert failed.returncode == 1
    assert str(warc) in failed.stdout and ref.record_id in failed.stdout, failed.stdout
    assert _cli("verify", str(copy), env_extra=env).returncode == 0
    assert _cli("verify", str(tmp_path / "nowhere"), env_extra=env).returncode == 1
