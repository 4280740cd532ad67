"""A plain (not editable) install runs ``onionscope extract`` and ``onionscope search``.

The project is built from a copy of the checkout and installed with
``pip install --no-deps --no-build-isolation --no-index --target <tmp>`` (no
network; the build uses the virtualenv's setuptools, pinned in
requirements.lock).  The installed copy runs with ``python -S`` and a
PYTHONPATH of the target folder and the virtualenv's site-packages: the
dependencies come from the virtualenv, while its editable install of the
checkout (a ``.pth`` hook that ``-S`` never runs) cannot stand in for a file
the package forgot.  It runs from a folder outside the checkout, so every data
file it finds -- market profiles, lexicon, country table, index templates, the
web UI's templates -- was shipped inside the package, and the runtime state it
writes (``var_dir``, relative by default) lands in the folder it runs in, never
inside the installed package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from harness.demo.generator import generate_world, placeholder_onion_hosts, site_directory
from harness.demo.paths import file_for_target
from tests import PROJECT_ROOT

pytestmark = pytest.mark.integration

PACKAGES = ("config", "crawler", "pipelines", "search", "harness", "onionscope")
SEED = 4242


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    shutil.copytree(PROJECT_ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
        ".mypy_cache", ".ruff_cache"))
    target = work / "target"
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    built = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
         "--target", str(target), "."],
        cwd=source, env=environment, capture_output=True, text=True, timeout=600, check=False,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return target


def run_installed(target: Path, arguments: list[str], cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """``python -S <arguments>`` with only the installed copy and the virtualenv's dependencies importable."""
    dependencies = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("ONIONSCOPE_") and key != "PYTHONPATH"}
    environment["PYTHONPATH"] = os.pathsep.join([str(target), *dependencies])
    environment.update(settings)
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run([sys.executable, "-S", *arguments], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=300, check=False)


def test_the_installed_copy_runs_its_own_code_and_finds_its_data(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import json, " + ", ".join(PACKAGES) + "\n"
        "from config.settings import load_settings\n"
        "from search.api.context import build_templates\n"
        "from search.api import STATIC_DIR\n"
        "build_templates().get_template('search.html')\n"
        f"print(json.dumps({{'files': [m.__file__ for m in ({', '.join(PACKAGES)})], "
        "'config_dir': str(load_settings(environ={}).config_dir), 'static': sorted(p.name for p in STATIC_DIR.iterdir())}))"
    )
    done = run_installed(installed, ["-c", probe], cwd=tmp_path / "elsewhere")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert all(Path(file).is_relative_to(installed) for file in report["files"]), report["files"]
    config_dir = Path(report["config_dir"])
    assert config_dir == installed / "config"
    assert sorted(path.name for path in (config_dir / "markets").glob("*.yml")) == sorted(
        path.name for path in (PROJECT_ROOT / "config" / "markets").glob("*.yml"))
    # Every index template of the checkout is in the installed copy.
    assert sorted(path.name for path in (config_dir / "index_templates").glob("*.json")) == sorted(
        path.name for path in (PROJECT_ROOT / "config" / "index_templates").glob("*.json"))
    for data in ("substances.yml", "countries.yml", "torrc/common.torrc", "demo/names.yml"):
        assert (config_dir / data).is_file(), data
    assert "style.css" in report["static"]
    assert (installed / "bin" / "onionscope").is_file()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out_dir = tmp_path_factory.mktemp("world")
    return out_dir, generate_world(SEED, placeholder_onion_hosts(SEED), out_dir)


def test_installed_extract_reads_a_saved_page(installed: Path, world: tuple[Path, dict[str, Any]],
                                              tmp_path: Path) -> None:
    out_dir, truth = world
    record = next(r for r in truth["listings"] if r["market"] == "tundra-shop" and r["substances"] and r["ships_to"])
    parts = urlsplit(record["url"])
    page = site_directory(out_dir, "tundra-shop") / file_for_target(parts.path or "/", parts.query)
    host = truth["sites"]["tundra-shop"]["onion_host"]
    done = run_installed(installed, ["-m", "onionscope.cli", "extract", str(page), "--url", record["url"], "--json",
                                     "--market-host", f"tundra-shop={host}"],
                         cwd=tmp_path / "elsewhere", ONIONSCOPE_VAR_DIR=str(tmp_path / "var"))
    assert done.returncode == 0, done.stderr[-3000:]
    output = json.loads(done.stdout)
    assert (output["market"], output["page_type"], output["extractor"]) == ("tundra-shop", "listing", "profile")
    (listing,) = output["listings"]
    # Profiles, lexicon and country table all came with the package.
    for field in ("listing_id", "title", "vendor", "price_amount", "price_currency", "ships_from", "ships_to",
                  "substances"):
        assert listing[field] == record[field], field


def test_installed_search_finds_an_indexed_page(installed: Path, es_settings: Any, es: tuple[Any, str],
                                                tmp_path: Path) -> None:
    from crawler.items import Page
    from pipelines.elasticsearch_bulk import BulkIndexer
    from pipelines.indices import alias_name

    client, prefix = es
    # No ONIONSCOPE_VAR_DIR: the default, "var", is relative to the folder the command runs in.
    environment = {"ONIONSCOPE_ES_URL": es_settings.es_url, "ONIONSCOPE_INDEX_PREFIX": prefix}
    script = str(installed / "bin" / "onionscope")
    setup = run_installed(installed, [script, "index", "setup"], cwd=tmp_path / "elsewhere", **environment)
    assert setup.returncode == 0, setup.stderr[-3000:]
    assert f"{prefix}-pages -> {prefix}-pages-v1" in setup.stdout  # the shipped index templates

    empty = run_installed(installed, [script, "search", "quokkaberry", "--kind", "pages", "--json"], cwd=tmp_path / "elsewhere",
                          **environment)
    assert empty.returncode == 0, empty.stderr[-3000:]
    assert json.loads(empty.stdout)["hits"] == []

    host = placeholder_onion_hosts(SEED)["hush-forum"]
    url = f"http://{host}/thread/quokka"
    page = Page(url=url, canonical_url=url, onion_host=host, status=200, content_type="text/html",
                content_hash="h", fetched_at="2026-11-28T10:00:00Z", job_id="install-test",
                title="Quokkaberry thread", text="who sells quokkaberry here")
    outcome = BulkIndexer(client, prefix, None, max_retries=0).index_items([page])
    assert outcome.failed == 0
    client.indices.refresh(index=alias_name(prefix, "pages"))
    found = run_installed(installed, [script, "search", "quokkaberry", "--kind", "pages", "--json"], cwd=tmp_path / "elsewhere",
                          **environment)
    assert found.returncode == 0, found.stderr[-3000:]
    [hit] = json.loads(found.stdout)["hits"]
    assert hit["source"]["url"] == url
    # Runtime state (the cursor-signing secret search made) went to ./var, not into the installed package.
    assert (tmp_path / "elsewhere" / "var" / "session_secret").is_file()
    assert not (installed / "var").exists()
