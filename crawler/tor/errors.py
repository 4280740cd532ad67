"""Errors of the Tor transport: what went wrong between the crawler, tor and an onion.

Hierarchy::

    TorTransportError                      every transport failure
     +- TorTransportNotConfigured          no SOCKS endpoint, or settings that could leak (also a UserError)
     +- TorUnreachableError                tor's SOCKS port refused, timed out or closed the connection (retryable)
     +- ResponseHeadersTooLarge            the site sent more header bytes than TOR_HEADERS_MAXSIZE before the body
     +- ResponseBodyTimeout                the site answered, then its body outlasted DOWNLOAD_TIMEOUT (a drip)
     +- SocksError                         tor answered, and the answer was "no"
         +- SocksProtocolError             the SOCKS peer broke the protocol
         +- SocksAuthenticationError       the peer refused username/password (isolation impossible)
         +- SocksHandshakeTimeout          no CONNECT reply within TOR_SOCKS_TIMEOUT (retryable)
         +- SocksReplyError                a CONNECT reply code (RFC 1928 and tor's extended codes)
             +- SocksGeneralFailure, SocksHostUnreachable, OnionDescriptorNotFound, ...

:class:`RetryableTorError` is a mixin: every retryable class inherits it, so
Scrapy's RetryMiddleware needs one entry in ``RETRY_EXCEPTIONS``
(:data:`RETRY_EXCEPTION_PATHS`).  Every error has a ``stats_key`` (for example
``host_unreachable``); the download handler counts it as
``tor/socks_error/<stats_key>`` (:class:`ResponseHeadersTooLarge`, which is not tor's
doing, as ``tor/headers_too_large``).

:func:`reply_error(code, ...)` returns the exception instance for a reply code
(an unknown code gives :class:`SocksUnknownReply`).  Nothing here does I/O.
"""

from __future__ import annotations

from config.errors import UserError


class TorTransportError(Exception):
    """A request could not be carried through tor."""

    stats_key = "transport_error"


class RetryableTorError(TorTransportError):
    """Mixin for failures that can succeed on a later attempt (a new circuit, a published descriptor)."""


class TorTransportNotConfigured(TorTransportError, UserError):
    """The transport refuses to start: no SOCKS endpoint, or a setting that would bypass tor."""

    stats_key = "not_configured"


class TorUnreachableError(RetryableTorError):
    """Tor's SOCKS port could not be reached (refused, timed out, closed early)."""

    stats_key = "tor_unreachable"


class ResponseHeadersTooLarge(TorTransportError):
    """The response's status line and headers (1xx responses included) exceeded TOR_HEADERS_MAXSIZE.

    The fetch fails and the connection is closed as soon as the cap is passed, so no more
    than the cap is ever held.  Not retryable: the site would send the same again.
    """

    stats_key = "headers_too_large"


class ResponseBodyTimeout(TorTransportError):
    """The headers arrived but the body did not within DOWNLOAD_TIMEOUT (a site dripping its body).

    Not retryable: the site answered, and the retry would take the same circuit.
    """

    stats_key = "body_timeout"


class SocksError(TorTransportError):
    """Tor's SOCKS port answered and refused or broke the request."""

    stats_key = "socks_error"


class SocksProtocolError(SocksError):
    """The SOCKS peer sent something that is not SOCKS5 (wrong port? not tor?)."""

    stats_key = "protocol_error"


class SocksAuthenticationError(SocksError):
    """The SOCKS peer refused username/password authentication, so streams cannot be isolated."""

    stats_key = "authentication_rejected"


class SocksHandshakeTimeout(SocksError, RetryableTorError):
    """Tor took longer than TOR_SOCKS_TIMEOUT to answer the CONNECT (circuit or onion too slow)."""

    stats_key = "handshake_timeout"


class SocksReplyError(SocksError):
    """A CONNECT request failed with a SOCKS reply code."""

    reply_code = -1
    stats_key = "reply_error"
    description = "unknown reply"

    def __init__(self, message: str, *, target: str = "", socks_endpoint: str = "", reply_code: int | None = None):
        super().__init__(message)
        self.target = target
        self.socks_endpoint = socks_endpoint
        if reply_code is not None:
            self.reply_code = reply_code


# --- RFC 1928 reply codes.  Which ones a retry can fix follows what tor means by each:
# tor answers 0x01/0x04/0x06 for circuits that failed or timed out, which a new attempt may fix,
# while 0x02/0x07/0x08 are policy and protocol refusals that will not change.


class SocksGeneralFailure(SocksReplyError, RetryableTorError):
    reply_code = 0x01
    stats_key = "general_failure"
    description = "general SOCKS server failure"


