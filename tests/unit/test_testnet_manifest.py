"""The testnet manifest: atomic write, load, recorded PIDs, errors for humans."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.testnet.manifest import ManifestError, load_manifest, recorded_processes, write_manifest


def test_round_trip_and_missing(tmp_path):
    assert load_manifest(tmp_path) is None
    manifest = {"directory": str(tmp_path), "nodes": [
        {"name": "auth0", "pid": 11, "torrc": "/x/auth0.torrc"},
        {"name": "onionhost0", "pid": None, "torrc": "/x/onionhost0.torrc"},
    ]}
    write_manifest(tmp_path, manifest)
    assert load_manifest(tmp_path) == manifest
    assert not list(tmp_path.glob("*.tmp"))
    assert recorded_processes(manifest) == [(11, Path("/x/auth0.torrc"))]


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_unreadable_manifest_says_what_to_do(tmp_path, text):
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(ManifestError, match="manifest.json"):
        load_manifest(tmp_path)
