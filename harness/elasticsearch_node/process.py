"""The local nodes' processes: start, stop, status and readiness, for one node or a local cluster.

Finding, checking and stopping a node's PID goes through the project's one
process helper (:mod:`config.processes`): a PID counts as our node only while
its command line names the Elasticsearch main class, our ``es.path.home``
and the node's own temporary folder (each node of a local cluster has its
own), and a stop re-checks that (and the start time) before every signal.

A local cluster's nodes are launched at once (each waits for the others to
form the cluster) and it is ready when cluster health counts all of them.

Public API:

* :func:`start` ``(settings, timeout, nodes=None)`` -> :class:`StartResult`;
  harmless when the nodes already run, and starts only those that do not
  (a node that was lost rejoins); ``nodes`` None means the size recorded for
  this var dir, 1 when none was;
* :func:`stop` -> bool (True when a node this var dir started was stopped; every node of it is);
* :func:`status` -> :class:`NodeStatus` of node 0; :func:`cluster_status` -> one per node;
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
import http.client
import json
import os
import pwd
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.i18n import gettext
from config.processes import (
    ArgumentCheck, OwnedProcess, exclusive_lock, find_processes, owned_process, read_pidfile, stop_processes,
)
from harness.elasticsearch_node.configuration import write_configuration
from harness.elasticsearch_node.distribution import ensure_distribution
from harness.elasticsearch_node.layout import (
    PRIVATE_MODE_MASK, NodeError, NodeLayout, cluster_layouts, record_cluster_size, recorded_cluster_size,
)
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
    # Every node of the cluster: (HTTP URL, PID), node 0 first.
    nodes: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class NodeStatus:
    running: bool
    pid: int | None
    url: str
    version: str | None
    health: str | None
    # True when something answers at the URL that this layout did not start.
    foreign: bool = False


def is_node_of_var_dir(arguments: list[str], layout: NodeLayout) -> bool:
    """True if a command line is Elasticsearch's main class with our ``es.path.home`` (any node of this var dir)."""
    home_flag = f"-Des.path.home={layout.distribution.resolve()}"
    return any(MAIN_CLASS in part for part in arguments) and home_flag in arguments


def is_our_node(arguments: list[str], layout: NodeLayout) -> bool:
    """True if a command line is this very node: our ``es.path.home`` and the node's own temporary folder.

    The nodes of a local cluster share the distribution; the launcher passes
    each one its ``ES_TMPDIR`` as ``-Djava.io.tmpdir``.
    """
    tmp_flags = {f"-Djava.io.tmpdir={layout.tmp_dir}", f"-Djava.io.tmpdir={layout.tmp_dir.resolve()}"}
    return is_node_of_var_dir(arguments, layout) and any(flag in arguments for flag in tmp_flags)


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


def _health_answer(url: str) -> dict[str, Any] | None:
    return _http_json(f"{url}/_cluster/health")