class SocksConnectionNotAllowed(SocksReplyError):
    reply_code = 0x02
    stats_key = "not_allowed"
    description = "connection not allowed by ruleset (exit policy)"


class SocksNetworkUnreachable(SocksReplyError, RetryableTorError):
    reply_code = 0x03
    stats_key = "network_unreachable"
    description = "network unreachable"


class SocksHostUnreachable(SocksReplyError, RetryableTorError):
    reply_code = 0x04
    stats_key = "host_unreachable"
    description = "host unreachable"


class SocksConnectionRefused(SocksReplyError, RetryableTorError):
    reply_code = 0x05
    stats_key = "connection_refused"
    description = "connection refused by the destination"


class SocksTTLExpired(SocksReplyError, RetryableTorError):
    reply_code = 0x06
    stats_key = "ttl_expired"
    description = "TTL expired (tor: the circuit or stream timed out)"


class SocksCommandNotSupported(SocksReplyError):
    reply_code = 0x07
    stats_key = "command_not_supported"
    description = "command not supported"


class SocksAddressTypeNotSupported(SocksReplyError):
    reply_code = 0x08
    stats_key = "address_type_not_supported"
    description = "address type not supported"


# --- tor's extended onion-service codes (SocksPort flag ExtendedErrors, tor 0.4.3+).


class OnionServiceError(SocksReplyError):
    """Base of tor's extended onion-service reply codes (0xF0-0xF7)."""

    stats_key = "onion_error"


class OnionDescriptorNotFound(OnionServiceError, RetryableTorError):
    reply_code = 0xF0
    stats_key = "onion_descriptor_not_found"
    description = "onion service descriptor not found (service down or not yet published)"


class OnionDescriptorInvalid(OnionServiceError):
    reply_code = 0xF1
    stats_key = "onion_descriptor_invalid"
    description = "onion service descriptor is invalid"


class OnionIntroductionFailed(OnionServiceError, RetryableTorError):
    reply_code = 0xF2
    stats_key = "onion_intro_failed"
    description = "onion service introduction failed"


class OnionRendezvousFailed(OnionServiceError, RetryableTorError):
    reply_code = 0xF3
    stats_key = "onion_rendezvous_failed"
    description = "onion service rendezvous failed"


class OnionMissingClientAuth(OnionServiceError):
    reply_code = 0xF4
    stats_key = "onion_missing_client_auth"
    description = "onion service requires client authorization"


class OnionWrongClientAuth(OnionServiceError):
    reply_code = 0xF5
    stats_key = "onion_wrong_client_auth"
    description = "onion service client authorization is wrong"


class OnionBadAddress(OnionServiceError):
    reply_code = 0xF6
    stats_key = "onion_bad_address"
    description = "not a valid onion address"


class OnionIntroductionTimedOut(OnionServiceError, RetryableTorError):
    reply_code = 0xF7
    stats_key = "onion_intro_timed_out"
    description = "onion service introduction timed out"


class SocksUnknownReply(SocksReplyError):
    stats_key = "unknown_reply"
    description = "unknown SOCKS reply code"


REPLY_ERRORS: dict[int, type[SocksReplyError]] = {
    cls.reply_code: cls
    for cls in (
        SocksGeneralFailure,
        SocksConnectionNotAllowed,
        SocksNetworkUnreachable,
        SocksHostUnreachable,
        SocksConnectionRefused,
        SocksTTLExpired,
        SocksCommandNotSupported,
        SocksAddressTypeNotSupported,
        OnionDescriptorNotFound,
        OnionDescriptorInvalid,
        OnionIntroductionFailed,
        OnionRendezvousFailed,
        OnionMissingClientAuth,
        OnionWrongClientAuth,
        OnionBadAddress,
        OnionIntroductionTimedOut,
    )
}

# The one entry Scrapy's RETRY_EXCEPTIONS needs for every retryable transport error.
RETRY_EXCEPTION_PATHS: tuple[str, ...] = ("crawler.tor.errors.RetryableTorError",)


def is_retryable(error: BaseException) -> bool:
    """True when a new attempt may succeed (the class inherits :class:`RetryableTorError`)."""
    return isinstance(error, RetryableTorError)


def reply_error(reply_code: int, *, target: str, socks_endpoint: str) -> SocksReplyError:
    """The exception for a failed CONNECT reply ``reply_code`` to ``target`` through ``socks_endpoint``."""
    error_class = REPLY_ERRORS.get(reply_code, SocksUnknownReply)
    message = (
        f"tor at {socks_endpoint} could not connect to {target}: "
        f"{error_class.description} (SOCKS reply 0x{reply_code:02x})"
    )
    return error_class(message, target=target, socks_endpoint=socks_endpoint, reply_code=reply_code)
