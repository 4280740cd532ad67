"""The local node's configuration files: elasticsearch.yml, the heap options and the GC log limits.

Public API:

* :func:`render_elasticsearch_yml`, :func:`render_heap_options`,
  :func:`limit_gc_logs` -- pure, tested;
* :func:`write_configuration` ``(layout, bootstrap=False)`` -- writes them into the node's
  config folder, starting from the distribution's own defaults.

Raises :class:`~harness.elasticsearch_node.layout.NodeError` for a malformed heap size.
"""

from __future__ import annotations

import json
import re
import shutil

from config.i18n import gettext
from harness.elasticsearch_node.layout import CLUSTER_NAME, NodeError, NodeLayout

_HEAP_PATTERN = re.compile(r"^[1-9][0-9]*[kmgKMG]$")


def render_elasticsearch_yml(layout: NodeLayout, bootstrap: bool = False) -> str:
    """The node's elasticsearch.yml: loopback only, no security, no disk watermarks, a snapshot folder.

    One node uses single-node discovery.  A node of a local cluster finds the
    others on their loopback transport ports; ``bootstrap`` (a cluster none of
    whose nodes holds data yet) names the initial master nodes, which must
    never be set once the cluster has formed (two halves could each form one).
    """
    lines = [
        "# Written by onionscope (harness/elasticsearch_node/configuration.py); rewritten on every start.",
        f"cluster.name: {CLUSTER_NAME}",
        f"node.name: {layout.node_name}",
        f"path.data: {json.dumps(str(layout.data_dir))}",
        f"path.logs: {json.dumps(str(layout.logs_dir))}",
        "# Snapshots (`onionscope index snapshot`) go to a shared-filesystem repository under this folder.",
        f"path.repo: {json.dumps([str(layout.snapshots_dir)])}",
        "# Loopback only: this node has security switched off and must never be reachable from elsewhere.",
        "network.host: 127.0.0.1",
        f"http.port: {layout.port}",
        f"transport.port: {layout.transport_port}",
    ]
    if layout.cluster_size == 1:
        lines.append("discovery.type: single-node")
    else:
        lines.append(f"discovery.seed_hosts: {json.dumps(layout.transport_addresses)}")
        if bootstrap:
            lines.append(f"cluster.initial_master_nodes: {json.dumps(layout.node_names)}")
    lines += [
        "xpack.security.enabled: false",
        "xpack.ml.enabled: false",
        "# A nearly full disk must not turn indices read-only in the middle of a test run.",
        "cluster.routing.allocation.disk.threshold_enabled: false",
        "# Index names are always given in full; wildcard deletes stay forbidden.",
        "action.destructive_requires_name: true",
        "",
    ]
    return "\n".join(lines)


def render_heap_options(heap: str) -> str:
    """jvm.options.d content fixing the heap; raises NodeError for a malformed size."""
    if not _HEAP_PATTERN.match(heap):
        raise NodeError(gettext("setting es_heap: expected a size such as 512m or 2g, got {value}", value=repr(heap)))
    return f"-Xms{heap}\n-Xmx{heap}\n"


def limit_gc_logs(jvm_options: str) -> str:
    """jvm.options with GC logs rotated over 4 files of 16 MB (the stock 32 x 64 MB is 2 GB under var/)."""
    return re.sub(r"filecount=\d+,filesize=\d+[kmgKMG]?", "filecount=4,filesize=16m", jvm_options)


def write_configuration(layout: NodeLayout, bootstrap: bool = False) -> None:
    """Copy the distribution's default config files once, then (re)write the node settings and the heap.

    Rewritten on every start, so a changed setting takes effect at the next
    ``services up``.  Raises NodeError for a malformed ``es_heap``.
    """
    for source in (layout.distribution / "config").iterdir():
        target = layout.config_dir / source.name
        if source.is_file() and not target.exists():
            shutil.copy2(source, target)
    jvm_options = layout.config_dir / "jvm.options"
    jvm_options.write_text(limit_gc_logs(jvm_options.read_text()))
    (layout.config_dir / "jvm.options.d").mkdir(exist_ok=True)
    (layout.config_dir / "elasticsearch.yml").write_text(render_elasticsearch_yml(layout, bootstrap))
    (layout.config_dir / "jvm.options.d" / "onionscope-heap.options").write_text(render_heap_options(layout.heap))
