"""A byte relay between a TCP port and a Unix socket, to reach the host from a network namespace.

A Unix socket is a file, so it crosses network namespaces: the test opens
:class:`UnixToTcpRelay` in the host namespace (a Unix socket path in front of a
127.0.0.1 port: tor's SOCKS port, Elasticsearch), and the process inside the
namespace opens :class:`TcpToUnixRelay` (127.0.0.1:port inside the namespace in
front of that path).  Nothing else connects the two namespaces.

Both relay every accepted connection with two pump threads and count the
connections they carried (``connections``).
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Callable


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((target, socket.SHUT_WR), (source, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


class _Relay:
    def __init__(self, listener: socket.socket, connect: Callable[[], socket.socket], name: str) -> None:
        self._listener = listener
        self._connect = connect
        self.connections = 0
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name=name, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = self._connect()
            except OSError:
                client.close()
                continue
            with self._lock:
                self.connections += 1
                self._open += [client, upstream]
            threading.Thread(target=self._carry, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _carry(client: socket.socket, upstream: socket.socket) -> None:
        back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        back.start()
        _pump(client, upstream)
        back.join()
        client.close()
        upstream.close()

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._open:
                try:
                    sock.close()
                except OSError:
                    pass


class UnixToTcpRelay(_Relay):
    """Listens on the Unix socket ``path``; each connection is carried to ``127.0.0.1:port``."""

    def __init__(self, path: Path, port: int) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        listener.listen(256)
        self.path = path
        super().__init__(listener, lambda: socket.create_connection(("127.0.0.1", port)), f"relay-{path.name}")


class TcpToUnixRelay(_Relay):
    """Listens on ``127.0.0.1:port``; each connection is carried to the Unix socket ``path``."""

    def __init__(self, port: int, path: Path) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(256)

        def connect() -> socket.socket:
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(str(path))
            return upstream

        super().__init__(listener, connect, f"relay-{port}")
