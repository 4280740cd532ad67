from __future__ import annotations

import os
import pwd
import shutil
import uuid
import zipfile
from pathlib import Path
from typing import Iterator

import pytest

from config.processes import owned_process
from harness.elasticsearch_node import (
    NodeError,
    NodeLayout,
    cluster_layouts,
    es_url_is_local_node,
    limit_gc_logs,
    maven_zip_path,
    render_elasticsearch_yml,
    render_heap_options,
)
from harness.elasticsearch_node.distribution import _unzip_with_modes
from harness.elasticsearch_node.process import MAIN_CLASS, _prepare, is_node_of_var_dir, is_our_node
from config.settings import ELASTICSEARCH_VERSION, load_settings
from tests import PROJECT_ROOT


def layout(tmp_path: Path, **overrides: object) -> NodeLayout:
    settings = load_settings(environ={}).replace(var_dir=str(tmp_path), **overrides)
    return NodeLayout.from_settings(settings)


def test_layout_lives_under_var_and_ports_follow_the_setting(tmp_path: Path) -> None:
    node = layout(tmp_path, es_port=9250)
    assert node.distribution == tmp_path / "elasticsearch" / f"elasticsearch-{ELASTICSEARCH_VERSION}"
    assert node.data_dir.parent == node.logs_dir.parent == tmp_path / "elasticsearch"
    assert (node.port, node.transport_port, node.url) == (9250, 9350, "http://127.0.0.1:9250")
    assert layout(tmp_path, es_port=65500).transport_port == 65400


def test_configuration_is_loopback_single_node_without_security_or_disk_watermarks(tmp_path: Path) -> None:
    config = dict(
        line.split(": ", 1) for line in render_elasticsearch_yml(layout(tmp_path)).splitlines()
        if line and not line.startswith("#")
    )
    assert config["network.host"] == "127.0.0.1"
    assert config["http.port"] == "9200" and config["transport.port"] == "9300"
    assert config["discovery.type"] == "single-node"
    assert config["xpack.security.enabled"] == "false"
    assert config["cluster.routing.allocation.disk.threshold_enabled"] == "false"
    assert config["path.data"] == f'"{tmp_path / "elasticsearch" / "data"}"'


def test_heap_must_be_a_size() -> None:
    assert render_heap_options("512m") == "-Xms512m\n-Xmx512m\n"
    for bad in ("512", "lots", "-1g", "512m -XX:+Evil"):
        with pytest.raises(NodeError, match="es_heap"):
            render_heap_options(bad)


def test_only_the_local_url_counts_as_the_local_node() -> None:
    settings = load_settings(environ={})
    assert es_url_is_local_node(settings)
    assert not es_url_is_local_node(settings.replace(es_url="https://es.example:9200"))
    assert maven_zip_path("1.2.3").name == "elasticsearch-1.2.3.zip"


def test_a_pid_that_is_not_our_node_is_not_ours(tmp_path: Path) -> None:
    node = layout(tmp_path)

    def matches(arguments: list[str]) -> bool:
        return is_our_node(arguments, node)

    assert owned_process(os.getpid(), matches) is None
    assert owned_process(2**22 + 12345, matches) is None
    ours = ["java", f"-Des.path.home={node.distribution.resolve()}", f"-Djava.io.tmpdir={node.tmp_dir}", MAIN_CLASS]
    assert is_our_node(ours, node)
    assert not is_our_node(["java", "-Des.path.home=/elsewhere", f"-Djava.io.tmpdir={node.tmp_dir}", MAIN_CLASS], node)


def test_the_nodes_of_a_local_cluster_are_told_apart_by_their_own_folders(tmp_path: Path) -> None:
    """They share the distribution (es.path.home); each has its own tmp folder, so a stop or a kill finds one node."""
    settings = load_settings(environ={}).replace(var_dir=str(tmp_path), es_port=9250)
    first, second, third = cluster_layouts(settings, 3)
    assert first.data_dir == layout(tmp_path, es_port=9250).data_dir  # node 0 keeps the single node's data
    assert len({first.data_dir, second.data_dir, third.data_dir}) == 3
    assert second.data_dir == tmp_path / "elasticsearch" / "node-1" / "data"
    assert [(node.port, node.transport_port) for node in (first, second, third)] == [(9250, 9350), (9251, 9351),
                                                                                      (9252, 9352)]
    arguments = ["java", f"-Des.path.home={second.distribution.resolve()}", f"-Djava.io.tmpdir={second.tmp_dir}",
                 MAIN_CLASS]
    assert is_our_node(arguments, second)
    assert not is_our_node(arguments, first) and not is_our_node(arguments, third)
    assert is_node_of_var_dir(arguments, first)  # `services down` stops every node of the var dir
    with pytest.raises(NodeError, match="1 to"):
        cluster_layouts(settings, 0)
    with pytest.raises(NodeError, match="no room"):
        cluster_layouts(settings.replace(es_port=65534), 3)


