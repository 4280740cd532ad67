"""A private Tor network on 127.0.0.1: bring it up, check it, tear it down.

Public API::

    from harness.testnet.network import TestNetwork, OnionServiceSpec, load_manifest

    net = TestNetwork(directory, base_port, relays=3, clients=1,
                      authority_key_cache=None,  # a folder: reuse authority keys across networks
                      torrc_templates=None)      # <config_dir>/torrc (default: the config package's)
    manifest = net.up(onion_services=[OnionServiceSpec("market-a", "127.0.0.1:41234")],
                      timeout=120, progress=print)
    net.status()   # -> dict: every node's state, clients' bootstrap, consensus size
    net.down()     # -> list of PIDs stopped (only this network's, verified)
    load_manifest(directory)  # -> dict | None
    free_base_port(start)     # -> a base port whose whole port block is free

:meth:`TestNetwork.up` starts 3 directory authorities that also relay, the
relays (every one an exit to 127.0.0.0/8 only), an onion-service host when
services are given, and the clients (SocksPort, ControlPort with cookie
authentication).  It returns once every client reports bootstrap 100 % and
fetched ``GET /`` from every onion service passed in this call through its
SOCKS port (any HTTP status counts: the service answered), and writes the manifest (see :mod:`harness.testnet.manifest`) as it goes, so every PID
it started is on disk even if it fails half-way.  Once the network is ready it
hands its first client over to the commands as settings
(:func:`config.settings.write_testnet_tor_settings`: ``<directory>/tor-settings.yml``);
whatever stops the network (``down``, a failed or restarting ``up``) withdraws
them first.  Product code never reads the manifest.

Telling tor traffic apart at a target: tor 0.4.9 binds no
``OutboundBindAddress*`` for loopback destinations, so connections from exits
and from the onion-service host reach a 127.0.0.1 server *from 127.0.0.1*.
Use :func:`harness.testnet.peer_owner.tcp_peer_owner` (which process owns
the other end of an accepted connection) or a ``unix:`` target (the server
reads the peer PID with SO_PEERCRED) to prove a connection came from tor.

``up`` on a healthy network only adds or re-targets onion services (the
onion-service host re-reads its torrc) and re-checks readiness.  Onion
service keys live in the network folder, so an onion address stays the same
across ``down`` and ``up``.

Raises :class:`~config.errors.UserError` subclasses: :class:`NetworkNotReady`
(deadline passed; says what was missing and where the logs are),
:class:`~harness.testnet.tor_process.TorStartError` (tor refused to start,
for example a port in use), :class:`ValueError` for invalid onion service specs.
"""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from config.errors import UserError
from config.i18n import gettext
from config.processes import exclusive_lock
from config.settings import remove_testnet_tor_settings, write_testnet_tor_settings
from harness.testnet.authorities import ensure_authority_keys
from harness.testnet.layout import (
    ROLE_AUTHORITY,
    ROLE_CLIENT,
    ROLE_ONION_HOST,
    ROLE_RELAY,
    Node,
    OnionServiceSpec,
    plan_nodes,
    port_block_size,
)
from harness.testnet.manifest import load_manifest, manifest_path, recorded_processes, write_manifest
from harness.testnet.readiness import bootstrap_phase, http_status_via_socks, read_consensus
from harness.testnet.tor_process import (
    TorStartError, is_our_tor, read_tor_pid, reload_tor, start_tor_daemons, stop_tor,
)
from harness.testnet.torrc import NetworkParameters, dir_authority_line, onion_service_dir, render_torrc
from harness.testnet.torrc import voting_start_offset as compute_voting_start_offset

__all__ = ["TestNetwork", "OnionServiceSpec", "NetworkNotReady", "load_manifest", "free_base_port"]

Progress = Callable[[str], Any]

# Relays upload their descriptors within a couple of seconds of starting; the
# first vote is scheduled after that so the first consensus already lists them.
FIRST_VOTE_AFTER_SECONDS = 3.0
POLL_SECONDS = 0.25
FETCH_ATTEMPT_TIMEOUT_SECONDS = 20.0
# Readiness probes in flight at once (each is one SOCKS connection through a client).
MAX_PARALLEL_PROBES = 16


