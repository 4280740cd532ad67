"""The crawl process's network guard: no name lookup, no connection, except to tor and Elasticsearch.

The Tor download handler sends every request to tor's SocksPort, and the
refusing resolver turns away every lookup made through Twisted.  Neither sees
code that calls the ``socket`` module itself -- a library fetching data on
first use, as tldextract does.  This guard covers the whole process with a
Python audit hook (PEP 578), which runs in every thread *before* the socket
operation, so a refused operation sends nothing:

* ``socket.getaddrinfo`` and ``socket.gethostbyname[_ex]`` -- allowed only for
  an allowed endpoint (host and port; no port: any port of an allowed host);
  ``getaddrinfo`` with no host (a local wildcard address) is allowed;
* ``socket.gethostbyaddr`` and ``socket.getnameinfo`` -- always refused (reverse lookups);
* ``socket.connect`` / ``connect_ex``, and ``socket.sendto`` / ``socket.sendmsg``
  with an address -- IPv4 and IPv6 only to an allowed endpoint's address;
  a shared job's worker (``crawl --shared``) may also reach its Redis (``REDIS_URL``);
  Unix sockets pass (they do not leave the machine); every other family is refused.

A refusal raises :class:`NetworkAccessRefused` (an ``OSError``, so callers fail
as on a network error), and -- whatever the caller does with that exception --
is logged at ERROR level with the caller's stack, counted, and reported to the
guard's listeners.  The Scrapy extension turns that into a stat
(``network_guard/refused`` and ``network_guard/refused/<operation>``) and
closes the spider with reason ``network_guard_refused``; ``onionscope crawl``
and ``scrapy crawl`` then exit with status 1.

Public API:

* :class:`NetworkPolicy` -- what may be resolved and connected to;
  :meth:`NetworkPolicy.allowing` builds one from ``(host, port)`` endpoints,
  :meth:`NetworkPolicy.refusal` ``(event, args) -> str | None`` judges one audit event.
* :class:`NetworkAccessRefused` -- the exception a refused operation raises.
* :func:`process_guard` ``() -> ProcessNetworkGuard`` -- the one guard of this
  process.  :meth:`~ProcessNetworkGuard.arm` ``(policy)`` installs the audit hook
  (once per process; audit hooks cannot be removed) and starts enforcing;
  :meth:`~ProcessNetworkGuard.disarm` stops enforcing.
* :class:`NetworkGuardExtension` -- the Scrapy extension that arms the guard
  for a crawl, from ``TOR_SOCKS_ENDPOINTS`` and the Elasticsearch URL.
* :func:`refusal_message` ``(refused) -> str`` -- what the crawl commands print.
* :func:`redis_endpoint` ``(url) -> [(host, port)]`` -- the shared frontier's Redis, also allowed.
* :data:`EXTENSION_PATH`, :data:`REFUSED_STAT`.

Limits: only the interpreter's ``socket`` module is audited.  A C library that
calls libc directly, or a child process after ``exec``, is not seen.  An
Elasticsearch URL with a host name is resolved once when the guard is armed;
later lookups of that name are allowed, connections only to the addresses
found then.
"""

from __future__ import annotations

import collections
import ipaddress
import logging
import socket
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

from config.errors import UserError
from config.i18n import gettext

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

EXTENSION_PATH = "crawler.tor.network_guard.NetworkGuardExtension"
REFUSED_STAT = "network_guard/refused"
CLOSE_REASON = "network_guard_refused"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list[tuple[Any, ...]]]

_LOOKUP_EVENTS = {"socket.getaddrinfo", "socket.gethostbyname"}
_REVERSE_LOOKUP_EVENTS = {"socket.gethostbyaddr", "socket.getnameinfo"}
_ADDRESS_EVENTS = {"socket.connect", "socket.sendto", "socket.sendmsg"}
_INET_FAMILIES = {socket.AF_INET, socket.AF_INET6}
# Refusals logged with the caller's stack; later ones are counted and logged in one line.
_STACKS_LOGGED = 5


class NetworkAccessRefused(OSError):
    """The network guard refused a name lookup or a connection outside tor and Elasticsearch."""


