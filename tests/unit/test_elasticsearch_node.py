from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from onionscope.services.elasticsearch_node import (
    NodeError,
    NodeLayout,
    _is_our_node,
    _unzip_with_modes,
    es_url_is_local_node,
    limit_gc_logs,
    maven_zip_path,
    render_elasticsearch_yml,
    render_heap_options,
)
from onionscope.settings import ELASTICSEARCH_VERSION, load_settings


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
    assert not _is_our_node(os.getpid(), layout(tmp_path))
    assert not _is_our_node(2**22 + 12345, layout(tmp_path))


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
    from onionscope.services.elasticsearch_node import _grant_traversal

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
