"""The Jobs pages, /metrics and `onionscope jobs history` over run records in the real Elasticsearch.

Run records are written as the crawl and the scheduler write them
(:func:`pipelines.job_runs.write_run_record`), under a unique prefix; the API
runs in-process.  The crawls themselves are covered by test_scheduler.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipelines.job_runs import run_record, write_run_record
from search.api import create_app
from search.audit import recent_searches
from search.auth import create_token
from tests import PROJECT_ROOT
from tests.integration.search_world import search_es  # noqa: F401 -- fixture

pytestmark = pytest.mark.integration
JSON = {"accept": "application/json"}
HTML = {"accept": "text/html,application/xhtml+xml"}
ONION = "http://" + "c" * 55 + "d.onion/"
HOSTILE = '<script>alert(1)</script>\u202e'

# (job_id, job name, outcome, started, finished, pages, trigger)
RUNS = [
    ("nightly-1", "nightly", "ok", "2026-03-01T02:00:01Z", "2026-03-01T02:05:00Z", 40, "schedule"),
    ("nightly-2", "nightly", "partial", "2026-03-02T02:00:01Z", "2026-03-02T02:03:00Z", 12, "schedule"),
    ("nightly-3", "nightly", "skipped", "2026-03-02T02:00:30Z", "2026-03-02T02:00:30Z", 0, "schedule"),
    ("hourly-1", "hourly", "failed", "2026-03-02T03:00:00Z", "2026-03-02T03:00:02Z", 0, "catch-up"),
]


def auth(token: str, accept: dict[str, str] = JSON) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", **accept}


@pytest.fixture(scope="module")
def env(search_es, tmp_path_factory):  # noqa: F811
    client, prefix, settings = search_es
    folder = tmp_path_factory.mktemp("jobs")
    schedules = folder / "schedules.yml"
    schedules.write_text(f"jobs:\n  nightly:\n    seeds: [{ONION}]\n    cron: \"0 2 * * *\"\n    depth: 2\n"
                         f"  hourly:\n    seeds: [{ONION}]\n    every: 1h\n", encoding="utf-8")
    for job_id, name, outcome, started, finished, pages, trigger in RUNS:
        document = run_record(job_id, name, outcome=outcome, reason=f"reason of {job_id} {HOSTILE}",
                              started_at=started, finished_at=finished, trigger=trigger, seeds=[ONION])
        document.update(pages=pages, items=pages // 4, errors={"tor/host_unreachable": 2, "http/503": 1} if pages else {},
                        tor_failures=2 if pages else 0, error_count=3 if pages else 0,
                        tor_bootstrap_failures=1 if pages else 0, tor_circuit_failures=pages // 10,
                        tor_newnym=1 if pages else 0, bulk_requests=pages // 4, bulk_seconds=pages / 100,
                        bulk_seconds_max=pages / 1000, items_failed=1 if pages else 0)
        write_run_record(client, prefix, document)
    settings = settings.replace(var_dir=str(folder / "var"), schedules_file=str(schedules))
    # Two records wait in this server's spool.
    from pipelines.spool import SpoolWriter

    writer = SpoolWriter(folder / "var" / "spool")
    for n in range(2):
        writer.write({"record": "document", "kind": "pages", "id": f"p{n}", "body": {"n": n}})
    writer.close()
    app = create_app(settings, client)
    token, record = create_token(client, prefix, "viewer", "jobs viewer")
    with TestClient(app) as http:
        yield {"client": client, "prefix": prefix, "settings": settings, "http": http, "token": token,
               "record": record, "audit": app.state.context.audit, "schedules": schedules}


def test_every_jobs_route_needs_a_token(env):
    for path in ("/jobs", "/runs/nightly-1", "/metrics"):
        assert env["http"].get(path, headers=JSON).status_code == 401, path


def test_jobs_page_lists_each_job_with_its_last_runs_newest_first_and_its_next_run(env):
    data = env["http"].get("/jobs", headers=auth(env["token"])).json()
    jobs = {job["name"]: job for job in data["jobs"]}
    assert list(jobs) == ["nightly", "hourly"]  # file order
    assert [run["job_id"] for run in jobs["nightly"]["last_runs"]] == ["nightly-3", "nightly-2", "nightly-1"]
    assert [run["outcome"] for run in jobs["nightly"]["last_runs"]] == ["skipped", "partial", "ok"]
    assert jobs["nightly"]["timing"] == "cron 0 2 * * *" and jobs["nightly"]["next_run"].endswith("T02:00:00Z")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00:00Z", jobs["hourly"]["next_run"])
    assert [run["trigger"] for run in jobs["hourly"]["last_runs"]] == ["catch-up"]
    html = env["http"].get("/jobs", headers=auth(env["token"], HTML))
    assert html.status_code == 200 and 'href="/runs/nightly-2"' in html.text
    assert "<script>alert" not in html.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in html.text


def test_a_page_per_run_with_its_json_twin(env):
    http, token = env["http"], env["token"]
    data = http.get("/runs/nightly-2", headers=auth(token)).json()
    assert data["run"]["outcome"] == "partial" and data["run"]["pages"] == 12
    assert data["run"]["errors"] == {"tor/host_unreachable": 2, "http/503": 1} and data["run"]["duration_seconds"] == 179
    html = http.get("/runs/nightly-2", headers=auth(token, HTML))
    assert html.status_code == 200 and "tor/host_unreachable" in html.text
    assert "<script>alert" not in html.text
    assert http.get("/runs/no-such-run", headers=auth(token)).status_code == 404
    assert http.get("/runs/no-such-run", headers=auth(token, HTML)).status_code == 404


def test_jobs_and_run_pages_are_audited(env):
    client, prefix = env["client"], env["prefix"]
    token, record = create_token(client, prefix, "viewer", "jobs auditor")
    expected = []
    for path, status, kind, query, count in (("/jobs", 200, "jobs", "", 2), ("/runs/hourly-1", 200, "run", "run:hourly-1", 1),
                                             ("/runs/nope", 404, "run", "run:nope", 0)):
        for accept, channel in ((JSON, "api"), (HTML, "ui")):
            assert env["http"].get(path, headers=auth(token, accept)).status_code == status
            expected.append((kind, query, count, channel))
    assert env["audit"].flush(timeout=30)
    entries = [entry for entry in recent_searches(client, prefix, 1000) if entry["actor_id"] == record.token_id]
    assert sorted((e["kind"], e["query"], e["result_count"], e["channel"]) for e in entries) == sorted(expected)


def _samples(text: str) -> dict[str, float]:
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_count_every_recorded_run(env):
    response = env["http"].get("/metrics", headers={"authorization": f"Bearer {env['token']}"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    assert samples['onionscope_job_runs_total{job="nightly",outcome="ok"}'] == 1
    assert samples['onionscope_job_runs_total{job="nightly",outcome="partial"}'] == 1
    assert samples['onionscope_job_runs_total{job="nightly",outcome="skipped"}'] == 1
    assert samples['onionscope_job_runs_total{job="nightly",outcome="failed"}'] == 0
    assert samples['onionscope_job_runs_total{job="hourly",outcome="failed"}'] == 1
    assert samples['onionscope_job_last_outcome{job="nightly",outcome="skipped"}'] == 1
    assert samples['onionscope_job_last_success_timestamp_seconds{job="nightly"}'] == 1772330700.0  # 2026-03-01T02:05Z
    assert samples['onionscope_crawl_pages_total{job="nightly"}'] == 52
    assert samples['onionscope_tor_failures_total{job="nightly"}'] == 4
    # Errors by type, summed over the runs (the nested error_types), and the other families.
    assert samples['onionscope_crawl_errors_total{job="nightly",type="tor/host_unreachable"}'] == 4
    assert samples['onionscope_crawl_errors_total{job="nightly",type="http/503"}'] == 2
    assert 'onionscope_crawl_errors_total{job="hourly",type="http/503"}' not in samples
    assert samples['onionscope_crawl_items_total{job="nightly"}'] == 13
    assert samples['onionscope_tor_bootstrap_failures_total{job="nightly"}'] == 2
    assert samples['onionscope_tor_circuit_failures_total{job="nightly"}'] == 5
    assert samples['onionscope_tor_newnym_total{job="nightly"}'] == 2
    assert samples['onionscope_bulk_request_seconds_count{job="nightly"}'] == 13
    assert samples['onionscope_bulk_request_seconds_sum{job="nightly"}'] == pytest.approx(0.52)
    assert samples['onionscope_bulk_request_seconds_max{job="nightly"}'] == 0.04
    assert samples['onionscope_bulk_failures_total{job="nightly"}'] == 2
    assert samples['onionscope_job_last_run_duration_seconds{job="nightly"}'] == 0
    spool_file = next((env["settings"].var_dir / "spool").glob("*.jsonl"))
    assert (samples["onionscope_spool_files"], samples["onionscope_spool_records"]) == (1, 2)
    assert samples["onionscope_spool_bytes"] == spool_file.stat().st_size
    assert 'onionscope_job_last_success_timestamp_seconds{job="hourly"}' not in samples


def test_jobs_history_json_newest_first(env):
    settings = env["settings"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ONIONSCOPE_")}
    environment.update(ONIONSCOPE_ES_URL=settings.es_url, ONIONSCOPE_INDEX_PREFIX=env["prefix"],
                       ONIONSCOPE_VAR_DIR=str(settings.var_dir))
    result = subprocess.run(
        [sys.executable, "-m", "onionscope.cli", "jobs", "history", "nightly", "--json", "--schedules", str(env["schedules"])],
        cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout)
    assert [run["job_id"] for run in runs] == ["nightly-3", "nightly-2", "nightly-1"]
    for run in runs:
        assert {"job_id", "started_at", "finished_at", "outcome", "pages"} <= set(run)
    assert runs[2]["pages"] == 40 and runs[2]["finished_at"] == "2026-03-01T02:05:00Z"
    # The bidi override of the reason is a \u escape in the JSON text, never raw.
    assert "\u202e" not in result.stdout and "\\u202e" in result.stdout
    text = subprocess.run(
        [sys.executable, "-m", "onionscope.cli", "jobs", "history", "nightly", "--schedules", str(env["schedules"])],
        cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False)
    assert text.returncode == 0 and "\u202e" not in text.stdout and "\\u202e" in text.stdout
    assert text.stdout.splitlines()[0].startswith("nightly-3  skipped")
