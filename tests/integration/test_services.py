"""`onionscope services` against the real local Elasticsearch node."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from harness import elasticsearch_node
from config.settings import ELASTICSEARCH_VERSION, load_settings
from tests import PROJECT_ROOT

pytestmark = pytest.mark.integration


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "onionscope.cli", *args],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env={**os.environ, **(env or {})}, timeout=300,
    )


def test_up_waits_out_recovery_but_not_forever_for_a_red_index(es_node, es, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`up` returns once no index lacks its primaries; one that never gets them is reported, not fatal."""
    if es_node.url != elasticsearch_node.local_url(es_node.settings):
        pytest.skip("ONIONSCOPE_ES_URL points at another cluster; the local node is not managed here")
    client, prefix = es
    assert elasticsearch_node.start(es_node.settings).health in ("green", "yellow")
    # A primary that can never be allocated: the node is not called "nowhere".
    red_index = f"{prefix}-never-allocated"
    client.indices.create(index=red_index, settings={"index.routing.allocation.require._name": "nowhere"},
                          wait_for_active_shards="0")
    try:
        monkeypatch.setattr(elasticsearch_node.process, "RECOVERY_WAIT_SECONDS", 1.0)
        result = elasticsearch_node.start(es_node.settings)
        assert result.already_running and result.health == "red" and result.seconds < 30
    finally:
        client.indices.delete(index=red_index)
    assert elasticsearch_node.start(es_node.settings).health in ("green", "yellow")


def test_services_up_twice_is_harmless(es_node) -> None:  # type: ignore[no-untyped-def]
    if es_node.url != elasticsearch_node.local_url(es_node.settings):
        pytest.skip("ONIONSCOPE_ES_URL points at another cluster; the local node is not managed here")
    before = elasticsearch_node.status(es_node.settings)
    first = run_cli("services", "up")
    second = run_cli("services", "up")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    after = elasticsearch_node.status(es_node.settings)
    if before.running:
        # Our node: both calls find it and neither starts another.
        assert "already running" in first.stdout and "already running" in second.stdout
        assert after.pid == before.pid
    else:
        # A node someone else started answers on the port: `up` refuses to start a second one.
        assert after.pid is None
    status = run_cli("services", "status")
    assert status.returncode == 0
    assert ELASTICSEARCH_VERSION in status.stdout and "health" in status.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def scratch_var() -> Iterator[Path]:
    # Under the project, not /tmp/pytest-of-root (mode 0700, which the node's user cannot enter).
    path = PROJECT_ROOT / "var" / f"test-services-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_fresh_node_starts_stops_and_down_touches_nothing_else(es_node, scratch_var: Path) -> None:  # type: ignore[no-untyped-def]
    """A second node in a fresh var dir (as on a fresh clone): unpack, start, answer, stop; the shared node keeps running."""
    port = free_port()
    settings = load_settings(environ={}).replace(var_dir=str(scratch_var), es_port=port,
                                                 es_url=f"http://127.0.0.1:{port}", es_heap="256m")
    shared_before = elasticsearch_node.status(es_node.settings)
    try:
        # A generous deadline: on an idle 2-core machine this takes about 20 s.
        result = elasticsearch_node.start(settings, timeout=600)
        assert not result.already_running
        status = elasticsearch_node.status(settings)
        assert status.running and status.pid == result.pid and status.health in ("green", "yellow")
        assert status.version == ELASTICSEARCH_VERSION
        config = (scratch_var / "elasticsearch" / "config" / "elasticsearch.yml").read_text()
        assert "network.host: 127.0.0.1" in config and f"http.port: {port}" in config
        assert_only_the_node_user_can_read(scratch_var / "elasticsearch", settings.es_user)
        assert elasticsearch_node.start(settings).already_running
    finally:
        stopped = elasticsearch_node.stop(settings)
    assert stopped
    assert not elasticsearch_node.status(settings).running
    assert elasticsearch_node.stop(settings) is False
    shared_after = elasticsearch_node.status(es_node.settings)
    assert shared_after.health is not None and shared_after.pid == shared_before.pid


