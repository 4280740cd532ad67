"""Where the local Elasticsearch nodes live and how they are addressed: the paths every other part reads.

Everything lives under ``<var_dir>/elasticsearch/``::

    elasticsearch-<version>/  the unpacked distribution (root-owned, read-only for the nodes)
    config/  data/  logs/  tmp/  run/elasticsearch.pid   node 0 (the node's user's alone: 0700, files 0600)
    node-1/config/ ... node-2/...                        nodes 1 and 2 of a 3-node cluster, the same folders
    snapshots/                                           the snapshot repository (``path.repo``) of every node
    cluster.json                                         how many nodes the cluster was last started with

One node is the default.  Node ``i`` of a local cluster listens on
``es_port + i`` (HTTP) and the transport port + ``i``, all on 127.0.0.1;
node 0 keeps the single node's folders, so a single node can grow into a
cluster without moving its data.

Public API:

* :class:`NodeLayout` -- those paths, from settings (:meth:`NodeLayout.from_settings`);
* :func:`cluster_layouts` ``(settings, nodes) -> list[NodeLayout]`` -- one per node;
* :func:`recorded_cluster_size` ``(home) -> int`` and :func:`record_cluster_size`;
* :func:`local_url` -> the node's URL; :func:`es_url_is_local_node` tells whether
  ``es_url`` points at it;
* :class:`NodeError` (a :class:`~config.errors.UserError`) for anything a
  person must fix, raised by every module of this package;
* :data:`CLUSTER_NAME`, :data:`PRIVATE_MODE_MASK`.

Pure but for :func:`recorded_cluster_size` and :func:`record_cluster_size` (cluster.json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.errors import UserError
from config.i18n import gettext
from config.settings import ELASTICSEARCH_VERSION

CLUSTER_NAME = "onionscope-local"
NODE_NAME = "onionscope-local-node"
# The most nodes `services up --nodes` starts on one machine (each takes es_heap and a core's share).
MAX_LOCAL_NODES = 5
# Permission bits the node's own folders (config, data, logs, tmp, run) never
# have: 0700 folders and 0600 files, for the node's user only.
PRIVATE_MODE_MASK = 0o077


class NodeError(UserError):
    """The local node could not be fetched, started or stopped; the message says why."""


@dataclass(frozen=True)
class NodeLayout:
    """Where the local node's distribution, configuration, data and logs live."""

    home: Path
    version: str
    port: int
    transport_port: int
    heap: str
    java_home: Path
    user: str
    # Which node of the local cluster this is (0 for the single node) and how many the cluster has.
    node_index: int = 0
    cluster_size: int = 1

    @classmethod
    def from_settings(
        cls, settings: Any, version: str = ELASTICSEARCH_VERSION, *, node_index: int = 0, cluster_size: int = 1,
    ) -> "NodeLayout":
        """The layout of node ``node_index`` of a local cluster of ``cluster_size`` nodes.

        Raises NodeError when a node's port would fall outside 1024-65535 or the
        size is not between 1 and :data:`MAX_LOCAL_NODES`.
        """
        if not 1 <= cluster_size <= MAX_LOCAL_NODES or not 0 <= node_index < cluster_size:
            raise NodeError(gettext("a local cluster has 1 to {maximum} nodes, not {count}", maximum=MAX_LOCAL_NODES,
                                    count=cluster_size))
        base_port = int(settings.es_port)
        # The transport port is never used by clients; keep it next to the HTTP port.
        base_transport = base_port + 100 if base_port + 100 + cluster_size - 1 <= 65535 else base_port - 100
        if base_port + cluster_size - 1 > 65535:
            raise NodeError(gettext("es_port {port} leaves no room for {count} nodes (ports up to 65535)", port=base_port,
                                    count=cluster_size))
        return cls(
            home=Path(settings.var_dir) / "elasticsearch",
            version=version,
            port=base_port + node_index,
            transport_port=base_transport + node_index,
            heap=str(settings.es_heap),
            java_home=Path(settings.es_java_home),
            user=str(settings.es_user),
            node_index=node_index,
            cluster_size=cluster_size,
        )

    @property
    def var_dir(self) -> Path:
        return self.home.parent

    @property
    def distribution(self) -> Path:
        return self.home / f"elasticsearch-{self.version}"

    @property
    def node_home(self) -> Path:
        """Node 0's folders are the single node's; node ``i`` has ``node-<i>/``."""
        return self.home if self.node_index == 0 else self.home / f"node-{self.node_index}"

    @property
    def node_name(self) -> str:
        return NODE_NAME if self.node_index == 0 else f"{NODE_NAME}-{self.node_index}"

    @property
    def config_dir(self) -> Path:
        return self.node_home / "config"

    @property
    def data_dir(self) -> Path:
        return self.node_home / "data"

    @property
    def logs_dir(self) -> Path:
        return self.node_home / "logs"

    @property
    def tmp_dir(self) -> Path:
        return self.node_home / "tmp"

    @property
    def run_dir(self) -> Path:
        return self.node_home / "run"

    @property
    def snapshots_dir(self) -> Path:
        """The snapshot repository folder (``path.repo``), one for every node of the cluster."""
        return self.home / "snapshots"

    @property
    def cluster_file(self) -> Path:
        return self.home / "cluster.json"

    @property
    def private_dirs(self) -> tuple[Path, ...]:
        """The folders only the node's user may enter (0700, files 0600)."""
        return (self.config_dir, self.data_dir, self.logs_dir, self.tmp_dir, self.run_dir, self.snapshots_dir)

    @property
    def transport_addresses(self) -> list[str]:
        """``127.0.0.1:<transport port>`` of every node of the cluster (its discovery seed hosts)."""
        first = self.transport_port - self.node_index
        return [f"127.0.0.1:{first + index}" for index in range(self.cluster_size)]

    @property
    def node_names(self) -> list[str]:
        """The names of every node of the cluster (its initial master nodes)."""
        return [NODE_NAME if index == 0 else f"{NODE_NAME}-{index}" for index in range(self.cluster_size)]

    @property
    def pidfile(self) -> Path:
        return self.run_dir / "elasticsearch.pid"

    @property
    def log_file(self) -> Path:
        return self.logs_dir / f"{CLUSTER_NAME}.log"

    @property
    def launcher_output(self) -> Path:
        return self.logs_dir / "launcher.out"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def cluster_layouts(settings: Any, nodes: int, version: str = ELASTICSEARCH_VERSION) -> list[NodeLayout]:
    """One :class:`NodeLayout` per node of a local cluster of ``nodes`` nodes, node 0 first.

    Raises NodeError for a size outside 1 to :data:`MAX_LOCAL_NODES` or ports beyond 65535.
    """
    if not 1 <= nodes <= MAX_LOCAL_NODES:
        raise NodeError(gettext("a local cluster has 1 to {maximum} nodes, not {count}", maximum=MAX_LOCAL_NODES,
                                count=nodes))
    return [NodeLayout.from_settings(settings, version, node_index=index, cluster_size=nodes) for index in range(nodes)]


def recorded_cluster_size(home: Path) -> int:
    """How many nodes the cluster in ``home`` was last started with (1 when none was recorded)."""
    try:
        return int(json.loads((home / "cluster.json").read_text())["nodes"])
    except (OSError, ValueError, KeyError, TypeError):
        return 1


def record_cluster_size(home: Path, nodes: int) -> None:
    """Remember the cluster's size, so a later ``services up`` without ``--nodes`` starts the same."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "cluster.json").write_text(json.dumps({"nodes": nodes}) + "\n")


def local_url(settings: Any) -> str:
    """The URL of the local node (always 127.0.0.1 and ``es_port``)."""
    return f"http://127.0.0.1:{int(settings.es_port)}"


def es_url_is_local_node(settings: Any) -> bool:
    """True when ``es_url`` points at the node this module manages."""
    port = int(settings.es_port)
    return str(settings.es_url).rstrip("/") in (f"http://127.0.0.1:{port}", f"http://localhost:{port}")
