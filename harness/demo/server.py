"""The demo sites' HTTP server: one 127.0.0.1 port per site, every request logged.

Each demo site gets its own threaded HTTP/1.1 server on loopback; the private
Tor network points one onion service at each port.  Files are read from
``<out_dir>/sites/<site>/`` at request time, so the server can start (and its
ports be known) before the generator has written anything.

Every request is appended to a JSONL *peer log* -- ``{"time", "site",
"local_port", "peer_ip", "peer_port", "method", "target", "status",
"got_cookie", "set_cookie"}`` -- so tests can assert that no media file was
ever requested.  With ``record_peer_owner`` each entry also carries
``peer_pid``, the process that held the client end of the connection (read
from /proc while it is open): the leak test asserts it is always a tor process
of the private network, never the crawler.

Like real markets, each market site keeps a session cookie
(:data:`SESSION_COOKIES`): an HTML page requested without it answers with a
host-only ``Set-Cookie`` (``set_cookie`` in the peer log), and a page
request that carries it back is logged with ``got_cookie``.  The forum sets none.  Cookies
change no page: the ground truth is the same with or without them.

Public API:

* :class:`DemoServer` ``(out_dir, peer_log=None, ports=None, record_peer_owner=False)`` with
  :meth:`~DemoServer.start` ``-> dict[site, port]`` and :meth:`~DemoServer.stop`;
  also a context manager;
* :func:`read_peer_log` ``(path) -> list[dict]``;
* :func:`ensure_demo_sites_running` ``(demo_dir, ...) -> dict[site, port]`` --
  start the server as a detached process (``python -m harness.demo.server``)
  unless one from the same pidfile is already serving (two calls at once take
  turns on a lock, so they start one server); :func:`stop_demo_sites`
  ``(demo_dir) -> bool`` stops it by its pidfile, which records the server's
  start time so that a recycled PID is never signalled (both through the
  project's one process helper, :mod:`config.processes`);
* the command ``python -m harness.demo.server --dir D [--ports-file F]
  [--pidfile P] [--peer-log L] [--port SITE=PORT ...] [--daemon]``; it writes
  the chosen ports to F as JSON once every site is listening, and stops
  cleanly on SIGTERM/SIGINT.

The locked market (:mod:`harness.demo.locked_market`) is served through its
:class:`~harness.demo.locked_market.LoginGate`: ``GET /login`` shows the login
form, ``POST /login`` (the only POST anywhere) checks the credentials and the
CAPTCHA answer of ``<out_dir>/locked-market.json`` and sets the session cookie,
``GET /logout`` ends the session, the home page is public, and every other page
without a valid session is ``302 /login?next=<path>``.  :attr:`DemoServer.locked_gate`
lets a test end every session (:meth:`~harness.demo.locked_market.LoginGate.expire_all`).

Request handling: GET and HEAD only (405 otherwise; POST on the locked market's ``/login``); the target maps to a file
by :func:`harness.demo.paths.file_for_target`, which refuses dot segments,
percent-escapes that decode to separators, and anything outside a short
character set; the resolved file must lie inside the site directory (no
symlink escapes).  Anything else is 404.  Raises :class:`UserError` when a
port is taken or the bind address is not loopback.
"""

from __future__ import annotations

import argparse
import datetime
import errno
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from harness.demo.locked_market import SESSION_COOKIE as LOCKED_SESSION_COOKIE
from harness.demo.locked_market import LoginGate
from harness.demo.paths import file_for_target
from harness.demo.site_names import LOCKED_MARKET, NEBULA, OLD_BAZAAR, SERVED_SITE_NAMES, TUNDRA
from config.processes import (
    OwnedProcess, exclusive_lock, recorded_process, remove_pidfile, runs_python_module, stop_processes, write_pidfile,
)
from harness.testnet.network import loopback_port_free
from harness.testnet.peer_owner import tcp_peer_owner
from config.errors import UserError
from config.i18n import gettext

PIDFILE_NAME = "server.pid"
START_LOCK_NAME = ".server.lock"
SERVER_MODULE = "harness.demo.server"
PORTS_FILE_NAME = "server-ports.json"
PEER_LOG_NAME = "peer-log.jsonl"
SERVER_LOG_NAME = "server.log"

