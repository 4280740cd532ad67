"""The local node's process: start, stop, status and readiness.

Finding, checking and stopping the node's PID goes through the project's one
process helper (:mod:`config.processes`): a PID counts as our node only while
its command line names the Elasticsearch main class and our ``es.path.home``,
and a stop re-checks that (and the start time) before every signal.

Public API:

* :func:`start` -> :class:`StartResult`; harmless when the node already runs;
* :func:`stop` -> bool (True when a node this layout started was stopped);
* :func:`status` -> :class:`NodeStatus`;
* :func:`running_pid` ``(layout) -> int | None`` and :func:`running_node`
  ``(layout) -> OwnedProcess | None`` -- the node started from this layout;
  :func:`is_our_node` ``(arguments, layout)`` -- the command-line check;
* :data:`RECOVERY_WAIT_SECONDS` -- how long ``start`` waits for a red cluster to recover.

Raises :class:`~harness.elasticsearch_node.layout.NodeError` with the log tail
when the node dies or does not answer in time, or when another program holds
the port.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import pwd
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.processes import (
    ArgumentCheck, OwnedProcess, exclusive_lock, find_processes, owned_process, read_pidfile, stop_processes,
)
from harness.elasticsearch_node.configuration import write_configuration
from harness.elasticsearch_node.distribution import ensure_distribution
from harness.elasticsearch_node.layout import PRIVATE_MODE_MASK, NodeError, NodeLayout
from harness.elasticsearch_node.os_user import (
    check_reachable, ensure_system_user, grant_traversal, make_private, running_as_root,
)

# After a restart, how long `up` waits for the indices it holds to get their primaries back.
RECOVERY_WAIT_SECONDS = 60.0
# The launcher's main class; its presence in /proc/<pid>/cmdline (with our
# es.path.home) proves a PID from the pidfile is really our node.
MAIN_CLASS = "org.elasticsearch.bootstrap.Elasticsearch"
# After SIGKILL (a node that ignored SIGTERM for the whole timeout), how long stop waits for it to go.
KILL_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class StartResult:
    pid: int
    seconds: float
    already_running: bool
    url: str
    health: str = "green"


@dataclass(frozen=True)
class NodeStatus:
    running: bool
    pid: int | None
    url: str
    version: str | None
    health: str | None
    # True when something answers at the URL that this layout did not start.
    foreign: bool = False


def is_our_node(arguments: list[str], layout: NodeLayout) -> bool:
    """True if a command line is Elasticsearch's main class with our ``es.path.home``."""
    home_flag = f"-Des.path.home={layout.distribution.resolve()}"
    return any(MAIN_CLASS in part for part in arguments) and home_flag in arguments


def _node_check(layout: NodeLayout) -> ArgumentCheck:
    return functools.partial(is_our_node, layout=layout)


def running_node(layout: NodeLayout) -> OwnedProcess | None:
    """The node started from this layout, or None.

    The PID in the node's pidfile (written by Elasticsearch, so without a
    start time) counts only while /proc/<pid>/cmdline names the main class and
    our es.path.home, so a stale pidfile naming some other process counts as
    None.  A node whose es.path.home is our own distribution folder was
    started from this var dir even without its pidfile (e.g. a start that
    timed out), so /proc is searched for one too.
    """
    matches = _node_check(layout)
    record = read_pidfile(layout.pidfile)
    node = owned_process(record.pid, matches) if record is not None else None
    if node is not None:
        return node
    nodes = find_processes(matches)
    return nodes[0] if nodes else None


def running_pid(layout: NodeLayout) -> int | None:
    """PID of the node started from this layout (see :func:`running_node`), or None."""
    node = running_node(layout)
    return node.pid if node is not None else None


