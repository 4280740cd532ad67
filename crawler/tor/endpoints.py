"""Which tor onionscope uses: the one place that answers it.

Public API:

* :func:`resolve_tor_endpoints(settings)` -> :class:`TorEndpoints`.

  Reads the settings only: ``tor_socks`` and/or ``tor_control`` (``ONIONSCOPE_TOR_SOCKS``,
  ``ONIONSCOPE_TOR_CONTROL``), plus ``tor_extra_socks``, ``tor_cookie`` and ``tor_password``,
  and the tor client pool ``tor_pool`` (``SOCKS=CONTROL`` pairs: :attr:`TorEndpoints.pool`,
  whose SOCKS ports are also in :attr:`TorEndpoints.socks`, after ``tor_socks`` and
  ``tor_extra_socks``).
  Where they came from is :func:`config.settings.load_settings`'s business: your settings
  file or environment (attach mode), else the first client of a ready private testnet, which
  ``onionscope testnet up`` hands over as settings.  With neither set it raises
  :class:`~config.errors.UserError` saying how to configure a tor, and why a testnet that
  was found is not used (still starting, or its client process is gone: the settings'
  ``notes``).  Reads no file; no network, except the name lookups below.

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
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from config.errors import UserError
from config.i18n import _
from config.paths import testnet_tor_settings_file

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
    # The pool's clients: (SOCKS, ControlPort) of each, in configured order (setting tor_pool).
    pool: tuple[tuple[HostPort, HostPort], ...] = ()

    def pool_strings(self) -> list[tuple[str, str]]:
        """``[("127.0.0.1:9050", "127.0.0.1:9051"), ...]``: each pool client's SOCKS and ControlPort."""
        return [(_host_port_string(socks), _host_port_string(control)) for socks, control in self.pool]

    def socks_strings(self) -> list[str]:
        """``["127.0.0.1:9050", ...]`` -- the value of the Scrapy setting TOR_SOCKS_ENDPOINTS."""
        return [_host_port_string(endpoint) for endpoint in self.socks]

    def require_socks(self) -> tuple[HostPort, ...]:
        """The SOCKS endpoints; raises UserError when only a ControlPort is configured."""
        if not self.socks:
            raise UserError(_("no tor SOCKS port is configured ({source}); set ONIONSCOPE_TOR_SOCKS=host:port",
                              source=self.source))
        return self.socks

    def require_control(self) -> HostPort:
        """The ControlPort; raises UserError when none is configured."""
        if self.control is None:
            raise UserError(_("no tor ControlPort is configured ({source}); set ONIONSCOPE_TOR_CONTROL=host:port "
                              "and ONIONSCOPE_TOR_COOKIE or ONIONSCOPE_TOR_PASSWORD", source=self.source))
        return self.control


def _host_port_string(endpoint: HostPort) -> str:
    host, port = endpoint
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def split_pool_member(text: str) -> tuple[HostPort, HostPort]:
    """``"127.0.0.1:9050=127.0.0.1:9051"`` -> (SOCKS, ControlPort).  Raises UserError."""
    socks, sep, control = str(text).partition("=")
    if not sep or not socks.strip() or not control.strip():
        raise UserError(_("setting tor_pool: {value} is not SOCKS=CONTROL (for example 127.0.0.1:9050=127.0.0.1:9051)",
                          value=repr(text)))
    return split_host_port(socks), split_host_port(control)


def split_host_port(text: str) -> HostPort:
    """``"127.0.0.1:9050"`` -> ``("127.0.0.1", 9050)``; ``[::1]:9050`` too.  Raises UserError."""
    host, sep, port = str(text).strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(_("{value} is not host:port (for example 127.0.0.1:9050)", value=repr(text)))
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
        raise UserError(_("setting {setting}: {host}:{port} is a Tor address; give the address of your tor itself "
                          "(an IP address or a name your resolver knows, such as a docker-compose service)",
                          setting=setting, host=host, port=port))
    if resolve_host is None:
        return endpoint
    try:
        address = resolve_host(host, port)
        ipaddress.ip_address(address)
    except (OSError, UnicodeError, ValueError) as exc:
        raise UserError(_("setting {setting}: cannot resolve {host} ({problem}); give tor's IP address instead "
                          "(for example 127.0.0.1:9050)", setting=setting, host=repr(host), problem=exc)) from None
    return address, port


def _setting(settings: Mapping[str, Any], key: str) -> Any:
    return settings.get(key) if hasattr(settings, "get") else getattr(settings, key, None)


def resolve_tor_endpoints(
    settings: Mapping[str, Any], resolve_host: HostResolver | None = resolve_with_system
) -> TorEndpoints:
    """The tor to use for ``settings``, as IP addresses (see the module docstring for the order)."""
    extra = tuple(_numeric(split_host_port(item), resolve_host, "tor_extra_socks")
                  for item in (_setting(settings, "tor_extra_socks") or ()))
    pool = tuple((_numeric(socks, resolve_host, "tor_pool"), _numeric(control, resolve_host, "tor_pool"))
                 for socks, control in map(split_pool_member, _setting(settings, "tor_pool") or ()))
    socks_setting = _setting(settings, "tor_socks")
    control_setting = _setting(settings, "tor_control")
    if not (socks_setting or control_setting or pool):
        raise UserError(_nothing_configured(settings))
    socks = ((_numeric(split_host_port(socks_setting), resolve_host, "tor_socks"),) if socks_setting else ()) + extra
    socks += tuple(member_socks for member_socks, _control in pool)
    cookie = _setting(settings, "tor_cookie")
    return TorEndpoints(
        socks=tuple(dict.fromkeys(socks)),
        control=_numeric(split_host_port(control_setting), resolve_host, "tor_control") if control_setting else None,
        cookie_path=Path(cookie) if cookie else None,
        password=_setting(settings, "tor_password"),
        source=_source(settings),
        pool=tuple(dict.fromkeys(pool)),
    )


def _source(settings: Mapping[str, Any]) -> str:
    """"testnet settings <file>" when a private network handed its tor over, else "ONIONSCOPE_TOR_* settings"."""
    testnet_dir = _setting(settings, "testnet_dir")
    source = getattr(settings, "source", None)
    if testnet_dir and callable(source):
        handed_over = str(testnet_tor_settings_file(testnet_dir))
        if handed_over in (source("tor_socks"), source("tor_control")):
            return _("testnet settings {file}", file=handed_over)
    return _("ONIONSCOPE_TOR_* settings")


def _nothing_configured(settings: Mapping[str, Any]) -> str:
    testnet_dir = _setting(settings, "testnet_dir")
    notes = "; ".join(getattr(settings, "notes", ()) or ())
    advice = _("run `onionscope testnet up`, or attach to your own tor with ONIONSCOPE_TOR_SOCKS=host:port (and "
               "ONIONSCOPE_TOR_CONTROL, ONIONSCOPE_TOR_COOKIE or ONIONSCOPE_TOR_PASSWORD)")
    if not testnet_dir:
        return _("no tor is configured and no private testnet is ready; {advice}", advice=advice)
    if notes:
        return _("no tor is configured and no private testnet is ready in {folder} ({notes}); {advice}",
                 folder=testnet_dir, notes=notes, advice=advice)
    return _("no tor is configured and no private testnet is ready in {folder} ({file} appears there once "
             "`onionscope testnet up` has finished; a network that is still starting has not written it yet); "
             "{advice}", folder=testnet_dir, file=testnet_tor_settings_file(testnet_dir).name, advice=advice)
