"""The JSON manifest of a private Tor network: ``<network dir>/manifest.json``.

Format (docs/ARCHITECTURE.md, extended)::

    {"directory", "base_port", "relays", "state": "starting" | "ready",
     "ready_seconds", "last_up_timings": {phase: seconds},
     "exit_bind_address": "127.0.0.2", "onion_service_bind_address": null,
     "dir_authorities": ["DirAuthority auth0 ...", ...],
     "clients": [{"name", "socks_port", "control_port", "cookie_path", "pid"}],
     "onion_services": [{"name", "onion_host", "virtual_port", "target", "pid"}],
     "nodes": [{"name", "role", "pid", "or_port", "dir_port", "control_port",
                "socks_port", "data_dir", "torrc", "log"}]}

``exit_bind_address`` is what the exits' torrcs ask for, but tor binds no
outbound address for loopback destinations, so servers on 127.0.0.1 see exit
and onion-service traffic from 127.0.0.1; ``onion_service_bind_address`` is
null for the same reason (see :mod:`harness.testnet.peer_owner` for how to
tell tor's connections apart).  ``dir_authorities`` are the lines a further
tor needs to join this network.

Public API: :func:`write_manifest` (atomic: readers never see half a file),
:func:`load_manifest` -> ``dict`` or ``None`` when no network was started in
that folder, :func:`manifest_path`, :func:`recorded_processes` -> the
``(pid, torrc)`` of every node with a PID.  Raises :class:`ManifestError`
(a :class:`~config.errors.UserError`) for a manifest that is not valid JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from config.errors import UserError
from config.i18n import gettext

MANIFEST_NAME = "manifest.json"


class ManifestError(UserError):
    """The manifest exists but cannot be read."""


def manifest_path(directory: Path) -> Path:
    return Path(directory) / MANIFEST_NAME


def write_manifest(directory: Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest`` to ``<directory>/manifest.json`` atomically; returns the path."""
    path = manifest_path(directory)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path


def load_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest in ``directory``, or ``None`` if there is none (nothing started there)."""
    path = manifest_path(directory)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(gettext("{path} is not valid JSON ({problem}); stop any tor it started by PID and delete the file",
                                    path=path, problem=exc)) from None
    if not isinstance(manifest, dict):
        raise ManifestError(gettext("{path} does not hold a JSON object; delete it and run `onionscope testnet up`",
                                    path=path))
    return manifest


def recorded_processes(manifest: dict[str, Any]) -> list[tuple[int, Path]]:
    """``(pid, torrc)`` of every node of ``manifest`` that has a PID."""
    return [
        (int(node["pid"]), Path(node["torrc"]))
        for node in manifest.get("nodes", [])
        if node.get("pid") and node.get("torrc")
    ]
