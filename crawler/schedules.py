"""Scheduled crawl jobs: ``<config_dir>/schedules.yml`` -> a validated :class:`Schedule`, and when each job runs next.

The file names jobs under ``jobs:``; each job is a crawl (seeds, depth, page
caps, concurrency, a time cap) plus when it runs -- a cron expression (five
fields, or six with seconds first) or an interval (``every: 20s``)::

    jobs:
      nightly-markets:
        seeds: [http://<56 characters>.onion/]
        cron: "0 2 * * *"          # times are UTC
        depth: 5
        discover: record

Every key is checked when the file is loaded.  The first problem raises
:class:`ScheduleError` naming the file, the line and the key, with a
did-you-mean hint for a misspelt key, e.g. ``config/schedules.yml:4:
jobs.nightly.dpeth: unknown key 'dpeth' (did you mean 'depth'?)``.  Seeds must
be onion URLs (a schedule never crawls clearnet: that needs a command-line
flag).  ``discover`` (``off|record|probe|crawl``; the run's ``discover`` setting,
:mod:`pipelines.discovery`) and ``session_file`` are validated here.

Cron times are UTC.  An interval fires on multiples of itself since the Unix
epoch (``every: 20s`` at :00, :20 and :40 of every minute), so the scheduler,
the API and ``onionscope jobs list`` agree on the next run without sharing
any state.

Public API:

* :func:`schedules_path` (schedules_file, config_dir) -> the file to read: the
  ``schedules_file`` setting when set, else ``<config_dir>/schedules.yml``;
* :func:`load_schedule` (path) -> :class:`Schedule`; raises :class:`ScheduleError`;
* :class:`Schedule` -- ``path`` and ``jobs`` (name -> :class:`ScheduledJob`, in file order);
* :class:`ScheduledJob` -- one job; :meth:`~ScheduledJob.next_after` (moment) -> the
  first run strictly after it; :meth:`~ScheduledJob.due_between` (after, until) -> the
  runs in that span (for missed runs), counted up to a cap;
* :func:`parse_duration` (text) -> seconds; raises ValueError;
* :data:`DISCOVER_POLICIES`, :data:`JOB_NAME`.

Nothing here touches the network; reading a file is all it does.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

import yaml

from croniter import croniter

from config.i18n import _
from config.os_reasons import os_reason
from config.located_yaml import check_keys, check_nesting, construct, display, yaml_error_line, yaml_problem
from config.settings import DEFAULTS, ConfigError
from crawler.urls import HOST_ONION, host_kind

DISCOVER_POLICIES = ("off", "record", "probe", "crawl")
# Job names become file names, metric labels and parts of job ids.
JOB_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

TOP_LEVEL_KEYS = ("jobs",)
JOB_KEYS = (
    "seeds", "seeds_file", "cron", "every", "depth", "max_pages", "max_pages_per_host", "concurrency",
    "max_duration", "discover", "session_file", "market_hosts", "follow_offsite", "enabled",
)


class ScheduleError(ConfigError):
    """The schedules file is wrong; the message names the file, the line and the key."""


def parse_duration(text: Any) -> float:
    """Seconds in ``20s``, ``5m``, ``1.5h``, ``2d``, ``500ms`` or a bare number of seconds.

    :raises ValueError: for anything else, or a duration that is not positive.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ValueError(_("expected a duration such as 20s, 5m or 1h, got {value}", value=repr(text)))
    match = _DURATION.fullmatch(str(text))
    if match is None:
        raise ValueError(_("expected a duration such as 20s, 5m or 1h, got {value}", value=repr(text)))
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(_("expected a positive duration, got {value}", value=repr(text)))
    return seconds


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a moment without a time zone; pass an aware datetime (UTC)")
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class ScheduledJob:
    """One job of the schedules file.  ``cron`` or ``every_seconds`` is set, never both."""

    name: str
    seeds: tuple[str, ...]
    seeds_file: Path | None
    cron: str | None
    every_seconds: float | None
    depth: int | None = None
    max_pages: int | None = None
    max_pages_per_host: int | None = None
    concurrency: int | None = None
    max_duration_seconds: float | None = None
    discover: str = "record"
    session_file: Path | None = None
    market_hosts: tuple[tuple[str, str], ...] = ()
    follow_offsite: bool = False
    enabled: bool = True
    where: str = field(default="", compare=False)  # file:line of the job, for messages

    @property
    def timing(self) -> str:
        """How the job is scheduled, as written: ``cron 0 2 * * *`` or ``every 20s``."""
        if self.cron is not None:
            return f"cron {self.cron}"
        return f"every {_format_seconds(self.every_seconds or 0)}"

    def next_after(self, moment: datetime) -> datetime:
        """The first run strictly after ``moment`` (an aware datetime), in UTC."""
        moment = _utc(moment)
        if self.cron is not None:
            return croniter(self.cron, moment, second_at_beginning=_has_seconds(self.cron)).get_next(datetime)
        interval = self.every_seconds or 1.0
        elapsed = (moment - _EPOCH).total_seconds()
        steps = int(elapsed // interval) + 1
        return _EPOCH + timedelta(seconds=steps * interval)

    def due_between(self, after: datetime, until: datetime, cap: int = 10_000) -> tuple[int, datetime | None]:
        """Runs due in (``after``, ``until``]: (how many, up to ``cap``; the latest of them or None)."""
        count, latest = 0, None
        moment = self.next_after(after)
        until = _utc(until)
        while moment <= until:
            count, latest = count + 1, moment
            if count >= cap:
                # Too many to count one by one (an interval of seconds over days): the last one is what matters.
                previous = self._last_at_or_before(until)
                return count, previous if previous is not None else latest
            moment = self.next_after(moment)
        return count, latest

    def _last_at_or_before(self, moment: datetime) -> datetime | None:
        if self.cron is not None:
            previous = croniter(self.cron, moment + timedelta(seconds=1),
                                second_at_beginning=_has_seconds(self.cron)).get_prev(datetime)
            return previous if previous <= moment else None
        return self.next_after(moment - timedelta(seconds=self.every_seconds or 1.0))


@dataclass(frozen=True)
class Schedule:
    """The jobs of one schedules file, in file order."""

    path: Path
    jobs: dict[str, ScheduledJob]

    def job(self, name: str) -> ScheduledJob:
        """The job called ``name``; raises ScheduleError (with a did-you-mean hint) if there is none."""
        try:
            return self.jobs[name]
        except KeyError:
            hint = difflib.get_close_matches(name, list(self.jobs), n=1)
            if hint:
                raise ScheduleError(_("{path}: no job {name} (did you mean {hint}?)", path=display(self.path),
                                      name=repr(name), hint=repr(hint[0]))) from None
            if not self.jobs:
                raise ScheduleError(_("{path}: no job {name}; the file has no jobs", path=display(self.path),
                                      name=repr(name))) from None
            raise ScheduleError(_("{path}: no job {name}; the jobs are: {known}", path=display(self.path),
                                  name=repr(name), known=", ".join(self.jobs))) from None


def _format_seconds(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _has_seconds(expression: str) -> bool:
    return len(expression.split()) == 6


class _Lines:
    """The line of every key path of a YAML document, for messages."""

    def __init__(self, path: Path):
        self.path = path
        self.lines: dict[tuple[str, ...], int] = {}

    def error(self, key_path: tuple[str, ...], message: str) -> ScheduleError:
        line = next((self.lines[key_path[:n]] for n in range(len(key_path), -1, -1) if key_path[:n] in self.lines), None)
        where = display(self.path) + (f":{line}" if line is not None else "")
        key = ".".join(key_path)
        return ScheduleError(f"{where}: {key + ': ' if key else ''}{message}")

    def where(self, key_path: tuple[str, ...]) -> str:
        line = self.lines.get(key_path)
        return display(self.path) + (f":{line}" if line is not None else "")


def _read(path: Path) -> tuple[Any, _Lines]:
    lines = _Lines(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScheduleError(_("{path}: schedules file not found", path=display(path))) from None
    except OSError as exc:
        raise ScheduleError(_("{path}: cannot read the schedules file ({reason})", path=display(path),
                                  reason=os_reason(exc))) from None
    except UnicodeDecodeError:
        raise ScheduleError(_("{path}: the schedules file is not UTF-8 text", path=display(path))) from None
    check_nesting(path, text, ScheduleError)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = construct(loader, node, (), lines) if node is not None else None
    except yaml.YAMLError as exc:
        line = yaml_error_line(exc)
        raise ScheduleError(_("{path}: not valid YAML: {problem}", path=display(path) + (f":{line}" if line else ""),
                              problem=yaml_problem(exc))) from None
    finally:
        loader.dispose()
    return data, lines


def _whole(lines: _Lines, key_path: tuple[str, ...], value: Any, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise lines.error(key_path, _("expected a whole number, got {value}", value=repr(value)))
    if not minimum <= value <= maximum:
        raise lines.error(key_path, _("{number} is outside {minimum}..{maximum}", number=value, minimum=minimum,
                                       maximum=maximum))
    return value


def _duration(lines: _Lines, key_path: tuple[str, ...], value: Any) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise lines.error(key_path, str(exc)) from None


def _file(lines: _Lines, key_path: tuple[str, ...], value: Any, must_exist: bool) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise lines.error(key_path, _("expected a file path"))
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = lines.path.resolve().parent / path  # relative to the schedules file
    if must_exist and not path.is_file():
        raise lines.error(key_path, _("file not found: {path}", path=path))
    return path


def _cron(lines: _Lines, key_path: tuple[str, ...], value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise lines.error(key_path, _("expected a cron expression such as \"0 2 * * *\" (quote it)"))
    expression = " ".join(value.split())
    fields = len(expression.split())
    if fields not in (5, 6):
        raise lines.error(key_path, _("expected 5 cron fields (minute hour day month weekday), or 6 with seconds "
                                      "first, got {count}: {value}", count=fields, value=repr(value)))
    try:
        croniter(expression, datetime.now(timezone.utc), second_at_beginning=fields == 6).get_next(datetime)
    except (ValueError, KeyError) as exc:  # croniter's errors are ValueErrors
        raise lines.error(key_path, _("invalid cron expression {value}: {problem}", value=repr(value),
                                      problem=exc)) from None
    return expression


def _seed(lines: _Lines, key_path: tuple[str, ...], value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise lines.error(key_path, _("expected a seed URL"))
    url = value.strip()
    if not url.startswith(("http://", "https://")):
        raise lines.error(key_path, _("{url} is not an absolute http:// or https:// URL", url=repr(url)))
    if host_kind(url) != HOST_ONION:
        raise lines.error(key_path, _("{url} is not an onion URL; a schedule crawls onion services only",
                                      url=repr(url)))
    return url


def _job(lines: _Lines, name: str, spec: Any) -> ScheduledJob:
    path = ("jobs", name)
    if not JOB_NAME.fullmatch(name):
        raise lines.error(path, _("a job name is lower-case letters, digits, '-' and '_' (at most 64, "
                                  "starting with a letter or digit)"))
    spec = check_keys(lines, path, spec if spec is not None else {}, JOB_KEYS, _("the job's settings"))
    seeds_value = spec.get("seeds", [])
    if isinstance(seeds_value, str):
        seeds_value = [seeds_value]
    if not isinstance(seeds_value, list):
        raise lines.error(path + ("seeds",), _("expected a list of seed URLs"))
    seeds = tuple(_seed(lines, path + ("seeds", str(index)), seed) for index, seed in enumerate(seeds_value))
    seeds_file = _file(lines, path + ("seeds_file",), spec["seeds_file"], True) if "seeds_file" in spec else None
    if not seeds and seeds_file is None:
        raise lines.error(path, _("give seeds, a seeds_file, or both"))
    if ("cron" in spec) == ("every" in spec):
        raise lines.error(path, _("give exactly one of 'cron' (e.g. \"0 2 * * *\") or 'every' (e.g. 20s)"))
    cron = _cron(lines, path + ("cron",), spec["cron"]) if "cron" in spec else None
    every = _duration(lines, path + ("every",), spec["every"]) if "every" in spec else None
    if every is not None and every < 1:
        raise lines.error(path + ("every",), _("the shortest interval is 1s"))
    discover = spec.get("discover", "record")
    if discover is False:  # YAML reads a bare `off` as false
        discover = "off"
    if discover not in DISCOVER_POLICIES:
        hint = difflib.get_close_matches(str(discover), DISCOVER_POLICIES, n=1)
        if hint:
            raise lines.error(path + ("discover",), _("unknown policy {policy} (did you mean {hint}?)",
                                                      policy=repr(discover), hint=repr(hint[0])))
        raise lines.error(path + ("discover",), _("unknown policy {policy}; expected one of {choices}",
                                                  policy=repr(discover), choices=", ".join(DISCOVER_POLICIES)))
    market_hosts: tuple[tuple[str, str], ...] = ()
    if "market_hosts" in spec:
        try:
            market_hosts = DEFAULTS["market_hosts"].parse("market_hosts", spec["market_hosts"])
        except ValueError as exc:
            raise lines.error(path + ("market_hosts",), str(exc)) from None
    flags = {}
    for flag in ("follow_offsite", "enabled"):
        if flag in spec and not isinstance(spec[flag], bool):
            raise lines.error(path + (flag,), _("expected true or false, got {value}", value=repr(spec[flag])))
        flags[flag] = spec.get(flag, flag == "enabled")
    return ScheduledJob(
        name=name,
        seeds=seeds,
        seeds_file=seeds_file,
        cron=cron,
        every_seconds=every,
        depth=_whole(lines, path + ("depth",), spec["depth"], 0, 100) if "depth" in spec else None,
        max_pages=_whole(lines, path + ("max_pages",), spec["max_pages"], 1, 1_000_000_000) if "max_pages" in spec else None,
        max_pages_per_host=(_whole(lines, path + ("max_pages_per_host",), spec["max_pages_per_host"], 1, 100_000_000)
                            if "max_pages_per_host" in spec else None),
        concurrency=_whole(lines, path + ("concurrency",), spec["concurrency"], 1, 1024) if "concurrency" in spec else None,
        max_duration_seconds=_duration(lines, path + ("max_duration",), spec["max_duration"]) if "max_duration" in spec else None,
        discover=str(discover),
        session_file=_file(lines, path + ("session_file",), spec["session_file"], False) if "session_file" in spec else None,
        market_hosts=market_hosts,
        follow_offsite=flags["follow_offsite"],
        enabled=flags["enabled"],
        where=lines.where(path),
    )


def schedules_path(schedules_file: str | Path | None, config_dir: str | Path | None) -> Path:
    """The schedules file: ``schedules_file`` (the setting) when given, else ``<config_dir>/schedules.yml``."""
    from config.paths import schedules_file as default_schedules_file

    return Path(schedules_file) if schedules_file else default_schedules_file(config_dir)


def load_schedule(path: str | Path) -> Schedule:
    """Read and validate a schedules file.

    :returns: the :class:`Schedule`; a file with ``jobs: {}`` (or nothing) has no jobs.
    :raises ScheduleError: the file is missing, unreadable or not YAML, or a key or
        value is wrong; the message names the file, the line and the key.
    """
    path = Path(path)
    data, lines = _read(path)
    data = check_keys(lines, (), {} if data is None else data, TOP_LEVEL_KEYS, _("the top level"))
    jobs_spec = data.get("jobs") or {}
    if not isinstance(jobs_spec, dict):
        raise lines.error(("jobs",), _("expected a mapping of job name: job settings"))
    jobs = {str(name): _job(lines, str(name), spec) for name, spec in jobs_spec.items()}
    return Schedule(path=path, jobs=jobs)
