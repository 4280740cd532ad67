"""An extra tor client launched through crawler.tor.control against a running private testnet.

:func:`private_client_torrc` writes a client-only torrc whose DirAuthority lines are copied
from a testnet node's torrc (so it can only ever talk to that network), with
``ExtendedErrors`` on its SocksPort.  :func:`launch_private_client` starts it with
:func:`crawler.tor.control.launch_tor` and returns the :class:`LaunchedTor` (the caller
stops it).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from crawler.tor.control import LaunchedTor, launch_tor, parse_torrc


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dir_authority_lines(manifest: dict[str, Any]) -> list[str]:
    """The DirAuthority lines of the testnet described by ``manifest``."""
    recorded = [line for line in manifest.get("dir_authorities") or [] if line.startswith("DirAuthority ")]
    if recorded:
        return recorded
    for node in manifest["nodes"]:
        torrc = node.get("torrc")
        if torrc and Path(torrc).exists():
            values = parse_torrc(Path(torrc).read_text(encoding="utf-8")).get("dirauthority", [])
            if values:
                return [f"DirAuthority {value}" for value in values]
    raise AssertionError("no testnet torrc with DirAuthority lines in the manifest")


def private_client_torrc(manifest: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    empty = directory / "empty"
    empty.write_text("", encoding="utf-8")
    data_dir = directory / "data"
    data_dir.mkdir(mode=0o700, exist_ok=True)
    lines = [
        "TestingTorNetwork 1",
        "UseDefaultFallbackDirs 0",
        *dir_authority_lines(manifest),
        f"DataDirectory {data_dir}",
        f"SocksPort 127.0.0.1:{free_port()} ExtendedErrors",
        f"ControlPort 127.0.0.1:{free_port()}",
        "CookieAuthentication 1",
        f"Log notice file {directory / 'notice.log'}",
        "NumCPUs 1",
        f"GeoIPFile {empty}",
        f"GeoIPv6File {empty}",
        "UseMicrodescriptors 0",
        "SafeLogging 0",
        "ShutdownWaitLength 0",
    ]
    torrc = directory / "torrc"
    torrc.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return torrc


def launch_private_client(manifest: dict[str, Any], directory: Path) -> LaunchedTor:
    return launch_tor(private_client_torrc(manifest, directory), timeout=60)