_MAX_TARGET = 2048
_MAX_FORM_BYTES = 4096
# Written by harness.demo_world next to the sites: the locked market's credentials, read per login.
LOCKED_MARKET_FILE = "locked-market.json"
# Each market's session cookie, named as such sites name theirs.
SESSION_COOKIES = {OLD_BAZAAR: "PHPSESSID", NEBULA: "nebula_session", TUNDRA: "tundra_sid"}
_CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "htm": "text/html; charset=utf-8",
    "php": "text/html; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "asc": "text/plain; charset=utf-8",
    "json": "application/json",
    "css": "text/css",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "zip": "application/zip",
}


def content_type_for(relative_file: str) -> str:
    """Content type by the extension of the file name (a ``?query`` suffix ignored)."""
    name = relative_file.rsplit("/", 1)[-1].split("?", 1)[0]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _CONTENT_TYPES.get(extension, "application/octet-stream")


class PeerLog:
    """Append-only JSONL log shared by every site's handler threads."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stream: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = path.open("a", encoding="utf-8")

    def record(self, entry: dict[str, Any]) -> None:
        if self._stream is None:
            return
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()

    def close(self) -> None:
        with self._lock:
            if self._stream is not None:
                self._stream.close()
                self._stream = None


def read_peer_log(path: Path) -> list[dict[str, Any]]:
    """Every entry of a peer log (an absent file is an empty log)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


