"""Nothing finds its files through the project root: ``config_dir`` is honoured everywhere.

A copy of the config folder in a temporary directory, with one market profile
added, one lexicon name, one country spelling, one torrc line and one demo
word changed, is what the spider, ``onionscope extract``, ``onionscope crawl``,
the private network's torrcs and the demo generator use once
``ONIONSCOPE_CONFIG_DIR`` names it.  Relative setting paths resolve against the
current directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from scrapy.http import HtmlResponse, Request

from config import paths
from config.settings import load_settings
from crawler.extractors.countries import normalise_country
from crawler.items import Listing
from harness.demo.hosts import derived_onion_host

HOST = derived_onion_host(7, "config-dir-test")
OTHER_HOST = derived_onion_host(7, "config-dir-test-other")
PAGE_URL = f"http://{HOST}/item/7"
PAGE = (
    "<html><head><title>Zorblax crystals</title></head><body>"
    "<h1>Zorblax crystals 10g</h1><span class='price'>$120</span><span class='vendor'>acme</span>"
    "<span class='ships-to'>Narnia</span></body></html>"
)
PROFILE = f"""
name: testmarket
match:
  hosts: [{HOST}]
pages:
  listing:
    url_pattern: '^/item/(?P<listing_id>\\d+)$'
    fields:
      title: {{css: 'h1'}}
      price: {{css: '.price'}}
      vendor: {{css: '.vendor'}}
      ships_to: {{css: '.ships-to'}}
"""
TORRC_MARKER = "# written from the config_dir copy"


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    """The shipped config folder's data, copied, with one change per kind of file."""
    copy = tmp_path / "elsewhere" / "config"
    shutil.copytree(paths.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (copy / "markets" / "testmarket.yml").write_text(PROFILE, encoding="utf-8")
    lexicon = yaml.safe_load((copy / "substances.yml").read_text(encoding="utf-8"))
    lexicon["substances"]["ketamine"]["names"].append("zorblax")
    (copy / "substances.yml").write_text(yaml.safe_dump(lexicon, allow_unicode=True), encoding="utf-8")
    countries = yaml.safe_load((copy / "countries.yml").read_text(encoding="utf-8"))
    countries["countries"]["NL"].append("Narnia")
    (copy / "countries.yml").write_text(yaml.safe_dump(countries, allow_unicode=True), encoding="utf-8")
    with (copy / "torrc" / "common.torrc").open("a", encoding="utf-8") as torrc:
        torrc.write(f"\n{TORRC_MARKER}\n")
    names = yaml.safe_load((copy / "demo" / "names.yml").read_text(encoding="utf-8"))
    names["handle_first"] = ["Zorblaxian"]
    (copy / "demo" / "names.yml").write_text(yaml.safe_dump(names, allow_unicode=True), encoding="utf-8")
    return copy


def _settings(config_dir: Path | None = None, **environment: str):
    environ = dict(environment)
    if config_dir is not None:
        environ["ONIONSCOPE_CONFIG_DIR"] = str(config_dir)
    return load_settings(None, environ=environ)


def test_relative_setting_paths_resolve_against_the_current_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, environ={"ONIONSCOPE_DEMO_DIR": "sites", "ONIONSCOPE_CONFIG_DIR": "my-config"})
    assert settings.var_dir == tmp_path / "var"
    assert settings.testnet_dir == tmp_path / "var" / "testnet"
    assert settings.demo_dir == tmp_path / "sites"
    assert settings.config_dir == tmp_path / "my-config"


def test_config_dir_defaults_to_the_config_package_folder_wherever_it_runs(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, environ={})
    assert settings.config_dir == paths.PACKAGE_DIR == Path(sys.modules["config"].__file__).resolve().parent
    assert (paths.markets_dir(settings.config_dir) / "nebula-market.yml").is_file()


def _response() -> HtmlResponse:
    return HtmlResponse(url=PAGE_URL, body=PAGE.encode(), encoding="utf-8", request=Request(PAGE_URL))