def assert_only_the_node_user_can_read(home: Path, user: str) -> None:
    """Everything the running node wrote (indices, logs, GC logs): 0700 folders, 0600 files, its user's.

    Elasticsearch itself makes its keystore 0660; group bits pass only for the
    node user's own group, which has no other members.
    """
    import contextlib
    import grp
    import pwd

    owner = pwd.getpwnam(user) if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    private_group = owner.pw_gid if not grp.getgrgid(owner.pw_gid).gr_mem else None
    entries = {}
    for folder in ("config", "data", "logs", "tmp", "run"):
        for root, dirs, files in os.walk(home / folder):
            for name in ["", *dirs, *files]:
                with contextlib.suppress(FileNotFoundError):  # the node rotates and deletes files as it runs
                    entries[Path(root) / name] = (Path(root) / name).lstat()
    assert any(path.name == "_state" for path in entries) and any(path.suffix == ".log" for path in entries)
    loose = {str(path): oct(info.st_mode & 0o777) for path, info in entries.items()
             if not stat.S_ISLNK(info.st_mode)
             and (info.st_mode & 0o007 or (info.st_mode & 0o070 and info.st_gid != private_group))}
    assert loose == {}, "readable by others: " + ", ".join(f"{path} {mode}" for path, mode in sorted(loose.items())[:5])
    if os.geteuid() == 0:
        strangers = {str(path) for path, info in entries.items() if path.name != "launcher.out"
                     and (info.st_uid, info.st_gid) != (owner.pw_uid, owner.pw_gid)}
        assert strangers == set()


def test_down_ignores_a_pidfile_that_names_another_process(scratch_var: Path) -> None:
    settings = load_settings(environ={}).replace(var_dir=str(scratch_var), es_port=free_port())
    layout = elasticsearch_node.NodeLayout.from_settings(settings)
    layout.run_dir.mkdir(parents=True)
    layout.pidfile.write_text(str(os.getpid()))
    assert elasticsearch_node.running_pid(layout) is None
    assert elasticsearch_node.stop(settings) is False  # and this test process is still alive to say so


def test_status_and_up_say_what_they_see(scratch_var: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from onionscope.commands import services

    port = free_port()
    settings = load_settings(environ={}).replace(var_dir=str(scratch_var), es_port=port,
                                                 es_url=f"http://127.0.0.1:{port}")
    assert services.run(argparse.Namespace(action="status"), settings) == 1
    assert f"not running at http://127.0.0.1:{port}" in capsys.readouterr().out
    elsewhere = settings.replace(es_url="https://es.example.invalid:9243", redis_url="redis://redis.example.invalid:6379/0")
    assert services.run(argparse.Namespace(action="up", timeout=5.0, force=False), elsewhere) == 0
    assert "nothing to start" in capsys.readouterr().out
    assert not (scratch_var / "elasticsearch").exists()  # nothing was unpacked or started
    assert not (scratch_var / "redis").exists()


def test_services_start_show_and_stop_the_local_redis(scratch_var: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`services up|status|down` run the shared frontier's Redis: loopback, its own data folder, appendonly on."""
    import argparse

    import redis

    from harness import redis_server
    from onionscope.commands import services

    redis_port = free_port()
    # es_url elsewhere: this test is about Redis, the shared node is left alone.
    settings = load_settings(environ={}).replace(var_dir=str(scratch_var), redis_port=redis_port,
                                                 es_url="https://es.example.invalid:9243", es_port=free_port())
    try:
        assert services.run(argparse.Namespace(action="up", timeout=5.0, force=False), settings) == 0
        assert f"Redis started in" in capsys.readouterr().out
        client = redis.Redis(host="127.0.0.1", port=redis_port)
        try:
            assert client.ping()
            assert client.config_get("appendonly") == {"appendonly": "yes"}
            assert client.config_get("bind") == {"bind": "127.0.0.1"}
            assert Path(client.config_get("dir")["dir"]) == (scratch_var / "redis" / "data").resolve()
            client.set("survives-a-restart", "1")
        finally:
            client.close()
        assert services.run(argparse.Namespace(action="status"), settings) == 1  # no Elasticsearch there
        assert "appendonly yes" in capsys.readouterr().out
        pid = redis_server.status(settings).pid
        assert services.run(argparse.Namespace(action="up", timeout=5.0, force=False), settings) == 0
        assert f"already running at redis://127.0.0.1:{redis_port}/0 (pid {pid})" in capsys.readouterr().out
        assert services.run(argparse.Namespace(action="down"), settings) == 0
        assert "Redis stopped" in capsys.readouterr().out
        assert not redis_server.status(settings).running
        # Persistence: the append-only file brings the data back.
        redis_server.start(settings)
        client = redis.Redis(host="127.0.0.1", port=redis_port)
        try:
            assert client.get("survives-a-restart") == b"1"
        finally:
            client.close()
    finally:
        redis_server.stop(settings)
    assert services.run(argparse.Namespace(action="down"), settings) == 0
    assert "no Redis started by onionscope is running" in capsys.readouterr().out
