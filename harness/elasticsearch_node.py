"""The local Elasticsearch node: fetch, unpack, configure, start, stop and inspect it.

The node is the ``integ-test-zip`` distribution from Maven Central
(``org.elasticsearch.distribution.integ-test-zip:elasticsearch:<version>:zip``,
version :data:`config.settings.ELASTICSEARCH_VERSION`).  That build bundles
no JDK, refuses to run as root and carries only the core modules (no
analysis-common, no painless, no reindex), so the rest of onionscope never
relies on those.

Everything lives under ``<var_dir>/elasticsearch/``::

    elasticsearch-<version>/  the unpacked distribution (root-owned, read-only for the node)
    config/  data/  logs/  tmp/  run/elasticsearch.pid   (the node's user's alone: 0700, files 0600)

Run as root, the node runs as ``es_user``.  Folders inside the var dir get
search permission for others (o+x, never read) where the user needs to pass;
folders above it are never changed: when one of them stops the user,
:func:`start` raises :class:`NodeError` saying what to do.

Public API:

* :class:`NodeLayout` -- those paths, from settings (:meth:`NodeLayout.from_settings`);
* :func:`start` -> :class:`StartResult`; harmless when the node already runs;
* :func:`stop` -> bool (True when a node this layout started was stopped);
* :func:`status` -> :class:`NodeStatus`;
* :func:`local_url` -> the node's URL; :func:`es_url_is_local_node` tells whether
  ``es_url`` points at it;
* :func:`render_elasticsearch_yml`, :func:`render_heap_options`, :func:`limit_gc_logs` -- pure, tested;
* :class:`NodeError` (a :class:`~config.errors.UserError`) for anything a
  person must fix: no JDK, no Maven download, a node that died (with its log tail).

Security is switched off on this node (``xpack.security.enabled: false``): it
listens on 127.0.0.1 only and is meant for local use.  Every local process can
therefore read and write it (API tokens included): the trust boundary is the
machine's local users.  Anything reachable from other machines, or a machine
shared with people who must not administer onionscope, needs a secured cluster
(``es_url`` + credentials).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from config.errors import UserError
from config.processes import process_arguments, read_pidfile
from config.settings import ELASTICSEARCH_VERSION

MAVEN_COORDINATES = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
CLUSTER_NAME = "onionscope-local"
# After a restart, how long `up` waits for the indices it holds to get their primaries back.
RECOVERY_WAIT_SECONDS = 60.0
# The launcher's main class; its presence in /proc/<pid>/cmdline (with our
# es.path.home) proves a PID from the pidfile is really our node.
MAIN_CLASS = "org.elasticsearch.bootstrap.Elasticsearch"
_HEAP_PATTERN = re.compile(r"^[1-9][0-9]*[kmgKMG]$")
# Permission bits the node's own folders (config, data, logs, tmp, run) never
# have: 0700 folders and 0600 files, for the node's user only.
PRIVATE_MODE_MASK = 0o077


class NodeError(UserError):
    """The local node could not be fetched, started or stopped; the message says why."""


@dataclass(frozen=True)
class NodeLayout:
    """Where the local node's distribution, configuration, data and logs live."""

    home: Path
    version: str
    port: int
    transport_port: int
    heap: str
    java_home: Path
    user: str

    @classmethod
    def from_settings(cls, settings: Any, version: str = ELASTICSEARCH_VERSION) -> "NodeLayout":
        port = int(settings.es_port)
        # The transport port is never used by clients; keep it next to the HTTP port.
        transport_port = port + 100 if port + 100 <= 65535 else port - 100
        return cls(
            home=Path(settings.var_dir) / "elasticsearch",
            version=version,
            port=port,
            transport_port=transport_port,
            heap=str(settings.es_heap),
            java_home=Path(settings.es_java_home),
            user=str(settings.es_user),
        )

    @property
    def var_dir(self) -> Path:
        return self.home.parent

    @property
    def distribution(self) -> Path:
        return self.home / f"elasticsearch-{self.version}"

    @property
    def config_dir(self) -> Path:
        return self.home / "config"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def tmp_dir(self) -> Path:
        return self.home / "tmp"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def private_dirs(self) -> tuple[Path, ...]:
        """The folders only the node's user may enter (0700, files 0600)."""
        return (self.config_dir, self.data_dir, self.logs_dir, self.tmp_dir, self.run_dir)

    @property
    def pidfile(self) -> Path:
        return self.run_dir / "elasticsearch.pid"

    @property
    def log_file(self) -> Path:
        return self.logs_dir / f"{CLUSTER_NAME}.log"

    @property
    def launcher_output(self) -> Path:
        return self.logs_dir / "launcher.out"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


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


