"""Run a crawl inside a fresh network namespace and record every packet it sends (the leak test's runner).

Usage: ``unshare -n -- python -m tests.integration.netns_crawl`` with a JSON spec on stdin::

    {"relays": [[port, "/path/to/unix.sock"], ...], "crawl": ["crawl", "--seed", ...],
     "env": {...}, "timeout": 300}

In the namespace there is only ``lo``.  The runner

1. checks that (``interfaces`` in the report) and brings ``lo`` up;
2. makes every IPv4 and IPv6 address local to ``lo`` (``ip route add local 0.0.0.0/0 dev lo``),
   so that a packet to *any* address -- a DNS server from /etc/resolv.conf, a clearnet IP --
   travels over ``lo``, where it is seen, and can never leave: the namespace has no other
   interface;
3. records, with an ``AF_PACKET`` socket on ``lo``, every TCP SYN and every UDP datagram
   (family, destination, port);
4. opens 127.0.0.1:port -> Unix socket relays (:mod:`tests.integration.socket_relay`), the
   only way out: the test puts tor's SOCKS port and Elasticsearch behind them;
5. runs the *control*: a process that looks up a clearnet name and connects to an IPv4 and
   an IPv6 documentation address.  The recorder must see those, or it proves nothing;
6. runs ``python -m onionscope.cli`` with the ``crawl`` arguments and records what it sends.

It prints one JSON report: ``interfaces``, ``control`` and ``crawl`` (the packets of each
phase), ``crawl_returncode``, ``crawl_stdout``, ``crawl_stderr`` (tail), ``seconds``.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.integration.socket_relay import TcpToUnixRelay

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
CONTROL_NAME = "control-lookup.example.com"
CONTROL_V4 = ("198.51.100.7", 8081)
CONTROL_V6 = ("2001:db8::7", 8082)

CONTROL_CODE = f"""
import socket
try:
    socket.getaddrinfo({CONTROL_NAME!r}, 80, type=socket.SOCK_STREAM)
except OSError:
    pass
for family, address in ((socket.AF_INET, {CONTROL_V4!r}), (socket.AF_INET6, {CONTROL_V6!r})):
    with socket.socket(family) as sock:
        sock.settimeout(3)
        try:
            sock.connect(address)
        except OSError:
            pass
"""


class PacketRecorder:
    """Every TCP SYN and UDP datagram that crosses ``lo``, tagged with the phase it was seen in."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._socket.bind(("lo", 0))
        self._socket.settimeout(0.2)
        self.phase = "setup"
        self.packets: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="packet-recorder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame, address = self._socket.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if address[2] == PACKET_OUTGOING:  # lo shows each packet twice: keep the received copy
                continue
            packet = parse_frame(frame)
            if packet is not None:
                packet["phase"] = self.phase
                self.packets.append(packet)

    def of(self, phase: str) -> list[dict[str, Any]]:
        return [packet for packet in list(self.packets) if packet["phase"] == phase]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()


def parse_frame(frame: bytes) -> dict[str, Any] | None:
    """A TCP SYN or a UDP datagram on ``lo`` as ``{"proto", "family", "dst", "dport"}``; None for anything else."""
    ether_type = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if ether_type == 0x0800 and len(ip) >= 20:
        header_length = (ip[0] & 0x0F) * 4
        protocol, destination, family = ip[9], socket.inet_ntop(socket.AF_INET, ip[16:20]), 4
        payload = ip[header_length:]
    elif ether_type == 0x86DD and len(ip) >= 40:
        protocol, destination, family = ip[6], socket.inet_ntop(socket.AF_INET6, ip[24:40]), 6
        payload = ip[40:]
    else:
        return None
    if protocol == 6 and len(payload) >= 14:
        flags = payload[13]
        if not (flags & 0x02) or flags & 0x10:  # only SYN without ACK: a connection attempt
            return None
        proto = "tcp"
    elif protocol == 17 and len(payload) >= 8:
        proto = "udp"
    else:
        return None
    return {"proto": proto, "family": family, "dst": destination, "dport": struct.unpack("!H", payload[2:4])[0]}


def _ip(*arguments: str) -> None:
    subprocess.run(["ip", *arguments], check=True, capture_output=True, text=True)


def _wait_for(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def main() -> int:
    spec = json.loads(sys.stdin.read())
    # socket.if_nameindex asks the kernel about this namespace (/sys/class/net shows the mounter's).
    interfaces = sorted(name for _, name in socket.if_nameindex())
    report: dict[str, Any] = {"interfaces": interfaces}
    if interfaces != ["lo"]:
        # Not a fresh namespace: run nothing that could reach a real network.
        print(json.dumps(report))
        return 2
    _ip("link", "set", "lo", "up")
    _ip("route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "local")
    ipv6 = Path("/proc/sys/net/ipv6").exists()
    if ipv6:
        _ip("-6", "route", "add", "local", "::/0", "dev", "lo", "table", "local")
    report["ipv6"] = ipv6
    recorder = PacketRecorder()
    relays = [TcpToUnixRelay(int(port), Path(path)) for port, path in spec["relays"]]
    try:
        recorder.phase = "control"
        subprocess.run([sys.executable, "-c", CONTROL_CODE], timeout=60, check=False)

        def control_seen() -> bool:
            seen = recorder.of("control")
            return (any(p["proto"] == "udp" and p["dport"] == 53 for p in seen)
                    and any(p["dst"] == CONTROL_V4[0] for p in seen)
                    and (not ipv6 or any(p["dst"] == CONTROL_V6[0] for p in seen)))

        _wait_for(control_seen, 5.0)
        time.sleep(0.3)  # late copies (a resolver's second try) still count as the control's
        recorder.phase = "crawl"
        began = time.monotonic()
        environment = {**os.environ, **spec["env"]}
        done = subprocess.run([sys.executable, "-m", "onionscope.cli", *spec["crawl"]], env=environment,
                              capture_output=True, text=True, timeout=float(spec.get("timeout", 300)), check=False)
        report["seconds"] = round(time.monotonic() - began, 1)
        time.sleep(0.3)
        recorder.phase = "after"
        report.update(crawl_returncode=done.returncode, crawl_stdout=done.stdout, crawl_stderr=done.stderr[-6000:])
        report["relay_connections"] = {str(port): relay.connections for (port, _), relay in zip(spec["relays"], relays)}
    finally:
        for relay in relays:
            relay.close()
        recorder.close()
    report["control"] = recorder.of("control")
    report["crawl"] = recorder.of("crawl")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
