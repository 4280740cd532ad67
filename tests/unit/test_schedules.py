"""crawler.schedules: the schedules file is validated on load (file:line, did-you-mean) and says when jobs run."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawler.schedules import ScheduleError, load_schedule, parse_duration
from config.errors import UserError

ONION = "http://" + "a" * 55 + "d.onion/"  # checksum does not matter to the scope rule
UTC = timezone.utc


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schedules.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_issue_example_loads(tmp_path: Path) -> None:
    path = write(tmp_path, f"""
jobs:
  nightly-markets:
    seeds: [{ONION}]
    cron: "0 2 * * *"        # or: every: 20s
    depth: 5
    discover: record
""")
    job = load_schedule(path).jobs["nightly-markets"]
    assert job.seeds == (ONION,)
    assert job.cron == "0 2 * * *" and job.every_seconds is None
    assert job.depth == 5 and job.discover == "record"
    assert job.timing == "cron 0 2 * * *"
    assert job.next_after(datetime(2026, 3, 1, 2, 0, tzinfo=UTC)) == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def test_the_shipped_schedules_file_loads() -> None:
    from config.paths import schedules_file

    assert load_schedule(schedules_file()).jobs == {}


def test_the_schedules_file_defaults_to_the_config_dirs(tmp_path: Path) -> None:
    from config.settings import DEFAULTS
    from crawler.schedules import schedules_path

    assert DEFAULTS["schedules_file"].default is None
    assert schedules_path(None, tmp_path) == tmp_path / "schedules.yml"
    assert schedules_path(tmp_path / "other.yml", tmp_path / "elsewhere") == tmp_path / "other.yml"


def test_a_misspelt_key_names_file_line_and_the_right_key(tmp_path: Path) -> None:
    path = write(tmp_path, f"jobs:\n  nightly:\n    seeds: [{ONION}]\n    every: 20s\n    dpeth: 2\n")
    with pytest.raises(ScheduleError) as error:
        load_schedule(path)
    message = str(error.value)
    assert message.endswith("schedules.yml:5: jobs.nightly.dpeth: unknown key 'dpeth' (did you mean 'depth'?)")
    assert isinstance(error.value, UserError)  # printed as one line by the command


@pytest.mark.parametrize(
    ("body", "line", "expected"),
    [
        ("    seeds: [{onion}]\n    every: 20s\n    discover: probed\n", 5, "unknown policy 'probed' (did you mean 'probe'?)"),
        ("    seeds: [{onion}]\n    every: 20s\n    depth: -1\n", 5, "-1 is outside 0..100"),
        ("    seeds: [{onion}]\n    every: 20s\n    depth: two\n", 5, "expected a whole number"),
        ("    seeds: [{onion}]\n    cron: \"61 * * * *\"\n", 4, "invalid cron expression"),
        ("    seeds: [{onion}]\n    cron: \"* * * *\"\n", 4, "expected 5 cron fields"),
        ("    seeds: [{onion}]\n    every: soon\n", 4, "expected a duration"),
        ("    seeds: [{onion}]\n    every: 20s\n    cron: \"* * * * *\"\n", 2, "exactly one of 'cron'"),
        ("    seeds: [{onion}]\n", 2, "exactly one of 'cron'"),
        ("    every: 20s\n", 2, "give seeds, a seeds_file, or both"),
        ("    seeds: [http://example.com/]\n    every: 20s\n", 3, "not an onion URL"),
        ("    seeds: [http://127.0.0.1/]\n    every: 20s\n", 3, "not an onion URL"),
        ("    seeds: [{onion}]\n    every: 20s\n    seeds_file: missing.txt\n", 5, "file not found"),
        ("    seeds: [{onion}]\n    every: 20s\n    market_hosts: [nebula-market=nothost]\n", 5, "is not a v3 onion host"),
        ("    seeds: [{onion}]\n    every: 20s\n    enabled: maybe\n", 5, "expected true or false"),
        ("    seeds: [{onion}]\n    every: 0.5s\n", 4, "the shortest interval is 1s"),
    ],
)
def test_bad_values_are_reported_with_their_line(tmp_path: Path, body: str, line: int, expected: str) -> None:
    path = write(tmp_path, "jobs:\n  nightly:\n" + body.format(onion=ONION))
    with pytest.raises(ScheduleError) as error:
        load_schedule(path)
    assert f"schedules.yml:{line}:" in str(error.value)
    assert expected in str(error.value)


def test_top_level_typo_and_bad_job_names(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match=r"schedules.yml:1: job: unknown key 'job' \(did you mean 'jobs'\?\)"):
        load_schedule(write(tmp_path, "job: {}\n"))
    with pytest.raises(ScheduleError, match=r"schedules.yml:2: jobs.Nightly Run: a job name is lower-case"):
        load_schedule(write(tmp_path, f"jobs:\n  Nightly Run:\n    seeds: [{ONION}]\n    every: 1m\n"))
    with pytest.raises(ScheduleError, match=r"schedules.yml:4: jobs.a: key appears twice"):
        load_schedule(write(tmp_path, f"jobs:\n  a: {{seeds: [{ONION}], every: 1m}}\n  b: {{seeds: [{ONION}], every: 1m}}\n  a: {{}}\n"))


def test_invalid_yaml_and_missing_file_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match=r"schedules.yml:3: not valid YAML"):
        load_schedule(write(tmp_path, "jobs:\n  a: [1, 2\n  b: 3\n"))
    with pytest.raises(ScheduleError, match="schedules file not found"):
        load_schedule(tmp_path / "nope.yml")


def test_every_key_is_read(tmp_path: Path) -> None:
    (tmp_path / "seeds.txt").write_text(ONION + "\n")
    (tmp_path / "session.json").write_text("{}")
    host = "b" * 56 + ".onion"
    path = write(tmp_path, f"""
