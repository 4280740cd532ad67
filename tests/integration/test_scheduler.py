"""`onionscope scheduler` on the private Tor network and the real Elasticsearch: timing, overlaps, missed runs, SIGTERM, lock.

Each test writes a schedules file of small jobs (one demo front page, depth 0)
and runs the real daemon as a subprocess; its children crawl through the real
tor into a unique index prefix.  A :class:`~tests.integration.socks_gate.SocksGate`
in front of tor's SOCKS port holds a crawl in the middle of a fetch when a
test needs a run that is still going.  Every wait is a readiness check on the
daemon's output, the crawl-runs index or the gate; the only waits on the clock
are for due moments to pass.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from harness.demo_world import DemoWorld
from tests import PROJECT_ROOT
from tests.integration.socks_gate import SocksGate

pytestmark = pytest.mark.integration


def wait_until(condition: Callable[[], Any], timeout: float, what: str, state: Callable[[], Any] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}" + (f"; {state()}" if state else ""))
        time.sleep(0.2)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Daemon:
    """One `onionscope scheduler` process and its output."""

    def __init__(self, process: subprocess.Popen, out: Path, err: Path):
        self.process, self.out, self.err = process, out, err

    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        events = []
        for line in self.err.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if name is None or event.get("event") == name:
                events.append(event)
        return events

    def metrics(self) -> dict[str, float]:
        port = next(line.rsplit(":", 1)[1].split("/")[0] for line in self.stdout().splitlines()
                    if line.startswith("onionscope: metrics on "))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            text = response.read().decode()
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        return samples

    def stop(self, timeout: float = 120) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


class World:
    def __init__(self, demo: DemoWorld, es_node: Any, work: Path, socks: str):
        from pipelines.es_client import make_client

        self.demo, self.es_node, self.work, self.socks = demo, es_node, work, socks
        self.prefix = f"test-sched-{secrets.token_hex(4)}"
        self.client = make_client(es_node.settings)
        self.daemons: list[Daemon] = []

    @property
    def client_tor(self) -> dict[str, Any]:
        """The testnet client whose SOCKS port the crawls use: its ControlPort and cookie too."""
        return next(client for client in self.demo.manifest["clients"]
                    if f"127.0.0.1:{client['socks_port']}" == self.socks)

    def environment(self, socks: str | None = None) -> dict[str, str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("ONIONSCOPE_", "TLDEXTRACT_"))}
        environment.update(
            TLDEXTRACT_CACHE=str(self.work / "tldextract"),
            ONIONSCOPE_TOR_SOCKS=socks or self.socks,
            # The same tor's ControlPort: the crawls count its bootstrap, circuit failures and NEWNYMs.
            ONIONSCOPE_TOR_CONTROL=f"127.0.0.1:{self.client_tor['control_port']}",
            ONIONSCOPE_TOR_COOKIE=str(self.client_tor["cookie_path"]),
            ONIONSCOPE_ES_URL=self.es_node.url,
            ONIONSCOPE_INDEX_PREFIX=self.prefix,
            ONIONSCOPE_VAR_DIR=str(self.work / "var"),
            ONIONSCOPE_TESTNET_DIR=str(self.work / "no-testnet"),
            # In the crawl process: no extraction worker to boot, so each run takes a second or two.
            ONIONSCOPE_EXTRACTION_BUDGET_SECONDS="0",
            ONIONSCOPE_SCHEDULER_STOP_SECONDS="60",
            # A stopping crawl lets its fetches in flight finish: the ones the gate holds end at this
            # timeout, well inside the stop grace above (both were 60 s, so the kill raced the timeout).
            ONIONSCOPE_DOWNLOAD_TIMEOUT="20",
        )
        return environment

    def schedules(self, name: str, jobs: dict[str, str]) -> Path:
        seed = self.demo.seeds[0]
        text = "jobs:\n" + "".join(f"  {job}:\n    seeds: [{seed}]\n    depth: 0\n    {timing}\n"
                                   for job, timing in jobs.items())
        path = self.work / f"{name}.yml"
        path.write_text(text, encoding="utf-8")
        return path

    def start(self, schedules: Path, socks: str | None = None, metrics: bool = True) -> Daemon:
        index = len(self.daemons)
        out, err = self.work / f"scheduler-{index}.out", self.work / f"scheduler-{index}.err"
        command = [sys.executable, "-m", "onionscope.cli", "scheduler", "--schedules", str(schedules)]
        if metrics:
            command += ["--metrics-port", "0"]
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.environment(socks), stdout=stdout,
                                       stderr=stderr, stdin=subprocess.DEVNULL)
        daemon = Daemon(process, out, err)
        self.daemons.append(daemon)
        # The first start on a new prefix sets up every index (slow on a busy node).
        wait_until(lambda: "onionscope: scheduler running" in daemon.stdout() or process.poll() is not None, 300,
                   "the scheduler to start")
        assert process.poll() is None, f"the scheduler exited: {daemon.stdout()}\n{err.read_text()[-3000:]}"
        return daemon

    def runs(self, job: str) -> list[dict[str, Any]]:
        """The job's run records, newest first, as `onionscope jobs history` reads them."""
        from search.es_steps import run
        from search.job_runs import job_history_steps

        self.client.indices.refresh(index=f"{self.prefix}-crawl-runs", ignore_unavailable=True)
        return run(self.client, job_history_steps(self.prefix, job, 1000))

    def documents(self, job: str) -> list[dict[str, Any]]:
        """The job's whole crawl-run documents (every figure, not only the history's)."""
        self.client.indices.refresh(index=f"{self.prefix}-crawl-runs", ignore_unavailable=True)
        response = self.client.search(index=f"{self.prefix}-crawl-runs", size=1000,
                                      query={"term": {"job_name": job}})
        return [hit["_source"] for hit in response["hits"]["hits"]]

    def close(self) -> None:
        from pipelines.indices import delete_prefix

        for daemon in self.daemons:
            if daemon.process.poll() is None:
                daemon.process.kill()
                daemon.process.wait()
        delete_prefix(self.client, self.prefix)
        self.client.close()


