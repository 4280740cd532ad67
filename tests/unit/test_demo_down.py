"""`demo down` signals only the processes the demo started: a recycled PID is left alone."""

from __future__ import annotations

import concurrent.futures
import http.server
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from onionscope.commands import demo
from harness.demo.server import PIDFILE_NAME, stop_demo_sites
from config.processes import process_start_ticks, write_pidfile
from config.settings import Settings, load_settings

# Says "ready" once Python runs, so its command line is in place before the test reads it.
SLEEP = [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)"]
# Stand-ins whose command lines match what the demo starts (python ... -m <module> ...).
WEB_UI = [*SLEEP, "-m", "onionscope.cli", "serve"]
DEMO_SERVER = [*SLEEP, "-m", "harness.demo.server", "--dir", "demo"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(environ={}).replace(
        var_dir=str(tmp_path / "var"), testnet_dir=str(tmp_path / "testnet"), demo_dir=str(tmp_path / "demo"))


@pytest.fixture
def start() -> Iterator[Callable[[list[str]], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def launch(command: list[str]) -> subprocess.Popen[bytes]:
        started.append(subprocess.Popen(command, stdout=subprocess.PIPE))
        assert started[-1].stdout is not None and started[-1].stdout.readline() == b"ready\n"
        return started[-1]

    yield launch
    for process in started:
        process.kill()
        process.wait()


def pidfile_of_an_earlier_process(pidfile: Path, pid: int) -> None:
    """The pidfile a previous process with this PID left: its start time is not the current holder's."""
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.write_text(f"{pid} {process_start_ticks(pid) - 1}\n")


def legacy_pidfile(pidfile: Path, pid: int) -> None:
    """A bare PID, as `demo up` wrote before: it cannot tell the recorded process from a newer one."""
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.write_text(f"{pid}\n")


@pytest.mark.parametrize("write", [legacy_pidfile, pidfile_of_an_earlier_process])
def test_down_leaves_a_recycled_web_ui_pid_alone(settings: Settings, start, write, capsys) -> None:  # type: ignore[no-untyped-def]
    bystander = start(WEB_UI)
    write(Path(settings.var_dir) / "serve" / "serve.pid", bystander.pid)
    assert demo._down(settings) == 0
    assert bystander.poll() is None, "demo down killed a process it did not start"
    assert f"left pid {bystander.pid} alone" in capsys.readouterr().out
    assert not (Path(settings.var_dir) / "serve" / "serve.pid").exists()


def test_down_stops_the_web_ui_it_recorded(settings: Settings, start, capsys) -> None:  # type: ignore[no-untyped-def]
    web_ui = start(WEB_UI)
    write_pidfile(Path(settings.var_dir) / "serve" / "serve.pid", web_ui.pid)
    assert demo._down(settings) == 0
    assert web_ui.wait(timeout=10) == -signal.SIGTERM
    assert f"stopped the web UI (pid {web_ui.pid})" in capsys.readouterr().out


@pytest.mark.parametrize("write", [legacy_pidfile, pidfile_of_an_earlier_process])
def test_stopping_the_demo_sites_leaves_a_recycled_pid_alone(tmp_path: Path, start, write) -> None:  # type: ignore[no-untyped-def]
    bystander = start(DEMO_SERVER)
    write(tmp_path / PIDFILE_NAME, bystander.pid)
    assert stop_demo_sites(tmp_path, timeout=1) is False
    assert bystander.poll() is None, "demo down killed a process it did not start"


def test_stopping_the_demo_sites_stops_the_recorded_server(tmp_path: Path, start) -> None:  # type: ignore[no-untyped-def]
    server = start(DEMO_SERVER)
    write_pidfile(tmp_path / PIDFILE_NAME, server.pid)
    assert stop_demo_sites(tmp_path, timeout=5) is True
    assert server.wait(timeout=10) == -signal.SIGTERM


def test_two_demo_ups_at_once_start_one_web_ui(settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`demo up` twice at once: the second sees the first's web UI (before the start lock, both started one)."""
    answering = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorised)
    threading.Thread(target=answering.serve_forever, daemon=True).start()
    settings = settings.replace(serve_host="127.0.0.1", serve_port=answering.server_address[1])
    launched: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def launch_stand_in(command: list[str], **_options: object) -> subprocess.Popen[bytes]:
        assert command[1:] == ["-m", "onionscope.cli", "serve"]
        launched.append(real_popen(WEB_UI, stdout=subprocess.PIPE))
        assert launched[-1].stdout is not None and launched[-1].stdout.readline() == b"ready\n"
        time.sleep(0.3)  # a web UI takes a moment to start: the window in which a second `up` looked
        return launched[-1]

    monkeypatch.setattr(subprocess, "Popen", launch_stand_in)
    barrier = threading.Barrier(2)

    def up() -> str:
        barrier.wait(timeout=10)
        return demo._ensure_serving(settings, timeout=10)

    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            urls = [future.result(timeout=30) for future in [pool.submit(up), pool.submit(up)]]
    finally:
        monkeypatch.undo()
        answering.shutdown()
        answering.server_close()
        web_ui = demo._web_ui(settings)
        for process in launched:
            process.kill()
            process.wait()
    assert urls[0] == urls[1] == f"http://127.0.0.1:{answering.server_address[1]}"
    assert len(launched) == 1, f"{len(launched)} web UIs started"
    assert web_ui is not None and web_ui.pid == launched[0].pid


class _Unauthorised(http.server.BaseHTTPRequestHandler):
    """What the web UI answers without a token."""

    def do_GET(self) -> None:  # noqa: N802
        self.send_error(401)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass
