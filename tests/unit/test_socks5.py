"""SOCKS5 client: message encoding/parsing, and the handshake against a scripted in-memory peer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import defer, error
from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure

from crawler.tor import errors
from crawler.tor.socks5 import (
    SocksAddress,
    SocksClientEndpoint,
    SocksCredentials,
    auth_request,
    connect_request,
    greeting,
    parse_connect_reply,
    parse_method_reply,
)

ONION = "a" * 56 + ".onion"
CREDENTIALS = SocksCredentials("onionscope", "secret-per-host")
SOCKS = SocksAddress("127.0.0.1", 9050)


# --- encoding and parsing


def test_connect_request_sends_the_host_name_not_an_address():
    assert connect_request("abc.onion", 80) == b"\x05\x01\x00\x03\x09abc.onion\x00\x50"


def test_connect_request_sends_ip_literals_as_names_too():
    assert connect_request("127.0.0.1", 8080)[3] == 0x03


@pytest.mark.parametrize("host,port", [("", 80), ("x" * 256, 80), ("bücher.onion", 80), ("a.onion", 0), ("a.onion", 70000)])
def test_connect_request_rejects_bad_targets(host, port):
    with pytest.raises(ValueError):
        connect_request(host, port)


def test_greeting_offers_only_username_password():
    assert greeting() == b"\x05\x01\x02"


def test_auth_request_layout():
    assert auth_request(SocksCredentials("ab", "xyz")) == b"\x01\x02ab\x03xyz"


def test_credentials_must_fit_rfc1929_lengths():
    with pytest.raises(ValueError):
        SocksCredentials("", "x")
    with pytest.raises(ValueError):
        SocksCredentials("x", "y" * 256)


def test_method_reply_from_a_non_socks5_peer_is_a_protocol_error():
    with pytest.raises(errors.SocksProtocolError):
        parse_method_reply(b"HT")


@pytest.mark.parametrize(
    "reply,expected",
    [
        (b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x50", (0, 10)),
        (b"\x05\x04\x00\x01\x00\x00\x00\x00\x00\x00rest", (4, 10)),
        (b"\x05\x00\x00\x03\x05a.bcd\x01\xbb", (0, 12)),
        (b"\x05\x00\x00\x04" + bytes(16) + b"\x00\x50", (0, 22)),
        (b"\x05\x00\x00\x01\x7f\x00", None),
        (b"\x05\x00", None),
    ],
)
def test_parse_connect_reply(reply, expected):
    assert parse_connect_reply(reply) == expected


@pytest.mark.parametrize("reply", [b"\x04\x5a\x00\x00\x00\x00\x00\x00", b"\x05\x00\x00\x09\x00\x00\x00"])
def test_parse_connect_reply_rejects_garbage(reply):
    with pytest.raises(errors.SocksProtocolError):
        parse_connect_reply(reply)


@given(st.binary(max_size=64))
def test_parse_connect_reply_only_ever_raises_protocol_errors(data):
    try:
        parsed = parse_connect_reply(data)
    except errors.SocksProtocolError:
        return
    if parsed is not None:
        code, length = parsed
        assert 10 <= length <= len(data) and code == data[1]


@pytest.mark.parametrize(
    "text,expected",
    [("127.0.0.1:9050", SocksAddress("127.0.0.1", 9050)), ("localhost:9150", SocksAddress("127.0.0.1", 9150)),
     ("[::1]:9050", SocksAddress("::1", 9050))],
)
def test_socks_address_parse(text, expected):
    assert SocksAddress.parse(text) == expected


@pytest.mark.parametrize("text", ["tor.example:9050", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:x"])
def test_socks_address_refuses_names_that_would_need_dns(text):
    with pytest.raises(errors.TorTransportNotConfigured):
        SocksAddress.parse(text)


# --- handshake against a scripted peer


class RecordingProtocol(Protocol):
    def __init__(self):
        self.received = b""
        self.made = False

    def connectionMade(self):
        self.made = True

    def dataReceived(self, data):
        self.received += data


def start(handshake_timeout=None):
    reactor = MemoryReactorClock()
    endpoint = SocksClientEndpoint(
        reactor, SOCKS, ONION, 80, CREDENTIALS, connect_timeout=7, handshake_timeout=handshake_timeout
    )
    connected = endpoint.connect(Factory.forProtocol(RecordingProtocol))
    host, port, wrapping_factory, timeout, _ = reactor.tcpClients[0]
    assert (host, port, timeout) == ("127.0.0.1", 9050, 7)
    return reactor, connected, wrapping_factory


def accept(wrapping_factory):
    protocol = wrapping_factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 9050))
    transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 9050))
    protocol.makeConnection(transport)
    return protocol, transport


def result_of(deferred):
    results = []
    deferred.addBoth(results.append)
    assert results, "the Deferred has not fired"
    return results[0]


def test_full_handshake_then_bytes_flow_to_the_callers_protocol():
    reactor, connected, wrapping_factory = start()
    protocol, transport = accept(wrapping_factory)
    assert transport.value() == greeting()
    transport.clear()
    protocol.dataReceived(b"\x05\x02")
    assert transport.value() == auth_request(CREDENTIALS)
    transport.clear()
    protocol.dataReceived(b"\x01\x00")
    assert transport.value() == connect_request(ONION, 80)
    assert not connected.called
    # Reply split across reads, with stream bytes right behind it.
    protocol.dataReceived(b"\x05\x00\x00\x01\x00")
    protocol.dataReceived(b"\x00\x00\x00\x00\x00HTTP/1.1 200 OK\r\n")
    caller = result_of(connected)
    assert isinstance(caller, RecordingProtocol) and caller.made
    assert caller.received == b"HTTP/1.1 200 OK\r\n"
    protocol.dataReceived(b"more")
    assert caller.received.endswith(b"more")
    assert not transport.disconnecting


@pytest.mark.parametrize("code", sorted(errors.REPLY_ERRORS))
def test_each_reply_code_fails_with_its_own_error(code):
    reactor, connected, wrapping_factory = start()
    protocol, transport = accept(wrapping_factory)
    protocol.dataReceived(b"\x05\x02\x01\x00" + bytes([5, code, 0, 1]) + bytes(6))
    failure = result_of(connected)
    assert isinstance(failure, Failure)
    assert type(failure.value) is errors.REPLY_ERRORS[code]
    assert failure.value.reply_code == code
    assert ONION in str(failure.value) and f"0x{code:02x}" in str(failure.value)
    assert transport.disconnecting


def test_unknown_reply_code():
    reactor, connected, wrapping_factory = start()
    protocol, _ = accept(wrapping_factory)
    protocol.dataReceived(b"\x05\x02\x01\x00\x05\x42\x00\x01" + bytes(6))
    assert isinstance(result_of(connected).value, errors.SocksUnknownReply)


def test_peer_refusing_username_password_is_an_authentication_error():
    reactor, connected, wrapping_factory = start()
    protocol, _ = accept(wrapping_factory)
    protocol.dataReceived(b"\x05\xff")
    assert isinstance(result_of(connected).value, errors.SocksAuthenticationError)


def test_peer_picking_no_auth_is_refused_so_isolation_is_never_lost():
    reactor, connected, wrapping_factory = start()
    protocol, _ = accept(wrapping_factory)
    protocol.dataReceived(b"\x05\x00")
    assert isinstance(result_of(connected).value, errors.SocksProtocolError)


def test_rejected_credentials():
    reactor, connected, wrapping_factory = start()
    protocol, _ = accept(wrapping_factory)
    protocol.dataReceived(b"\x05\x02\x01\x01")
    assert isinstance(result_of(connected).value, errors.SocksAuthenticationError)


def test_http_server_instead_of_socks_is_a_protocol_error():
    reactor, connected, wrapping_factory = start()
    protocol, _ = accept(wrapping_factory)
    protocol.dataReceived(b"HTTP/1.0 400 Bad Request\r\n")
    assert isinstance(result_of(connected).value, errors.SocksProtocolError)


def test_refused_socks_port_is_tor_unreachable_with_a_hint():
    reactor, connected, wrapping_factory = start()
    wrapping_factory.clientConnectionFailed(None, Failure(error.ConnectionRefusedError()))
    failure = result_of(connected)
    assert isinstance(failure.value, errors.TorUnreachableError)
    assert "127.0.0.1:9050 refused the connection" in str(failure.value)
    assert "ONIONSCOPE_TOR_SOCKS" in str(failure.value)


def test_socks_port_closing_mid_handshake_is_tor_unreachable():
    reactor, connected, wrapping_factory = start()
    protocol, _ = accept(wrapping_factory)
    protocol.dataReceived(b"\x05\x02")
    protocol.connectionLost(Failure(error.ConnectionDone()))
    assert isinstance(result_of(connected).value, errors.TorUnreachableError)


def test_handshake_timeout_fails_and_aborts():
    reactor, connected, wrapping_factory = start(handshake_timeout=5)
    protocol, transport = accept(wrapping_factory)
    protocol.dataReceived(b"\x05\x02\x01\x00")
    reactor.advance(4.9)
    assert not connected.called
    reactor.advance(0.2)
    failure = result_of(connected)
    assert isinstance(failure.value, errors.SocksHandshakeTimeout)
    assert transport.disconnecting


def test_handshake_timer_is_cancelled_on_success():
    reactor, connected, wrapping_factory = start(handshake_timeout=5)
    protocol, _ = accept(wrapping_factory)
    protocol.dataReceived(b"\x05\x02\x01\x00\x05\x00\x00\x01" + bytes(6))
    assert isinstance(result_of(connected), RecordingProtocol)
    assert reactor.getDelayedCalls() == []


def test_cancel_during_handshake_aborts_the_connection():
    reactor, connected, wrapping_factory = start()
    protocol, transport = accept(wrapping_factory)
    connected.cancel()
    assert isinstance(result_of(connected).value, defer.CancelledError)
    assert transport.disconnecting


def test_cancel_before_tcp_connects():
    reactor, connected, wrapping_factory = start()
    connected.cancel()
    assert isinstance(result_of(connected).value, defer.CancelledError)


def test_handshake_timeout_while_tcp_still_connecting():
    reactor, connected, wrapping_factory = start(handshake_timeout=3)
    reactor.advance(3)
    assert isinstance(result_of(connected).value, errors.SocksHandshakeTimeout)