def local_url(settings: Any) -> str:
    """The URL of the local node (always 127.0.0.1 and ``es_port``)."""
    return f"http://127.0.0.1:{int(settings.es_port)}"


def es_url_is_local_node(settings: Any) -> bool:
    """True when ``es_url`` points at the node this module manages."""
    port = int(settings.es_port)
    return str(settings.es_url).rstrip("/") in (f"http://127.0.0.1:{port}", f"http://localhost:{port}")


def maven_zip_path(version: str = ELASTICSEARCH_VERSION) -> Path:
    """Where Maven caches the distribution zip (``~/.m2/repository/...``)."""
    return (
        Path.home() / ".m2" / "repository" / "org" / "elasticsearch" / "distribution" / "integ-test-zip"
        / "elasticsearch" / version / f"elasticsearch-{version}.zip"
    )


# --------------------------------------------------------------------------- configuration


def render_elasticsearch_yml(layout: NodeLayout) -> str:
    """The node's elasticsearch.yml: loopback only, single node, no security, no disk watermarks."""
    lines = [
        "# Written by onionscope (harness/elasticsearch_node.py); rewritten on every start.",
        f"cluster.name: {CLUSTER_NAME}",
        "node.name: onionscope-local-node",
        f"path.data: {json.dumps(str(layout.data_dir))}",
        f"path.logs: {json.dumps(str(layout.logs_dir))}",
        "# Loopback only: this node has security switched off and must never be reachable from elsewhere.",
        "network.host: 127.0.0.1",
        f"http.port: {layout.port}",
        f"transport.port: {layout.transport_port}",
        "discovery.type: single-node",
        "xpack.security.enabled: false",
        "xpack.ml.enabled: false",
        "# A nearly full disk must not turn indices read-only in the middle of a test run.",
        "cluster.routing.allocation.disk.threshold_enabled: false",
        "# Index names are always given in full; wildcard deletes stay forbidden.",
        "action.destructive_requires_name: true",
        "",
    ]
    return "\n".join(lines)


def render_heap_options(heap: str) -> str:
    """jvm.options.d content fixing the heap; raises NodeError for a malformed size."""
    if not _HEAP_PATTERN.match(heap):
        raise NodeError(f"setting es_heap: expected a size such as 512m or 2g, got {heap!r}")
    return f"-Xms{heap}\n-Xmx{heap}\n"


def limit_gc_logs(jvm_options: str) -> str:
    """jvm.options with GC logs rotated over 4 files of 16 MB (the stock 32 x 64 MB is 2 GB under var/)."""
    return re.sub(r"filecount=\d+,filesize=\d+[kmgKMG]?", "filecount=4,filesize=16m", jvm_options)


# --------------------------------------------------------------------------- distribution


def ensure_distribution(layout: NodeLayout) -> Path:
    """Unpack the cached zip under ``layout.home`` (fetching it through Maven if absent).

    Returns the distribution directory.  Raises NodeError when the zip is not in
    the Maven cache and ``mvn`` cannot fetch it.
    """
    marker = layout.distribution / "lib" / f"elasticsearch-{layout.version}.jar"
    if marker.exists():
        return layout.distribution
    zip_path = maven_zip_path(layout.version)
    if not zip_path.exists():
        _maven_fetch(layout.version, zip_path)
    layout.home.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=layout.home))
    try:
        _unzip_with_modes(zip_path, staging)
        unpacked = staging / f"elasticsearch-{layout.version}"
        if not unpacked.is_dir():
            raise NodeError(f"{zip_path} does not contain elasticsearch-{layout.version}/; delete it and retry")
        if layout.distribution.exists():  # a half-finished earlier unpack
            shutil.rmtree(layout.distribution)
        unpacked.rename(layout.distribution)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return layout.distribution