class NetworkNotReady(UserError):
    """The network did not become usable before the deadline."""


class TestNetwork:
    """One private Tor network living in ``directory`` on ports from ``base_port``."""

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, directory: Path | str, base_port: int, relays: int = 3, clients: int = 1,
                 voting_interval: int = 10, exit_bind_address: str = "127.0.0.2",
                 authority_key_cache: Path | str | None = None, torrc_templates: Path | str | None = None):
        self.directory = Path(directory).expanduser().resolve()
        # The torrc templates to render (config.paths.torrc_dir(settings.config_dir)); None: the config package's.
        self.torrc_templates = Path(torrc_templates) if torrc_templates is not None else None
        self.base_port = int(base_port)
        self.relays = int(relays)
        self.clients = int(clients)
        self.voting_interval = int(voting_interval)
        self.exit_bind_address = exit_bind_address
        # Folder of authority keys shared by networks (tests, benchmarks); None: always generate.
        self.authority_key_cache = Path(authority_key_cache).expanduser() if authority_key_cache else None
        try:
            self.nodes = plan_nodes(self.base_port, self.relays, self.clients)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        self.empty_file = self.directory / "empty"
        self.resolv_file = self.directory / "resolv.conf"

    # ----------------------------------------------------------------- public

    def up(self, onion_services: Sequence[OnionServiceSpec] = (), timeout: float = 120,
           progress: Progress | None = print) -> dict[str, Any]:
        """Start the network (or reuse a healthy one), wait until usable, return the manifest."""
        say = _tolerant(progress)
        deadline = time.monotonic() + timeout
        started_at = time.monotonic()
        requested = _unique_services(onion_services)
        timings: dict[str, float] = {}

        def lap(phase: str) -> None:
            timings[phase] = round(time.monotonic() - started_at, 2)

        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock():
            existing = load_manifest(self.directory)
            manifest: dict[str, Any] = {}
            try:
                if existing is not None and self._is_healthy(existing):
                    say(f"private Tor network in {self.directory} is already running")
                    services = _merge_services(_services_of(existing), requested)
                    manifest = existing
                else:
                    # Nothing may attach to a network that is not ready (a file left by a crash included).
                    remove_testnet_tor_settings(self.directory)
                    if existing is not None:
                        say(f"private Tor network in {self.directory} is partly down; restarting it")
                        self._stop_all(existing, say)
                    services = requested
                    manifest = self._new_manifest_after_keys()
                    lap("keys_and_torrcs")
                    self._start_relays(manifest, say, deadline)
                    lap("consensus")
                self._ensure_onion_host(manifest, services, say)
                self._wait_clients_ready(manifest, say, deadline)
                lap("clients_bootstrapped")
                # Only the services asked for now: ones published by earlier calls may
                # front servers that are gone, which is their callers' business.
                self._wait_onion_services_answer(manifest, {spec.name for spec in requested}, say, deadline)
                lap("onion_services_answer")
            except BaseException:
                if manifest.get("state") != "ready":
                    self._stop_all(manifest, say)
                raise
            manifest["state"] = "ready"
            if manifest.get("ready_seconds") is None:
                manifest["ready_seconds"] = round(time.monotonic() - started_at, 1)
            # Seconds from the start of this `up` call at the end of each phase.
            manifest["last_up_timings"] = timings
            write_manifest(self.directory, manifest)
            self._hand_over_tor(manifest)
        say(f"private Tor network ready in {time.monotonic() - started_at:.1f} s; manifest: {manifest_path(self.directory)}")
        return manifest

    def down(self, progress: Progress | None = None) -> list[int]:
        """Stop every tor this network started (verified by PID and torrc); returns their PIDs."""
        say = _tolerant(progress)
        if not self.directory.exists():
            return []
        with self._lock():
            manifest = load_manifest(self.directory) or {}
            return self._stop_all(manifest, say)

    def status(self) -> dict[str, Any]:
        """Each node's state: ``{"state", "directory", "nodes": [...], "onion_services", "consensus_relays"}``.

        ``state`` is ``"down"`` (no manifest), ``"running"`` or ``"degraded"``
        (some process gone); ``phase`` is the manifest's ``"starting"`` or
        ``"ready"``.  Clients also report ``bootstrap`` percent.
        """
        manifest = load_manifest(self.directory)
        if manifest is None:
            return {"state": "down", "directory": str(self.directory), "nodes": [], "onion_services": []}
        nodes = []
        for node in manifest.get("nodes", []):
            running = bool(node.get("pid")) and is_our_tor(int(node["pid"]), Path(node["torrc"]))
            entry = {key: node.get(key) for key in ("name", "role", "pid", "or_port", "control_port", "socks_port")}
            entry["running"] = running
            if running and node["role"] == ROLE_CLIENT:
                try:
                    entry["bootstrap"], entry["bootstrap_summary"] = bootstrap_phase(node["control_port"])
                except Exception as exc:  # a status report must not die on one node
                    entry["bootstrap_error"] = f"{type(exc).__name__}: {exc}"
            nodes.append(entry)
        first_authority = self._node_named("auth0")
        consensus = read_consensus(first_authority.data_dir(self.directory))
        expected = [node for node in manifest.get("nodes", []) if node.get("pid")]
        healthy = bool(expected) and all(node["running"] for node in nodes if node.get("pid"))
        return {
            "state": "running" if healthy else "degraded",
            "phase": manifest.get("state"),  # "starting" while an `up` is still at work
            "directory": str(self.directory),
            "base_port": manifest.get("base_port"),
            "consensus_relays": len(consensus),
            "nodes": nodes,
            "onion_services": manifest.get("onion_services", []),
        }

    def _hand_over_tor(self, manifest: dict[str, Any]) -> None:
        """Write the first client's tor settings for the commands (the network is ready)."""
        client = manifest["clients"][0]
        try:
            write_testnet_tor_settings(
                self.directory, socks_port=client["socks_port"], control_port=client["control_port"],
                cookie_path=client["cookie_path"], client_name=client["name"], client_pid=client["pid"],
            )
        except ProcessLookupError as exc:
            raise NetworkNotReady(f"{exc}; see {self._node_entry(manifest, client['name'])['log']}") from None

    # ------------------------------------------------------------- start-up

    def _new_manifest_after_keys(self) -> dict[str, Any]:
        """Prepare folders, authority keys and torrcs; returns the new manifest (already on disk)."""
        taken = [port for node in self.nodes
                 for port in (node.or_port, node.dir_port, node.control_port, node.socks_port)
                 if port and not loopback_port_free(port)]
        if taken:
            raise UserError(gettext(
                "port(s) {ports} on 127.0.0.1 are in use, so the private Tor network cannot start on base port "
                "{base_port}; stop what uses them or choose another base port (setting testnet_base_port)",
                ports=", ".join(map(str, taken)), base_port=self.base_port)
            )
        (self.directory / "nodes").mkdir(exist_ok=True)
        (self.directory / "torrc").mkdir(exist_ok=True)
        self.empty_file.write_text("")
        # The system resolver is off loopback; relays must never ask it anything.
        self.resolv_file.write_text("nameserver 127.0.0.1\n")
        for node in self.nodes:
            node.data_dir(self.directory).mkdir(mode=0o700, parents=True, exist_ok=True)
            node.data_dir(self.directory).chmod(0o700)
        authorities = [node for node in self.nodes if node.role == ROLE_AUTHORITY]
        # RSA key generation dominates a cold start; the three run side by side.
        with ThreadPoolExecutor(max_workers=len(authorities)) as pool:
            identities = list(pool.map(
                lambda node: ensure_authority_keys(node.data_dir(self.directory), node.name, node.or_port,
                                                   self.empty_file, key_cache=self.authority_key_cache),
                authorities,
            ))
        authority_lines = [
            dir_authority_line(identity.nickname, node.or_port, node.dir_port, identity.v3ident, identity.fingerprint)
            for identity, node in zip(identities, authorities)
        ]
        self._authority_lines = authority_lines
        manifest = self._new_manifest()
        write_manifest(self.directory, manifest)
        parameters = self._parameters(())
        for node in self.nodes:
            if node.role != ROLE_ONION_HOST:
                node.torrc_path(self.directory).write_text(render_torrc(node, parameters, self.torrc_templates))
        return manifest

    def _start_relays(self, manifest: dict[str, Any], say: Progress, deadline: float) -> None:
        """Start authorities and relays, wait for their consensus, then start the clients."""
        backbone = [node for node in self.nodes if node.role in (ROLE_AUTHORITY, ROLE_RELAY)]
        launched_at = time.time()
        self._launch(manifest, backbone, say)
        self._wait_consensus(manifest, say, deadline, launched_at)
        clients = [node for node in self.nodes if node.role == ROLE_CLIENT]
        self._launch(manifest, clients, say)

    def _parameters(self, services: Sequence[OnionServiceSpec]) -> NetworkParameters:
        interval = self.voting_interval
        return NetworkParameters(
            network_dir=self.directory,
            dir_authority_lines=self._authority_lines,
            empty_file=self.empty_file,
            resolv_file=self.resolv_file,
            exit_bind_address=self.exit_bind_address,
            voting_interval=interval,
            voting_start_offset=compute_voting_start_offset(time.time(), interval, FIRST_VOTE_AFTER_SECONDS, 2, 2),
            onion_services=tuple(services),
        )

    def _new_manifest(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "base_port": self.base_port,
            "relays": self.relays,
            "state": "starting",
            "ready_seconds": None,
            "exit_bind_address": self.exit_bind_address,
            # tor binds no outbound address for loopback targets (see config/torrc/onion_host.torrc).
            "onion_service_bind_address": None,
            "dir_authorities": self._authority_lines,
            "clients": [],
            "onion_services": [],
            "nodes": [
                {
                    "name": node.name,
                    "role": node.role,
                    "pid": None,
                    "or_port": node.or_port,
                    "dir_port": node.dir_port,
                    "control_port": node.control_port,
                    "socks_port": node.socks_port,
                    "data_dir": str(node.data_dir(self.directory)),
                    "torrc": str(node.torrc_path(self.directory)),
                    "log": str(node.data_dir(self.directory) / "notice.log"),
                }
                for node in self.nodes
            ],
        }

    def _launch(self, manifest: dict[str, Any], nodes: Sequence[Node], say: Progress) -> None:
        torrcs = [(node.torrc_path(self.directory), node.data_dir(self.directory) / "pid") for node in nodes]
        try:
            started = start_tor_daemons(torrcs, self.empty_file)
        except TorStartError as exc:
            self._record_pids(manifest, getattr(exc, "started", {}))
            raise TorStartError(
                f"{exc}; is another program using ports {self.base_port}..? "
                f"Choose another base port (setting testnet_base_port) or run `onionscope testnet down`."
            ) from None
        self._record_pids(manifest, started)
        for node in nodes:
            say(f"started {node.name} ({node.role}, pid {started[node.torrc_path(self.directory)]})")

    def _record_pids(self, manifest: dict[str, Any], started: dict[Path, int]) -> None:
        for entry in manifest["nodes"]:
            pid = started.get(Path(entry["torrc"]))
            if pid is not None:
                entry["pid"] = pid
        manifest["clients"] = [
            {
                "name": entry["name"],
                "socks_port": entry["socks_port"],
                "control_port": entry["control_port"],
                "cookie_path": str(Path(entry["data_dir"]) / "control_auth_cookie"),
                "pid": entry["pid"],
            }
            for entry in manifest["nodes"]
            if entry["role"] == ROLE_CLIENT and entry["pid"]
        ]
        host = self._onion_host_entry(manifest)
        for service in manifest["onion_services"]:
            service["pid"] = host["pid"]
        write_manifest(self.directory, manifest)

    def _wait_consensus(self, manifest: dict[str, Any], say: Progress, deadline: float,
                        launched_at: float) -> None:
        """Wait until auth0 holds a consensus made after ``launched_at`` listing every relay."""
        backbone = {node.name for node in self.nodes if node.role in (ROLE_AUTHORITY, ROLE_RELAY)}
        exits = {node.name for node in self.nodes if node.role == ROLE_RELAY}
        first_authority = self._node_named("auth0").data_dir(self.directory)
        last_seen = -1
        while True:
            consensus = read_consensus(first_authority, not_before=launched_at)
            listed = backbone & consensus.keys()
            usable = all({"Running", "Valid"} <= consensus[name] for name in listed)
            exits_flagged = all("Exit" in consensus.get(name, ()) for name in exits)
            if len(listed) != last_seen:
                say(f"consensus lists {len(listed)}/{len(backbone)} relays")
                last_seen = len(listed)
            if listed == backbone and usable and exits_flagged:
                say("consensus ready")
                return
            self._check_alive(manifest)
            if time.monotonic() > deadline:
                raise NetworkNotReady(
                    f"no consensus listing all {len(backbone)} relays before the deadline "
                    f"(listed: {sorted(listed) or 'none'}); see the logs under {self.directory}/nodes/*/notice.log"
                )
            time.sleep(POLL_SECONDS)

    def _ensure_onion_host(self, manifest: dict[str, Any], services: Sequence[OnionServiceSpec],
                           say: Progress) -> None:
        """Make the onion-service host serve exactly ``services`` (start, reload, or leave it)."""
        host_node = next(node for node in self.nodes if node.role == ROLE_ONION_HOST)
        host = self._onion_host_entry(manifest)
        current = _services_of(manifest)
        if not services:
            if host["pid"] is None:
                manifest["onion_services"] = []
                return
            services = current
        if host["pid"] is not None and list(services) == list(current):
            return
        self._authority_lines = manifest["dir_authorities"]
        (host_node.data_dir(self.directory) / "onion_services").mkdir(mode=0o700, exist_ok=True)
        torrc = host_node.torrc_path(self.directory)
        torrc.write_text(render_torrc(host_node, self._parameters(services), self.torrc_templates))
        manifest["onion_services"] = [
            {"name": spec.name, "onion_host": None, "virtual_port": spec.virtual_port, "target": spec.target,
             "pid": host["pid"]}
            for spec in services
        ]
        # tor re-reads its torrc on SIGHUP and adds or re-targets services.
        if host["pid"] is not None and reload_tor(host["pid"], torrc):
            say(f"{host_node.name} reloaded with {len(services)} onion service(s)")
            write_manifest(self.directory, manifest)
        else:
            self._launch(manifest, [host_node], say)

    def _wait_clients_ready(self, manifest: dict[str, Any], say: Progress, deadline: float) -> None:
        for client in manifest["clients"]:
            last = None
            while True:
                try:
                    percent, summary = bootstrap_phase(client["control_port"])
                except Exception as exc:  # ControlPort not answering yet
                    percent, summary = 0, f"control port: {type(exc).__name__}"
                if (percent, summary) != last:
                    say(f"{client['name']} bootstrap {percent}% ({summary})")
                    last = (percent, summary)
                if percent >= 100:
                    break
                self._check_alive(manifest)
                if time.monotonic() > deadline:
                    raise NetworkNotReady(
                        f"{client['name']} stopped at bootstrap {percent}% ({summary}); "
                        f"see {Path(self._node_entry(manifest, client['name'])['log'])}"
                    )
                time.sleep(POLL_SECONDS)

    def _wait_onion_services_answer(self, manifest: dict[str, Any], probe_names: set[str], say: Progress,
                                    deadline: float) -> None:
        """Read every service's onion host, then fetch ``GET /`` from those in ``probe_names``."""
        host_node = next(node for node in self.nodes if node.role == ROLE_ONION_HOST)
        for service in manifest["onion_services"]:
            hostname_file = onion_service_dir(self.directory, host_node, service["name"]) / "hostname"
            while not hostname_file.exists():
                self._check_alive(manifest)
                if time.monotonic() > deadline:
                    raise NetworkNotReady(f"tor wrote no {hostname_file}; see {self._onion_host_entry(manifest)['log']}")
                time.sleep(POLL_SECONDS)
            service["onion_host"] = hostname_file.read_text().strip()
        write_manifest(self.directory, manifest)
        to_probe = [service for service in manifest["onion_services"] if service["name"] in probe_names]
        if not to_probe:
            return
        # Every service through the first client, and one service through every other client.
        probes = [(manifest["clients"][0], service) for service in to_probe]
        probes += [(client, to_probe[0]) for client in manifest["clients"][1:]]
        # Side by side: each probe waits for its own descriptor and circuits, so one after
        # another they added up (16 probes of the demo world: ~4 s on an idle machine).
        given_up = threading.Event()

        def probe(client: dict[str, Any], service: dict[str, Any]) -> None:
            try:
                self._probe_until_it_answers(manifest, client, service, say, deadline, given_up)
            except BaseException:
                given_up.set()
                raise

        with ThreadPoolExecutor(max_workers=min(len(probes), MAX_PARALLEL_PROBES)) as pool:
            futures = [pool.submit(probe, client, service) for client, service in probes]
        for future in futures:
            future.result()  # the first failure, in probe order

    def _probe_until_it_answers(self, manifest: dict[str, Any], client: dict[str, Any], service: dict[str, Any],
                                say: Progress, deadline: float, given_up: threading.Event) -> None:
        """Fetch ``GET /`` from ``service`` through ``client`` until it answers; stops early once ``given_up`` is set."""
        attempts = 0
        while not given_up.is_set():
            attempts += 1
            remaining = deadline - time.monotonic()
            try:
                status = http_status_via_socks(
                    client["socks_port"], service["onion_host"], service["virtual_port"],
                    timeout=max(1.0, min(FETCH_ATTEMPT_TIMEOUT_SECONDS, remaining)),
                    isolation=f"testnet-readiness-{service['name']}-{attempts}",
                )
                say(f"{service['name']} ({service['onion_host']}) answers HTTP {status} via {client['name']}")
                return
            except Exception as exc:  # descriptor not yet published, circuit timeout, ...
                error = f"{type(exc).__name__}: {exc}"
            if attempts == 1 or attempts % 10 == 0:
                say(f"{service['name']} not reachable yet via {client['name']} ({error}); retrying")
            self._check_alive(manifest)
            if time.monotonic() > deadline:
                raise NetworkNotReady(
                    f"onion service {service['name']} ({service['onion_host']} -> {service['target']}) "
                    f"did not answer through {client['name']} before the deadline ({error}). "
                    f"Is its target server running? Logs: {self._onion_host_entry(manifest)['log']}"
                )
            given_up.wait(POLL_SECONDS * 4)

    # ------------------------------------------------------------ bookkeeping

    def _is_healthy(self, manifest: dict[str, Any]) -> bool:
        if manifest.get("state") != "ready" or manifest.get("base_port") != self.base_port:
            return False
        expected = {node.name for node in self.nodes if node.role != ROLE_ONION_HOST}
        entries = {entry["name"]: entry for entry in manifest.get("nodes", [])}
        if expected - entries.keys() or len(entries) != len(self.nodes):
            return False
        for entry in entries.values():
            if entry["role"] == ROLE_ONION_HOST and entry["pid"] is None and not manifest.get("onion_services"):
                continue
            if not entry.get("pid") or not is_our_tor(int(entry["pid"]), Path(entry["torrc"])):
                return False
        return True

    def _check_alive(self, manifest: dict[str, Any]) -> None:
        for entry in manifest["nodes"]:
            if entry["pid"] and not is_our_tor(int(entry["pid"]), Path(entry["torrc"])):
                raise NetworkNotReady(f"{entry['name']} (pid {entry['pid']}) exited; see {entry['log']}")

    def _stop_all(self, manifest: dict[str, Any], say: Progress) -> list[int]:
        # First withdraw the tor settings, so no command attaches to a network going down.
        remove_testnet_tor_settings(self.directory)
        processes = set(recorded_processes(manifest))
        # PidFiles catch a tor whose PID never reached the manifest (a crash mid-start).
        for node in self.nodes:
            pid = read_tor_pid(node.data_dir(self.directory) / "pid")
            if pid is not None:
                processes.add((pid, node.torrc_path(self.directory)))
        stopped = stop_tor(sorted(processes))
        if stopped:
            say(f"stopped {len(stopped)} tor process(es): {' '.join(map(str, sorted(stopped)))}")
        manifest_path(self.directory).unlink(missing_ok=True)
        return stopped

    def _node_named(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def _node_entry(self, manifest: dict[str, Any], name: str) -> dict[str, Any]:
        return next(entry for entry in manifest["nodes"] if entry["name"] == name)

    def _onion_host_entry(self, manifest: dict[str, Any]) -> dict[str, Any]:
        return next(entry for entry in manifest["nodes"] if entry["role"] == ROLE_ONION_HOST)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        # Two `up`s in one folder at once would start two networks on one port block.
        with exclusive_lock(self.directory / ".lock"):
            yield


def free_base_port(start: int, relays: int = 3, clients: int = 1, step: int = 500, tries: int = 40) -> int:
    """The first base port from ``start`` (in steps of ``step``) whose whole port block is free on 127.0.0.1.

    For tests and benchmarks that run a network beside the default one.  The
    block is also reserved for this process with a ``flock`` on a file named
    after it (:func:`reserve_port_block`), so two test sessions starting at the
    same moment, before either tor has bound its ports, never pick the same
    block.  Raises :class:`UserError` if none of ``tries`` candidates is free.
    """
    size = port_block_size(relays, clients)
    for base_port in range(start, start + step * tries, step):
        if base_port + size > 65535:
            break
        if not all(loopback_port_free(port) for port in range(base_port, base_port + size + 1)):
            continue
        if reserve_port_block(base_port):
            return base_port
    raise UserError(gettext("no free block of {size} ports on 127.0.0.1 from {start}; stop other networks or pick a "
                            "base port", size=size, start=start))


# base port -> the open lock file that reserves its block for the life of this process.
_RESERVED_BLOCKS: dict[int, Any] = {}


def reserve_port_block(base_port: int, lock_dir: Path | None = None) -> bool:
    """Reserve the port block at ``base_port`` for this process; False if another process holds it.

    The reservation is an exclusive, non-blocking ``flock`` on
    ``<tmp>/onionscope-port-blocks/<base_port>.lock``, held until the process
    exits (a crash never leaves it held).  Reserving a block this process
    already holds answers True.
    """
    import fcntl
    import os
    import tempfile

    if base_port in _RESERVED_BLOCKS:
        return True
    folder = lock_dir or Path(tempfile.gettempdir()) / "onionscope-port-blocks"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle = open(folder / f"{base_port}.lock", "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return False
    _RESERVED_BLOCKS[base_port] = handle
    os.set_inheritable(handle.fileno(), False)
    return True


def loopback_port_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:``port`` (TIME_WAIT counts as free, as for tor)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As tor does for its listeners: a port in TIME_WAIT is free to listen on.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _tolerant(progress: Progress | None) -> Progress:
    """``progress`` that cannot abort a start or a teardown (a closed stdout, for one)."""
    def say(message: str) -> None:
        if progress is None:
            return
        try:
            progress(message)
        except OSError:
            pass

    return say


def _unique_services(specs: Sequence[OnionServiceSpec]) -> list[OnionServiceSpec]:
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UserError(f"onion service names must be unique; repeated: {', '.join(duplicates)}")
    return sorted(specs, key=lambda spec: spec.name)


def _services_of(manifest: dict[str, Any]) -> list[OnionServiceSpec]:
    return sorted(
        (OnionServiceSpec(entry["name"], entry["target"], int(entry["virtual_port"]))
         for entry in manifest.get("onion_services", [])),
        key=lambda spec: spec.name,
    )


def _merge_services(current: Sequence[OnionServiceSpec], requested: Sequence[OnionServiceSpec]
                    ) -> list[OnionServiceSpec]:
    """Services already published stay; requested ones are added or re-targeted by name."""
    merged = {spec.name: spec for spec in current}
    merged.update({spec.name: spec for spec in requested})
    return sorted(merged.values(), key=lambda spec: spec.name)
