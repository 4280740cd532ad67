"""The local Elasticsearch node (or a local cluster of them): fetch, unpack, configure, start, stop and inspect it.

One module per concern:

* :mod:`~harness.elasticsearch_node.layout` -- where everything lives
  (``<var_dir>/elasticsearch/``), the node's URL, :class:`NodeError`;
* :mod:`~harness.elasticsearch_node.distribution` -- the ``integ-test-zip``
  distribution from the Maven cache, unpacked;
* :mod:`~harness.elasticsearch_node.configuration` -- elasticsearch.yml, heap and JVM options;
* :mod:`~harness.elasticsearch_node.os_user` -- the node's system user, its
  private folders and the traversal grants inside the var dir (never above it);
* :mod:`~harness.elasticsearch_node.process` -- start, stop, status and
  readiness, through the project's one process helper (:mod:`config.processes`).

Public API (re-exported here):

* :class:`NodeLayout` -- those paths, from settings (:meth:`NodeLayout.from_settings`);
* :func:`start` ``(settings, timeout, nodes=None)`` -> :class:`StartResult`; harmless when
  the nodes already run; ``nodes=3`` starts a local 3-node cluster (loopback ports, a data
  folder each);
* :func:`stop` -> bool (True when a node this var dir started was stopped);
* :func:`status` -> :class:`NodeStatus`; :func:`cluster_status` -> one per node;
  :func:`running_pid` ``(layout) -> int | None``;
* :func:`cluster_layouts` ``(settings, nodes)``, :func:`recorded_cluster_size` ``(home)``;
* :func:`local_url` -> the node's URL; :func:`es_url_is_local_node` tells whether
  ``es_url`` points at it;
* :func:`ensure_distribution`, :func:`maven_zip_path`;
* :func:`render_elasticsearch_yml`, :func:`render_heap_options`, :func:`limit_gc_logs` -- pure, tested;
* :class:`NodeError` (a :class:`~config.errors.UserError`) for anything a
  person must fix: no JDK, no Maven download, a node that died (with its log tail).

Security is switched off on this node (``xpack.security.enabled: false``): it
listens on 127.0.0.1 only and is meant for local use.  Every local process can
therefore read and write it (API tokens included): the trust boundary is the
machine's local users.  Anything reachable from other machines, or a machine
shared with people who must not administer onionscope, needs a secured cluster
(``es_url`` + credentials).

Importing this package starts nothing and reads no file.
"""

from __future__ import annotations

from harness.elasticsearch_node.configuration import limit_gc_logs, render_elasticsearch_yml, render_heap_options
from harness.elasticsearch_node.distribution import MAVEN_COORDINATES, ensure_distribution, maven_zip_path
from harness.elasticsearch_node.layout import (
    CLUSTER_NAME, NodeError, NodeLayout, cluster_layouts, es_url_is_local_node, local_url, recorded_cluster_size,
)
from harness.elasticsearch_node.os_user import ensure_system_user
from harness.elasticsearch_node.process import (
    NodeStatus, StartResult, cluster_status, running_node, running_pid, start, status, stop,
)

__all__ = [
    "CLUSTER_NAME", "MAVEN_COORDINATES", "NodeError", "NodeLayout", "NodeStatus", "StartResult",
    "cluster_layouts", "cluster_status", "ensure_distribution", "ensure_system_user", "es_url_is_local_node", "limit_gc_logs", "local_url",
    "maven_zip_path", "recorded_cluster_size", "render_elasticsearch_yml", "render_heap_options", "running_node", "running_pid",
    "start", "status", "stop",
]