def _maven_fetch(version: str, zip_path: Path) -> None:
    coordinates = MAVEN_COORDINATES.format(version=version)
    if shutil.which("mvn") is None:
        raise NodeError(
            f"the Elasticsearch {version} distribution is not in the Maven cache ({zip_path}) and `mvn` "
            f"is not installed; install Maven or download {coordinates} to that path"
        )
    result = subprocess.run(
        ["mvn", "-q", "dependency:get", f"-Dartifact={coordinates}", "-Dtransitive=false"],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0 or not zip_path.exists():
        tail = (result.stdout + result.stderr).strip()[-1500:]
        raise NodeError(f"could not fetch {coordinates} with Maven:\n{tail}")


def _unzip_with_modes(zip_path: Path, target: Path) -> None:
    # zipfile drops Unix modes; the launch scripts need their exec bit, and the
    # node's user needs to read everything.
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            destination = (target / info.filename).resolve()
            if not str(destination).startswith(str(target.resolve()) + os.sep):
                raise NodeError(f"{zip_path}: entry {info.filename!r} escapes the target folder")
            archive.extract(info, target)
            if info.is_dir():
                os.chmod(destination, 0o755)
            else:
                executable = (info.external_attr >> 16) & 0o111
                os.chmod(destination, 0o755 if executable else 0o644)


# --------------------------------------------------------------------------- user and permissions


def _running_as_root() -> bool:
    return os.geteuid() == 0


def ensure_system_user(name: str) -> None:
    """Create the system user ``name`` (no home, no shell) if it does not exist."""
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        # Another `services up` may have created it in the meantime.
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return
        raise NodeError(f"could not create the system user {name!r} for Elasticsearch: {result.stderr.strip()}")


def _grant_traversal(path: Path, within: Path) -> list[Path]:
    """Give 'others' search (x, not read) permission on folders above ``path`` that lack it.

    The node runs as an unprivileged user, so it must be able to pass through
    every folder above its files.  Only folders inside ``within`` (the var
    dir, itself included) are touched; what lies above it belongs to the
    operator (see :func:`_check_reachable`).  Returns what changed.
    """
    changed: list[Path] = []
    within = within.resolve()
    for directory in reversed(path.resolve().parents):
        if not directory.is_relative_to(within):
            continue
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(directory, stat.S_IMODE(mode) | stat.S_IXOTH)
            changed.append(directory)
    return changed


def _user_can_search(directory: Path, account: pwd.struct_passwd) -> bool:
    """True if ``account`` can pass through ``directory`` and every folder above it.

    Asked of the kernel as that user (``test -x``), so ACLs and group
    memberships count exactly as they will for the node.
    """
    result = subprocess.run(
        ["test", "-x", str(directory)], user=account.pw_uid, group=account.pw_gid,
        extra_groups=os.getgrouplist(account.pw_name, account.pw_gid),
        stdin=subprocess.DEVNULL, capture_output=True, check=False,
    )
    return result.returncode == 0


def _check_reachable(var_dir: Path, account: pwd.struct_passwd) -> None:
    """Raise NodeError, naming the folder and the remedies, if ``account`` cannot reach ``var_dir``.

    Folders above the var dir are never chmod-ed here: widening, say, /root
    for every local user is the operator's decision, not a side effect.
    """
    var_dir = var_dir.resolve()
    if _user_can_search(var_dir.parent, account):
        return
    blocking = next(
        (directory for directory in [*reversed(var_dir.parents)] if not _user_can_search(directory, account)),
        var_dir.parent,
    )
    mode = stat.S_IMODE(blocking.stat().st_mode)
    raise NodeError(
        f"the Elasticsearch user {account.pw_name!r} cannot reach {var_dir}: it may not pass through "
        f"{blocking} (mode {mode:04o}). onionscope does not change folders outside its var dir. Either "
        f"let it through (`chmod o+x {blocking}`, or `setfacl -m u:{account.pw_name}:x {blocking}`), or "
        f"set var_dir (ONIONSCOPE_VAR_DIR) to a folder it can reach, such as /var/lib/onionscope"
    )


def _make_private(path: Path, owner: pwd.struct_passwd | None) -> None:
    """Strip group and other permissions from ``path`` and everything in it; chown to ``owner`` if given.

    The node has no authentication and keeps every indexed page and token
    document in data/; no other local user may read it (or its logs).
    """
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, entry) for entry in dirs + files)]:
            with contextlib.suppress(FileNotFoundError):
                info = os.lstat(name)
                if stat.S_ISLNK(info.st_mode):
                    continue
                if owner is not None and (info.st_uid, info.st_gid) != (owner.pw_uid, owner.pw_gid):
                    os.chown(name, owner.pw_uid, owner.pw_gid, follow_symlinks=False)
                if stat.S_IMODE(info.st_mode) & PRIVATE_MODE_MASK:
                    os.chmod(name, stat.S_IMODE(info.st_mode) & ~PRIVATE_MODE_MASK)


# --------------------------------------------------------------------------- process


def _read_pid(layout: NodeLayout) -> int | None:
    record = read_pidfile(layout.pidfile)
    return record.pid if record else None


def _is_our_node(pid: int, layout: NodeLayout) -> bool:
    arguments = process_arguments(pid)
    if arguments is None:
        return False
    home_flag = f"-Des.path.home={layout.distribution.resolve()}"
    return any(MAIN_CLASS in part for part in arguments) and home_flag in arguments


def _pids_of_our_node(layout: NodeLayout) -> list[int]:
    # A node whose es.path.home is our own distribution folder was started from
    # this var dir, even before (or without) its pidfile: e.g. a start that timed out.
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _is_our_node(int(entry.name), layout):
            pids.append(int(entry.name))
    return sorted(pids)


def running_pid(layout: NodeLayout) -> int | None:
    """PID of the node started from this layout, or None.

    The pidfile is checked against /proc/<pid>/cmdline (main class and our
    es.path.home), so a stale pidfile naming some other process counts as None.
    """
    pid = _read_pid(layout)
    if pid is not None and _is_our_node(pid, layout):
        return pid
    pids = _pids_of_our_node(layout)
    return pids[0] if pids else None


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


@contextlib.contextmanager
def _start_lock(layout: NodeLayout) -> Iterator[None]:
    # Two `services up` at once (say, two test sessions) must not start two nodes.
    layout.home.mkdir(parents=True, exist_ok=True)
    with open(layout.home / ".start.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
    if _running_as_root():
        ensure_system_user(layout.user)
        account = pwd.getpwnam(layout.user)
        _check_reachable(layout.var_dir, account)
    ensure_distribution(layout)
    for directory in layout.private_dirs:
        directory.mkdir(parents=True, exist_ok=True)
    # Start from the distribution's defaults (log4j2, jvm.options) and replace the node settings.
    for source in (layout.distribution / "config").iterdir():
        target = layout.config_dir / source.name
        if source.is_file() and not target.exists():
            shutil.copy2(source, target)
    jvm_options = layout.config_dir / "jvm.options"
    jvm_options.write_text(limit_gc_logs(jvm_options.read_text()))
    (layout.config_dir / "jvm.options.d").mkdir(exist_ok=True)
    (layout.config_dir / "elasticsearch.yml").write_text(render_elasticsearch_yml(layout))
    (layout.config_dir / "jvm.options.d" / "onionscope-heap.options").write_text(render_heap_options(layout.heap))
    for directory in layout.private_dirs:
        _make_private(directory, account)
    if account is None:
        return []
    return _grant_traversal(layout.distribution, within=layout.var_dir)


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
    if _running_as_root():
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
    with _start_lock(layout):
        pid = running_pid(layout)
        if pid is not None:
            health = _wait_for_health(layout, pid, began + timeout)
            return StartResult(pid, time.monotonic() - began, True, layout.url, health)
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
            pid = _launch(layout, began + timeout)
            health = _wait_for_health(layout, pid, began + timeout)
        except BaseException:
            # Never leave a half-started node behind.
            _kill_our_node(layout)
            raise
        return StartResult(pid, time.monotonic() - began, False, layout.url, health)


def _launch(layout: NodeLayout, deadline: float) -> int:
    """Run the launcher with -d (it detaches once the node is up); returns the node's PID."""
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
    pid = running_pid(layout)
    if pid is None:
        raise NodeError(f"Elasticsearch exited right after starting\n{_log_tail(layout)}")
    return pid


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def _kill_our_node(layout: NodeLayout) -> None:
    for pid in _pids_of_our_node(layout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _wait_for_health(layout: NodeLayout, pid: int, deadline: float) -> str:
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
        elif not _is_our_node(pid, layout):
            raise NodeError(f"Elasticsearch (pid {pid}) died while starting\n{_log_tail(layout)}")
        elif time.monotonic() >= deadline:
            raise NodeError(
                f"Elasticsearch (pid {pid}) did not answer cluster health at {layout.url} in time\n"
                f"{_log_tail(layout)}"
            )
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def stop(settings: Any, timeout: float = 60.0) -> bool:
    """Stop the node this layout started (SIGTERM, then SIGKILL after ``timeout``).

    Returns False when no such node runs; a node started by anything else is
    never touched.
    """
    layout = NodeLayout.from_settings(settings)
    pid = running_pid(layout)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _is_our_node(pid, layout):
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
        time.sleep(0.1)
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
