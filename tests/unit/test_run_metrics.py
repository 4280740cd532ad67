"""Run metrics from recorded data: tor's events, bulk latency, the spool's records, both /metrics endpoints.

Each family the issue lists (pages, items, errors by type; tor bootstrap and
circuit failures and NEWNYM; bulk latency and failures; the spool's size;
each job's last success, duration and outcome) is checked from the stats a
crawl records to the Prometheus text, for the scheduler's registry and the
API's renderer.  The crawl side (tor's ControlPort, a real bulk request) runs
in tests/integration/test_scheduler.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import stem.response
from elastic_transport import ConnectionError as TransportConnectionError
from prometheus_client import generate_latest

from crawler.tor.control_stats import TorEventTally, event_stat
from onionscope.scheduling.metrics import SchedulerMetrics
from pipelines import spool
from pipelines.bulk_writer import BatchOutcome, BulkWriter, Operation
from pipelines.job_runs import error_types, run_figures, run_record
from search.api.metrics_routes import render_metrics

RELAY = "$" + "A" * 40 + "~relay"


def event(line: str) -> Any:
    """A tor control-port event line, parsed by stem as it parses tor's own."""
    return stem.response.ControlMessage.from_str(f"650 {line}\r\n", "EVENT")


def samples(text: bytes | str) -> dict[str, float]:
    found = {}
    for line in (text.decode() if isinstance(text, bytes) else text).splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


# --------------------------------------------------------------------------- tor's events


@pytest.mark.parametrize("line, counted", [
    (f"CIRC 7 FAILED {RELAY} PURPOSE=GENERAL REASON=TIMEOUT", "circuit_failed"),
    (f"CIRC 8 FAILED {RELAY} PURPOSE=HS_CLIENT_REND REASON=DESTROYED", "circuit_failed"),
    (f"CIRC 9 BUILT {RELAY} PURPOSE=GENERAL", None),
    (f"CIRC 9 CLOSED {RELAY} PURPOSE=GENERAL REASON=FINISHED", None),
    ("SIGNAL NEWNYM", "newnym"),
    ("SIGNAL RELOAD", None),
    ('STATUS_CLIENT WARN BOOTSTRAP PROGRESS=10 TAG=conn_done SUMMARY="Connected" WARNING="Connection refused" '
     "REASON=CONNECTREFUSED COUNT=3 RECOMMENDATION=ignore", "bootstrap_problems"),
    ('STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"', None),
    ("STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED", None),
])
def test_tor_events_count_under_their_stat(line: str, counted: str | None) -> None:
    assert event_stat(event(line)) == counted


def test_the_tally_counts_each_event_once_and_reports_it() -> None:
    reported: list[str] = []
    tally = TorEventTally(on_count=reported.append)
    for line in (f"CIRC 1 FAILED {RELAY} REASON=TIMEOUT", f"CIRC 2 FAILED {RELAY} REASON=TIMEOUT", "SIGNAL NEWNYM",
                 f"CIRC 3 BUILT {RELAY}", "SIGNAL RELOAD"):
        tally.handle(event(line))
    tally.handle(object())  # not a stem event: ignored, never raised into stem's thread
    assert tally.counts() == {"circuit_failed": 2, "newnym": 1}
    assert reported == ["circuit_failed", "circuit_failed", "newnym"]


def test_the_extension_is_off_without_a_control_port_and_on_with_one() -> None:
    from scrapy.exceptions import NotConfigured
    from scrapy.utils.test import get_crawler

    from config.settings import load_settings
    from crawler.tor.control_stats import TorControlStats

    settings = load_settings(None, environ={}).replace(tor_socks="127.0.0.1:9050")
    with pytest.raises(NotConfigured):
        TorControlStats.from_crawler(get_crawler(settings_dict={"ONIONSCOPE_SETTINGS": settings}))
    with_control = settings.replace(tor_control="127.0.0.1:9051", tor_cookie="/nonexistent/cookie")
    extension = TorControlStats.from_crawler(get_crawler(settings_dict={"ONIONSCOPE_SETTINGS": with_control}))
    assert extension.control == ("127.0.0.1", 9051) and str(extension.cookie_path) == "/nonexistent/cookie"


def test_the_run_record_takes_tors_and_the_bulk_figures_from_the_stats() -> None:
    stats = {
        "onionscope/pages": 3, "tor/control/bootstrap_incomplete": 1, "tor/control/bootstrap_problems": 2,
        "tor/control/circuit_failed": 4, "tor/control/newnym": 5, "tor/socks_error/host_unreachable": 6,
        "elasticsearch/bulk_requests": 7, "elasticsearch/bulk_seconds": 0.75, "elasticsearch/bulk_seconds_max": 0.25,
        "downloader/response_status_count/503": 2,
    }
    figures = run_figures(stats, "finished")
    assert (figures["tor_bootstrap_failures"], figures["tor_circuit_failures"], figures["tor_newnym"]) == (3, 4, 5)
    assert (figures["bulk_requests"], figures["bulk_seconds"], figures["bulk_seconds_max"]) == (7, 0.75, 0.25)
    # tor's own events are not request errors: the errors by type stay the transport's and the sites'.
    assert figures["errors"] == {"http/503": 2, "tor/host_unreachable": 6} and figures["tor_failures"] == 6
    assert figures["error_types"] == [{"type": "http/503", "count": 2}, {"type": "tor/host_unreachable", "count": 6}]
    assert error_types({}) == []


