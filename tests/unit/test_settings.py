from __future__ import annotations

from pathlib import Path

import pytest

from onionscope.settings import DEFAULTS, ConfigError, load_settings


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
