"""The local Redis of the shared crawl frontier: configure, start, stop and inspect it.

``onionscope services up`` starts it next to the local Elasticsearch node
(:mod:`harness.elasticsearch_node`); ``crawl --shared`` workers keep their
job's queue, seen-set, leases and stats in it (:mod:`crawler.frontier`).
It is Debian's ``redis-server`` (``bin/install-system-packages``), run with a
configuration written here, never the system service.

Everything lives under ``<var_dir>/redis/``::

    redis.conf   data/ (appendonly.aof, dump.rdb)   logs/redis.log   run/redis.pid

It listens on 127.0.0.1 only (``redis_port``), with protected mode on, and
persists every write to its append-only file (``appendonly yes``,
``appendfsync everysec``): a restarted Redis keeps the jobs it held.  Like
the local Elasticsearch node it has no password, so every local user can
read and write it; a machine shared with people who must not touch the
crawl, or workers on other machines, need their own secured Redis
(``redis_url``).

Public API:

* :class:`RedisLayout` -- those paths and the port, from settings
  (:meth:`RedisLayout.from_settings`, or any folder and port, as the tests do);
* :func:`render_redis_conf` ``(layout) -> str`` -- pure;
* :func:`start` ``(settings | layout, timeout) -> RedisStart``: harmless when it already
  runs; ready means it answers ``PING``;
* :func:`stop` ``(settings | layout) -> bool``; :func:`status` ``(settings | layout) -> RedisStatus``;
* :func:`running_process` ``(layout) -> OwnedProcess | None``;
* :func:`local_redis_url` ``(settings) -> str`` and :func:`redis_url_is_local` ``(settings) -> bool``;
* :class:`RedisError` (a :class:`~config.errors.UserError`) for anything a person
  must fix: no redis-server, a Redis that died (with its log tail), a port another program holds.

Processes are found, checked and stopped through :mod:`config.processes`: our
pidfile records the start time, and a PID counts as ours only while its
command line is ``redis-server`` with our configuration file.  Importing this
module starts nothing and reads no file.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.errors import UserError
from config.i18n import gettext
from config.processes import (
    OwnedProcess, exclusive_lock, find_processes, owned_process, recorded_process, stop_processes, write_pidfile,
)

REDIS_SERVER = "redis-server"
# After SIGTERM Redis writes its append-only file and exits; after this long it is killed.
STOP_GRACE_SECONDS = 30.0


class RedisError(UserError):
    """The local Redis could not be started or stopped; the message says why."""


@dataclass(frozen=True)
class RedisLayout:
    """Where the local Redis keeps its configuration, data, log and pidfile, and its port."""

    home: Path
    port: int

    @classmethod
    def from_settings(cls, settings: Any) -> "RedisLayout":
        return cls(home=Path(settings.var_dir) / "redis", port=int(settings.redis_port))

    @property
    def config_file(self) -> Path:
        return self.home / "redis.conf"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "redis.log"

    @property
    def pidfile(self) -> Path:
        return self.home / "run" / "redis.pid"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@dataclass(frozen=True)
class RedisStart:
    pid: int
    seconds: float
    already_running: bool
    url: str


@dataclass(frozen=True)
class RedisStatus:
    running: bool
    pid: int | None
    url: str
    version: str | None
    appendonly: bool | None
    # True when something answers PING on the port that this layout did not start.
    foreign: bool = False


def local_redis_url(settings: Any) -> str:
    """The URL of the local Redis (always 127.0.0.1 and ``redis_port``, database 0)."""
    return RedisLayout.from_settings(settings).url


def redis_url_is_local(settings: Any) -> bool:
    """True when ``redis_url`` is unset (the local Redis is used) or points at it."""
    url = settings.redis_url
    if not url:
        return True
    port = int(settings.redis_port)
    return url.rstrip("/") in (f"redis://127.0.0.1:{port}", f"redis://127.0.0.1:{port}/0",
                               f"redis://localhost:{port}", f"redis://localhost:{port}/0")


def render_redis_conf(layout: RedisLayout) -> str:
    """redis.conf for the local Redis: loopback only, persistence on, no title rewriting. Pure."""
    return "\n".join([
        "# Written by onionscope (harness/redis_server.py) on every start; edits are lost.",
        "bind 127.0.0.1",
        f"port {layout.port}",
        "protected-mode yes",
        "daemonize no",
        # The command line keeps naming this file, which is how a PID is recognised as ours.
        "set-proc-title no",
        f"dir {layout.data_dir.resolve()}",
        f"logfile {layout.log_file.resolve()}",
        "appendonly yes",
        "appendfsync everysec",
        "save 3600 1 300 100 60 10000",
        # Nothing here needs them, and they would let any local client reconfigure the server.
        'rename-command DEBUG ""',
        'rename-command MODULE ""',
        "",
    ])


def _layout(target: Any) -> RedisLayout:
    return target if isinstance(target, RedisLayout) else RedisLayout.from_settings(target)


def is_our_redis(arguments: list[str], layout: RedisLayout) -> bool:
    """True if a command line is ``redis-server <our redis.conf>``."""
    return (bool(arguments) and Path(arguments[0]).name == REDIS_SERVER
            and str(layout.config_file.resolve()) in arguments[1:])


def running_process(layout: RedisLayout) -> OwnedProcess | None:
    """The Redis started from this layout, or None (found by its pidfile, else by its command line)."""
    matches = functools.partial(is_our_redis, layout=layout)
    process = recorded_process(layout.pidfile, matches)
    if process is not None:
        return process
    found = find_processes(matches)
    return found[0] if found else None


def _client(url: str, timeout: float = 2.0) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True)


def _ping(url: str) -> bool:
    import redis

    client = _client(url)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def _log_tail(layout: RedisLayout, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        text = layout.log_file.read_text(errors="replace").splitlines()[-lines:]
        if text:
            return f"--- {layout.log_file} (last {len(text)} lines)\n" + "\n".join(text)
    return f"(no log at {layout.log_file})"


def start(target: Any, timeout: float = 30.0) -> RedisStart:
    """Start the local Redis (or find it running) and wait until it answers ``PING``.

    ``target``: settings or a :class:`RedisLayout`.  Returns a :class:`RedisStart`.
    Raises :class:`RedisError` when redis-server is not installed, when
    something else answers on the port, or (with the log tail) when Redis dies
    or does not answer within ``timeout`` seconds.
    """
    layout = _layout(target)
    began = time.monotonic()
    with exclusive_lock(layout.home / ".start.lock"):
        process = running_process(layout)
        if process is not None:
            _wait_ready(layout, process, began + timeout)
            return RedisStart(process.pid, time.monotonic() - began, True, layout.url)
        if _ping(layout.url):
            raise RedisError(gettext(
                "a Redis not started by onionscope already answers at {url}; stop it, or use it by "
                "setting ONIONSCOPE_REDIS_URL={url}, or choose another redis_port", url=layout.url))
        executable = shutil.which(REDIS_SERVER) or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists()
                                                    else None)
        if executable is None:
            raise RedisError(gettext("redis-server is not installed; run bin/install-system-packages as root "
                                     "(Debian package redis-server)"))
        for directory in (layout.data_dir, layout.log_file.parent, layout.pidfile.parent):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        layout.config_file.write_text(render_redis_conf(layout), encoding="utf-8")
        layout.config_file.chmod(0o600)
        launched = subprocess.Popen(
            [executable, str(layout.config_file.resolve())], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            process = _exec_done(launched, layout, began + timeout)
            write_pidfile(layout.pidfile, process.pid)
            _wait_ready(layout, process, began + timeout)
        except BaseException:
            # Never leave a half-started Redis behind.
            if launched.poll() is None:
                launched.kill()
            launched.wait()
            raise
        return RedisStart(process.pid, time.monotonic() - began, False, layout.url)


def _exec_done(launched: subprocess.Popen[bytes], layout: RedisLayout, deadline: float) -> OwnedProcess:
    """The launched redis-server once it runs as itself (between fork and exec its command line is ours)."""
    matches = functools.partial(is_our_redis, layout=layout)
    while True:
        process = owned_process(launched.pid, matches)
        if process is not None:
            return process
        if launched.poll() is not None:
            raise RedisError(gettext("redis-server exited right after starting (status {status})",
                                     status=launched.returncode) + "\n" + _log_tail(layout))
        if time.monotonic() >= deadline:
            raise RedisError(gettext("redis-server (pid {pid}) did not start in time", pid=launched.pid) + "\n"
                             + _log_tail(layout))
        time.sleep(0.005)


def _wait_ready(layout: RedisLayout, process: OwnedProcess, deadline: float) -> None:
    delay = 0.02
    while not _ping(layout.url):
        if not process.is_running():
            raise RedisError(gettext("Redis (pid {pid}) died while starting", pid=process.pid) + "\n" + _log_tail(layout))
        if time.monotonic() >= deadline:
            raise RedisError(gettext("Redis (pid {pid}) did not answer PING at {url} in time", pid=process.pid,
                                     url=layout.url) + "\n" + _log_tail(layout))
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def stop(target: Any, grace_seconds: float = STOP_GRACE_SECONDS) -> bool:
    """Stop the Redis this layout started (SIGTERM: it saves and exits; SIGKILL after ``grace_seconds``).

    Returns False when none runs; a Redis started by anything else is never touched.
    """
    layout = _layout(target)
    process = running_process(layout)
    if process is None:
        return False
    stop_processes([process], grace_seconds=grace_seconds, kill_wait_seconds=5.0)
    layout.pidfile.unlink(missing_ok=True)
    return True


def status(target: Any) -> RedisStatus:
    """Whether the local Redis runs, its PID, version and whether its append-only file is on."""
    import redis

    layout = _layout(target)
    process = running_process(layout)
    version: str | None = None
    appendonly: bool | None = None
    client = _client(layout.url)
    try:
        info = client.info("server")
        version = str(info.get("redis_version"))
        appendonly = client.config_get("appendonly").get("appendonly") == "yes"
    except (redis.RedisError, OSError):
        pass
    finally:
        client.close()
    return RedisStatus(running=process is not None, pid=process.pid if process else None, url=layout.url,
                       version=version, appendonly=appendonly, foreign=process is None and version is not None)