def _yml(node: NodeLayout, bootstrap: bool = False) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in render_elasticsearch_yml(node, bootstrap).splitlines()
                if line and not line.startswith("#"))


def test_cluster_nodes_discover_each_other_on_loopback_only(tmp_path: Path) -> None:
    import json

    settings = load_settings(environ={}).replace(var_dir=str(tmp_path), es_port=9250)
    nodes = cluster_layouts(settings, 3)
    configs = [_yml(node, bootstrap=True) for node in nodes]
    for node, config in zip(nodes, configs):
        assert "discovery.type" not in config
        seeds = json.loads(config["discovery.seed_hosts"])
        assert seeds == ["127.0.0.1:9350", "127.0.0.1:9351", "127.0.0.1:9352"]
        assert json.loads(config["cluster.initial_master_nodes"]) == [
            "onionscope-local-node", "onionscope-local-node-1", "onionscope-local-node-2"]
        assert config["network.host"] == "127.0.0.1" and config["http.port"] == str(node.port)
        assert config["node.name"] == node.node_name
        # One snapshot repository folder, the same for every node, under the var dir.
        assert json.loads(config["path.repo"]) == [str(tmp_path / "elasticsearch" / "snapshots")]
    assert len({config["node.name"] for config in configs}) == 3
    # Once the cluster has formed, no initial master nodes: two halves could each bootstrap a cluster.
    assert "cluster.initial_master_nodes" not in _yml(nodes[1], bootstrap=False)
    single = _yml(layout(tmp_path))
    assert single["discovery.type"] == "single-node" and "discovery.seed_hosts" not in single
    assert "path.repo" in single


def test_unzip_keeps_exec_bits_and_refuses_escaping_entries(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as out:
        script = zipfile.ZipInfo("dist/bin/run")
        script.external_attr = 0o100755 << 16
        out.writestr(script, "#!/bin/sh\n")
        out.writestr("dist/lib/a.jar", "jar")
    _unzip_with_modes(archive, tmp_path / "out")
    assert os.access(tmp_path / "out" / "dist" / "bin" / "run", os.X_OK)
    assert (tmp_path / "out" / "dist" / "lib" / "a.jar").stat().st_mode & 0o777 == 0o644
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as out:
        out.writestr("../escape", "x")
    with pytest.raises(NodeError, match="escapes"):
        _unzip_with_modes(evil, tmp_path / "out2")


def test_gc_logs_are_kept_small() -> None:
    stock = "-Xlog:gc*,gc+age=trace,safepoint:file=gc.log:utctime,level,pid,tags:filecount=32,filesize=64m\n-Xss1m\n"
    assert limit_gc_logs(stock) == (
        "-Xlog:gc*,gc+age=trace,safepoint:file=gc.log:utctime,level,pid,tags:filecount=4,filesize=16m\n-Xss1m\n"
    )


def test_traversal_is_granted_only_where_missing_and_only_search(tmp_path: Path) -> None:
    from harness.elasticsearch_node.os_user import grant_traversal as _grant_traversal

    private = tmp_path / "home"
    target = private / "clone" / "var" / "elasticsearch"
    target.mkdir(parents=True)
    private.chmod(0o700)
    try:
        changed = _grant_traversal(target, within=tmp_path)
        assert private in changed and (private / "clone") not in changed
        assert private.stat().st_mode & 0o777 == 0o701  # search for others, never read or write
        assert _grant_traversal(target, within=tmp_path) == []  # nothing left to change
    finally:
        private.chmod(0o755)


@pytest.fixture
def scratch_project() -> Iterator[Path]:
    # Under the project's var/ (every folder above it lets others through), not under
    # /tmp/pytest-of-root, which is 0700 and would stop the node's user on its own.
    base = PROJECT_ROOT / "var" / f"test-node-permissions-{uuid.uuid4().hex[:8]}"
    base.mkdir(parents=True)
    base.chmod(0o755)
    try:
        yield base
    finally:
        for root, dirs, _files in os.walk(base):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)
        shutil.rmtree(base, ignore_errors=True)


def fake_distribution(base: Path, var_dir: Path) -> NodeLayout:
    """A layout whose JDK and unpacked distribution are stand-ins: enough for _prepare, which runs neither."""
    java = base / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\nexit 1\n")
    java.chmod(0o755)
    settings = load_settings(environ={}).replace(var_dir=str(var_dir), es_java_home=str(base / "jdk"))
    node = NodeLayout.from_settings(settings)
    (node.distribution / "lib").mkdir(parents=True)
    (node.distribution / "lib" / f"elasticsearch-{node.version}.jar").write_bytes(b"")
    (node.distribution / "config").mkdir()
    (node.distribution / "config" / "jvm.options").write_text("-Xlog:gc*:file=gc.log:filecount=32,filesize=64m\n")
    return node


