"""Test web sites for the transport tests: HTTP and HTTPS on one port, every peer recorded.

:class:`RecordingSite` listens on 127.0.0.1 (port 0, read back), answers plain HTTP or TLS on
the same port (it peeks at the first byte: 0x16 starts a TLS handshake), serves
``/page/<n>`` (a small HTML page naming the site and ``n``) and ``/slow...`` (the same after
``slow_seconds``, counted by a shared :class:`ConcurrencyMeter`), ``/big`` (a page of
:data:`BIG_BODY_BYTES`), ``/hang`` (answers after :data:`HANG_SECONDS`), ``/redirect?to=URL``
(a 302 to URL), ``/links?to=URL&to=URL...`` (a page linking to each URL), ``/tree/<path>`` (a
binary tree of pages :data:`TREE_DEPTH` deep: ``/tree/`` links to ``/tree/a`` and ``/tree/b``,
``/tree/a`` to ``/tree/aa`` and ``/tree/ab``...) and ``/huge-headers`` (a header block of
:data:`HUGE_HEADER_BYTES`, sent line by line until the client hangs up).  It records the
address of every connection in ``peers``, every request path in ``paths`` and the header bytes
it managed to send on ``/huge-headers`` in ``huge_header_bytes_sent``.

:class:`FakeSocksHttpServer` is a SOCKS5 port on 127.0.0.1 that is no tor: it accepts the
handshake, answers "succeeded" and then plays the web site itself, sending a scripted
response, so the download handler can be driven end to end without a Tor network.
:func:`self_signed_certificate` writes a throw-away key and certificate, like most onion
https sites use.
"""

from __future__ import annotations

import datetime
import html
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed_certificate(directory: Path, common_name: str = "onionscope-test.onion") -> tuple[Path, Path]:
    """Write ``key.pem`` and ``cert.pem`` (self-signed, EC P-256) into ``directory``; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


BIG_BODY_BYTES = 300_000
HANG_SECONDS = 30.0
TREE_DEPTH = 3
# Far above any sane header cap: the client has to give up long before the end.
HUGE_HEADER_BYTES = 8 * 1024 * 1024


def tree_paths() -> list[str]:
    """Every ``/tree/...`` path, in breadth-first order (the order a breadth-first crawl fetches them)."""
    level, paths = [""], []
    for _ in range(TREE_DEPTH + 1):
        paths += [f"/tree/{name}" for name in level]
        level = [name + child for name in level for child in "ab"]
    return paths


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        self.server.site.record(self.client_address, self.request)
        first = self.request.recv(1, socket.MSG_PEEK)
        if first == b"\x16" and self.server.site.tls_context is not None:
            self.request = self.server.site.tls_context.wrap_socket(self.request, server_side=True)
            self.server.site.tls_connections += 1
        super().setup()

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        site = self.server.site
        site.record_path(self.path)
        if self.path.startswith("/redirect"):
            target = parse_qs(urlsplit(self.path).query).get("to", [""])[0]
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/huge-headers"):
            self._send_huge_headers()
            return
        if self.path.startswith("/slow"):
            with site.meter.active():
                time.sleep(site.slow_seconds)
        elif self.path.startswith("/hang"):
            time.sleep(HANG_SECONDS)
        scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
        if self.path.startswith("/big"):
            body = b"<html><body>" + b"x" * BIG_BODY_BYTES + b"</body></html>"
        elif self.path.startswith(("/links", "/tree/")):
            body = self._link_page().encode()
        else:
            body = (
                f"<html><head><title>{site.name} {self.path}</title></head>"
                f"<body><p>site={site.name} path={self.path} scheme={scheme}</p></body></html>"
            ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


    def _link_page(self) -> str:
        if self.path.startswith("/tree/"):
            name = self.path[len("/tree/"):]
            targets = [f"/tree/{name}{child}" for child in "ab"] if len(name) < TREE_DEPTH else []
        else:
            targets = parse_qs(urlsplit(self.path).query).get("to", [])
        links = "".join(f'<a href="{html.escape(target)}">{html.escape(target)}</a> ' for target in targets)
        return f"<html><head><title>{html.escape(self.path)}</title></head><body><p>{links}</p></body></html>"

    def _send_huge_headers(self) -> None:
        line = b"X-Filler: " + b"f" * 1000 + b"\r\n"
        sent = 0
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n")
            while sent < HUGE_HEADER_BYTES:
                self.wfile.write(line)
                sent += len(line)
            self.wfile.write(b"Content-Length: 2\r\n\r\nok")
        except OSError:
            pass  # the client hung up: what a capped client does
        finally:
            self.server.site.huge_header_bytes_sent.append(sent)
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    site: "RecordingSite"


class ConcurrencyMeter:
    """Counts requests being served at once (across sites sharing it) and remembers the peak."""

    def __init__(self) -> None:
        self.current = 0
        self.peak = 0
        self._lock = threading.Lock()

    @contextmanager
    def active(self) -> Iterator[None]:
        with self._lock:
            self.current += 1
            self.peak = max(self.peak, self.current)
        try:
            yield
        finally:
            with self._lock:
                self.current -= 1


class SilentSocksServer:
    """Accepts TCP on 127.0.0.1 and never answers: a SOCKS port that hangs."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self.accepted = 0
        self._connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="silent-socks", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            self._connections.append(connection)

    def close(self) -> None:
        self._listener.close()
        for connection in self._connections:
            connection.close()