def _host_text(host: Any) -> str:
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii", "replace")
    return str(host).strip().rstrip(".").lower()


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _port(port: Any) -> int | None:
    """A port as an int; None for "no port" (None, 0, '', or a service name)."""
    if isinstance(port, (bytes, bytearray)):
        port = bytes(port).decode("ascii", "replace")
    if isinstance(port, str):
        port = int(port) if port.strip().isdigit() else None
    return int(port) if isinstance(port, int) and port > 0 else None


@dataclass(frozen=True)
class NetworkPolicy:
    """What the process may reach: ``addresses`` to connect to, ``names`` it may resolve.

    ``addresses`` holds ``(ip, port)``; ``names`` holds ``(lower-case host name, port)``.
    """

    addresses: frozenset[tuple[IPAddress, int]]
    names: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def allowing(cls, endpoints: Iterable[tuple[str, int]], resolve: Resolver | None = None) -> "NetworkPolicy":
        """A policy that allows exactly ``endpoints`` (``(host, port)``: an IP literal or a host name).

        A host name is resolved here, once, with ``resolve`` (default
        ``socket.getaddrinfo``): the policy allows looking it up again and
        connecting to the addresses found now.  Call this before arming.
        Raises :class:`UserError` when a name does not resolve.
        """
        resolve = resolve or socket.getaddrinfo
        addresses: set[tuple[IPAddress, int]] = set()
        names: set[tuple[str, int]] = set()
        for host, port in endpoints:
            text, port = _host_text(host), int(port)
            literal = _ip_literal(text)
            if literal is not None:
                addresses.add((literal, port))
                continue
            names.add((text, port))
            try:
                found = resolve(text, port, 0, socket.SOCK_STREAM)
            except OSError as exc:
                raise UserError(gettext("{host}:{port} does not resolve ({problem}); the crawl cannot reach it",
                                        host=text, port=port, problem=exc)) from None
            for family, _type, _proto, _canonical, sockaddr in found:
                if family in _INET_FAMILIES:
                    address = _ip_literal(str(sockaddr[0]))
                    if address is not None:
                        addresses.add((address, port))
        return cls(frozenset(addresses), frozenset(names))

    def allows_endpoint(self, host: Any, port: Any) -> bool:
        """True when ``host`` (IP literal or name) and ``port`` (None: any) are an allowed endpoint."""
        text = _host_text(host)
        wanted_port = _port(port)
        literal = _ip_literal(text)
        if literal is not None:
            pairs: Iterable[tuple[Any, int]] = self.addresses
            key: Any = literal
        else:
            pairs, key = self.names, text
        if wanted_port is None:
            return any(allowed_host == key for allowed_host, _ in pairs)
        return (key, wanted_port) in pairs

    def refusal(self, event: str, args: tuple[Any, ...]) -> str | None:
        """Why the audit event ``event`` with ``args`` is refused, or None when it is allowed.

        Only ``socket.*`` events are judged; every other event is allowed.
        """
        if event in _LOOKUP_EVENTS:
            host = args[0] if args else None
            port = args[1] if event == "socket.getaddrinfo" and len(args) > 1 else None
            if host is None and event == "socket.getaddrinfo":
                return None
            if self.allows_endpoint(host, port):
                return None
            return f"{event.split('.', 1)[1]} of {_describe(host, port)}"
        if event in _REVERSE_LOOKUP_EVENTS:
            return f"{event.split('.', 1)[1]} of {args[0]!r}"
        if event in _ADDRESS_EVENTS:
            sock, address = (args + (None, None))[:2]
            if address is None:  # sendmsg on a connected socket: its connect was judged
                return None
            family = getattr(sock, "family", None)
            if family == getattr(socket, "AF_UNIX", None):
                return None
            operation = event.split(".", 1)[1]
            if family in _INET_FAMILIES and isinstance(address, tuple) and len(address) >= 2:
                if self.allows_endpoint(address[0], address[1]):
                    return None
                return f"{operation} to {_describe(address[0], address[1])}"
            return f"{operation} to {address!r} (address family {family!r})"
        return None


def _describe(host: Any, port: Any) -> str:
    text = _host_text(host)
    shown = f"[{text}]" if ":" in text else text
    return f"{shown}:{port}" if _port(port) is not None else shown


@dataclass(frozen=True)
class Refusal:
    """One refused operation: ``operation`` is the audit event without ``socket.``."""

    operation: str
    description: str


Listener = Callable[[Refusal], None]