def test_the_spider_extracts_with_the_config_dir_of_its_settings(config_copy: Path) -> None:
    from scrapy.utils.test import get_crawler

    from crawler.spiders.onion import OnionSpider

    crawler = get_crawler(OnionSpider, {"ONIONSCOPE_SETTINGS": _settings(config_copy)})
    spider = OnionSpider.from_crawler(crawler, seeds=[f"http://{HOST}/"])
    assert "testmarket" in spider.profiles.names
    assert normalise_country("Narnia", spider.countries) == "NL"
    items = _parse_all(spider, _response())
    [listing] = [item for item in items if isinstance(item, Listing)]
    assert (listing.market, listing.extractor, listing.title) == ("testmarket", "profile", "Zorblax crystals 10g")
    assert listing.substances == ["ketamine"] and listing.ships_to == ["NL"]

    # The same page with the shipped config: no such market, name or spelling.
    default_spider = OnionSpider.from_crawler(get_crawler(OnionSpider, {"ONIONSCOPE_SETTINGS": _settings()}),
                                              seeds=[f"http://{HOST}/"])
    items = _parse_all(default_spider, _response())
    assert all(item.market != "testmarket" for item in items if isinstance(item, Listing))
    assert "testmarket" not in default_spider.profiles.names


def _parse_all(spider, response) -> list:
    """Everything the (async) parse callback yields, extracted by the spider's budget worker when it
    has one (so the worker's reference tables are checked too); the worker is stopped afterwards."""
    import asyncio

    async def collect() -> list:
        return [out async for out in spider.parse(response)]

    try:
        return asyncio.run(collect())
    finally:
        if spider.extractor is not None:
            spider.extractor.close()


def _onionscope(arguments: list[str], cwd: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ONIONSCOPE_")}
    env.update(environment)
    return subprocess.run([sys.executable, "-m", "onionscope.cli", *arguments], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_extract_uses_the_config_dir_from_any_directory(config_copy: Path, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    done = _onionscope(["extract", str(page), "--url", PAGE_URL, "--json"], cwd=tmp_path,
                       ONIONSCOPE_CONFIG_DIR=str(config_copy))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    [listing] = result["listings"]
    assert (result["market"], result["extractor"]) == ("testmarket", "profile")
    assert listing["substances"] == ["ketamine"] and listing["ships_to"] == ["NL"]


def test_crawl_binds_market_hosts_against_the_config_dir_profiles(config_copy: Path, tmp_path: Path) -> None:
    # testmarket exists only in the copy: binding a host to it passes, and the crawl stops at the next
    # step, finding no tor (nothing connects anywhere).
    arguments = ["crawl", "--seed", f"http://{HOST}/", "--market-host", f"testmarket={OTHER_HOST}"]
    done = _onionscope(arguments, cwd=tmp_path, ONIONSCOPE_CONFIG_DIR=str(config_copy),
                       ONIONSCOPE_TESTNET_DIR=str(tmp_path / "no-testnet"))
    assert done.returncode == 1
    assert "no tor is configured" in done.stderr and "testmarket" not in done.stderr, done.stderr
    shipped = _onionscope(arguments, cwd=tmp_path, ONIONSCOPE_TESTNET_DIR=str(tmp_path / "no-testnet"))
    assert shipped.returncode == 1 and "testmarket" in shipped.stderr, shipped.stderr


def test_the_private_network_renders_the_config_dir_torrc_templates(config_copy: Path, tmp_path: Path) -> None:
    from harness.testnet.layout import plan_nodes
    from harness.testnet.torrc import NetworkParameters, render_torrc
    from onionscope.commands.testnet import network_from_settings

    network = network_from_settings(_settings(config_copy, ONIONSCOPE_TESTNET_DIR=str(tmp_path / "net")))
    assert network.torrc_templates == config_copy / "torrc"
    parameters = NetworkParameters(network_dir=tmp_path, dir_authority_lines=[], empty_file=tmp_path / "empty",
                                   resolv_file=tmp_path / "resolv.conf")
    node = plan_nodes(20000, 2, 1)[0]
    assert TORRC_MARKER in render_torrc(node, parameters, network.torrc_templates)
    assert TORRC_MARKER not in render_torrc(node, parameters)


def test_the_demo_world_is_drawn_from_the_config_dir_data(config_copy: Path, tmp_path: Path) -> None:
    from harness.demo.generator import generate_world, generator_version, placeholder_onion_hosts

    truth = generate_world(1337, placeholder_onion_hosts(1337), tmp_path / "demo", data_dir=config_copy / "demo")
    assert truth["generator_version"] == generator_version(config_copy / "demo") != generator_version()
    vendor_names = [vendor["name"] for vendor in truth["vendors"]]
    assert vendor_names and all(name.startswith("Zorblaxian") for name in vendor_names), vendor_names[:5]
