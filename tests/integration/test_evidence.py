"""Evidence end to end: the demo world crawled through the private Tor network into the real Elasticsearch.

One crawl (a subprocess, as `onionscope crawl` runs) with small WARC files (so they rotate) and
tor's ControlPort known (so records name their circuit).  Then: every indexed page and listing
points to a WARC record whose bytes hash to the digest it names, which warcio reads with its
sha256 digests holding, whose body is the page's (content_hash) and which names the job and the
tor client; `onionscope evidence verify` passes, and fails naming the file and the record after
one changed byte and after a dropped record; `onionscope evidence export` writes a package that
the real `sha256sum -c` and warcio accept; the API serves it as a zip behind a viewer token and
the search page links to it; prune removes what the policy lets go and keeps the exported file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from warcio.archiveiterator import ArchiveIterator

from harness.demo_world import DemoWorld
from tests.integration.test_crawl_end_to_end import PROJECT_ROOT, CrawlRun

# The module's crawl runs in the first test's setup: on a shared machine it takes longer than the default 600 s.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]

JOB = "evidence-crawl"


class EvidenceCrawl(CrawlRun):
    """The end-to-end crawl's environment, with evidence settings and tor's ControlPort."""

    @property
    def evidence_dir(self) -> Path:
        return self.work_dir / "evidence"

    def environment(self) -> dict[str, str]:
        environment = super().environment()
        client = self.world.manifest["clients"][0]
        environment.update(
            ONIONSCOPE_EVIDENCE_DIR=str(self.evidence_dir),
            # Small files, so a crawl of the demo world rotates them.
            ONIONSCOPE_EVIDENCE_MAX_FILE_BYTES=str(64 * 1024),
            ONIONSCOPE_CRAWL_DEPTH="1",
            ONIONSCOPE_CRAWL_MAX_PAGES="40",
            # The shared node can be slow to create indices while other suites run.
            ONIONSCOPE_ES_TIMEOUT="300",
            ONIONSCOPE_TOR_CONTROL=f"127.0.0.1:{client['control_port']}",
            ONIONSCOPE_TOR_COOKIE=str(client["cookie_path"]),
        )
        return environment

    def crawl(self, job: str) -> dict[str, Any]:
        """One market and one other site, to depth 1: pages and listings, in a few minutes."""
        market_hosts = [pair.split("=", 1)[1] for pair in self.world.market_hosts]
        markets = [seed for seed in self.world.seeds if any(host in seed for host in market_hosts)][:1]
        others = [seed for seed in self.world.seeds if seed not in markets][:1]
        seeds = [arg for seed in markets + others for arg in ("--seed", seed)]
        confirmations = [arg for pair in self.world.market_hosts for arg in ("--market-host", pair)]
        command = [sys.executable, "-m", "onionscope.cli", "crawl", "--job", job, "--json", *seeds, *confirmations]
        try:
            result = subprocess.run(command, cwd=PROJECT_ROOT, env=self.environment(), capture_output=True,
                                    text=True, timeout=1500, check=False)
        except subprocess.TimeoutExpired as timed_out:
            stderr = timed_out.stderr.decode(errors="replace") if isinstance(timed_out.stderr, bytes) else timed_out.stderr
            raise AssertionError(f"the crawl did not end in 1500 s:\n{(stderr or '')[-6000:]}") from None
        assert result.returncode == 0, f"crawl failed:\n{result.stdout}\n{result.stderr[-4000:]}"
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def crawl(demo_world: DemoWorld, es_node: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EvidenceCrawl]:
    import secrets

    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix

    run = EvidenceCrawl(demo_world, es_node.url, f"test-evidence-{secrets.token_hex(4)}",
                        tmp_path_factory.mktemp("evidence-crawl"))
    client = make_client(es_node.settings)
    try:
        run.summary = run.crawl(JOB)  # type: ignore[attr-defined]
        yield run
    finally:
        delete_prefix(client, run.prefix)
        client.close()


def _documents(run: EvidenceCrawl, kind: str) -> list[dict[str, Any]]:
    from elasticsearch import Elasticsearch

    client = Elasticsearch(run.es_url)
    try:
        client.indices.refresh(index=f"{run.prefix}-{kind}")
        response = client.search(index=f"{run.prefix}-{kind}", size=5000, query={"match_all": {}},
                                 source={"excludes": ["text", "links"]})
        return [dict(hit["_source"], _id=hit["_id"]) for hit in response["hits"]["hits"]]
    finally:
        client.close()


def _record_at(run: EvidenceCrawl, evidence: dict[str, Any]) -> tuple[bytes, Any, bytes]:
    """(stored bytes, warcio record, body as the spider read it) of one pointer."""
    path = run.evidence_dir / evidence["file"]
    with open(path, "rb") as handle:
        handle.seek(evidence["offset"])
        data = handle.read(evidence["length"])
    for record in ArchiveIterator(io.BytesIO(data), check_digests=True):
        body = record.content_stream().read()
        assert record.digest_checker.passed is True, (evidence, record.digest_checker.problems)
        return data, record, body
    raise AssertionError(f"no WARC record at {evidence}")


def test_every_indexed_page_points_to_a_record_whose_digest_matches(crawl: EvidenceCrawl) -> None:
    pages = _documents(crawl, "pages")
    assert len(pages) >= 5, "the crawl indexed too few pages to say anything"
    socks = crawl.world.socks_endpoints[0]
    circuits = 0
    for page in pages:
        evidence = page.get("evidence")
        assert evidence, f"{page['url']} has no evidence pointer"
        data, record, body = _record_at(crawl, evidence)
        # The pointer's digest is the stored record's sha256 (computed here, not read from the manifest).
        assert hashlib.sha256(data).hexdigest() == evidence["digest"]
        headers = record.rec_headers
        assert headers.get_header("WARC-Type") == "response"
        assert headers.get_header("WARC-Record-ID") == evidence["record_id"]
        assert headers.get_header("WARC-Target-URI") == page["url"]
        assert headers.get_header("WARC-Onionscope-Job-Id") == JOB
        assert headers.get_header("WARC-Onionscope-Tor-Client") == socks
        assert headers.get_header("WARC-Payload-Digest").startswith("sha256:")
        circuits += bool(headers.get_header("WARC-Onionscope-Tor-Circuit"))
        # The body the page was read from: content_hash is the sha256 of the (decoded) body.
        assert hashlib.sha256(body).hexdigest() == page["content_hash"], page["url"]
        assert record.http_headers.get_statuscode() == str(page["status"])
    # Best effort, but with the ControlPort known the circuit of most records should be named.
    assert circuits >= len(pages) // 2, f"{circuits} of {len(pages)} records name their circuit"
    assert len(list(crawl.evidence_dir.glob("*.warc.gz"))) >= 2, "the small files did not rotate"


def test_listings_point_to_the_record_of_the_page_they_were_read_from(crawl: EvidenceCrawl) -> None:
    listings = _documents(crawl, "listings")
    assert listings, "the crawl found no listing"
    for listing in listings:
        evidence = listing.get("evidence")
        assert evidence, f"listing {listing['_id']} has no evidence pointer"
        data, record, body = _record_at(crawl, evidence)
        assert hashlib.sha256(data).hexdigest() == evidence["digest"]
        if listing.get("extractor") != "card":
            assert record.rec_headers.get_header("WARC-Target-URI") == listing["url"]


def _onionscope(crawl: EvidenceCrawl, *arguments: str, evidence_dir: Path | None = None) -> subprocess.CompletedProcess:
    environment = crawl.environment()
    if evidence_dir is not None:
        environment["ONIONSCOPE_EVIDENCE_DIR"] = str(evidence_dir)
    return subprocess.run([sys.executable, "-m", "onionscope.cli", *arguments], cwd=PROJECT_ROOT, env=environment,
                          capture_output=True, text=True, timeout=600, check=False)


def test_verify_passes_and_catches_a_changed_byte_and_a_dropped_record(crawl: EvidenceCrawl, tmp_path: Path) -> None:
    verified = _onionscope(crawl, "evidence", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    page = next(page for page in _documents(crawl, "pages") if page.get("evidence"))
    evidence = page["evidence"]
    # One byte of the page's record, in a copy of the store.
    changed = tmp_path / "changed"
    shutil.copytree(crawl.evidence_dir, changed)
    warc = changed / evidence["file"]
    data = bytearray(warc.read_bytes())
    data[evidence["offset"] + evidence["length"] // 2] ^= 0x01
    warc.write_bytes(bytes(data))
    failed = _onionscope(crawl, "evidence", "verify", evidence_dir=changed)
    assert failed.returncode == 1, failed.stdout
    assert str(warc) in failed.stdout and evidence["record_id"] in failed.stdout, failed.stdout
    # The record dropped from its file, in another copy.
    dropped = tmp_path / "dropped"
    shutil.copytree(crawl.evidence_dir, dropped)
    warc = dropped / evidence["file"]
    data = bytearray(warc.read_bytes())
    del data[evidence["offset"]:evidence["offset"] + evidence["length"]]
    warc.write_bytes(bytes(data))
    failed = _onionscope(crawl, "evidence", "verify", str(warc))
    assert failed.returncode == 1, failed.stdout
    assert evidence["record_id"] in failed.stdout and "missing" in failed.stdout, failed.stdout


def test_an_exported_package_verifies_with_sha256sum_and_reads_with_warcio(crawl: EvidenceCrawl, tmp_path: Path) -> None:
    for kind in ("pages", "listings"):
        document = next(document for document in _documents(crawl, kind) if document.get("evidence"))
        out = tmp_path / kind
        exported = _onionscope(crawl, "evidence", "export", document["_id"], "--out", str(out))
        assert exported.returncode == 0, exported.stderr
        checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        record_bytes = (out / "record.warc.gz").read_bytes()
        assert hashlib.sha256(record_bytes).hexdigest() == document["evidence"]["digest"]
        check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v", "record.warc.gz"], cwd=out,
                               capture_output=True, text=True)
        assert check.returncode == 0 and "digest pass" in check.stdout, check.stdout + check.stderr
        fields = json.loads((out / "fields.json").read_text())
        assert fields["id"] == document["_id"] and fields["kind"] == kind
        assert (out / "page.txt").read_text().strip(), "the text rendering is empty"
    missing = _onionscope(crawl, "evidence", "export", "no-such-id", "--out", str(tmp_path / "none"))
    assert missing.returncode == 1 and "no page or listing" in missing.stderr


def test_the_api_serves_the_package_as_a_zip_and_the_search_page_links_it(crawl: EvidenceCrawl) -> None:
    from fastapi.testclient import TestClient

    from config.settings import load_settings
    from pipelines.es_client import make_client
    from search.api import create_app
    from search.auth import create_token

    settings = load_settings(environ=crawl.environment())
    client = make_client(settings)
    try:
        token, _record = create_token(client, settings.index_prefix, "viewer", "evidence test")
        page = next(page for page in _documents(crawl, "pages") if page.get("evidence"))
        with TestClient(create_app(settings, client)) as http:
            assert http.get(f"/evidence/{page['_id']}").status_code == 401
            answer = http.get(f"/evidence/{page['_id']}", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
            with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
                names = {Path(name).name: name for name in archive.namelist()}
                record = archive.read(names["record.warc.gz"])
                sums = archive.read(names["SHA256SUMS"]).decode()
            assert hashlib.sha256(record).hexdigest() == page["evidence"]["digest"]
            assert f"{page['evidence']['digest']}  record.warc.gz" in sums
            html = http.get("/search", params={"q": page.get("title") or "market", "kind": "pages"},
                            headers={"Authorization": f"Bearer {token}", "Accept": "text/html"})
            assert html.status_code == 200 and 'class="evidence" href="/evidence/' in html.text
    finally:
        client.close()


def test_prune_keeps_what_an_export_protects_and_removes_the_rest(crawl: EvidenceCrawl, tmp_path: Path) -> None:
    from crawler.evidence.chain import verify_warc_file
    from crawler.evidence.retention import mark_protected, prune

    store = tmp_path / "store"
    shutil.copytree(crawl.evidence_dir, store)
    page = next(page for page in _documents(crawl, "pages") if page.get("evidence"))
    mark_protected(store, page["evidence"], "watchlist test")
    files = sorted(path.name for path in store.glob("*.warc.gz"))
    # Today nothing is old enough; 200 days on, everything but the protected file is.
    assert prune(store, 180).removed == []
    report = prune(store, 180, now=datetime.now(timezone.utc) + timedelta(days=200))
    assert sorted(entry["file"] for entry in report.removed) == sorted(set(files) - {page["evidence"]["file"]})
    assert [entry["file"] for entry in report.protected] == [page["evidence"]["file"]]
    assert sorted(path.name for path in store.glob("*.warc.gz")) == [page["evidence"]["file"]]
    assert verify_warc_file(store / page["evidence"]["file"]) == []
    # gzip members one by one: the kept file is still a valid multi-member gzip stream.
    assert gzip.decompress((store / page["evidence"]["file"]).read_bytes()).startswith(b"WARC/1.1")