class ProcessNetworkGuard:
    """The process's one audit hook and the policy it enforces (see :func:`process_guard`)."""

    def __init__(self) -> None:
        self._policy: NetworkPolicy | None = None
        self._hook_installed = False
        self._lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()
        self._listeners: list[Listener] = []
        self._local = threading.local()

    @property
    def armed(self) -> bool:
        return self._policy is not None

    @property
    def policy(self) -> NetworkPolicy | None:
        return self._policy

    def arm(self, policy: NetworkPolicy) -> None:
        """Enforce ``policy`` from now on, in every thread; resets the refusal counts.

        The first call installs the audit hook, which stays for the life of the process.
        """
        with self._lock:
            self._counts.clear()
            self._policy = policy
            if not self._hook_installed:
                sys.addaudithook(self._audit)
                self._hook_installed = True

    def disarm(self) -> None:
        """Stop enforcing (the hook stays installed and lets everything through)."""
        self._policy = None

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(refusal)`` after each refusal, in the refusing thread."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    @property
    def refused(self) -> int:
        """Operations refused since the guard was last armed."""
        with self._lock:
            return sum(self._counts.values())

    def refused_by_operation(self) -> dict[str, int]:
        """``{"getaddrinfo": 2, "connect": 1}``: refusals since the guard was last armed."""
        with self._lock:
            return dict(self._counts)

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        # Called for every audit event of the process (file opens, imports...): stay cheap.
        if not event.startswith("socket."):
            return
        policy = self._policy
        if policy is None:
            return
        try:
            reason = policy.refusal(event, args)
        except Exception as exc:  # a policy bug must refuse, never let the operation through
            reason = f"{event} that the guard could not judge ({exc!r})"
        if reason is None:
            return
        self._refuse(Refusal(event.split(".", 1)[1], reason))
        raise NetworkAccessRefused(
            f"network guard: refused {reason}; the crawl only talks to tor's SOCKS ports and Elasticsearch"
        )

    def _refuse(self, refusal: Refusal) -> None:
        with self._lock:
            self._counts[refusal.operation] += 1
            number = sum(self._counts.values())
            listeners = list(self._listeners)
        if getattr(self._local, "busy", False):
            return  # a log handler or listener of ours opened a socket: count it, do not recurse
        self._local.busy = True
        try:
            logger.error(
                "network guard refused %s (refusal %d): nothing was sent; the crawl only talks to "
                "tor's SOCKS ports and Elasticsearch, and stops now",
                refusal.description, number,
                # The stack from the socket call outwards: who tried.
                stack_info=number <= _STACKS_LOGGED, stacklevel=3,
            )
            for listener in listeners:
                try:
                    listener(refusal)
                except Exception:
                    logger.exception("network guard listener %r failed", listener)
        finally:
            self._local.busy = False


_PROCESS_GUARD = ProcessNetworkGuard()


def process_guard() -> ProcessNetworkGuard:
    """The network guard of this process (one per process, like the audit hook behind it)."""
    return _PROCESS_GUARD


def refusal_message(refused: int) -> str:
    """The one-line explanation both crawl commands print when the guard refused ``refused`` operations."""
    return (
        f"the network guard refused {refused} name lookup(s) or connection(s) outside tor and Elasticsearch "
        "and stopped the crawl; nothing was sent, but some code in the crawler tried: see the "
        "'network guard refused' lines in the log, and report it"
    )


def crawl_endpoints(socks_endpoints: Iterable[str], onionscope_settings: Any) -> list[tuple[str, int]]:
    """``(host, port)`` of tor's SOCKS ports (``"ip:port"`` strings), of the Elasticsearch nodes and of
    the same tor's ControlPort when one is configured (``tor_control``: tor's bootstrap, circuit and
    NEWNYM counts, :mod:`crawler.tor.control_stats`) and the ControlPorts of the pool's clients
    (``tor_pool``: their health, :mod:`crawler.tor.pool`).

    Raises TorTransportNotConfigured when there is no SOCKS endpoint.
    """
    from elastic_transport.client_utils import url_to_node_config

    from crawler.tor.download_handler import parse_socks_endpoints

    socks = [(address.host, address.port) for address in parse_socks_endpoints(list(socks_endpoints))]
    # The Elasticsearch client reads es_url with this same function (one URL, one node).
    node = url_to_node_config(str(onionscope_settings.es_url))
    return socks + [(node.host, node.port)] + _control_endpoint(onionscope_settings)


