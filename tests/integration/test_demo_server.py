"""The demo server: serves generated sites from disk, logs every peer, refuses traversal."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from harness.demo.generator import GROUND_TRUTH_FILE, SITE_NAMES, generate_world, placeholder_onion_hosts
from harness.demo.server import (
    PIDFILE_NAME, SESSION_COOKIES, DemoServer, ensure_demo_sites_running, read_peer_log, stop_demo_sites,
)
from config.processes import PidRecord, process_arguments, process_start_ticks, read_pidfile, runs_python_module
from tests import PROJECT_ROOT

SEED = 4242


def _raw_get(port: int, target: str) -> int:
    """Send a request line exactly as written (clients would normalise ``..``); return the status."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(f"GET {target} HTTP/1.1\r\nHost: x.onion\r\nConnection: close\r\n\r\n".encode("latin-1"))
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def _wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out_dir = tmp_path_factory.mktemp("demo-served")
    truth = generate_world(SEED, placeholder_onion_hosts(SEED), out_dir)
    (out_dir / "secret.txt").write_text("outside the site")
    return out_dir, truth


@pytest.fixture(scope="module")
def module_server(generated: tuple[Path, dict[str, Any]]):
    out_dir, truth = generated
    with DemoServer(out_dir) as server:
        yield server.ports, truth


@pytest.fixture()
def served(tmp_path: Path):
    peer_log = tmp_path / "peers.jsonl"
    server = DemoServer(tmp_path, peer_log=peer_log)
    ports = server.start()
    try:
        yield tmp_path, ports, peer_log
    finally:
        server.stop()


def test_serves_files_written_after_start_and_logs_every_peer(served) -> None:
    out_dir, ports, peer_log = served
    assert set(ports) == set(SITE_NAMES) and len(set(ports.values())) == len(ports)
    site = SITE_NAMES[0]
    with httpx.Client(base_url=f"http://127.0.0.1:{ports[site]}") as client:
        assert client.get("/").status_code == 404  # nothing generated yet
        truth = generate_world(SEED, placeholder_onion_hosts(SEED), out_dir)
        pages = truth["sites"][site]["pages"]
        for url in pages:
            parts = urlsplit(url)
            response = client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
            assert response.status_code == 200, url
            assert response.headers["content-type"] == "text/html; charset=utf-8"
            assert truth["sites"][site]["onion_host"] in response.text or "<html" in response.text
        media = next(url for url in truth["sites"][site]["media_urls"] if url.endswith(".jpg"))
        response = client.get(urlsplit(media).path)
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        assert response.content[:2] == b"\xff\xd8"
        assert client.head("/").status_code == 200
        assert client.post("/").status_code == 405
    # pages, plus the first 404, the image, the HEAD and the POST
    entries = _wait_for(lambda: (log := read_peer_log(peer_log)) and len(log) >= len(pages) + 4 and log,
                        5, "peer log entries")
    assert len(entries) == len(pages) + 4
    assert {entry["site"] for entry in entries} == {site}
    assert {entry["peer_ip"] for entry in entries} == {"127.0.0.1"}
    assert all(entry["local_port"] == ports[site] and entry["peer_port"] > 0 for entry in entries)
    assert [entry["status"] for entry in entries][:1] == [404]
    assert urlsplit(media).path in {entry["target"] for entry in entries}
    assert {"GET", "HEAD", "POST"} == {entry["method"] for entry in entries}


def test_markets_keep_a_host_only_session_cookie_and_the_forum_none(generated, tmp_path: Path) -> None:
    out_dir, truth = generated
    peer_log = tmp_path / "peers.jsonl"
    with DemoServer(out_dir, peer_log=peer_log) as server:
        for site, port in server.ports.items():
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                first = client.get("/")
                again = client.get("/")  # the client's jar sends the cookie back
                media = next(url for url in truth["sites"][site]["media_urls"] if url.endswith(".jpg"))
                image = client.get(urlsplit(media).path)
            assert first.status_code == again.status_code == image.status_code == 200
            assert "set-cookie" not in again.headers and "set-cookie" not in image.headers
            if site not in SESSION_COOKIES:
                assert "set-cookie" not in first.headers
                continue
            set_cookie = first.headers["set-cookie"]
            assert set_cookie.startswith(f"{SESSION_COOKIES[site]}=")
            assert "domain=" not in set_cookie.lower()  # host-only, as the crawler must store it
    entries = _wait_for(lambda: (log := read_peer_log(peer_log)) and len(log) >= 3 * len(SITE_NAMES) and log,
                        5, "peer log entries")
    by_site = {site: [(e["set_cookie"], e["got_cookie"]) for e in entries if e["site"] == site] for site in SITE_NAMES}
    for site, flags in by_site.items():
        if site in SESSION_COOKIES:
            assert flags == [(True, False), (False, True), (False, False)], site
        else:
            assert flags == [(False, False)] * 3, site


def test_each_site_serves_its_own_tree(module_server) -> None:
    ports, truth = module_server
    targets_of = {
        site: {url.split(".onion", 1)[1] for url in truth["sites"][site]["pages"]} for site in SITE_NAMES
    }
    for site in SITE_NAMES:
        assert httpx.get(f"http://127.0.0.1:{ports[site]}/").status_code == 200
        for other in SITE_NAMES:
            if other != site:
                foreign = sorted(targets_of[other] - targets_of[site])[0]
                assert httpx.get(f"http://127.0.0.1:{ports[site]}{foreign}").status_code == 404


