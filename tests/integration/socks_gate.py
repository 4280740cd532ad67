"""A gate in front of tor's SOCKS port, for tests that need a crawl to be in the middle of a fetch.

:class:`SocksGate` listens on a free 127.0.0.1 port and relays each
connection to the real tor SOCKS port, byte for byte.  Onion HTTP is plain
text inside the SOCKS stream, so the gate can see request lines: a request
whose bytes match ``hold`` (a regular expression) is held -- not passed on --
until :meth:`SocksGate.release`.  :attr:`SocksGate.held` is set when the first
request is held, so a test waits on that, not on a clock.  The crawl still goes
through the real tor of the private network; nothing is mocked.
"""

from __future__ import annotations

import re
import select
import socket
import threading


class SocksGate:
    def __init__(self, upstream: str, hold: bytes):
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.hold = re.compile(hold)
        self.held = threading.Event()
        self._open = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True, name="socks-gate")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "SocksGate":
        self._thread.start()
        return self

    def release(self) -> None:
        """Relay every held connection, and every later one."""
        self._open.set()

    def stop(self) -> None:
        self._stopped.set()
        self._open.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            with socket.create_connection(self.upstream, timeout=10) as upstream:
                upstream.settimeout(None)
                self._pump(client, upstream)
        except OSError:
            pass
        finally:
            client.close()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        sockets = [client, upstream]
        while not self._stopped.is_set():
            readable, _, _ = select.select(sockets, [], [], 0.5)
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                if source is client and not self._open.is_set() and self.hold.search(data):
                    self.held.set()
                    self._open.wait()
                    if self._stopped.is_set():
                        return
                (upstream if source is client else client).sendall(data)
