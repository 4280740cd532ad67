"""``onionscope tor status|wait|newnym|circuits|probe``: look at and steer the tor onionscope uses.

Which tor: :func:`crawler.tor.endpoints.resolve_tor_endpoints` (ONIONSCOPE_TOR_* settings,
else the private testnet's first client).  ``status`` and ``wait`` exit 0 only when tor is
bootstrapped with circuits established; every tor failure is a UserError (status 1).
``status`` also shows every client of the tor pool (``tor_pool``; :func:`crawler.tor.pool.pool_status`),
and exits 1 when one of them is not healthy; with a pool and no ``tor_control`` it shows the pool only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from typing import Any

from crawler.tor.endpoints import TorEndpoints, resolve_tor_endpoints
from config.i18n import _


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="tor_action", metavar="ACTION", required=True)
    status = actions.add_parser("status", help=_("bootstrap, circuits, SOCKS port and version of tor, and the tor pool's clients"))
    status.add_argument("--json", action="store_true", help=_("machine-readable output"))
    wait = actions.add_parser("wait", help=_("wait until tor has bootstrapped, showing progress"))
    wait.add_argument("--timeout", type=float, default=None, help=_("seconds (default: tor_bootstrap_timeout)"))
    newnym = actions.add_parser("newnym", help=_("ask tor for new circuits (respects its rate limit)"))
    newnym.add_argument("--max-wait", type=float, default=15.0, help=_("longest wait for tor's rate limit (s)"))
    actions.add_parser("circuits", help=_("list tor's circuits"))
    probe = actions.add_parser("probe", help=_("fetch a URL's status line through tor (blocking probe)"))
    probe.add_argument("url")
    probe.add_argument("--timeout", type=float, default=30.0)


def run(args: argparse.Namespace, settings: Any) -> int:
    endpoints = resolve_tor_endpoints(settings)
    if args.tor_action == "probe":
        return _probe(args, endpoints)

    from crawler.tor import control

    if args.tor_action == "status" and endpoints.pool and endpoints.control is None:
        return _pool_only_status(endpoints, as_json=args.json)
    host_port = endpoints.require_control()
    if args.tor_action == "wait":
        timeout = args.timeout if args.timeout is not None else float(settings["tor_bootstrap_timeout"])
        deadline = time.monotonic() + timeout
        controller = control.attach_when_up(
            host_port, timeout, cookie_path=endpoints.cookie_path, password=endpoints.password
        )
    else:
        controller = control.attach(host_port, cookie_path=endpoints.cookie_path, password=endpoints.password)
    try:
        if args.tor_action == "status":
            return _status(controller, endpoints, as_json=args.json)
        if args.tor_action == "wait":
            control.wait_for_bootstrap(controller, max(1.0, deadline - time.monotonic()), progress=_print_progress)
            health = control.health(controller)
            print(_("tor is ready: circuits established") if health.circuits_established
                  else _("tor is ready: circuits NOT established"))
            return 0 if health.healthy else 1
        if args.tor_action == "newnym":
            result = control.newnym(controller, max_wait=args.max_wait)
            if result.sent:
                print(_("NEWNYM sent after waiting {seconds} s for tor's rate limit",
                        seconds=f"{result.waited_seconds:.1f}") if result.waited_seconds else _("NEWNYM sent"))
                return 0
            print(_("NEWNYM not sent: tor's rate limit allows the next one in {seconds} s",
                    seconds=f"{result.wait_seconds_left:.1f}"))
            return 1
        if args.tor_action == "circuits":
            circuits = control.list_circuits(controller)
            for circuit in circuits:
                onion = f" {circuit.onion_host}" if circuit.onion_host else ""
                state = f" {circuit.hs_state}" if circuit.hs_state else ""
                print(f"{circuit.circuit_id:>5} {circuit.status:<9} {circuit.purpose:<18} {' > '.join(circuit.path)}{state}{onion}")
            print(_("{count} circuits", count=len(circuits)))
            return 0
    finally:
        controller.close()
    raise AssertionError(f"unhandled tor action {args.tor_action!r}")  # argparse restricts the choices


def _print_progress(percent: int, summary: str) -> None:
    print(_("bootstrap {percent}%", percent=f"{percent:3d}") + f"  {summary}", flush=True)


def _status(controller: Any, endpoints: TorEndpoints, *, as_json: bool) -> int:
    from crawler.tor import control

    from crawler.tor.pool import pool_status

    health = control.health(controller)
    pool = pool_status(endpoints)
    control_address = f"{endpoints.control[0]}:{endpoints.control[1]}" if endpoints.control else None
    if as_json:
        json.dump(
            {
                "version": health.version,
                "bootstrap_percent": health.bootstrap.percent,
                "bootstrap_summary": health.bootstrap.summary,
                "circuits_established": health.circuits_established,
                "built_circuits": health.built_circuits,
                "socks_configured": endpoints.socks_strings(),
                "socks_listeners": list(health.socks_listeners),
                "control": control_address,
                "source": endpoints.source,
                "healthy": health.healthy and all(client.healthy for client in pool),
                "problems": list(health.problems),
                "pool": [asdict(client) for client in pool],
            },
            sys.stdout,
            indent=2,
        )
        print()
    else:
        print(_("tor {version} at ControlPort {control} ({source})", version=health.version, control=control_address,
                source=endpoints.source))
        print(_("bootstrap: {percent}% ({summary})", percent=health.bootstrap.percent, summary=health.bootstrap.summary))
        print(_("circuits: established, {built} built", built=health.built_circuits) if health.circuits_established
              else _("circuits: NOT established, {built} built", built=health.built_circuits))
        configured = ", ".join(endpoints.socks_strings()) or _("(none configured)")
        print(_("SOCKS: {configured}; tor listens on {listeners}", configured=configured,
                listeners=", ".join(health.socks_listeners) or _("(no SocksPort)")))
        print(_("healthy") if health.healthy else _("NOT healthy: {problems}", problems="; ".join(health.problems)))
        _print_pool(pool)
    return 0 if health.healthy and all(client.healthy for client in pool) else 1


def _pool_only_status(endpoints: TorEndpoints, *, as_json: bool) -> int:
    from crawler.tor.pool import pool_status

    pool = pool_status(endpoints)
    healthy = all(client.healthy for client in pool)
    if as_json:
        json.dump({"source": endpoints.source, "healthy": healthy, "pool": [asdict(client) for client in pool]},
                  sys.stdout, indent=2)
        print()
    else:
        _print_pool(pool)
    return 0 if healthy else 1


def _print_pool(pool: list[Any]) -> None:
    """One line per pool client; tor's own messages are escaped (they may quote what tor was sent)."""
    from search.cli_output import escape_terminal as shown

    if not pool:
        return
    print(_("tor pool: {healthy} of {count} clients healthy", healthy=sum(client.healthy for client in pool),
            count=len(pool)))
    for client in pool:
        state = _("healthy") if client.healthy else _("NOT healthy: {problems}", problems=shown(client.problem or ""))
        bootstrap = (", " + _("bootstrap {percent}%", percent=client.bootstrap_percent)
                     if client.bootstrap_percent is not None else "")
        launched = ", " + _("launched by onionscope (restarted when it fails)") if client.launched_by_onionscope else ""
        print(_("pool client {socks} (ControlPort {control}): {state}", socks=client.socks, control=client.control,
                state=state) + bootstrap + launched)


def _probe(args: argparse.Namespace, endpoints: TorEndpoints) -> int:
    from crawler.tor.probe import probe_url

    host, port = endpoints.require_socks()[0]
    status, seconds = probe_url(args.url, host, port, args.timeout)
    print(_("{status} in {seconds} s via tor at {host}:{port}", status=status, seconds=f"{seconds:.2f}", host=host,
            port=port))
    return 0