@pytest.fixture
def world(demo_world: DemoWorld, es_node: Any, tmp_path: Path) -> Iterator[World]:
    world = World(demo_world, es_node, tmp_path, demo_world.socks_endpoints[0])
    try:
        yield world
    finally:
        world.close()


def test_two_jobs_with_second_level_cron_run_on_time_and_history_and_metrics_show_every_run(world: World) -> None:
    schedules = world.schedules("two", {"even": 'cron: "*/6 * * * * *"', "odd": 'cron: "3-59/6 * * * * *"'})
    daemon = world.start(schedules)

    # A second scheduler on the same schedules refuses to start and names the first.
    second = subprocess.run([sys.executable, "-m", "onionscope.cli", "scheduler", "--schedules", str(schedules)],
                            cwd=PROJECT_ROOT, env=world.environment(), capture_output=True, text=True, timeout=60)
    assert second.returncode == 1
    assert f"a scheduler already runs on {schedules} (pid {daemon.process.pid})" in second.stderr

    def settled() -> bool:
        # A finished crawl of each job, and at least three due moments of each acted on (run or skipped).
        return all(any(run["outcome"] != "skipped" for run in world.runs(job)) and len(world.runs(job)) >= 3
                   for job in ("even", "odd"))

    wait_until(settled, 300, "a finished run and three due moments of each job",
               lambda: (world.runs("even"), world.runs("odd"), daemon.err.read_text()[-3000:]))

    # /metrics counts exactly the runs the index holds, by outcome, and every figure they recorded
    # (once the last records are in; scrape and index read together until they agree).
    matched: dict[str, Any] = {}

    def metrics_match() -> bool:
        samples = daemon.metrics()
        documents = {job: world.documents(job) for job in ("even", "odd")}
        for job in ("even", "odd"):
            label = f'{{job="{job}"}}'
            recorded: dict[str, int] = {}
            for document in documents[job]:
                recorded[document["outcome"]] = recorded.get(document["outcome"], 0) + 1
            for outcome in ("ok", "failed", "partial", "skipped", "needs-login"):
                if samples[f'onionscope_job_runs_total{{job="{job}",outcome="{outcome}"}}'] != recorded.get(outcome, 0):
                    return False
            for metric, field in (("onionscope_crawl_pages_total", "pages"), ("onionscope_crawl_items_total", "items"),
                                  ("onionscope_bulk_request_seconds_count", "bulk_requests"),
                                  ("onionscope_bulk_failures_total", "items_failed"),
                                  ("onionscope_tor_bootstrap_failures_total", "tor_bootstrap_failures"),
                                  ("onionscope_tor_circuit_failures_total", "tor_circuit_failures"),
                                  ("onionscope_tor_newnym_total", "tor_newnym")):
                if samples[metric + label] != sum(document.get(field) or 0 for document in documents[job]):
                    return False
        matched.update(samples=samples, documents=documents)
        return True

    wait_until(metrics_match, 60, "the scheduler's /metrics to count every recorded run and its figures")
    samples = daemon.metrics()
    assert daemon.stop() == 0

    # Every family of figures the runs recorded is on /metrics, as the records say.
    for job in ("even", "odd"):
        label = f'{{job="{job}"}}'
        documents = matched["documents"][job]
        scraped = matched["samples"]
        crawled = [document for document in documents if document["outcome"] != "skipped"]
        # Bulk latency: each crawl timed its bulk requests (its pages and their onion).
        assert crawled and all(document["bulk_requests"] >= 1 and document["bulk_seconds"] > 0
                               and document["bulk_seconds_max"] > 0 for document in crawled), crawled
        assert scraped[f"onionscope_bulk_request_seconds_sum{label}"] == pytest.approx(
            sum(d["bulk_seconds"] for d in documents))
        assert scraped[f"onionscope_bulk_request_seconds_max{label}"] == max(d["bulk_seconds_max"] for d in documents)
        assert scraped[f"onionscope_bulk_failures_total{label}"] == 0
        # tor, from its ControlPort: bootstrapped when each run started, so no bootstrap failure.
        assert all(document["stats"].get("tor/control/bootstrap_progress") == 100 for document in crawled), [
            document["stats"].get("tor/control/bootstrap_progress") for document in crawled]
        assert scraped[f"onionscope_tor_bootstrap_failures_total{label}"] == 0
        # Errors by type.
        for document in crawled:
            for kind, count in document["errors"].items():
                assert scraped[f'onionscope_crawl_errors_total{{job="{job}",type="{kind}"}}'] >= count
    # The spool's size (nothing was spooled).
    assert (samples["onionscope_spool_files"], samples["onionscope_spool_records"],
            samples["onionscope_spool_bytes"]) == (0, 0, 0)

    for job, remainder in (("even", 0), ("odd", 3)):
        runs = world.runs(job)
        assert [run["started_at"] for run in runs] == sorted((run["started_at"] for run in runs), reverse=True)
        crawled = [run for run in runs if run["outcome"] != "skipped"]
        # Runs that finished before the scheduler was stopped crawled their page; one the stop caught says so.
        stopped = [run for run in crawled if "SIGTERM" in run["outcome_reason"]]
        assert len(stopped) <= 1 and all(run["outcome"] in ("failed", "partial") for run in stopped), stopped
        completed = [run for run in crawled if run not in stopped]
        assert completed and all(run["outcome"] == "ok" and run["pages"] == 1 for run in completed), [
            (run["outcome"], run["outcome_reason"], run["pages"]) for run in crawled]
        assert all(run["trigger"] == "schedule" for run in runs)
        # Every due moment was acted on once (run or skipped), on its second of the cron.
        due = sorted(moment(run["scheduled_for"]) for run in runs)
        assert all(moment_.second % 6 == remainder for moment_ in due), due
        assert all(later - earlier == timedelta(seconds=6) for earlier, later in zip(due, due[1:])), due
        last = [outcome for outcome in ("ok", "failed", "partial", "skipped", "needs-login")
                if samples[f'onionscope_job_last_outcome{{job="{job}",outcome="{outcome}"}}'] == 1]
        assert len(last) == 1, last
        assert samples[f'onionscope_job_last_success_timestamp_seconds{{job="{job}"}}'] > 0
    # On time: each child started within a second and a half of its due moment.
    started = daemon.events("run_started")
    assert len(started) >= 2 and all(0 <= event["late_seconds"] < 1.5 for event in started), [
        (event["job_id"], event["scheduled_for"], event["late_seconds"]) for event in started]
    # Each run has its own job id.
    ids = [run["job_id"] for job in ("even", "odd") for run in world.runs(job)]
    assert len(ids) == len(set(ids))