# --------------------------------------------------------------------------- bulk latency


class SlowCluster:
    """Answers every bulk request with 201s after ``seconds`` (a clock the test moves), failing the first ``down``."""

    def __init__(self, clock: list[float], seconds: float, down: int = 0):
        self.clock, self.seconds, self.down = clock, seconds, down

    def bulk(self, *, operations: list[dict[str, Any]]) -> dict[str, Any]:
        self.clock[0] += self.seconds
        if self.down:
            self.down -= 1
            raise TransportConnectionError("connection refused")
        return {"errors": False, "items": [{"index": {"status": 201}} for _ in operations[::2]]}


def test_every_bulk_request_is_timed_and_a_failed_request_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    import pipelines.bulk_writer as bulk_writer

    clock = [100.0]
    monkeypatch.setattr(bulk_writer.time, "monotonic", lambda: clock[0])
    writer = BulkWriter(SlowCluster(clock, 0.5, down=1), "p", None, max_retries=2, sleep=lambda _: None)
    outcome = BatchOutcome()
    succeeded, failures = writer.send([Operation("audit", "index", None, {"n": 1}, "p-audit")], outcome)
    assert len(succeeded) == 1 and not failures
    assert (outcome.bulk_requests, outcome.bulk_request_errors) == (2, 1)  # refused once, then sent
    assert outcome.bulk_seconds == pytest.approx(1.0) and outcome.bulk_seconds_max == pytest.approx(0.5)
    total = BatchOutcome()
    total.add(outcome)
    slow = BulkWriter(SlowCluster(clock, 2.0), "p", None, sleep=lambda _: None)
    slower = BatchOutcome()
    slow.send([Operation("audit", "index", None, {"n": 2}, "p-audit")], slower)
    total.add(slower)
    assert (total.bulk_requests, total.bulk_seconds, total.bulk_seconds_max) == (3, pytest.approx(3.0), 2.0)


def test_the_pipeline_puts_the_bulk_figures_in_the_stats() -> None:
    from scrapy.utils.test import get_crawler

    from pipelines.elasticsearch_bulk import ElasticsearchBulkPipeline

    crawler = get_crawler()
    pipeline = ElasticsearchBulkPipeline.__new__(ElasticsearchBulkPipeline)
    pipeline.totals, pipeline.stats = BatchOutcome(), crawler.stats
    pipeline._record(BatchOutcome(bulk_requests=2, bulk_seconds=0.5, bulk_seconds_max=0.4, bulk_request_errors=1))
    pipeline._record(BatchOutcome(bulk_requests=1, bulk_seconds=0.1, bulk_seconds_max=0.1))
    stats = crawler.stats.get_stats()
    assert stats["elasticsearch/bulk_requests"] == 3 and stats["elasticsearch/bulk_request_errors"] == 1
    assert stats["elasticsearch/bulk_seconds"] == pytest.approx(0.6) and stats["elasticsearch/bulk_seconds_max"] == 0.4


# --------------------------------------------------------------------------- the spool