def _http_json(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    # No proxies: the node is on loopback and a proxy variable must not reroute it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException):
        # HTTPException: something that is not an HTTP server (or not yet one) holds the port.
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


def _prepare(layout: NodeLayout, bootstrap: bool = False) -> list[Path]:
    """Unpack, configure and lock down the node's folders; returns the folders given o+x.

    Raises NodeError when there is no JDK, or (as root) when the node's user
    cannot reach the var dir through the folders above it.
    """
    java = layout.java_home / "bin" / "java"
    if not os.access(java, os.X_OK):
        raise NodeError(gettext("no Java at {java}; the Elasticsearch integ-test-zip bundles no JDK. Install a JDK 21+ "
                                "and set es_java_home (ONIONSCOPE_ES_JAVA_HOME) to it", java=java))
    account: pwd.struct_passwd | None = None
    if running_as_root():
        ensure_system_user(layout.user)
        account = pwd.getpwnam(layout.user)
        check_reachable(layout.var_dir, account)
    ensure_distribution(layout)
    for directory in layout.private_dirs:
        directory.mkdir(parents=True, exist_ok=True)
    write_configuration(layout, bootstrap)
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


def start(settings: Any, timeout: float = 180.0, nodes: int | None = None) -> StartResult:
    """Start the local node, or the ``nodes`` nodes of a local cluster, and wait until it can serve searches.

    Nodes that already run are kept; the others are launched at once.  Ready
    means cluster health answers, counts every node, and the indices it
    already holds have their primary shards again (health not red; see
    :func:`_wait_for_health`).  ``nodes`` None starts as many nodes as this
    var dir last ran (:func:`recorded_cluster_size`), one when it never ran.

    Returns a :class:`StartResult` with node 0's PID and the seconds it took.
    Raises :class:`NodeError` with the log tail when a node dies or does not
    answer within ``timeout`` seconds, when another program holds a port, or
    when fewer nodes are asked for than the cluster in this var dir has (its
    data would be left without a quorum).
    """
    home = NodeLayout.from_settings(settings).home
    began = time.monotonic()
    # Two `services up` at once (say, two test sessions) must not start two nodes.
    with exclusive_lock(home / ".start.lock"):
        recorded = recorded_cluster_size(home)
        size = recorded if nodes is None else int(nodes)
        layouts = cluster_layouts(settings, size)
        first = layouts[0]
        if size < recorded and (first.data_dir / "_state").exists():
            raise NodeError(gettext(
                "{home} holds the data of a {recorded}-node cluster; start it with `onionscope services up "
                "--nodes {recorded}` (a smaller cluster would have no quorum), or move {home} away to start afresh",
                home=home, recorded=recorded))
        running = {layout.node_index: node for layout in layouts if (node := running_node(layout)) is not None}
        if len(running) == size:
            health = _wait_for_health(first, list(running.values()), began + timeout, size)
            return _result(layouts, running, began, True, health)
        for layout in layouts:
            if layout.node_index not in running and _health_answer(layout.url) is not None:
                raise NodeError(gettext(
                    "something not started by onionscope already answers at {url}; stop it, or use it "
                    "by setting ONIONSCOPE_ES_URL={url}, or choose another es_port", url=layout.url))
        # Initial master nodes only for a cluster none of whose nodes has formed one yet.
        bootstrap = size > 1 and not any((layout.data_dir / "_state").exists() for layout in layouts)
        missing = [layout for layout in layouts if layout.node_index not in running]
        changed: list[Path] = []
        for layout in missing:
            changed += _prepare(layout, bootstrap)
        for directory in sorted(set(changed)):
            print(f"note: gave others search permission (o+x) on {directory} so user "
                  f"{first.user!r} can reach {first.home}")
        record_cluster_size(home, size)
        for layout in missing:
            layout.pidfile.unlink(missing_ok=True)
        try:
            # All at once: a node of a cluster waits for the others before its launcher returns.
            with ThreadPoolExecutor(max_workers=len(missing)) as pool:
                launched = list(pool.map(lambda layout: _launch(layout, began + timeout), missing))
            running.update({layout.node_index: node for layout, node in zip(missing, launched)})
            health = _wait_for_health(first, list(running.values()), began + timeout, size)
        except BaseException:
            # Never leave a half-started node behind (the nodes that already ran are kept).
            for layout in missing:
                _kill_our_node(layout)
            raise
        return _result(layouts, running, began, False, health)


def _result(layouts: list[NodeLayout], running: dict[int, OwnedProcess], began: float, already: bool,
            health: str) -> StartResult:
    nodes = tuple((layout.url, running[layout.node_index].pid) for layout in layouts)
    return StartResult(nodes[0][1], time.monotonic() - began, already, layouts[0].url, health, nodes)


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
                raise NodeError(gettext("Elasticsearch did not start before the deadline") + "\n" + _log_tail(layout))
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
        raise NodeError(gettext("Elasticsearch failed to start (launcher exit status {status})",
                                status=launcher.returncode) + "\n" + _log_tail(layout))
    node = running_node(layout)
    if node is None:
        raise NodeError(gettext("Elasticsearch exited right after starting") + "\n" + _log_tail(layout))
    return node


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def _kill_our_node(layout: NodeLayout) -> None:
    # No grace: a half-started node is killed outright.
    stop_processes(find_processes(_node_check(layout)), grace_seconds=0.0)


def _wait_for_health(layout: NodeLayout, nodes: list[OwnedProcess], deadline: float, expected_nodes: int = 1) -> str:
    """Wait until cluster health answers, counts ``expected_nodes`` nodes and existing indices have their primaries.

    Returns the health status.  Answering with every node is required before
    ``deadline`` (else :class:`NodeError`); a red status after restart (shards
    still recovering) is waited out for at most :data:`RECOVERY_WAIT_SECONDS`
    more, then returned as it is, so one broken index cannot make the node
    unusable for the others.
    """
    delay = 0.1
    recovery_deadline: float | None = None
    while True:
        answer = _health_answer(layout.url)
        health = str(answer.get("status")) if answer else None
        if answer is not None and int(answer.get("number_of_nodes", 0)) >= expected_nodes:
            if health != "red":
                return str(health)
            if recovery_deadline is None:
                recovery_deadline = min(deadline, time.monotonic() + RECOVERY_WAIT_SECONDS)
            if time.monotonic() >= recovery_deadline:
                return str(health)
        elif dead := [node for node in nodes if not node.is_running()]:
            raise NodeError(gettext("Elasticsearch (pid {pid}) died while starting", pid=dead[0].pid) + "\n"
                            + _log_tail(layout))
        elif time.monotonic() >= deadline:
            seen = (gettext("{count} of {expected} nodes", count=answer.get("number_of_nodes"), expected=expected_nodes)
                    if answer else gettext("no answer"))
            raise NodeError(gettext("Elasticsearch at {url} did not answer cluster health with all its nodes in time "
                                    "({seen})", url=layout.url, seen=seen) + "\n" + _log_tail(layout))
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def stop(settings: Any, timeout: float = 60.0) -> bool:
    """Stop every node this var dir started (SIGTERM, then SIGKILL after ``timeout``), all at once.

    Returns False when none runs; a node started by anything else is never
    touched.  After a SIGKILL it waits up to :data:`KILL_WAIT_SECONDS` for
    the nodes to go.
    """
    first = NodeLayout.from_settings(settings)
    layouts = cluster_layouts(settings, recorded_cluster_size(first.home))
    nodes = {node.pid: node for layout in layouts if (node := running_node(layout)) is not None}
    # A node of this var dir whose layout is not recorded (e.g. a cluster file deleted by hand).
    nodes.update({node.pid: node for node in find_processes(functools.partial(is_node_of_var_dir, layout=first))})
    if not nodes:
        return False
    stop_processes(list(nodes.values()), grace_seconds=timeout, kill_wait_seconds=KILL_WAIT_SECONDS)
    for layout in layouts:
        layout.pidfile.unlink(missing_ok=True)
    return True


def status(settings: Any) -> NodeStatus:
    """Whether the local node (node 0 of a local cluster) runs, its PID, version and cluster health."""
    return _node_status(NodeLayout.from_settings(settings))


def cluster_status(settings: Any) -> list[NodeStatus]:
    """One :class:`NodeStatus` per node of the cluster this var dir last started, node 0 first."""
    home = NodeLayout.from_settings(settings).home
    return [_node_status(layout) for layout in cluster_layouts(settings, recorded_cluster_size(home))]


def _node_status(layout: NodeLayout) -> NodeStatus:
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