class RecordingSite:
    """One test site on 127.0.0.1; ``peers`` lists every connecting address."""

    def __init__(self, name: str, cert_files: tuple[Path, Path] | None = None, slow_seconds: float = 0.0,
                 meter: ConcurrencyMeter | None = None):
        self.name = name
        self.slow_seconds = slow_seconds
        self.meter = meter or ConcurrencyMeter()
        self.peers: list[str] = []
        self.paths: list[str] = []
        self.huge_header_bytes_sent: list[int] = []
        self.tls_connections = 0
        self._lock = threading.Lock()
        self.tls_context: ssl.SSLContext | None = None
        if cert_files is not None:
            self.tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.tls_context.load_cert_chain(certfile=str(cert_files[1]), keyfile=str(cert_files[0]))
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.site = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"site-{name}", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def record(self, client_address: tuple[str, int], connection: socket.socket) -> None:
        with self._lock:
            self.peers.append(client_address[0])

    def record_path(self, path: str) -> None:
        with self._lock:
            self.paths.append(path)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeSocksHttpServer:
    """A SOCKS5 port on 127.0.0.1 that answers every CONNECT itself with the chunks ``response_chunks()`` yields.

    It accepts the username/password method the transport offers, replies "succeeded", reads
    the HTTP request and writes the response.  ``sent`` lists how many response bytes each
    connection got out before the client hung up (or the whole response).
    """

    def __init__(self, response_chunks: Callable[[], Iterator[bytes]]):
        self._response_chunks = response_chunks
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self.targets: list[str] = []
        self.sent: list[int] = []
        self._thread = threading.Thread(target=self._accept, name="fake-socks", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            try:
                reader = connection.makefile("rb")
                version, methods = reader.read(2)
                reader.read(methods)
                connection.sendall(b"\x05\x02")  # username/password
                _, user_length = reader.read(2)
                reader.read(user_length)
                reader.read(reader.read(1)[0])
                connection.sendall(b"\x01\x00")
                _, _, _, address_type, host_length = reader.read(5)
                target = reader.read(host_length).decode("ascii")
                port = int.from_bytes(reader.read(2), "big")
                self.targets.append(f"{target}:{port}")
                connection.sendall(b"\x05\x00\x00\x01" + bytes(6))
                while reader.readline() not in (b"\r\n", b"\n", b""):
                    pass  # the request head; no body on a GET
            except (OSError, ValueError, IndexError):
                return
            sent = 0
            try:
                for chunk in self._response_chunks():
                    connection.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass
            finally:
                self.sent.append(sent)

    def close(self) -> None:
        self._listener.close()