def redis_endpoint(url: str | None) -> list[tuple[str, int]]:
    """``[(host, port)]`` of the shared frontier's Redis (``REDIS_URL``, set for ``crawl --shared``); [] without one.

    A ``unix://`` socket needs no endpoint: Unix sockets pass the guard.
    """
    from urllib.parse import urlsplit

    if not url or not str(url).startswith(("redis://", "rediss://")):
        return []
    parts = urlsplit(str(url))
    return [(parts.hostname or "127.0.0.1", parts.port or 6379)]


def _control_endpoint(onionscope_settings: Any) -> list[tuple[str, int]]:
    from config.errors import UserError
    from crawler.tor.endpoints import resolve_tor_endpoints

    try:
        endpoints = resolve_tor_endpoints(onionscope_settings, resolve_host=None)
    except UserError:
        return []
    # The pool's ControlPorts too: the pool monitor (crawler.tor.pool) watches each client's health.
    controls = ([endpoints.control] if endpoints.control is not None else []) + [
        control for _socks, control in endpoints.pool]
    return list(dict.fromkeys(controls))


class NetworkGuardExtension:
    """Scrapy extension: arms the process's network guard for the crawl and reports its refusals.

    Arms in ``from_crawler``, before the engine, the download handlers, the
    middlewares and the pipelines are built.  Each refusal is counted in the
    stats and closes the spider (reason ``network_guard_refused``).  The
    guard stays armed after the crawl: the process is a crawl process.
    """

    def __init__(self, crawler: "Crawler", policy: NetworkPolicy, guard: ProcessNetworkGuard | None = None):
        self.crawler = crawler
        self.policy = policy
        self.guard = guard or process_guard()

    @classmethod
    def from_crawler(cls, crawler: "Crawler") -> "NetworkGuardExtension":
        from scrapy import signals

        from config.settings import load_settings

        onionscope_settings = crawler.settings.get("ONIONSCOPE_SETTINGS") or load_settings()
        endpoints = crawl_endpoints(crawler.settings.getlist("TOR_SOCKS_ENDPOINTS"), onionscope_settings)
        endpoints += redis_endpoint(crawler.settings.get("REDIS_URL"))
        extension = cls(crawler, NetworkPolicy.allowing(endpoints))
        extension.guard.arm(extension.policy)
        extension.guard.add_listener(extension._refused_in_any_thread)
        crawler.signals.connect(extension._spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension._sync_stats, signal=signals.spider_closed)
        crawler.signals.connect(extension._engine_stopped, signal=signals.engine_stopped)
        logger.info("network guard armed: only %s", ", ".join(f"{h}:{p}" for h, p in endpoints))
        return extension

    def _refused_in_any_thread(self, refusal: Refusal) -> None:
        from twisted.internet import reactor

        reactor.callFromThread(self._refused, refusal)  # type: ignore[attr-defined]

    def _spider_opened(self) -> None:
        if self.guard.refused:  # refused while the crawl was being set up: close once it is open
            from twisted.internet import reactor

            reactor.callLater(0, self._close_spider)  # type: ignore[attr-defined]

    def _refused(self, refusal: Refusal) -> None:
        self._sync_stats()
        self._close_spider()

    def _close_spider(self) -> None:
        engine = getattr(self.crawler, "engine", None)
        if engine is None or getattr(engine, "spider", None) is None or not self.crawler.crawling:
            return  # not open yet (spider_opened closes it) or already gone
        from scrapy.utils.defer import deferred_from_coro

        deferred = deferred_from_coro(engine.close_spider_async(reason=CLOSE_REASON))
        deferred.addErrback(
            lambda failure: logger.warning("could not close the spider after a refusal: %s", failure.getErrorMessage())
        )

    def _sync_stats(self, *args: Any, **kwargs: Any) -> None:
        counts = self.guard.refused_by_operation()
        self.crawler.stats.set_value(REFUSED_STAT, sum(counts.values()))
        for operation, number in counts.items():
            self.crawler.stats.set_value(f"{REFUSED_STAT}/{operation}", number)

    def _engine_stopped(self) -> None:
        self._sync_stats()
        self.guard.remove_listener(self._refused_in_any_thread)
