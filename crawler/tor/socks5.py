"""SOCKS5 client for Twisted: the bytes between the crawler and tor's SocksPort.

Public API:

* :class:`SocksAddress` -- where tor's SocksPort listens (an IP literal and a port; never resolved);
* :class:`SocksCredentials` -- the RFC 1929 username/password that selects tor's stream isolation;
* :class:`SocksClientEndpoint` -- an ``IStreamClientEndpoint`` that opens TCP to the SocksPort,
  performs the RFC 1928 / RFC 1929 handshake asking tor to CONNECT to a *hostname* (ATYP 0x03,
  so the target is resolved by tor, never here), optionally starts TLS inside the tunnel, and then
  hands the connection to the caller's protocol;
* pure helpers used by the protocol and its tests: :func:`greeting`, :func:`auth_request`,
  :func:`connect_request`, :func:`parse_method_reply`, :func:`parse_auth_reply`,
  :func:`parse_connect_reply`.

Failures arrive as errbacks with the exceptions of :mod:`crawler.tor.errors`:
``TorUnreachableError`` (SocksPort refused/closed/timed out), ``SocksAuthenticationError``,
``SocksProtocolError``, ``SocksHandshakeTimeout`` and one ``SocksReplyError`` subclass per reply
code.  Cancelling the Deferred returned by :meth:`SocksClientEndpoint.connect` aborts the
connection and fails it with ``CancelledError`` (Scrapy's download timeout relies on that).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twisted.internet import defer, error
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from crawler.tor.errors import (
    SocksAuthenticationError,
    SocksHandshakeTimeout,
    SocksProtocolError,
    TorTransportNotConfigured,
    TorUnreachableError,
    reply_error,
)

if TYPE_CHECKING:
    from twisted.internet.interfaces import IAddress, IReactorTCP, IReactorTime

SOCKS_VERSION = 0x05
AUTH_USERNAME_PASSWORD = 0x02
AUTH_NO_ACCEPTABLE = 0xFF
COMMAND_CONNECT = 0x01
ADDRESS_IPV4 = 0x01
ADDRESS_DOMAIN = 0x03
ADDRESS_IPV6 = 0x04
REPLY_SUCCEEDED = 0x00

# RFC 1929 sub-negotiation version.
USERPASS_VERSION = 0x01


@dataclass(frozen=True)
class SocksAddress:
    """tor's SocksPort: an IP literal (or "localhost") and a port."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> "SocksAddress":
        """Parse ``host:port`` (``[v6]:port`` too).

        Raises :class:`TorTransportNotConfigured` for anything that is not an IP literal
        (or ``localhost``) with a port in 1..65535: the SOCKS endpoint is the one address
        the crawler connects to directly, so it must not need a DNS lookup.
        """
        host, sep, port_text = text.strip().rpartition(":")
        host = host.strip("[]")
        if host == "localhost":
            host = "127.0.0.1"
        if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise TorTransportNotConfigured(f"tor SOCKS endpoint {text!r} is not host:port (for example 127.0.0.1:9050)")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise TorTransportNotConfigured(
                f"tor SOCKS endpoint {text!r} must be an IP address such as 127.0.0.1:9050, not a host name "
                "(`onionscope crawl` looks the name up once at start-up; `scrapy crawl` does not)"
            ) from None
        return cls(host, int(port_text))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class SocksCredentials:
    """RFC 1929 username and password; tor isolates streams with different ones (IsolateSOCKSAuth)."""

    username: str
    password: str

    def __post_init__(self) -> None:
        for name, value in (("username", self.username), ("password", self.password)):
            encoded = value.encode("utf-8")
            if not 1 <= len(encoded) <= 255:
                raise ValueError(f"SOCKS {name} must be 1..255 bytes, got {len(encoded)}")


# --- pure protocol pieces


def greeting() -> bytes:
    """The method-selection message: SOCKS5 offering only username/password.

    Only 0x02 is offered so that a peer cannot silently drop the credentials
    that carry stream isolation.
    """
    return bytes([SOCKS_VERSION, 1, AUTH_USERNAME_PASSWORD])


def auth_request(credentials: SocksCredentials) -> bytes:
    """The RFC 1929 username/password request."""
    username = credentials.username.encode("utf-8")
    password = credentials.password.encode("utf-8")
    return bytes([USERPASS_VERSION, len(username)]) + username + bytes([len(password)]) + password


