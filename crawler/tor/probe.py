"""Blocking probes through tor with pysocks, for the CLI and health checks (never inside the reactor).

Public API:

* :func:`probe_url(url, socks_host, socks_port, timeout)` -> ``(status, seconds)``: one
  HTTP GET (headers only; the body is not read) through tor's SOCKS5 with the host name
  sent to tor (``rdns=True``), so nothing is resolved locally.  ``status`` is the HTTP
  status code.  Raises :class:`ProbeError` (a UserError) saying whether tor or the site
  failed.  https is wrapped in TLS without certificate verification, for the reason given
  in :func:`crawler.tor.download_handler.transport_settings` (the onion address
  authenticates the service).
"""

from __future__ import annotations

import socket
import ssl
import time
from urllib.parse import urlsplit

import socks

from config.errors import UserError
from config.i18n import _

_MAX_STATUS_LINE = 1024


class ProbeError(UserError):
    """The probe failed; the message says where (tor's SOCKS port or the site)."""


def probe_url(url: str, socks_host: str, socks_port: int, timeout: float = 30.0) -> tuple[int, float]:
    """GET ``url`` through tor and return ``(http_status, seconds)``.  Raises ProbeError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeError(_("{url} is not an http:// or https:// URL", url=repr(url)))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    connection = socks.socksocket(socket.AF_INET, socket.SOCK_STREAM)
    connection.set_proxy(socks.SOCKS5, socks_host, socks_port, rdns=True)
    connection.settimeout(timeout)
    try:
        try:
            connection.connect((parts.hostname, port))
        except socks.ProxyConnectionError as exc:
            reason = exc.socket_err or exc
            if "refused" in str(reason).lower():
                reason = _("connection refused")
            raise ProbeError(_("tor SOCKS port {host}:{port} could not be reached ({reason}); start tor or set "
                               "ONIONSCOPE_TOR_SOCKS", host=socks_host, port=socks_port, reason=reason)) from None
        except (socks.ProxyError, OSError) as exc:  # GeneralProxyError among them: the SOCKS reply's own words
            raise ProbeError(_("tor could not reach {host}:{port}: {problem}", host=parts.hostname, port=port,
                               problem=exc)) from None
        stream: socket.socket = connection
        if parts.scheme == "https":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            stream = context.wrap_socket(connection, server_hostname=parts.hostname)
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
            "User-Agent: onionscope-probe\r\n\r\n"
        )
        stream.sendall(request.encode("ascii", "strict"))
        status_line = _read_status_line(stream)
    except (OSError, ssl.SSLError) as exc:
        raise ProbeError(_("{url} failed through tor: {problem}", url=url, problem=exc)) from None
    finally:
        connection.close()
    seconds = time.monotonic() - started
    fields = status_line.split(b" ", 2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
        raise ProbeError(_("{url} did not answer HTTP (status line {line})", url=url, line=repr(status_line[:80])))
    return int(fields[1]), seconds


def _read_status_line(stream: socket.socket) -> bytes:
    buffer = b""
    while b"\r\n" not in buffer:
        chunk = stream.recv(256)
        if not chunk:
            break
        buffer += chunk
        if len(buffer) > _MAX_STATUS_LINE:
            break
    return buffer.split(b"\r\n", 1)[0]