jobs:
  full:
    seeds_file: seeds.txt
    every: 90s
    depth: 1
    max_pages: 50
    max_pages_per_host: 20
    concurrency: 4
    max_duration: 10m
    discover: off
    session_file: session.json
    market_hosts: {{nebula-market: {host}}}
    follow_offsite: true
    enabled: false
""")
    job = load_schedule(path).job("full")
    assert job.seeds == () and job.seeds_file == tmp_path / "seeds.txt"
    assert (job.every_seconds, job.depth, job.max_pages, job.max_pages_per_host, job.concurrency) == (90, 1, 50, 20, 4)
    assert job.max_duration_seconds == 600 and job.discover == "off"
    assert job.session_file == tmp_path / "session.json"
    assert job.market_hosts == (("nebula-market", host),)
    assert job.follow_offsite is True and job.enabled is False
    assert job.timing == "every 90s"
    assert job.where.endswith("schedules.yml:3")


def test_unknown_job_has_a_hint(tmp_path: Path) -> None:
    schedule = load_schedule(write(tmp_path, f"jobs:\n  nightly:\n    seeds: [{ONION}]\n    every: 1m\n"))
    with pytest.raises(ScheduleError, match=r"no job 'nigthly' \(did you mean 'nightly'\?\)"):
        schedule.job("nigthly")


def test_cron_with_seconds_first(tmp_path: Path) -> None:
    job = load_schedule(write(tmp_path, f"jobs:\n  fast:\n    seeds: [{ONION}]\n    cron: \"*/5 * * * * *\"\n")).job("fast")
    start = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert job.next_after(start) == start + timedelta(seconds=5)  # strictly after a matching moment
    assert job.next_after(start + timedelta(seconds=7)) == start + timedelta(seconds=10)


def test_intervals_fire_on_multiples_since_the_epoch(tmp_path: Path) -> None:
    job = load_schedule(write(tmp_path, f"jobs:\n  fast:\n    seeds: [{ONION}]\n    every: 20s\n")).job("fast")
    start = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert job.next_after(start) == start + timedelta(seconds=20)
    assert job.next_after(start + timedelta(seconds=21.5)) == start + timedelta(seconds=40)


def test_missed_runs_are_counted_and_the_latest_named(tmp_path: Path) -> None:
    job = load_schedule(write(tmp_path, f"jobs:\n  fast:\n    seeds: [{ONION}]\n    cron: \"*/2 * * * * *\"\n")).job("fast")
    after = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert job.due_between(after, after + timedelta(seconds=9)) == (4, after + timedelta(seconds=8))
    assert job.due_between(after, after + timedelta(seconds=1)) == (0, None)
    # A capped count still names the latest run.
    every = load_schedule(write(tmp_path, f"jobs:\n  fast:\n    seeds: [{ONION}]\n    every: 1s\n")).job("fast")
    count, latest = every.due_between(after, after + timedelta(days=2), cap=100)
    assert count == 100 and latest == after + timedelta(days=2)


def test_parse_duration() -> None:
    assert [parse_duration(v) for v in ("20s", "5m", "1.5h", "2d", "500ms", 30, "45")] == [20, 300, 5400, 172800, 0.5, 30, 45]
    for bad in ("0s", "-1s", "1w", "", True, None):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_a_jobs_session_file_becomes_the_runs_sessions_file(tmp_path) -> None:
    from config.settings import load_settings
    from onionscope.scheduling.runner import job_settings

    session = tmp_path / "vault.txt"
    session.write_text("# Netscape HTTP Cookie File\n", encoding="utf-8")
    schedules = tmp_path / "schedules.yml"
    schedules.write_text(
        "jobs:\n  vault:\n    seeds: [http://" + "a" * 56 + ".onion/]\n    every: 1h\n    session_file: vault.txt\n",
        encoding="utf-8")
    job = load_schedule(schedules).jobs["vault"]
    settings = load_settings(None, environ={})
    assert settings.sessions_file is None
    assert job_settings(settings, job).sessions_file == session


def test_a_schedules_file_nested_thousands_deep_is_an_error_not_a_crash(tmp_path) -> None:
    # libyaml builds documents recursively on the C stack: read as it was, this crashed the process.
    path = tmp_path / "schedules.yml"
    path.write_text("jobs: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(ScheduleError, match=r"schedules.yml:1: not valid YAML: nested more than 64 levels deep"):
        load_schedule(path)