def connect_request(target_host: str, target_port: int) -> bytes:
    """A CONNECT request for a host *name* (ATYP 0x03): tor resolves it, we never do.

    IP literals are sent the same way (tor accepts them as names), so there is a
    single code path.  Raises :class:`ValueError` for an empty, non-ASCII or too long
    host, or a port outside 1..65535.
    """
    try:
        host_bytes = target_host.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"target host {target_host!r} must be ASCII (IDNA-encode it first)") from None
    if not 1 <= len(host_bytes) <= 255:
        raise ValueError(f"target host must be 1..255 bytes, got {len(host_bytes)}")
    if not 0 < target_port < 65536:
        raise ValueError(f"target port {target_port} is outside 1..65535")
    return (
        bytes([SOCKS_VERSION, COMMAND_CONNECT, 0x00, ADDRESS_DOMAIN, len(host_bytes)])
        + host_bytes
        + target_port.to_bytes(2, "big")
    )


def parse_method_reply(data: bytes) -> int:
    """The method the server chose, from its 2-byte reply.  Raises SocksProtocolError."""
    if len(data) != 2 or data[0] != SOCKS_VERSION:
        raise SocksProtocolError(f"not a SOCKS5 method reply: {data[:16]!r}")
    return data[1]


def parse_auth_reply(data: bytes) -> bool:
    """True when the RFC 1929 reply (2 bytes) says success.  Raises SocksProtocolError."""
    if len(data) != 2 or data[0] not in (USERPASS_VERSION, SOCKS_VERSION):
        # tor answers version 0x01 as RFC 1929 says; some servers echo 0x05.
        raise SocksProtocolError(f"not a SOCKS5 username/password reply: {data[:16]!r}")
    return data[1] == 0x00


def parse_connect_reply(buffer: bytes) -> tuple[int, int] | None:
    """Parse the CONNECT reply at the start of ``buffer``.

    Returns ``None`` while the reply is incomplete, else ``(reply_code, reply_length)``;
    bytes after ``reply_length`` belong to the tunnelled stream.  Raises
    :class:`SocksProtocolError` for a malformed reply.
    """
    if len(buffer) < 5:
        return None
    if buffer[0] != SOCKS_VERSION:
        raise SocksProtocolError(f"not a SOCKS5 reply (version byte 0x{buffer[0]:02x})")
    address_type = buffer[3]
    if address_type == ADDRESS_IPV4:
        length = 4 + 4 + 2
    elif address_type == ADDRESS_IPV6:
        length = 4 + 16 + 2
    elif address_type == ADDRESS_DOMAIN:
        length = 4 + 1 + buffer[4] + 2
    else:
        raise SocksProtocolError(f"SOCKS5 reply with unknown address type 0x{address_type:02x}")
    if len(buffer) < length:
        return None
    return buffer[1], length


# --- the Twisted protocol

_AWAIT_METHOD, _AWAIT_AUTH, _AWAIT_CONNECT, _OPEN, _FAILED = range(5)


