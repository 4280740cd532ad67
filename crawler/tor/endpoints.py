"""Which tor onionscope uses: the one place that answers it.

Public API:

* :func:`resolve_tor_endpoints(settings)` -> :class:`TorEndpoints`.

  1. Attach mode -- when ``tor_socks`` or ``tor_control`` is set (``ONIONSCOPE_TOR_SOCKS``,
     ``ONIONSCOPE_TOR_CONTROL``): those, plus ``tor_extra_socks``, ``tor_cookie`` and
     ``tor_password``.
  2. Otherwise the private testnet's first client, read from
     ``<testnet_dir>/manifest.json`` (SOCKS and ControlPort on 127.0.0.1, cookie auth),
     plus ``tor_extra_socks``.
  3. Otherwise :class:`~config.errors.UserError` saying how to configure one.

  Raises UserError too when the manifest says the testnet is still starting or its client
  process is gone.  Reads one small file; no network, except the name lookups below.

  Every endpoint comes back as an IP address.  A host name the operator configured (a
  docker-compose service such as ``tor:9050``) is looked up here, once, with
  ``resolve_host`` (default :func:`resolve_with_system`); "localhost" is 127.0.0.1
  without a lookup, and a ``.onion`` name is refused.  Commands call this at start-up,
  before a crawl refuses every further lookup, and use only the addresses it returns.
  ``resolve_host=None`` looks nothing up and leaves names as they are (for code that
  runs at import time).
* :func:`resolve_with_system(host, port)` -> the first address the system resolver gives.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from config.errors import UserError

HostPort = tuple[str, int]
# (host name, port) -> an IP address; raises OSError when the name does not resolve.
HostResolver = Callable[[str, int], str]


@dataclass(frozen=True)
class TorEndpoints:
    """Where to reach one tor (and further SOCKS-only clients) and how to authenticate."""

    socks: tuple[HostPort, ...]
    control: HostPort | None
    cookie_path: Path | None = None
    password: str | None = None
    source: str = "settings"
    client_pids: tuple[int, ...] = field(default=())

    def socks_strings(self) -> list[str]:
        """``["127.0.0.1:9050", ...]`` -- the value of the Scrapy setting TOR_SOCKS_ENDPOINTS."""
        return [f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in self.socks]

    def require_socks(self) -> tuple[HostPort, ...]:
        """The SOCKS endpoints; raises UserError when only a ControlPort is configured."""
        if not self.socks:
            raise UserError(
                f"no tor SOCKS port is configured ({self.source}); set ONIONSCOPE_TOR_SOCKS=host:port"
            )
        return self.socks

    def require_control(self) -> HostPort:
        """The ControlPort; raises UserError when none is configured."""
        if self.control is None:
            raise UserError(
                f"no tor ControlPort is configured ({self.source}); set ONIONSCOPE_TOR_CONTROL=host:port "
                "and ONIONSCOPE_TOR_COOKIE or ONIONSCOPE_TOR_PASSWORD"
            )
        return self.control


def split_host_port(text: str) -> HostPort:
    """``"127.0.0.1:9050"`` -> ``("127.0.0.1", 9050)``; ``[::1]:9050`` too.  Raises UserError."""
    host, sep, port = str(text).strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"{text!r} is not host:port (for example 127.0.0.1:9050)")
    return host, int(port)


def resolve_with_system(host: str, port: int) -> str:
    """The first address the system resolver (``getaddrinfo``) gives for ``host``; raises OSError."""
    for _family, _type, _proto, _name, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        return str(address[0])
    raise OSError(f"no address for {host!r}")


def _numeric(endpoint: HostPort, resolve_host: HostResolver | None, setting: str) -> HostPort:
    """``endpoint`` with its host as an IP address (see the module docstring); raises UserError."""
    host, port = endpoint
    try:
        ipaddress.ip_address(host)
        return endpoint
    except ValueError:
        pass
    if host.lower() == "localhost":
        return "127.0.0.1", port
    if host.lower().rstrip(".").endswith((".onion", ".exit")):
        raise UserError(
            f"setting {setting}: {host}:{port} is a Tor address; give the address of your tor itself "
            "(an IP address or a name your resolver knows, such as a docker-compose service)"
        )
    if resolve_host is None:
        return endpoint
    try:
        address = resolve_host(host, port)
        ipaddress.ip_address(address)
    except (OSError, UnicodeError, ValueError) as exc:
        raise UserError(
            f"setting {setting}: cannot resolve {host!r} ({exc}); give tor's IP address instead "
            "(for example 127.0.0.1:9050)"
        ) from None
    return address, port


def _setting(settings: Mapping[str, Any], key: str) -> Any:
    return settings.get(key) if hasattr(settings, "get") else getattr(settings, key, None)


def resolve_tor_endpoints(
    settings: Mapping[str, Any], resolve_host: HostResolver | None = resolve_with_system
) -> TorEndpoints:
    """The tor to use for ``settings``, as IP addresses (see the module docstring for the order)."""
    extra = tuple(_numeric(split_host_port(item), resolve_host, "tor_extra_socks")
                  for item in (_setting(settings, "tor_extra_socks") or ()))
    socks_setting = _setting(settings, "tor_socks")
    control_setting = _setting(settings, "tor_control")
    if socks_setting or control_setting:
        socks = ((_numeric(split_host_port(socks_setting), resolve_host, "tor_socks"),) if socks_setting else ()) + extra
        cookie = _setting(settings, "tor_cookie")
        return TorEndpoints(
            socks=tuple(dict.fromkeys(socks)),
            control=_numeric(split_host_port(control_setting), resolve_host, "tor_control") if control_setting else None,
            cookie_path=Path(cookie) if cookie else None,
            password=_setting(settings, "tor_password"),
            source="ONIONSCOPE_TOR_* settings",
        )

    testnet_dir = Path(_setting(settings, "testnet_dir") or "var/testnet")
    manifest = _load_manifest(testnet_dir)
    if manifest is None or not manifest.get("clients"):
        raise UserError(
            "no tor is configured and no private testnet is running in "
            f"{testnet_dir}; run `onionscope testnet up`, or attach to your own tor with "
            "ONIONSCOPE_TOR_SOCKS=host:port (and ONIONSCOPE_TOR_CONTROL, ONIONSCOPE_TOR_COOKIE or "
            "ONIONSCOPE_TOR_PASSWORD)"
        )
    where = f"testnet manifest {testnet_dir / 'manifest.json'}"
    if manifest.get("state", "ready") != "ready":
        raise UserError(f"the private testnet in {testnet_dir} is still starting ({where}); wait for `onionscope testnet up`")
    client = manifest["clients"][0]
    pid = client.get("pid")
    if pid and not _process_alive(int(pid)):
        raise UserError(
            f"the private testnet in {testnet_dir} is not running (its client {client.get('name', '?')} "
            f"with PID {pid} is gone); run `onionscope testnet up`"
        )
    cookie = client.get("cookie_path")
    socks = (("127.0.0.1", int(client["socks_port"])),) + extra
    return TorEndpoints(
        socks=tuple(dict.fromkeys(socks)),
        control=("127.0.0.1", int(client["control_port"])) if client.get("control_port") else None,
        cookie_path=Path(cookie) if cookie else None,
        password=None,
        source=where,
        client_pids=(int(pid),) if pid else (),
    )


def _load_manifest(testnet_dir: Path) -> dict[str, Any] | None:
    try:
        from harness.testnet.manifest import load_manifest
    except ImportError:  # the testnet package is optional for attach-mode users
        path = testnet_dir / "manifest.json"
        if not path.exists():
            return None
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{path} cannot be read ({exc}); run `onionscope testnet up` again") from None
        return loaded if isinstance(loaded, dict) else None
    return load_manifest(testnet_dir)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
