"""Running measured crawls of test sites published on the private testnet, and reading what they indexed.

:func:`run_measured_crawl` runs ``tests/integration/measured_crawl.py`` in a subprocess
against the real Elasticsearch (a test's index prefix) and a tor SOCKS port, and returns its
report plus the crawl's log (``report["log"]``).  :func:`indexed_pages` reads the pages
index of a prefix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests import PROJECT_ROOT


def crawl_environment(es_url: str, prefix: str, socks: str, var_dir: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ONIONSCOPE_")}
    environment.update(
        ONIONSCOPE_TOR_SOCKS=socks,
        ONIONSCOPE_ES_URL=es_url,
        ONIONSCOPE_INDEX_PREFIX=prefix,
        ONIONSCOPE_VAR_DIR=str(var_dir),
        ONIONSCOPE_TESTNET_DIR=str(var_dir / "no-testnet"),
    )
    return environment


def start_measured_crawl(seeds: list[str], job: str, environment: dict[str, str],
                         settings: dict[str, Any] | None = None) -> subprocess.Popen[str]:
    """Start the crawl; the caller reads it with :func:`finish_measured_crawl`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.measured_crawl"], cwd=PROJECT_ROOT, env=environment,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps({"seeds": seeds, "job": job, "settings": settings or {}}))
    process.stdin.close()
    process.stdin = None  # communicate() must not flush it again
    return process


def finish_measured_crawl(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        raise AssertionError(f"the crawl took longer than {timeout} s:\n{stderr[-4000:]}") from None
    assert process.returncode == 0, stderr[-4000:]
    report = json.loads(stdout.strip().splitlines()[-1])
    report["log"] = stderr
    return report


def run_measured_crawl(seeds: list[str], job: str, environment: dict[str, str],
                       settings: dict[str, Any] | None = None, timeout: float = 180) -> dict[str, Any]:
    return finish_measured_crawl(start_measured_crawl(seeds, job, environment, settings), timeout)


def indexed_pages(client: Any, prefix: str, fields: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """URL -> source of every page indexed under ``prefix`` (empty when nothing was)."""
    index = f"{prefix}-pages"
    if not client.indices.exists(index=index):
        return {}
    client.indices.refresh(index=index)
    response = client.search(index=index, size=10_000, query={"match_all": {}},
                             source=fields or ["url", "title", "text", "status", "content_hash"])
    return {hit["_source"]["url"]: dict(hit["_source"], _id=hit["_id"]) for hit in response["hits"]["hits"]}