@pytest.mark.parametrize("target", [
    "/../ground_truth.json",
    "/../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/..%2f..%2f" + GROUND_TRUTH_FILE,
    "//etc/passwd",
    "/./index.html",
    "/.sites-new/index.html",
    "/index.html%00.jpg",
    "/category.php?id=1%2f..",
    "http://x.onion/../../secret.txt",
    "/" + "a" * 5000,
])
def test_traversal_and_odd_targets_are_404(module_server, target: str) -> None:
    ports, _ = module_server
    assert _raw_get(ports[SITE_NAMES[0]], target) in (400, 404, 414)
    assert _raw_get(ports[SITE_NAMES[0]], "/") == 200


def test_symlink_out_of_the_site_is_not_followed(generated, module_server) -> None:
    out_dir, _ = generated
    ports, _ = module_server
    site_dir = out_dir / "sites" / SITE_NAMES[0]
    (site_dir / "leak.txt").symlink_to(out_dir / "secret.txt")
    (site_dir / "notes.txt").write_text("inside")
    assert _raw_get(ports[SITE_NAMES[0]], "/notes.txt") == 200
    assert _raw_get(ports[SITE_NAMES[0]], "/leak.txt") == 404


def test_fixed_ports_and_port_in_use_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        from config.errors import UserError

        with pytest.raises(UserError, match=f"port {taken}"):
            DemoServer(tmp_path, ports={SITE_NAMES[1]: taken}).start()
    with pytest.raises(Exception, match="loopback"):
        DemoServer(tmp_path, bind_address="0.0.0.0")


def test_command_writes_ports_and_stops_on_sigterm(generated, tmp_path: Path) -> None:
    out_dir, _ = generated
    ports_file, pidfile, peer_log = tmp_path / "ports.json", tmp_path / "server.pid", tmp_path / "peers.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.demo.server", "--dir", str(out_dir), "--peer-log", str(peer_log),
         "--ports-file", str(ports_file), "--pidfile", str(pidfile)],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        ports = _wait_for(lambda: ports_file.exists() and json.loads(ports_file.read_text()), 15, "ports file")
        assert read_pidfile(pidfile) == PidRecord(process.pid, process_start_ticks(process.pid))
        assert httpx.get(f"http://127.0.0.1:{ports[SITE_NAMES[3]]}/").status_code == 200
        logged = _wait_for(lambda: read_peer_log(peer_log), 5, "peer log entry")
        assert logged[-1]["site"] == SITE_NAMES[3] and logged[-1]["target"] == "/"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert not pidfile.exists()


def test_ensure_running_reuses_the_server_and_stop_ends_it(tmp_path: Path) -> None:
    # The server starts before anything is generated (the demo learns onion hosts later).
    try:
        ports = ensure_demo_sites_running(tmp_path, timeout=20)
        pid = read_pidfile(tmp_path / PIDFILE_NAME).pid
        assert ensure_demo_sites_running(tmp_path, timeout=20) == ports
        assert read_pidfile(tmp_path / PIDFILE_NAME).pid == pid
        assert httpx.get(f"http://127.0.0.1:{ports[SITE_NAMES[2]]}/").status_code == 404  # not generated yet
    finally:
        stopped = stop_demo_sites(tmp_path)
    assert stopped
    _wait_for(lambda: not os.path.exists(f"/proc/{pid}") or b"harness.demo.server"
              not in Path(f"/proc/{pid}/cmdline").read_bytes(), 10, "server exit")
    assert not stop_demo_sites(tmp_path)
    # A restart asks for the same ports again, so onion services keep pointing at them.
    try:
        assert ensure_demo_sites_running(tmp_path, timeout=20) == ports
    finally:
        stop_demo_sites(tmp_path)


def _demo_servers_for(demo_dir: Path) -> list[int]:
    """PIDs of every demo server whose --dir is ``demo_dir`` (read from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        arguments = process_arguments(int(entry.name)) if entry.name.isdigit() else None
        if arguments and runs_python_module(arguments, "harness.demo.server") and str(demo_dir.resolve()) in arguments:
            pids.append(int(entry.name))
    return pids


def test_two_starts_at_once_start_one_server(tmp_path: Path) -> None:
    """Two `demo up`s at once: one server, which both use (before the start lock, each started its own)."""
    barrier = threading.Barrier(2)

    def ensure() -> dict[str, int]:
        barrier.wait(timeout=10)
        return ensure_demo_sites_running(tmp_path, timeout=20)

    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            first, second = [future.result(timeout=60) for future in [pool.submit(ensure), pool.submit(ensure)]]
        assert first == second
        assert _demo_servers_for(tmp_path) == [read_pidfile(tmp_path / PIDFILE_NAME).pid]
    finally:
        stop_demo_sites(tmp_path)
        for pid in _demo_servers_for(tmp_path):  # a second server (the bug) is ours too: its --dir is tmp_path
            os.kill(pid, signal.SIGKILL)
