from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import DEFAULTS, ConfigError, load_settings


def test_defaults_load_without_a_file(tmp_path: Path) -> None:
    settings = load_settings(config_file=None, environ={})
    assert settings.es_url == "http://127.0.0.1:9200"
    assert settings.crawl_concurrency == DEFAULTS["crawl_concurrency"].default
    assert settings.source("crawl_concurrency") == "default"


def test_environment_overrides_file(tmp_path: Path) -> None:
    config = tmp_path / "onionscope.yml"
    config.write_text("es_url: http://10.0.0.1:9200\ncrawl_depth: 3\n")
    settings = load_settings(config, environ={"ONIONSCOPE_ES_URL": "https://es.example:9243/"})
    assert settings.es_url == "https://es.example:9243"
    assert settings.crawl_depth == 3
    assert settings.source("es_url") == "environment variable ONIONSCOPE_ES_URL"
    assert settings.source("crawl_depth") == str(config)


def test_typo_in_file_names_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "onionscope.yml"
    config.write_text("crawl_dpeth: 3\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(config, environ={})
    message = str(excinfo.value)
    assert str(config) in message and "crawl_dpeth" in message and "crawl_depth" in message


def test_typo_in_environment_names_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ONIONSCOPE_TOR_SOKS.*ONIONSCOPE_TOR_SOCKS"):
        load_settings(None, environ={"ONIONSCOPE_TOR_SOKS": "127.0.0.1:9050"})


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("tor_socks", "localhost", "host:port"),
        ("crawl_concurrency", "0", "outside"),
        ("es_url", "127.0.0.1:9200", "http"),
        ("follow_offsite", "maybe", "true or false"),
        ("index_prefix", "Bad Prefix", "lower-case"),
    ],
)
def test_bad_values_are_rejected(key: str, value: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, environ={f"ONIONSCOPE_{key.upper()}": value})
    assert key in str(excinfo.value) and fragment in str(excinfo.value)


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.yml", environ={})


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    config = tmp_path / "onionscope.yml"
    config.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(config, environ={})


def test_settings_survive_deepcopy() -> None:
    import copy

    settings = load_settings(None, environ={"ONIONSCOPE_CRAWL_DEPTH": "2"})
    clone = copy.deepcopy(settings)
    assert clone.crawl_depth == 2 and dict(clone) == dict(settings)


def test_test_suite_variables_are_not_settings() -> None:
    settings = load_settings(None, environ={"ONIONSCOPE_TEST_TESTNET_DIR": "/tmp/x"})
    assert "test_testnet_dir" not in settings


def test_trusted_proxies_are_addresses_or_networks(tmp_path: Path) -> None:
    assert load_settings(environ={}).trusted_proxies == ()
    config = tmp_path / "onionscope.yml"
    config.write_text("trusted_proxies: [10.0.0.5, '192.168.0.0/16', '::1']\n")
    assert load_settings(config, environ={}).trusted_proxies == ("10.0.0.5", "192.168.0.0/16", "::1")
    from_env = load_settings(environ={"ONIONSCOPE_TRUSTED_PROXIES": "127.0.0.1, 172.16.0.0/12"})
    assert from_env.trusted_proxies == ("127.0.0.1", "172.16.0.0/12")
    for bad in ("*", "proxy.internal", "10.0.0.300"):
        with pytest.raises(ConfigError, match=r"ONIONSCOPE_TRUSTED_PROXIES.*trusted_proxies.*TLS proxies"):
            load_settings(environ={"ONIONSCOPE_TRUSTED_PROXIES": bad})
NEBULA_HOST = "mbsob3qx4tuet26qcd6rjur5u6r2vhzwadbral4tupdpff3v6ivjjtqd.onion"
BAZAAR_HOST = "lvzulnxmfktksuznm5jvqspfwihnnscau5tntazh23up3aor7lsisdyd.onion"


def test_market_hosts_from_the_environment_the_file_and_an_override(tmp_path: Path) -> None:
    assert load_settings(None, environ={}).market_hosts == ()
    from_env = load_settings(None, environ={
        "ONIONSCOPE_MARKET_HOSTS": f"old-bazaar={BAZAAR_HOST.upper()}, nebula-market={NEBULA_HOST}"})
    assert from_env.market_hosts == (("nebula-market", NEBULA_HOST), ("old-bazaar", BAZAAR_HOST))
    config = tmp_path / "onionscope.yml"
    config.write_text(f"market_hosts:\n  nebula-market: [{NEBULA_HOST}]\n  old-bazaar: {BAZAAR_HOST}\n")
    assert load_settings(config, environ={}).market_hosts == from_env.market_hosts
    # What `--market-host` does: the confirmations given on the command line join the configured ones.
    extended = load_settings(None, environ={}).replace(market_hosts=[f"nebula-market={NEBULA_HOST}"])
    assert extended.replace(market_hosts=[*extended.market_hosts, f"old-bazaar={BAZAAR_HOST}"]).market_hosts == (
        from_env.market_hosts)


@pytest.mark.parametrize(("value", "fragment"), [
    (NEBULA_HOST, "expected MARKET=HOST"),
    (f"Nebula={NEBULA_HOST}", "not a market profile name"),
    ("nebula-market=nebula.onion", "not a v3 onion host"),
    (f"nebula-market=http://{NEBULA_HOST}/", "not a v3 onion host"),
    (f"nebula-market={NEBULA_HOST},old-bazaar={NEBULA_HOST}", "confirmed for two markets"),
])
def test_bad_market_hosts_are_rejected(value: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, environ={"ONIONSCOPE_MARKET_HOSTS": value})
    assert "market_hosts" in str(excinfo.value) and fragment in str(excinfo.value)


def test_a_market_hosts_mapping_needs_hosts(tmp_path: Path) -> None:
    config = tmp_path / "onionscope.yml"
    config.write_text("market_hosts:\n  nebula-market: 42\n")
    with pytest.raises(ConfigError, match="market_hosts.*list of them for 'nebula-market'"):
        load_settings(config, environ={})