def send_newnym(world: World) -> bool:
    """Send NEWNYM to the crawls' tor and wait (up to tor's rate limit) for tor to act on it; True once it has."""
    import threading

    from stem.control import EventType

    from crawler.tor.control import attach, newnym

    acted = threading.Event()

    def listener(event: Any) -> None:
        if getattr(event, "signal", None) == "NEWNYM":
            acted.set()

    client = world.client_tor
    controller = attach(("127.0.0.1", int(client["control_port"])), cookie_path=Path(client["cookie_path"]))
    try:
        controller.add_event_listener(listener, EventType.SIGNAL)
        assert newnym(controller, max_wait=15).sent
        # tor delays a NEWNYM within 10 s of the previous one, then acts on it.
        return acted.wait(30)
    finally:
        controller.close()


def test_an_overlapping_run_is_skipped_and_sigterm_records_the_outcome(world: World) -> None:
    # The front page goes through; the crawl's next request (a link, at depth 1) is held at the gate.
    gate = SocksGate(world.socks, hold=rb"(?m)^GET /[^ ]").start()
    try:
        schedules = world.schedules("slow", {"slow": 'cron: "*/2 * * * * *"'})
        path = schedules.read_text().replace("depth: 0", "depth: 1")
        schedules.write_text(path)
        daemon = world.start(schedules, socks=gate.address)
        assert gate.held.wait(120), "the crawl never reached its second fetch"
        # A NEWNYM while the crawl is going: tor acts on it (seen here as its SIGNAL event), and the crawl counts it.
        newnym_seen = send_newnym(world)
        skipped = wait_until(lambda: [run for run in world.runs("slow") if run["outcome"] == "skipped"], 30,
                             "a skipped run")
        running = daemon.events("run_started")[0]["job_id"]
        assert "the previous run " + running + " is still going" in skipped[0]["outcome_reason"]
        assert daemon.events("run_skipped")
        assert daemon.stop() == 0
    finally:
        gate.stop()
    runs = {run["job_id"]: run for run in world.runs("slow")}
    stopped = runs[running]
    # The crawl stopped gracefully: it flushed what it had fetched and recorded why it stopped.
    assert stopped["outcome"] == "partial", (stopped["outcome_reason"], stopped["pages"])
    assert "SIGTERM" in stopped["outcome_reason"] and stopped["pages"] >= 1
    document = world.client.get(index=f"{world.prefix}-crawl-runs", id=running)["_source"]
    assert document["finish_reason"] == "shutdown" and document["pages_indexed"] >= 1
    # The same record holds the crawl job the run was started with (its options: the job's depth).
    assert document["job_name"] == "slow" and document["options"]["depth"] == 1
    assert newnym_seen and document["tor_newnym"] >= 1, document["stats"]
    assert document["tor_bootstrap_failures"] == 0 and document["stats"]["tor/control/bootstrap_progress"] == 100
    world.client.indices.refresh(index=f"{world.prefix}-pages")
    assert world.client.count(index=f"{world.prefix}-pages", query={"term": {"job_id": running}})["count"] >= 1
    # Nothing else ran: every other run of the job was skipped while it held the job.
    assert {run["outcome"] for job_id, run in runs.items() if job_id != running} == {"skipped"}
    assert [event["job_id"] for event in daemon.events("run_started")] == [running]


