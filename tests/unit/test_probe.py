"""Blocking pysocks probe: input checks and a closed SOCKS port (no tor needed)."""

from __future__ import annotations

import socket

import pytest

from crawler.tor.probe import ProbeError, probe_url


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("url", ["ftp://x.onion/", "x.onion", "http:///path"])
def test_rejects_non_http_urls(url):
    with pytest.raises(ProbeError, match="not an http"):
        probe_url(url, "127.0.0.1", 9, timeout=1)


def test_closed_socks_port_names_tor():
    port = closed_port()
    with pytest.raises(ProbeError, match=f"tor SOCKS port 127.0.0.1:{port} could not be reached"):
        probe_url("http://" + "a" * 56 + ".onion/", "127.0.0.1", port, timeout=2)