def _http_json(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    # No proxies: the node is on loopback and a proxy variable must not reroute it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _health(url: str) -> str | None:
    answer = _http_json(f"{url}/_cluster/health")
    return str(answer.get("status")) if answer else None


def _log_tail(layout: NodeLayout, lines: int = 40) -> str:
    chunks = []
    for path in (layout.launcher_output, layout.log_file):
        with contextlib.suppress(OSError):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            if text:
                chunks.append(f"--- {path} (last {len(text)} lines)\n" + "\n".join(text))
    return "\n".join(chunks) or f"(no log under {layout.logs_dir})"


def _prepare(layout: NodeLayout) -> list[Path]:
    """Unpack, configure and lock down the node's folders; returns the folders given o+x.

    Raises NodeError when there is no JDK, or (as root) when the node's user
    cannot reach the var dir through the folders above it.
    """
    java = layout.java_home / "bin" / "java"
    if not os.access(java, os.X_OK):
        raise NodeError(
            f"no Java at {java}; the Elasticsearch integ-test-zip bundles no JDK. Install a JDK 21+ "
            "and set es_java_home (ONIONSCOPE_ES_JAVA_HOME) to it"
        )
    account: pwd.struct_passwd | None = None
    if running_as_root():
        ensure_system_user(layout.user)
        account = pwd.getpwnam(layout.user)
        check_reachable(layout.var_dir, account)
    ensure_distribution(layout)
    for directory in layout.private_dirs:
        directory.mkdir(parents=True, exist_ok=True)
    write_configuration(layout)
    for directory in layout.private_dirs:
        make_private(directory, account)
    if account is None:
        return []
    return grant_traversal(layout.distribution, within=layout.var_dir)


def _launch_command(layout: NodeLayout) -> list[str]:
    environment = [
        f"ES_JAVA_HOME={layout.java_home}",
        f"ES_PATH_CONF={layout.config_dir}",
        f"ES_TMPDIR={layout.tmp_dir}",
        f"HOME={layout.home}",
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "LANG=C.UTF-8",
    ]
    launcher = [str(layout.distribution / "bin" / "elasticsearch"), "-d", "-p", str(layout.pidfile)]
    command = ["env", "-i", *environment, *launcher]
    if running_as_root():
        # Elasticsearch refuses root; runuser drops to the node's own user.
        return ["runuser", "-u", layout.user, "--", *command]
    return command


def start(settings: Any, timeout: float = 180.0) -> StartResult:
    """Start the local node (or find it running) and wait until it can serve searches.

    Ready means cluster health answers and the indices it already holds have
    their primary shards again (health not red; see :func:`_wait_for_health`).

    Returns a :class:`StartResult` with the PID and the seconds it took.  Raises
    :class:`NodeError` with the log tail when the node dies or does not answer
    within ``timeout`` seconds, or when another program holds the port.
    """
    layout = NodeLayout.from_settings(settings)
    began = time.monotonic()
    # Two `services up` at once (say, two test sessions) must not start two nodes.
    with exclusive_lock(layout.home / ".start.lock"):
        node = running_node(layout)
        if node is not None:
            health = _wait_for_health(layout, node, began + timeout)
            return StartResult(node.pid, time.monotonic() - began, True, layout.url, health)
        if _health(layout.url) is not None:
            raise NodeError(
                f"something not started by onionscope already answers at {layout.url}; stop it, or use it "
                f"by setting ONIONSCOPE_ES_URL={layout.url}, or choose another es_port"
            )
        changed = _prepare(layout)
        for directory in changed:
            print(f"note: gave others search permission (o+x) on {directory} so user "
                  f"{layout.user!r} can reach {layout.home}")
        layout.pidfile.unlink(missing_ok=True)
        try:
            node = _launch(layout, began + timeout)
            health = _wait_for_health(layout, node, began + timeout)
        except BaseException:
            # Never leave a half-started node behind.
            _kill_our_node(layout)
            raise
        return StartResult(node.pid, time.monotonic() - began, False, layout.url, health)


def _launch(layout: NodeLayout, deadline: float) -> OwnedProcess:
    """Run the launcher with -d (it detaches once the node is up); returns the node's process."""
    with open(layout.launcher_output, "w", opener=_private_opener) as output:
        launcher = subprocess.Popen(
            _launch_command(layout), stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, umask=PRIVATE_MODE_MASK,  # what the node writes is its user's alone
        )
    try:
        while launcher.poll() is None:
            # A node that answers is good enough, even while the launcher is still busy detaching.
            if _health(layout.url) is not None and running_pid(layout) is not None:
                break
            if time.monotonic() >= deadline:
                raise NodeError(f"Elasticsearch did not start before the deadline\n{_log_tail(layout)}")
            time.sleep(0.5)
        if launcher.poll() is None:
            # The node answers; the launcher exits once it has detached from it.
            with contextlib.suppress(subprocess.TimeoutExpired):
                launcher.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    if launcher.returncode not in (None, 0):
        raise NodeError(
            f"Elasticsearch failed to start (launcher exit status {launcher.returncode})\n{_log_tail(layout)}"
        )
    node = running_node(layout)
    if node is None:
        raise NodeError(f"Elasticsearch exited right after starting\n{_log_tail(layout)}")
    return node


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def _kill_our_node(layout: NodeLayout) -> None:
    # No grace: a half-started node is killed outright.
    stop_processes(find_processes(_node_check(layout)), grace_seconds=0.0)


def _wait_for_health(layout: NodeLayout, node: OwnedProcess, deadline: float) -> str:
    """Wait until cluster health answers and existing indices have their primaries (not red).

    Returns the health status.  Answering is required before ``deadline``
    (else :class:`NodeError`); a red status after restart (shards still
    recovering) is waited out for at most :data:`RECOVERY_WAIT_SECONDS` more,
    then returned as it is, so one broken index cannot make the node unusable
    for the others.
    """
    delay = 0.1
    recovery_deadline: float | None = None
    while True:
        health = _health(layout.url)
        if health is not None:
            if health != "red":
                return health
            if recovery_deadline is None:
                recovery_deadline = min(deadline, time.monotonic() + RECOVERY_WAIT_SECONDS)
            if time.monotonic() >= recovery_deadline:
                return health
        elif not node.is_running():
            raise NodeError(f"Elasticsearch (pid {node.pid}) died while starting\n{_log_tail(layout)}")
        elif time.monotonic() >= deadline:
            raise NodeError(
                f"Elasticsearch (pid {node.pid}) did not answer cluster health at {layout.url} in time\n"
                f"{_log_tail(layout)}"
            )
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def stop(settings: Any, timeout: float = 60.0) -> bool:
    """Stop the node this layout started (SIGTERM, then SIGKILL after ``timeout``).

    Returns False when no such node runs; a node started by anything else is
    never touched.  After a SIGKILL it waits up to :data:`KILL_WAIT_SECONDS`
    for the node to go.
    """
    layout = NodeLayout.from_settings(settings)
    node = running_node(layout)
    if node is None:
        return False
    stop_processes([node], grace_seconds=timeout, kill_wait_seconds=KILL_WAIT_SECONDS)
    layout.pidfile.unlink(missing_ok=True)
    return True


def status(settings: Any) -> NodeStatus:
    """Whether the local node runs, its PID, version and cluster health."""
    layout = NodeLayout.from_settings(settings)
    pid = running_pid(layout)
    health = _health(layout.url)
    return NodeStatus(
        running=pid is not None,
        pid=pid,
        url=layout.url,
        version=_version(layout.url) if health else None,
        health=health,
        foreign=pid is None and health is not None,
    )


def _version(url: str) -> str | None:
    # The integ-test-zip has no handler for GET / (405), so ask the node itself.
    answer = _http_json(f"{url}/_nodes/_local?filter_path=nodes.*.version")
    nodes = (answer or {}).get("nodes") or {}
    return next((str(node.get("version")) for node in nodes.values()), None)