def modes_above(path: Path) -> dict[Path, int]:
    return {directory: directory.stat().st_mode & 0o7777 for directory in path.resolve().parents}


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the node to another user")
def test_prepare_never_widens_folders_above_the_var_dir(scratch_project: Path) -> None:
    """A project under a folder the node's user cannot enter: a clear error, and that folder keeps its mode."""
    locked = scratch_project / "home"
    var_dir = locked / "clone" / "var"
    var_dir.mkdir(parents=True)
    node = fake_distribution(scratch_project, var_dir)
    locked.chmod(0o700)
    before = modes_above(var_dir)
    with pytest.raises(NodeError) as raised:
        _prepare(node)
    after = modes_above(var_dir)
    assert after == before, {str(path): oct(mode) for path, mode in after.items() if before[path] != mode}
    message = str(raised.value)
    assert f"may not pass through {locked} (mode 0700)" in message
    assert f"chmod o+x {locked}" in message and "ONIONSCOPE_VAR_DIR" in message
    assert not node.data_dir.exists()  # refused before anything was set up


def test_prepare_keeps_the_node_files_to_its_user(scratch_project: Path) -> None:
    """data/, logs/ and the rest: 0700 folders and 0600 files, even where an older start left them readable."""
    var_dir = scratch_project / "var"
    var_dir.mkdir(mode=0o700)
    var_dir.chmod(0o700)
    node = fake_distribution(scratch_project, var_dir)
    (node.data_dir / "indices").mkdir(parents=True, mode=0o755)
    (node.data_dir / "indices").chmod(0o755)
    (node.data_dir / "indices" / "segment").write_text("indexed pages")
    (node.data_dir / "indices" / "segment").chmod(0o644)
    (node.logs_dir).mkdir(mode=0o755)
    (node.logs_dir / "onionscope-local.log").write_text("log")
    (node.logs_dir / "onionscope-local.log").chmod(0o644)
    above = modes_above(var_dir)

    changed = _prepare(node)

    private_dirs = (node.config_dir, node.data_dir, node.logs_dir, node.tmp_dir, node.run_dir)
    entries = [Path(root) / name for directory in private_dirs
               for root, dirs, files in os.walk(directory) for name in ["", *dirs, *files]]
    assert node.data_dir / "indices" / "segment" in entries and node.config_dir / "elasticsearch.yml" in entries
    loose = {str(path): oct(path.stat().st_mode & 0o777) for path in entries if path.stat().st_mode & 0o077}
    assert loose == {}
    assert (node.data_dir / "indices").stat().st_mode & 0o777 == 0o700
    assert (node.data_dir / "indices" / "segment").stat().st_mode & 0o777 == 0o600
    assert modes_above(var_dir) == above  # nothing above the var dir was touched
    if os.geteuid() == 0:
        owner = pwd.getpwnam(node.user)
        assert {(path.stat().st_uid, path.stat().st_gid) for path in entries} == {(owner.pw_uid, owner.pw_gid)}
        # The var dir (inside the project) lets the node's user through, search only.
        assert changed == [var_dir] and var_dir.stat().st_mode & 0o777 == 0o701
    else:
        assert changed == []


def test_a_cluster_is_never_restarted_smaller_than_it_was(tmp_path: Path) -> None:
    """One node of a 3-node cluster's data has no quorum: `up --nodes 1` is refused before anything starts."""
    from harness.elasticsearch_node import recorded_cluster_size, start
    from harness.elasticsearch_node.layout import record_cluster_size

    settings = load_settings(environ={}).replace(var_dir=str(tmp_path), es_port=9250)
    first = layout(tmp_path, es_port=9250)
    assert recorded_cluster_size(first.home) == 1  # nothing recorded: one node
    record_cluster_size(first.home, 3)
    assert recorded_cluster_size(first.home) == 3
    (first.data_dir / "_state").mkdir(parents=True)
    with pytest.raises(NodeError, match="3-node cluster.*--nodes 3"):
        start(settings, timeout=5, nodes=1)
    assert not first.config_dir.exists() and not first.distribution.exists()  # nothing was prepared


def test_a_port_held_by_something_that_is_not_http_is_no_answer() -> None:
    """A readiness poll that meets a non-HTTP listener (it echoes the request) waits on; it does not crash `up`."""
    import socket
    import threading

    from harness.elasticsearch_node.process import _http_json

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def echo() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.sendall(connection.recv(4096))

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    try:
        assert _http_json(f"http://127.0.0.1:{listener.getsockname()[1]}/_cluster/health") is None
    finally:
        thread.join(5)
        listener.close()
