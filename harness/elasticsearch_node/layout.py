"""Where the local Elasticsearch node lives and how it is addressed: the paths every other part reads.

Everything lives under ``<var_dir>/elasticsearch/``::

    elasticsearch-<version>/  the unpacked distribution (root-owned, read-only for the node)
    config/  data/  logs/  tmp/  run/elasticsearch.pid   (the node's user's alone: 0700, files 0600)

Public API:

* :class:`NodeLayout` -- those paths, from settings (:meth:`NodeLayout.from_settings`);
* :func:`local_url` -> the node's URL; :func:`es_url_is_local_node` tells whether
  ``es_url`` points at it;
* :class:`NodeError` (a :class:`~config.errors.UserError`) for anything a
  person must fix, raised by every module of this package;
* :data:`CLUSTER_NAME`, :data:`PRIVATE_MODE_MASK`.

Pure: reads no file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.errors import UserError
from config.settings import ELASTICSEARCH_VERSION

CLUSTER_NAME = "onionscope-local"
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

    @classmethod
    def from_settings(cls, settings: Any, version: str = ELASTICSEARCH_VERSION) -> "NodeLayout":
        port = int(settings.es_port)
        # The transport port is never used by clients; keep it next to the HTTP port.
        transport_port = port + 100 if port + 100 <= 65535 else port - 100
        return cls(
            home=Path(settings.var_dir) / "elasticsearch",
            version=version,
            port=port,
            transport_port=transport_port,
            heap=str(settings.es_heap),
            java_home=Path(settings.es_java_home),
            user=str(settings.es_user),
        )

    @property
    def var_dir(self) -> Path:
        return self.home.parent

    @property
    def distribution(self) -> Path:
        return self.home / f"elasticsearch-{self.version}"

    @property
    def config_dir(self) -> Path:
        return self.home / "config"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def tmp_dir(self) -> Path:
        return self.home / "tmp"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def private_dirs(self) -> tuple[Path, ...]:
        """The folders only the node's user may enter (0700, files 0600)."""
        return (self.config_dir, self.data_dir, self.logs_dir, self.tmp_dir, self.run_dir)

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


def local_url(settings: Any) -> str:
    """The URL of the local node (always 127.0.0.1 and ``es_port``)."""
    return f"http://127.0.0.1:{int(settings.es_port)}"


def es_url_is_local_node(settings: Any) -> bool:
    """True when ``es_url`` points at the node this module manages."""
    port = int(settings.es_port)
    return str(settings.es_url).rstrip("/") in (f"http://127.0.0.1:{port}", f"http://localhost:{port}")