class SocksHandshakeProtocol(Protocol):
    """Runs the SOCKS5 handshake, then forwards every byte to the protocol it hands over to.

    The caller's protocol is connected to the *same* TCP transport once tor says
    "succeeded" (or to a TLS layer on top of it), so writes go straight to the socket.
    """

    def __init__(self, endpoint: "SocksClientEndpoint", protocol_factory: Factory, ready: defer.Deferred[Protocol]):
        self._endpoint = endpoint
        self._protocol_factory = protocol_factory
        self._ready = ready
        self._state = _AWAIT_METHOD
        self._buffer = b""
        self._wrapped: Protocol | None = None
        self._peer_address: IAddress | None = None

    def connectionMade(self) -> None:
        assert self.transport is not None
        self._peer_address = self.transport.getPeer()
        self.transport.write(greeting())

    def dataReceived(self, data: bytes) -> None:
        if self._state == _OPEN:
            assert self._wrapped is not None
            self._wrapped.dataReceived(data)
            return
        if self._state == _FAILED:
            return
        self._buffer += data
        try:
            self._advance()
        except Exception as exc:  # every handshake failure ends here and fails the Deferred
            self._fail(Failure(exc))

    def _advance(self) -> None:
        assert self.transport is not None
        endpoint = self._endpoint
        if self._state == _AWAIT_METHOD:
            if len(self._buffer) < 2:
                return
            method = parse_method_reply(self._buffer[:2])
            self._buffer = self._buffer[2:]
            if method == AUTH_NO_ACCEPTABLE:
                raise SocksAuthenticationError(
                    f"SOCKS server at {endpoint.socks_address} refused username/password authentication; "
                    "onionscope needs it for stream isolation (is this tor's SocksPort?)"
                )
            if method != AUTH_USERNAME_PASSWORD:
                raise SocksProtocolError(
                    f"SOCKS server at {endpoint.socks_address} chose method 0x{method:02x}, which was not offered"
                )
            self.transport.write(auth_request(endpoint.credentials))
            self._state = _AWAIT_AUTH
        if self._state == _AWAIT_AUTH:
            if len(self._buffer) < 2:
                return
            accepted = parse_auth_reply(self._buffer[:2])
            self._buffer = self._buffer[2:]
            if not accepted:
                raise SocksAuthenticationError(
                    f"SOCKS server at {endpoint.socks_address} rejected the isolation credentials"
                )
            self.transport.write(connect_request(endpoint.target_host, endpoint.target_port))
            self._state = _AWAIT_CONNECT
        if self._state == _AWAIT_CONNECT:
            parsed = parse_connect_reply(self._buffer)
            if parsed is None:
                return
            reply_code, reply_length = parsed
            if reply_code != REPLY_SUCCEEDED:
                raise reply_error(
                    reply_code,
                    target=f"{endpoint.target_host}:{endpoint.target_port}",
                    socks_endpoint=str(endpoint.socks_address),
                )
            rest = self._buffer[reply_length:]
            self._buffer = b""
            self._open(rest)

    def _open(self, rest: bytes) -> None:
        assert self.transport is not None
        tls_creator = self._endpoint.tls_creator
        if tls_creator is not None:
            tls_factory = TLSMemoryBIOFactory(tls_creator, True, self._protocol_factory)
            wrapped = tls_factory.buildProtocol(self._peer_address)
            delivered = wrapped.wrappedProtocol  # the caller wants its own protocol, not the TLS layer
        else:
            wrapped = delivered = self._protocol_factory.buildProtocol(self._peer_address)
        if wrapped is None or delivered is None:
            raise SocksProtocolError("the protocol factory refused to build a protocol")
        self._wrapped = wrapped
        self._state = _OPEN
        self._endpoint.handshake_finished()
        wrapped.makeConnection(self.transport)
        ready, self._ready = self._ready, None  # type: ignore[assignment]
        ready.callback(delivered)
        if rest:
            wrapped.dataReceived(rest)

    def _fail(self, reason: Failure) -> None:
        if self._state == _FAILED:
            return
        self._state = _FAILED
        self._endpoint.handshake_finished()
        if self.transport is not None:
            self.transport.abortConnection()
        if self._ready is not None and not self._ready.called:
            ready, self._ready = self._ready, None  # type: ignore[assignment]
            ready.errback(reason)

    def fail_with(self, exception: Exception) -> None:
        """Abort the handshake with ``exception`` (used for the handshake timeout)."""
        self._fail(Failure(exception))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._state == _OPEN:
            assert self._wrapped is not None
            self._wrapped.connectionLost(reason)
            return
        if self._state != _FAILED:
            self._fail(
                Failure(
                    TorUnreachableError(
                        f"tor SOCKS port {self._endpoint.socks_address} closed the connection during the SOCKS "
                        f"handshake for {self._endpoint.target_host}:{self._endpoint.target_port}"
                    )
                )
            )


class _HandshakeFactory(Factory):
    noisy = False

    def __init__(self, endpoint: "SocksClientEndpoint", protocol_factory: Factory, ready: defer.Deferred[Protocol]):
        self._endpoint = endpoint
        self._protocol_factory = protocol_factory
        self._ready = ready
        self.protocol_instance: SocksHandshakeProtocol | None = None
        self.tcp_connecting: defer.Deferred[Any] | None = None

    def buildProtocol(self, addr: Any) -> SocksHandshakeProtocol:
        self.protocol_instance = SocksHandshakeProtocol(self._endpoint, self._protocol_factory, self._ready)
        self.protocol_instance.factory = self
        return self.protocol_instance


