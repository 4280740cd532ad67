"""The index templates come from ``config_dir`` too: the index command and the crawl's pipeline install those.

A copy of the config folder whose ``pages`` template carries one more field is
what ``onionscope index setup`` and the bulk pipeline (as a crawl opens it)
install in the real Elasticsearch once ``config_dir`` names the copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from config import paths
from pipelines import indices
from tests import PROJECT_ROOT

pytestmark = pytest.mark.integration


def _config_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "config-copy"
    shutil.copytree(paths.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    template_file = copy / "index_templates" / "pages.json"
    template = json.loads(template_file.read_text())
    template["mappings"]["properties"]["config_dir_marker"] = {"type": "keyword"}
    template_file.write_text(json.dumps(template))
    return copy


def _installed_page_fields(client: Any, prefix: str) -> set[str]:
    name = indices.alias_name(prefix, "pages")
    answer = client.indices.get_index_template(name=name).body["index_templates"][0]
    return set(answer["index_template"]["template"]["mappings"]["properties"])


def test_index_setup_installs_the_config_dir_templates(es_settings: Any, es: tuple[Any, str], tmp_path: Path) -> None:
    client, prefix = es
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ONIONSCOPE_")}
    environment.update(ONIONSCOPE_ES_URL=es_settings.es_url, ONIONSCOPE_INDEX_PREFIX=prefix,
                       ONIONSCOPE_VAR_DIR=str(tmp_path / "var"), ONIONSCOPE_CONFIG_DIR=str(_config_copy(tmp_path)))
    done = subprocess.run([sys.executable, "-m", "onionscope.cli", "index", "setup"], cwd=PROJECT_ROOT,
                          env=environment, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "config_dir_marker" in _installed_page_fields(client, prefix)


def test_the_crawl_pipeline_installs_the_config_dir_templates(es_settings: Any, es: tuple[Any, str],
                                                              tmp_path: Path) -> None:
    from pipelines.elasticsearch_bulk import ElasticsearchBulkPipeline

    client, prefix = es
    settings = es_settings.replace(config_dir=str(_config_copy(tmp_path)))
    pipeline = ElasticsearchBulkPipeline(client, prefix, tmp_path / "spool", settings=settings)
    pipeline.open_spider()
    assert "config_dir_marker" in _installed_page_fields(client, prefix)