def test_the_spool_size_counts_files_records_and_bytes(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    assert spool.spool_size(spool_dir) == (0, 0, 0)
    for records in (3, 2):
        writer = spool.SpoolWriter(spool_dir)
        for n in range(records):
            writer.write({"record": "document", "kind": "pages", "id": f"p{n}", "body": {"n": n}})
        writer.close()
    files = spool.spool_files(spool_dir)
    size = spool.spool_size(spool_dir)
    assert (size.files, size.records) == (2, 5)
    assert size.bytes == sum(path.stat().st_size for path in files)
    # A last record cut short (no newline) still counts.
    with open(files[0], "ab") as handle:
        handle.write(b'{"record": "document"')
    assert spool.spool_size(spool_dir).records == 6


# --------------------------------------------------------------------------- the two endpoints

RECORD = {
    "job_id": "nightly-1", "outcome": "ok", "started_at": "2026-03-01T02:00:00Z", "finished_at": "2026-03-01T02:01:40Z",
    "pages": 12, "items": 4, "bytes": 5000, "errors": {"tor/host_unreachable": 2, "http/503": 1}, "error_count": 3,
    "tor_failures": 2, "items_failed": 1, "tor_bootstrap_failures": 1, "tor_circuit_failures": 3, "tor_newnym": 2,
    "bulk_requests": 5, "bulk_seconds": 1.25, "bulk_seconds_max": 0.5,
}


def test_the_schedulers_metrics_cover_every_family(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    writer = spool.SpoolWriter(spool_dir)
    writer.write({"record": "document", "kind": "pages", "id": "p"})
    writer.close()
    metrics = SchedulerMetrics(["nightly"], spool_dir)
    metrics.run_finished("nightly", RECORD)
    metrics.run_finished("nightly", {**RECORD, "job_id": "nightly-2", "bulk_seconds_max": 0.2, "outcome": "partial",
                                     "started_at": "2026-03-02T02:00:00Z", "finished_at": "2026-03-02T02:00:30Z"})
    found = samples(generate_latest(metrics.registry))
    job = '{job="nightly"}'
    assert found[f"onionscope_crawl_pages_total{job}"] == 24 and found[f"onionscope_crawl_items_total{job}"] == 8
    assert found['onionscope_crawl_errors_total{job="nightly",type="tor/host_unreachable"}'] == 4
    assert found['onionscope_crawl_errors_total{job="nightly",type="http/503"}'] == 2
    assert found[f"onionscope_tor_bootstrap_failures_total{job}"] == 2
    assert found[f"onionscope_tor_circuit_failures_total{job}"] == 6
    assert found[f"onionscope_tor_newnym_total{job}"] == 4
    assert found[f"onionscope_bulk_request_seconds_count{job}"] == 10
    assert found[f"onionscope_bulk_request_seconds_sum{job}"] == 2.5
    assert found[f"onionscope_bulk_request_seconds_max{job}"] == 0.5
    assert found[f"onionscope_bulk_failures_total{job}"] == 2
    assert found["onionscope_spool_files"] == 1 and found["onionscope_spool_records"] == 1
    assert found["onionscope_spool_bytes"] == spool.spool_files(spool_dir)[0].stat().st_size
    assert found[f"onionscope_job_last_success_timestamp_seconds{job}"] == 1772330500.0  # 2026-03-01T02:01:40Z
    assert found[f"onionscope_job_last_run_duration_seconds{job}"] == 30
    assert found['onionscope_job_last_outcome{job="nightly",outcome="partial"}'] == 1


def test_a_skipped_runs_record_carries_every_figure_at_zero() -> None:
    record = run_record("j", "nightly", outcome="skipped", reason="still going", started_at="x", finished_at="x")
    for name in ("tor_bootstrap_failures", "tor_circuit_failures", "tor_newnym", "bulk_requests"):
        assert record[name] == 0
    assert record["bulk_seconds"] == 0.0 and record["error_types"] == []


def test_the_apis_metrics_cover_every_family(tmp_path: Path) -> None:
    totals = {"nightly": {
        "runs": {"ok": 1, "partial": 1}, "last_success": 1772330500.0,
        "last": {"outcome": "partial", "duration_seconds": 30.0},
        "pages": 24, "items": 8, "bytes": 10000, "error_count": 6, "tor_failures": 4, "tor_bootstrap_failures": 2,
        "tor_circuit_failures": 6, "tor_newnym": 4, "bulk_requests": 10, "items_failed": 2, "bulk_seconds": 2.5,
        "bulk_seconds_max": 0.5, "errors": {"tor/host_unreachable": 4, "http/503": 2},
    }}
    writer = spool.SpoolWriter(tmp_path / "spool")
    for n in range(3):
        writer.write({"record": "document", "kind": "pages", "id": f"p{n}"})
    writer.close()
    found = samples(render_metrics(totals, tmp_path / "spool"))
    job = '{job="nightly"}'
    assert found['onionscope_crawl_errors_total{job="nightly",type="tor/host_unreachable"}'] == 4
    assert found['onionscope_crawl_errors_total{job="nightly",type="http/503"}'] == 2
    assert found[f"onionscope_crawl_pages_total{job}"] == 24 and found[f"onionscope_crawl_items_total{job}"] == 8
    assert found[f"onionscope_tor_bootstrap_failures_total{job}"] == 2
    assert found[f"onionscope_tor_circuit_failures_total{job}"] == 6
    assert found[f"onionscope_tor_newnym_total{job}"] == 4
    assert found[f"onionscope_bulk_request_seconds_count{job}"] == 10
    assert found[f"onionscope_bulk_request_seconds_sum{job}"] == 2.5
    assert found[f"onionscope_bulk_request_seconds_max{job}"] == 0.5
    assert found[f"onionscope_bulk_failures_total{job}"] == 2
    assert found["onionscope_spool_files"] == 1 and found["onionscope_spool_records"] == 3
    assert found[f"onionscope_job_last_success_timestamp_seconds{job}"] == 1772330500.0
    assert found[f"onionscope_job_last_run_duration_seconds{job}"] == 30
    assert found['onionscope_job_last_outcome{job="nightly",outcome="partial"}'] == 1