@implementer(IStreamClientEndpoint)
class SocksClientEndpoint:
    """Connect to ``target_host:target_port`` through tor's SocksPort at ``socks_address``.

    ``tls_creator`` (an ``IOpenSSLClientConnectionCreator``) makes it an https tunnel.
    ``connect_timeout`` bounds the TCP connect to the SocksPort; ``handshake_timeout``
    (optional) bounds the whole handshake up to tor's CONNECT reply.
    """

    def __init__(
        self,
        reactor: "IReactorTCP",
        socks_address: SocksAddress,
        target_host: str,
        target_port: int,
        credentials: SocksCredentials,
        *,
        tls_creator: Any = None,
        connect_timeout: float = 30.0,
        handshake_timeout: float | None = None,
    ):
        self.reactor = reactor
        self.socks_address = socks_address
        self.target_host = target_host
        self.target_port = target_port
        self.credentials = credentials
        self.tls_creator = tls_creator
        self.connect_timeout = connect_timeout
        self.handshake_timeout = handshake_timeout
        self._timeout_call: Any = None

    def __repr__(self) -> str:
        scheme = "https" if self.tls_creator is not None else "http"
        return f"<SocksClientEndpoint {scheme}://{self.target_host}:{self.target_port} via {self.socks_address}>"

    def connect(self, protocolFactory: Factory) -> defer.Deferred[Protocol]:
        """Fire with the caller's connected protocol, or fail with a crawler.tor.errors exception."""
        factory: _HandshakeFactory

        def cancel(_: Any) -> None:
            tcp_connecting.cancel()
            handshake = factory.protocol_instance
            if handshake is not None and handshake.transport is not None:
                handshake.fail_with(defer.CancelledError())

        ready: defer.Deferred[Protocol] = defer.Deferred(cancel)
        factory = _HandshakeFactory(self, protocolFactory, ready)
        tcp_class = TCP6ClientEndpoint if ":" in self.socks_address.host else TCP4ClientEndpoint
        tcp = tcp_class(self.reactor, self.socks_address.host, self.socks_address.port, timeout=self.connect_timeout)
        tcp_connecting = factory.tcp_connecting = tcp.connect(factory)
        tcp_connecting.addErrback(self._tcp_failed, ready)
        if self.handshake_timeout is not None:
            self._timeout_call = self.reactor.callLater(  # type: ignore[attr-defined]
                self.handshake_timeout, self._handshake_timed_out, factory, ready
            )
        return ready

    def _tcp_failed(self, reason: Failure, ready: defer.Deferred[Protocol]) -> None:
        self.handshake_finished()
        if ready.called:
            return
        if reason.check(defer.CancelledError, error.ConnectingCancelledError):
            return  # cancelled or timed out: whoever cancelled fails `ready`
        where = f"tor SOCKS port {self.socks_address}"
        if reason.check(error.ConnectionRefusedError):
            message = f"{where} refused the connection; start tor or set ONIONSCOPE_TOR_SOCKS"
        elif reason.check(error.TimeoutError):
            message = f"{where} did not accept the connection within {self.connect_timeout:g} s; is tor running?"
        else:
            message = f"{where} could not be reached ({reason.getErrorMessage()}); start tor or set ONIONSCOPE_TOR_SOCKS"
        unreachable = TorUnreachableError(message)
        unreachable.__cause__ = reason.value
        ready.errback(Failure(unreachable))

    def _handshake_timed_out(self, factory: _HandshakeFactory, ready: defer.Deferred[Protocol]) -> None:
        self._timeout_call = None
        if ready.called:
            return
        timeout = SocksHandshakeTimeout(
            f"tor at {self.socks_address} did not connect to {self.target_host}:{self.target_port} "
            f"within {self.handshake_timeout:g} s (TOR_SOCKS_TIMEOUT)"
        )
        handshake = factory.protocol_instance
        if handshake is not None:
            handshake.fail_with(timeout)
        elif factory.tcp_connecting is not None:
            factory.tcp_connecting.cancel()  # _tcp_failed ignores the CancelledError this causes
        if not ready.called:
            ready.errback(Failure(timeout))

    def handshake_finished(self) -> None:
        """Stop the handshake timer (called on success and on failure)."""
        if self._timeout_call is not None and self._timeout_call.active():
            self._timeout_call.cancel()
        self._timeout_call = None
