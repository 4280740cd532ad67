"""The demo world: demo sites behind onion services of the private Tor network.

One place puts the three parts together, in the only order that works:

1. the demo server listens on one 127.0.0.1 port per site (content is read at
   request time, so it can start empty);
2. the private Tor network starts with one onion service per site port, which
   tells us each site's onion host;
3. the seeded generator writes every site and ``ground_truth.json`` for those
   hosts; the locked market (:mod:`harness.demo.locked_market`), when the
   server serves it, is written too, its ground truth under the key
   ``locked_market`` (and its credentials in ``locked-market.json``, which the
   server reads); the mirror and the phishing clone (:mod:`harness.demo.copies`), when
   served, are written from the generated markets, their ground truth under ``copies``.

Public API:

* :func:`publish_demo_sites` ``(network, demo_dir, ports, seed) -> DemoWorld`` --
  steps 2 and 3 for a demo server someone already started (tests run it
  in-process);
* :func:`bring_up_demo_world` ``(settings) -> DemoWorld`` -- all three steps as
  long-lived background processes (``onionscope demo``), idempotent;
* :func:`tear_down_demo_world` ``(settings)`` -- stops what the previous call started.

Raises :class:`config.errors.UserError` (tor, ports, timeouts) with a
message saying what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness.demo.generator import generate_world, seed_urls
from harness.demo.copies import generate_copies
from harness.demo.locked_market import generate_locked_market
from harness.demo.paths import absolute_url
from harness.demo.server import LOCKED_MARKET_FILE, PEER_LOG_NAME, ensure_demo_sites_running, stop_demo_sites
from harness.demo.site_names import COPY_SITE_NAMES, LOCKED_MARKET, MARKET_NAMES
from config.paths import demo_data_dir, torrc_dir
from config.settings import Settings
from harness.testnet.layout import OnionServiceSpec
from harness.testnet.network import TestNetwork

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoWorld:
    """What a crawl of the demo world needs, and what tests compare against."""

    manifest: dict[str, Any]
    ground_truth: dict[str, Any]
    onion_hosts: dict[str, str]
    seeds: list[str]
    demo_dir: Path
    peer_log: Path

    @property
    def locked_market(self) -> dict[str, Any] | None:
        """The locked market's ground truth (:func:`harness.demo.locked_market.generate_locked_market`), if served."""
        return self.ground_truth.get("locked_market")

    @property
    def copies(self) -> dict[str, Any] | None:
        """The mirror's and the phishing clone's ground truth (:func:`harness.demo.copies.generate_copies`), if served."""
        return self.ground_truth.get("copies")

    @property
    def copy_seeds(self) -> list[str]:
        """The home pages of the mirror and the phishing clone (not in :attr:`seeds`)."""
        copies = self.copies or {}
        return [absolute_url(copies[role]["onion_host"], "/") for role in ("mirror", "clone") if role in copies]

    @property
    def socks_endpoints(self) -> list[str]:
        return [f"127.0.0.1:{client['socks_port']}" for client in self.manifest["clients"]]

    @property
    def market_hosts(self) -> list[str]:
        """``MARKET=HOST`` confirmations (``--market-host``) for the demo markets.

        Their onion hosts change with every network, so no profile can list
        them; the demo confirms them, as an operator confirms a market's host.
        The demo sites are named after their market profiles.
        """
        return [f"{market}={self.onion_hosts[market]}" for market in MARKET_NAMES if market in self.onion_hosts]


def publish_demo_sites(
    network: TestNetwork,
    demo_dir: Path,
    ports: dict[str, int],
    seed: int,
    peer_log: Path | None = None,
    progress: Progress | None = print,
    timeout: float = 180.0,
    demo_data: Path | None = None,
) -> DemoWorld:
    """Start (or reuse) ``network`` with an onion service per site port, then generate the sites.

    Regenerates the content only when the ground truth is missing or was made
    for other onion hosts or another seed, so a second call changes nothing.
    ``demo_data`` is a ``<config_dir>/demo`` folder (default: the config package's).
    """
    services = [OnionServiceSpec(name=site, target=f"127.0.0.1:{port}") for site, port in sorted(ports.items())]
    manifest = network.up(onion_services=services, timeout=timeout, progress=progress)
    onion_hosts = {
        service["name"]: service["onion_host"]
        for service in manifest["onion_services"]
        if service["name"] in ports
    }
    missing = sorted(set(ports) - set(onion_hosts))
    if missing:
        raise RuntimeError(f"the private Tor network published no onion service for {', '.join(missing)}")
    locked_host = onion_hosts.pop(LOCKED_MARKET, None)
    copy_hosts = {site: onion_hosts.pop(site) for site in COPY_SITE_NAMES if site in onion_hosts}
    truth_file = Path(demo_dir) / "ground_truth.json"
    truth = _read_json(truth_file)
    if (not truth or truth.get("seed") != seed or _hosts_of(truth) != onion_hosts
            or (truth.get("locked_market") or {}).get("onion_host") != locked_host
            or _copy_hosts_of(truth) != copy_hosts):
        if progress:
            progress(f"generating the demo sites (seed {seed}) in {demo_dir}")
        truth = generate_world(seed, onion_hosts, Path(demo_dir), data_dir=demo_data)
        if locked_host is not None:
            truth["locked_market"] = generate_locked_market(seed, locked_host, Path(demo_dir))
            _write_json(Path(demo_dir) / LOCKED_MARKET_FILE, {"credentials": truth["locked_market"]["credentials"]})
        if len(copy_hosts) == len(COPY_SITE_NAMES):
            truth["copies"] = generate_copies(seed, truth, Path(demo_dir), copy_hosts)
        if locked_host is not None or copy_hosts:
            _write_json(truth_file, truth)
    return DemoWorld(
        manifest=manifest,
        ground_truth=truth,
        onion_hosts=onion_hosts,
        seeds=seed_urls(onion_hosts),
        demo_dir=Path(demo_dir),
        peer_log=Path(peer_log or Path(demo_dir) / PEER_LOG_NAME),
    )


def bring_up_demo_world(settings: Settings, progress: Progress | None = print) -> DemoWorld:
    """Demo server (detached), private network and generated sites; reuses what already runs."""
    demo_dir = Path(settings.demo_dir)
    demo_dir.mkdir(parents=True, exist_ok=True)
    if progress:
        progress(f"starting the demo sites' server ({demo_dir})")
    ports = ensure_demo_sites_running(demo_dir)
    network = _network(settings)
    return publish_demo_sites(network, demo_dir, ports, settings.demo_seed, progress=progress,
                              demo_data=demo_data_dir(settings.config_dir))


def tear_down_demo_world(settings: Settings, progress: Progress | None = print) -> None:
    """Stop the private network and the demo server that :func:`bring_up_demo_world` started."""
    network = _network(settings)
    network.down(progress=progress)
    if stop_demo_sites(Path(settings.demo_dir)) and progress:
        progress("stopped the demo sites' server")


def _network(settings: Settings) -> TestNetwork:
    return TestNetwork(
        settings.testnet_dir, settings.testnet_base_port, relays=settings.testnet_relays, clients=settings.testnet_clients,
        torrc_templates=torrc_dir(settings.config_dir),
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    temporary.replace(path)


def _hosts_of(truth: dict[str, Any]) -> dict[str, str]:
    return {name: site.get("onion_host") for name, site in (truth.get("sites") or {}).items()}


def _copy_hosts_of(truth: dict[str, Any]) -> dict[str, str]:
    copies = truth.get("copies") or {}
    return {copies[role]["site"]: copies[role]["onion_host"] for role in ("mirror", "clone") if role in copies}

