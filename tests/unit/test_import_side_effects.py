"""Importing a module never loads settings, reads a data file or touches the network.

A fresh interpreter, with an audit hook installed first, imports every module
of config, crawler, pipelines, search, harness and onionscope (Scrapy's
project module included).  No file under the config folder (``config_dir``'s
default) other than Python code, and nothing under the var folder, may be
opened -- not even tried -- and no socket may be created, connected or looked up.
The one exception is a dependency's, not ours: urllib3 checks at import whether
the machine has IPv6 by binding a socket to ``[::1]:0`` (loopback, nothing sent).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from config import paths
from tests import PROJECT_ROOT

PACKAGES = ("config", "crawler", "pipelines", "search", "harness", "onionscope")

_PROBE = textwrap.dedent("""
    import importlib, json, sys

    opened, network = [], []

    def hook(event, args):
        if event == "open" and isinstance(args[0], (str, bytes)):
            opened.append(args[0] if isinstance(args[0], str) else args[0].decode("utf-8", "replace"))
        elif event.startswith("socket."):
            network.append([event, repr(args[1]) if event in ("socket.bind", "socket.connect") else ""])

    sys.addaudithook(hook)
    modules = json.loads(sys.argv[1])
    failed = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # reported, so a broken module cannot hide from the check
            failed[name] = f"{type(exc).__name__}: {exc}"
    print(json.dumps({"opened": opened, "network": network, "failed": failed, "imported": len(modules)}))
""")


def _modules() -> list[str]:
    names = ["crawler.scrapy_project"]
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if parts[-1] != "__main__":
                names.append(".".join(parts))
    return list(dict.fromkeys(names))


def _is_code(path: Path) -> bool:
    return path.suffix in (".py", ".pyc") or "__pycache__" in path.parts


def test_importing_every_module_reads_no_data_file_and_opens_no_socket() -> None:
    modules = _modules()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ONIONSCOPE_")}
    environment["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), environment.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(modules)], cwd=PROJECT_ROOT, env=environment,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["failed"] == {} and report["imported"] == len(modules) > 100

    watched = (paths.PACKAGE_DIR, PROJECT_ROOT / "var")
    touched = sorted({
        str(path) for path in (Path(os.path.abspath(os.path.join(PROJECT_ROOT, name))) for name in report["opened"])
        if any(path.is_relative_to(folder) for folder in watched) and not _is_code(path)
    })
    assert touched == [], "importing opened data or runtime files: " + ", ".join(touched)
    # urllib3's IPv6 probe (urllib3/util/connection.py: HAS_IPV6 = _has_ipv6("::1")): one socket, bound to [::1]:0.
    ipv6_probe = [["socket.__new__", ""], ["socket.bind", "('::1', 0)"]]
    network = report["network"]
    if network[:2] == ipv6_probe:
        network = network[2:]
    assert network == [], "importing used sockets: " + ", ".join(f"{event} {address}" for event, address in network)


def test_the_probe_sees_a_file_and_a_socket_opened_at_import(tmp_path: Path) -> None:
    # The check above must be able to fail: a module that reads a data file and makes a socket.
    module = tmp_path / "noisy_module.py"
    module.write_text(f"import socket\nopen({str(paths.PACKAGE_DIR / 'countries.yml')!r}).close()\n"
                      "socket.socket().close()\n")
    environment = dict(os.environ, PYTHONPATH=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(["noisy_module"])], env=environment,
                          capture_output=True, text=True, timeout=60, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert str(paths.PACKAGE_DIR / "countries.yml") in report["opened"]
    assert ["socket.__new__", ""] in report["network"]
