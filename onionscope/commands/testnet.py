"""``onionscope testnet up|down|status``: the private Tor network on 127.0.0.1.

* ``up`` starts the network in ``testnet_dir`` on ports from
  ``testnet_base_port`` (or reuses a healthy one), prints progress, and
  returns 0 once a client has bootstrapped (and reached every onion service);
* ``down`` stops only the tor processes listed in that network's manifest;
* a ready network hands its first client to the other commands as settings
  (``<testnet_dir>/tor-settings.yml``, see :mod:`config.settings`); ``down``
  withdraws them;
* ``status`` prints each node's state; exit status 0 when every node runs,
  1 when the network is down or degraded.  ``--json`` prints the raw report.

Errors (a port in use, tor missing, the deadline passed) are
:class:`~config.errors.UserError` with what to do next.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from config.paths import testnet_tor_settings_file, torrc_dir
from harness.testnet.network import TestNetwork
from config.i18n import _


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="testnet_action", metavar="ACTION", required=True)
    up = actions.add_parser("up", help=_("start the network (harmless when it already runs)"))
    up.add_argument("--timeout", type=float, default=120.0, help=_("seconds to wait for readiness (default 120)"))
    actions.add_parser("down", help=_("stop the network's tor processes"))
    status = actions.add_parser("status", help=_("show each node's state"))
    status.add_argument("--json", action="store_true", help=_("print the status report as JSON"))


def network_from_settings(settings: Any) -> TestNetwork:
    """The :class:`TestNetwork` the settings describe (folder, base port, relays, clients, torrc templates)."""
    return TestNetwork(
        settings.testnet_dir,
        settings.testnet_base_port,
        relays=settings.testnet_relays,
        clients=settings.testnet_clients,
        authority_key_cache=settings.var_dir / "cache" / "testnet-authority-keys",
        torrc_templates=torrc_dir(settings.config_dir),
    )


def run(args: argparse.Namespace, settings: Any) -> int:
    network = network_from_settings(settings)
    if args.testnet_action == "up":
        manifest = network.up(timeout=args.timeout, progress=lambda message: print(message, flush=True))
        for client in manifest["clients"]:
            print(f"{client['name']}: SOCKS 127.0.0.1:{client['socks_port']}  "
                  f"ControlPort 127.0.0.1:{client['control_port']}  cookie {client['cookie_path']}")
        for service in manifest["onion_services"]:
            print(f"{service['name']}: http://{service['onion_host']}:{service['virtual_port']} -> {service['target']}")
        print(_("onionscope commands use {client} unless ONIONSCOPE_TOR_SOCKS or ONIONSCOPE_TOR_CONTROL names another "
                "tor (settings in {path})", client=manifest["clients"][0]["name"],
                path=testnet_tor_settings_file(network.directory)))
        return 0
    if args.testnet_action == "down":
        stopped = network.down(progress=lambda message: print(message, flush=True))
        if not stopped:
            print(_("no tor process of the private network in {path} was running", path=network.directory))
        return 0
    report = network.status()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_status(report))
    return 0 if report["state"] == "running" else 1


def format_status(report: dict[str, Any]) -> str:
    """Human-readable lines for :meth:`TestNetwork.status`."""
    if report["state"] == "down":
        return _("private Tor network in {path}: down (start it with `onionscope testnet up`)",
                 path=report["directory"])
    starting = " " + _("(still starting)") if report.get("phase") == "starting" else ""
    lines = [
        _("private Tor network in {path}: {state}{starting}, consensus lists {relays} relays", path=report["directory"],
          state=report["state"], starting=starting, relays=report.get("consensus_relays", 0))
    ]
    for node in report["nodes"]:
        if not node.get("pid"):
            continue
        ports = [f"{label} {node[key]}" for label, key in
                 (("OR", "or_port"), ("control", "control_port"), ("SOCKS", "socks_port")) if node.get(key)]
        state = _("running") if node["running"] else _("NOT RUNNING")
        if "bootstrap" in node:
            state += ", " + _("bootstrap {percent}%", percent=node["bootstrap"]) + f" ({node.get('bootstrap_summary', '')})"
        elif "bootstrap_error" in node:
            state += ", " + _("control port: {error}", error=node["bootstrap_error"])
        lines.append(f"  {node['name']:<11} {node['role']:<10} pid {node['pid']:<7} {state}; {', '.join(ports)}")
    for service in report.get("onion_services", []):
        lines.append(f"  onion {service['name']}: {service.get('onion_host')} -> {service['target']}")
    return "\n".join(lines)
