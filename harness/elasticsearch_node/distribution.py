"""The Elasticsearch distribution: fetched through Maven's cache, unpacked under the var dir.

The node is the ``integ-test-zip`` distribution from Maven Central
(``org.elasticsearch.distribution.integ-test-zip:elasticsearch:<version>:zip``,
version :data:`config.settings.ELASTICSEARCH_VERSION`).  That build bundles
no JDK, refuses to run as root and carries only the core modules (no
analysis-common, no painless, no reindex), so the rest of onionscope never
relies on those.

Public API:

* :data:`MAVEN_COORDINATES`; :func:`maven_zip_path` ``(version) -> Path`` --
  where Maven caches the zip;
* :func:`ensure_distribution` ``(layout) -> Path`` -- unpack it (fetching it
  with ``mvn`` when absent); raises
  :class:`~harness.elasticsearch_node.layout.NodeError` when that fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from config.i18n import gettext
from config.settings import ELASTICSEARCH_VERSION
from harness.elasticsearch_node.layout import NodeError, NodeLayout

MAVEN_COORDINATES = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"


def maven_zip_path(version: str = ELASTICSEARCH_VERSION) -> Path:
    """Where Maven caches the distribution zip (``~/.m2/repository/...``)."""
    return (
        Path.home() / ".m2" / "repository" / "org" / "elasticsearch" / "distribution" / "integ-test-zip"
        / "elasticsearch" / version / f"elasticsearch-{version}.zip"
    )


def ensure_distribution(layout: NodeLayout) -> Path:
    """Unpack the cached zip under ``layout.home`` (fetching it through Maven if absent).

    Returns the distribution directory.  Raises NodeError when the zip is not in
    the Maven cache and ``mvn`` cannot fetch it.
    """
    marker = layout.distribution / "lib" / f"elasticsearch-{layout.version}.jar"
    if marker.exists():
        return layout.distribution
    zip_path = maven_zip_path(layout.version)
    if not zip_path.exists():
        _maven_fetch(layout.version, zip_path)
    layout.home.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=layout.home))
    try:
        _unzip_with_modes(zip_path, staging)
        unpacked = staging / f"elasticsearch-{layout.version}"
        if not unpacked.is_dir():
            raise NodeError(gettext("{path} does not contain elasticsearch-{version}/; delete it and retry", path=zip_path,
                                    version=layout.version))
        if layout.distribution.exists():  # a half-finished earlier unpack
            shutil.rmtree(layout.distribution)
        unpacked.rename(layout.distribution)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return layout.distribution


def _maven_fetch(version: str, zip_path: Path) -> None:
    coordinates = MAVEN_COORDINATES.format(version=version)
    if shutil.which("mvn") is None:
        raise NodeError(gettext(
            "the Elasticsearch {version} distribution is not in the Maven cache ({path}) and `mvn` "
            "is not installed; install Maven or download {coordinates} to that path", version=version, path=zip_path,
            coordinates=coordinates))
    result = subprocess.run(
        ["mvn", "-q", "dependency:get", f"-Dartifact={coordinates}", "-Dtransitive=false"],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0 or not zip_path.exists():
        tail = (result.stdout + result.stderr).strip()[-1500:]
        raise NodeError(gettext("could not fetch {coordinates} with Maven:", coordinates=coordinates) + "\n" + tail)


def _unzip_with_modes(zip_path: Path, target: Path) -> None:
    # zipfile drops Unix modes; the launch scripts need their exec bit, and the
    # node's user needs to read everything.
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            destination = (target / info.filename).resolve()
            if not str(destination).startswith(str(target.resolve()) + os.sep):
                raise NodeError(gettext("{path}: entry {entry} escapes the target folder", path=zip_path,
                                        entry=repr(info.filename)))
            archive.extract(info, target)
            if info.is_dir():
                os.chmod(destination, 0o755)
            else:
                executable = (info.external_attr >> 16) & 0o111
                os.chmod(destination, 0o755 if executable else 0o644)
