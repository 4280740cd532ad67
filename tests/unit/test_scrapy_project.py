"""``scrapy crawl onion`` from the project root: a static project module, onionscope's settings from an add-on.

scrapy.cfg names :mod:`crawler.scrapy_project`, which sets only what Scrapy
reads before a crawl exists.  :class:`crawler.settings.OnionscopeAddon`
applies :func:`crawler.settings.scrapy_settings` when the crawl starts, at the
priority a settings module had, and leaves a crawl that already has them
(``onionscope crawl``) alone.
"""

from __future__ import annotations

import configparser
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.settings import Settings as ScrapySettings

from config.settings import load_settings
from crawler.settings import PROCESS_SETTINGS, OnionscopeAddon, scrapy_settings
from crawler.tor.network_guard import EXTENSION_PATH as NETWORK_GUARD_PATH
from tests import PROJECT_ROOT

TOR_HANDLER = "crawler.tor.download_handler.TorDownloadHandler"


def _project_settings() -> ScrapySettings:
    values = ScrapySettings()
    values.setmodule("crawler.scrapy_project", priority="project")
    return values


def test_scrapy_cfg_names_the_static_project_module() -> None:
    config = configparser.ConfigParser()
    config.read(PROJECT_ROOT / "scrapy.cfg")
    assert config["settings"]["default"] == "crawler.scrapy_project"
    import crawler.scrapy_project as project

    names = {name for name in vars(project) if name.isupper()}
    assert names == {*PROCESS_SETTINGS, "ADDONS"}
    assert project.ADDONS == {"crawler.settings.OnionscopeAddon": 0}


def test_the_addon_applies_onionscope_settings_at_project_priority(monkeypatch, tmp_path: Path) -> None:
    for name in [name for name in os.environ if name.startswith("ONIONSCOPE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ONIONSCOPE_TOR_SOCKS", "127.0.0.1:9050")
    monkeypatch.setenv("ONIONSCOPE_CRAWL_CONCURRENCY", "7")
    values = _project_settings()
    values.set("RETRY_TIMES", 0, priority="spider")  # a spider's custom_settings
    values.set("DOWNLOAD_TIMEOUT", 3, priority="cmdline")  # scrapy crawl -s DOWNLOAD_TIMEOUT=3
    OnionscopeAddon().update_settings(values)

    assert values["ONIONSCOPE_SETTINGS"].crawl_concurrency == 7 and values.getint("CONCURRENT_REQUESTS") == 7
    assert values.getlist("TOR_SOCKS_ENDPOINTS") == ["127.0.0.1:9050"]
    assert values.getdict("DOWNLOAD_HANDLERS")["http"] == values.getdict("DOWNLOAD_HANDLERS")["https"] == TOR_HANDLER
    assert NETWORK_GUARD_PATH in values.getdict("EXTENSIONS")
    assert values.getpriority("CONCURRENT_REQUESTS") == values.getpriority("BOT_NAME") == 20  # "project"
    assert (values.getint("RETRY_TIMES"), values.getfloat("DOWNLOAD_TIMEOUT")) == (0, 3)


def test_without_a_tor_the_crawl_gets_the_tor_handler_with_no_endpoint(monkeypatch, tmp_path: Path) -> None:
    for name in [name for name in os.environ if name.startswith("ONIONSCOPE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ONIONSCOPE_TESTNET_DIR", str(tmp_path / "no-testnet"))
    values = _project_settings()
    OnionscopeAddon().update_settings(values)
    # TorTransportGuard stops such a crawl at start-up; nothing falls back to a direct connection.
    assert values.getlist("TOR_SOCKS_ENDPOINTS") == []
    assert values.getdict("DOWNLOAD_HANDLERS")["https"] == TOR_HANDLER


def test_the_addon_leaves_a_crawl_with_its_settings_alone() -> None:
    settings = load_settings(None, environ={"ONIONSCOPE_CRAWL_CONCURRENCY": "3"})
    values = ScrapySettings(scrapy_settings(settings, ["127.0.0.1:9999"]))
    OnionscopeAddon().update_settings(values)
    assert values["ONIONSCOPE_SETTINGS"] is settings
    assert values.getlist("TOR_SOCKS_ENDPOINTS") == ["127.0.0.1:9999"] and values.getint("CONCURRENT_REQUESTS") == 3


@pytest.mark.timeout(180)
def test_scrapy_crawl_onion_goes_through_tor_with_the_guard(tmp_path: Path) -> None:
    silent_socks = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    port = silent_socks.getsockname()[1]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ONIONSCOPE_")}
    environment.update(ONIONSCOPE_TOR_SOCKS=f"127.0.0.1:{port}", ONIONSCOPE_VAR_DIR=str(tmp_path / "var"),
                       ONIONSCOPE_TESTNET_DIR=str(tmp_path / "no-testnet"))
    seed = "http://" + "d" * 56 + ".onion/"
    with silent_socks:
        done = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "onion", "-a", f"seeds={seed}", "-s", "ITEM_PIPELINES={}",
             "-s", "DOWNLOAD_TIMEOUT=2", "-s", "TOR_SOCKS_TIMEOUT=2", "-s", "RETRY_TIMES=0"],
            cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=150, check=False,
        )
    log = done.stderr
    assert done.returncode == 0, log[-4000:]
    assert "crawler.settings.OnionscopeAddon" in log  # "Enabled addons"
    assert NETWORK_GUARD_PATH in log  # "Enabled extensions"
    # The one request went to the silent SOCKS port (no answer: a handshake timeout) and nowhere else.
    assert re.search(r"'downloader/request_count': 1\b", log), log[-4000:]
    assert "'tor/socks_error/handshake_timeout': 1" in log
    assert "'network_guard/refused': 0" in log  # the guard was armed and refused nothing