def _handler_for(site: str, site_root: Path, peer_log: PeerLog, record_peer_owner: bool = False,
                 gate: LoginGate | None = None) -> type[BaseHTTPRequestHandler]:
    class DemoSiteHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "nginx"
        sys_version = ""
        timeout = 30  # an idle keep-alive connection must not pin a thread forever
        # Headers and body leave in one write (handle_one_request flushes), and
        # without Nagle: two small writes would wait on the peer's delayed ACK.
        wbufsize = 256 * 1024
        disable_nagle_algorithm = True
        # The session cookie of the request being answered (reset after each is logged).
        got_cookie = False
        set_cookie = False

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._serve(send_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(send_body=False)

        def _refuse(self) -> None:
            self._respond(405, b"method not allowed\n", "text/plain; charset=utf-8", True, {"Allow": "GET, HEAD"})

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse  # noqa: N815

        def do_POST(self) -> None:  # noqa: N802
            if gate is None or urlsplit(self.path).path != "/login":
                self._refuse()
                return
            try:
                length = min(int(self.headers.get("Content-Length", "0")), _MAX_FORM_BYTES)
            except ValueError:
                length = 0
            form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode("utf-8", "replace")).items()}
            _load_credentials(gate, site_root)
            token = gate.log_in(form.get("username", ""), form.get("password", ""), form.get("captcha", ""))
            if token is None:
                self._serve_file("login.html", True, status=401)
                return
            target = form.get("next", "/")
            target = target if target.startswith("/") and not target.startswith("//") else "/"
            self._respond(303, b"", "text/plain; charset=utf-8", True, {
                "Location": target, "Set-Cookie": f"{LOCKED_SESSION_COOKIE}={token}; Path=/; HttpOnly"})

        def _gated(self, send_body: bool) -> bool:
            """The locked market's rules; True when the request was answered here."""
            path = urlsplit(self.path).path
            token = self._cookie_value(LOCKED_SESSION_COOKIE)
            self.got_cookie = token is not None
            if path == "/logout":
                gate.log_out(token)
                self._respond(302, b"", "text/plain; charset=utf-8", send_body, {
                    "Location": "/", "Set-Cookie": f"{LOCKED_SESSION_COOKIE}=; Path=/; Max-Age=0"})
                return True
            if path == "/login":
                if gate.valid(token):
                    self._respond(302, b"", "text/plain; charset=utf-8", send_body, {"Location": "/"})
                else:
                    self._serve_file("login.html", send_body)
                return True
            if path in ("/", "/index.html") or path.startswith("/captcha") or gate.valid(token):
                return False
            self._respond(302, b"", "text/plain; charset=utf-8", send_body,
                          {"Location": "/login?next=" + path[:200]})
            return True

        def _serve_file(self, relative: str, send_body: bool, status: int = 200) -> None:
            try:
                data = (site_root / relative).read_bytes()
            except OSError:
                self._respond(404, b"not found\n", "text/plain; charset=utf-8", send_body)
                return
            self._respond(status, data, content_type_for(relative), send_body)

        def _cookie_value(self, name: str) -> str | None:
            try:
                morsel = SimpleCookie(self.headers.get("Cookie", "")).get(name)
            except CookieError:
                return None
            return morsel.value if morsel is not None else None

        def _serve(self, send_body: bool) -> None:
            if gate is not None and self._gated(send_body):
                return
            body_file = self._resolve(self.path)
            if body_file is None:
                self._respond(404, b"not found\n", "text/plain; charset=utf-8", send_body)
                return
            path, relative = body_file
            try:
                data = path.read_bytes()
            except OSError:
                self._respond(404, b"not found\n", "text/plain; charset=utf-8", send_body)
                return
            content_type = content_type_for(relative)
            cookie_headers: dict[str, str] = {}
            cookie_name = SESSION_COOKIES.get(site)
            if cookie_name is not None and content_type.startswith("text/html"):
                self.got_cookie = self._has_cookie(cookie_name)
                if not self.got_cookie:
                    # Host-only (no Domain attribute): the cookie the crawler must store for this onion.
                    cookie_headers["Set-Cookie"] = f"{cookie_name}={secrets.token_hex(16)}; Path=/; HttpOnly"
            self._respond(200, data, content_type, send_body, cookie_headers)

        def _has_cookie(self, name: str) -> bool:
            try:
                return name in SimpleCookie(self.headers.get("Cookie", ""))
            except CookieError:
                return False

        def _resolve(self, target: str) -> tuple[Path, str] | None:
            if len(target) > _MAX_TARGET:
                return None
            if target.startswith(("http://", "https://")):  # absolute-form request target
                parts = urlsplit(target)
            else:
                parts = urlsplit("http://placeholder" + (target if target.startswith("/") else "/" + target))
            relative = file_for_target(unquote(parts.path), parts.query)
            if relative is None:
                return None
            root = site_root.resolve()
            candidate = (site_root / relative).resolve()
            if not candidate.is_relative_to(root) or not candidate.is_file():
                return None
            return candidate, relative

        def _respond(
            self, status: int, body: bytes, content_type: str, send_body: bool,
            extra_headers: dict[str, str] | None = None,
        ) -> None:
            self.set_cookie = "Set-Cookie" in (extra_headers or {})
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (extra_headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if send_body:
                self.wfile.write(body)
            self._log(status)

        def _log(self, status: int) -> None:
            peer_ip, peer_port = self.client_address[:2]
            owner: dict[str, Any] = {}
            if record_peer_owner:
                # While the connection is still open, /proc says which process holds its other end.
                owner["peer_pid"] = tcp_peer_owner((peer_ip, peer_port), self.server.server_address[:2])
            peer_log.record({
                **owner,
                "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
                "site": site,
                "local_port": self.server.server_address[1],
                "peer_ip": peer_ip,
                "peer_port": peer_port,
                "method": self.command,
                "target": self.path[:_MAX_TARGET],
                "status": status,
                "got_cookie": self.got_cookie,
                "set_cookie": self.set_cookie,
            })
            self.got_cookie = self.set_cookie = False  # per request, on a kept-alive connection

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the peer log is the record; stderr stays quiet

    return DemoSiteHandler


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class DemoServer:
    """Serve every demo site from ``out_dir/sites/<site>/`` on its own loopback port."""

    def __init__(
        self, out_dir: Path, peer_log: Path | None = None, ports: dict[str, int] | None = None,
        bind_address: str = "127.0.0.1", record_peer_owner: bool = False, locked_session_ttl: float = 3600.0,
    ) -> None:
        if not bind_address.startswith("127."):
            raise UserError(gettext("the demo server binds to loopback only; {address} is not a 127.x address",
                                    address=repr(bind_address)))
        unknown = set(ports or {}) - set(SERVED_SITE_NAMES)
        if unknown:
            raise UserError(gettext("unknown demo site(s) {unknown}; the sites are {sites}",
                                    unknown=", ".join(sorted(unknown)), sites=", ".join(SERVED_SITE_NAMES)))
        self.out_dir = Path(out_dir)
        self.peer_log_path = peer_log
        self.requested_ports = dict(ports or {})
        self.bind_address = bind_address
        self.record_peer_owner = record_peer_owner
        self._servers: dict[str, _SiteServer] = {}
        self._threads: list[threading.Thread] = []
        self._peer_log: PeerLog | None = None
        # The locked market's sessions; credentials are read from LOCKED_MARKET_FILE once it exists.
        self.locked_gate = LoginGate(None, session_ttl=locked_session_ttl)

    @property
    def ports(self) -> dict[str, int]:
        return {site: server.server_address[1] for site, server in self._servers.items()}

    def start(self) -> dict[str, int]:
        """Bind every site and serve in background threads; returns ``{site: port}``."""
        if self._servers:
            return self.ports
        self._peer_log = PeerLog(self.peer_log_path)
        try:
            for site in SERVED_SITE_NAMES:
                port = self.requested_ports.get(site, 0)
                handler = _handler_for(site, self.out_dir / "sites" / site, self._peer_log, self.record_peer_owner,
                                       gate=self.locked_gate if site == LOCKED_MARKET else None)
                try:
                    self._servers[site] = _SiteServer((self.bind_address, port), handler)
                except OSError as error:
                    if error.errno == errno.EADDRINUSE:
                        raise UserError(gettext(
                            "port {port} for demo site {site} is in use; stop what holds it or let the OS choose "
                            "(port 0)", port=port, site=site)) from error
                    raise
        except BaseException:
            self.stop()
            raise
        for site, server in self._servers.items():
            thread = threading.Thread(target=server.serve_forever, name=f"demo-{site}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self.ports

    def stop(self) -> None:
        """Stop serving and close every socket and the peer log (safe to call twice)."""
        for server in self._servers.values():
            if self._threads:
                server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()
        if self._peer_log is not None:
            self._peer_log.close()
            self._peer_log = None

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _load_credentials(gate: LoginGate, site_root: Path) -> None:
    """Give ``gate`` the locked market's credentials from the generator's file (once it exists)."""
    if gate.credentials is None:
        data = _read_json(site_root.parent.parent / LOCKED_MARKET_FILE)
        if isinstance(data, dict) and isinstance(data.get("credentials"), dict):
            gate.credentials = {key: str(value) for key, value in data["credentials"].items()}


# --------------------------------------------------------------------------- process helpers


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_server(arguments: list[str]) -> bool:
    return runs_python_module(arguments, SERVER_MODULE)


def _running_server(pidfile: Path) -> OwnedProcess | None:
    """The process in ``pidfile`` if it still runs and is the demo server recorded there.

    Checked by start time and command line (:mod:`config.processes`):
    a recycled PID belongs to something else and is never signalled.
    """
    return recorded_process(pidfile, _is_server)


def _ports_answer(ports: dict[str, int], bind_address: str = "127.0.0.1") -> bool:
    for port in ports.values():
        try:
            with socket.create_connection((bind_address, port), timeout=1):
                pass
        except OSError:
            return False
    return True


def ensure_demo_sites_running(
    demo_dir: Path, peer_log: Path | None = None, ports: dict[str, int] | None = None,
    timeout: float = 20.0, python: str = sys.executable,
) -> dict[str, int]:
    """Return ``{site: port}`` of a running demo server for ``demo_dir``, starting one if needed.

    The server runs detached (its own session) and outlives the caller; stop it
    with :func:`stop_demo_sites`.  A restart reuses the previous ports when
    they are free, so onion services that point at them stay valid.  Raises
    UserError if it does not answer within ``timeout`` seconds (its log is
    ``<demo_dir>/server.log``).
    """
    demo_dir = Path(demo_dir).resolve()
    demo_dir.mkdir(parents=True, exist_ok=True)
    # Two `demo up`s (or test sessions) at once must not start two servers for one folder.
    with exclusive_lock(demo_dir / START_LOCK_NAME):
        return _ensure_running(demo_dir, peer_log, ports, timeout, python)


def _ensure_running(
    demo_dir: Path, peer_log: Path | None, ports: dict[str, int] | None, timeout: float, python: str,
) -> dict[str, int]:
    pidfile = demo_dir / PIDFILE_NAME
    ports_file = demo_dir / PORTS_FILE_NAME
    known = _read_json(ports_file)
    if _running_server(pidfile) and isinstance(known, dict) and _ports_answer(known):
        return {site: int(port) for site, port in known.items()}
    wanted = dict(ports or (known if isinstance(known, dict) else {}))
    if wanted and not ports:
        # Previous ports are a wish, not a must: drop any that something else now holds.
        wanted = {site: port for site, port in wanted.items()
                  if site in SERVED_SITE_NAMES and loopback_port_free(int(port))}
    ports_file.unlink(missing_ok=True)
    command = [
        python, "-m", SERVER_MODULE, "--dir", str(demo_dir),
        "--ports-file", str(ports_file), "--pidfile", str(pidfile),
        "--peer-log", str(peer_log or demo_dir / PEER_LOG_NAME),
    ]
    for site, port in sorted(wanted.items()):
        command += ["--port", f"{site}={int(port)}"]
    with (demo_dir / SERVER_LOG_NAME).open("ab") as log:
        # A detached server lives in its own folder and imports the code this process runs.
        process = subprocess.Popen(
            command, cwd=demo_dir, env=_environment_importing_this_code(), stdin=subprocess.DEVNULL,
            stdout=log, stderr=log, start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = _read_json(ports_file)
        if isinstance(started, dict) and _ports_answer(started):
            return {site: int(port) for site, port in started.items()}
        if process.poll() is not None:
            break
        time.sleep(0.05)
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=5)
    raise UserError(gettext("the demo server did not start within {seconds} s; see {log}", seconds=f"{timeout:.0f}",
                            log=demo_dir / SERVER_LOG_NAME))


def _environment_importing_this_code() -> dict[str, str]:
    """This process's environment with the folder ``harness`` was imported from first on PYTHONPATH."""
    import_root = str(Path(__file__).resolve().parents[2])
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [import_root, *(part for part in environment.get("PYTHONPATH", "").split(os.pathsep) if part)])
    return environment


def stop_demo_sites(demo_dir: Path, timeout: float = 10.0) -> bool:
    """Stop the demo server whose pidfile is in ``demo_dir``; True if one was stopped.

    A pidfile that no longer names the server it recorded (see :func:`_running_server`)
    is removed and its PID left alone.
    """
    pidfile = Path(demo_dir) / PIDFILE_NAME
    server = _running_server(pidfile)
    if server is None:
        pidfile.unlink(missing_ok=True)
        return False
    stop_processes([server], grace_seconds=timeout)
    pidfile.unlink(missing_ok=True)
    return True


# --------------------------------------------------------------------------- command


def _parse_ports(values: list[str]) -> dict[str, int]:
    ports: dict[str, int] = {}
    for value in values:
        site, separator, port = value.partition("=")
        if not separator or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise UserError(gettext("--port wants SITE=PORT (for example old-bazaar=8081), got {value}",
                                    value=repr(value)))
        ports[site] = int(port)
    return ports


def _daemonize() -> None:
    """Detach twice so the server is adopted by init and has no terminal."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for descriptor in (0, 1, 2):
        os.dup2(devnull, descriptor)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.demo.server", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", required=True, type=Path, help="demo directory (sites/ lives here)")
    parser.add_argument("--ports-file", type=Path, help="write {site: port} JSON here once listening")
    parser.add_argument("--pidfile", type=Path, help="write this process's PID here")
    parser.add_argument("--peer-log", type=Path, help="JSONL log of every request (default DIR/peer-log.jsonl)")
    parser.add_argument("--port", action="append", default=[], metavar="SITE=PORT", help="fixed port for a site")
    parser.add_argument("--daemon", action="store_true", help="detach from the terminal (default: foreground)")
    args = parser.parse_args(argv)
    try:
        ports = _parse_ports(args.port)
        if args.daemon:
            _daemonize()
        server = DemoServer(args.dir, peer_log=args.peer_log or args.dir / PEER_LOG_NAME, ports=ports)
        chosen = server.start()
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    if args.pidfile:
        write_pidfile(args.pidfile, os.getpid())
    if args.ports_file:
        _write_atomically(args.ports_file, json.dumps(chosen, sort_keys=True) + "\n")
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        server.stop()
        if args.pidfile:
            remove_pidfile(args.pidfile, os.getpid())
    return 0


if __name__ == "__main__":
    sys.exit(main())
