"""`onionscope testnet` argument parsing and status text."""

from __future__ import annotations

import argparse

import pytest

from onionscope.commands.testnet import configure, format_status


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure(parser)
    return parser.parse_args(argv)


def test_subcommands_parse():
    assert _parse("up", "--timeout", "30").timeout == 30.0
    assert _parse("down").testnet_action == "down"
    assert _parse("status", "--json").json is True
    with pytest.raises(SystemExit):
        _parse("sideways")


def test_status_text_names_each_node_and_its_state():
    report = {
        "state": "degraded", "directory": "/var/testnet", "consensus_relays": 5,
        "nodes": [
            {"name": "auth0", "role": "authority", "pid": 10, "or_port": 15001, "control_port": 15003,
             "socks_port": None, "running": True},
            {"name": "onionhost0", "role": "onion_host", "pid": None, "running": False},
            {"name": "client0", "role": "client", "pid": 12, "or_port": None, "control_port": 15073,
             "socks_port": 15074, "running": True, "bootstrap": 100, "bootstrap_summary": "Done"},
            {"name": "relay0", "role": "relay", "pid": 11, "or_port": 15031, "control_port": 15033,
             "socks_port": None, "running": False},
        ],
        "onion_services": [{"name": "market-a", "onion_host": "x" * 56 + ".onion", "target": "127.0.0.1:4000"}],
    }
    text = format_status(report)
    assert "degraded" in text and "consensus lists 5 relays" in text
    assert "bootstrap 100% (Done)" in text and "SOCKS 15074" in text
    assert "relay0" in text and "NOT RUNNING" in text
    assert "onionhost0" not in text  # never started: nothing to report
    assert "market-a" in text
    assert "down" in format_status({"state": "down", "directory": "/v", "nodes": []})