def test_runs_missed_while_the_scheduler_was_down_run_once_at_start_up(world: World) -> None:
    schedules = world.schedules("missed", {"catchup": 'cron: "*/2 * * * * *"'})
    daemon = world.start(schedules, metrics=False)  # a new job: it has missed nothing yet
    assert daemon.stop() == 0
    stopped_at = datetime.now(timezone.utc)
    # Down long enough for at least two due moments to pass.
    wait_until(lambda: datetime.now(timezone.utc) >= stopped_at + timedelta(seconds=4.5), 10, "two due moments")
    restarted = world.start(schedules, metrics=False)
    catch_up = wait_until(lambda: [run for run in world.runs("catchup") if run["trigger"] == "catch-up"], 300,
                          "the catch-up run's record", lambda: restarted.err.read_text()[-3000:])
    later = wait_until(lambda: [run for run in world.runs("catchup") if run["trigger"] == "schedule"], 60,
                       "a scheduled moment after the catch-up")
    assert restarted.stop() == 0
    catch_up_events = [e for e in restarted.events("run_started") if e["trigger"] == "catch-up"]
    assert len(catch_up_events) == 1 and len(catch_up) == 1  # once, not once per missed run
    assert catch_up[0]["missed_runs"] >= 2 and catch_up[0]["outcome"] == "ok" and catch_up[0]["pages"] == 1
    assert moment(catch_up[0]["scheduled_for"]) >= stopped_at - timedelta(seconds=2)
    assert all(moment(run["scheduled_for"]) > moment(catch_up[0]["scheduled_for"]) for run in later)
    # The first start ran nothing: the new job had missed nothing.
    assert daemon.events("run_started") == [] and daemon.events("catch_up") == []
