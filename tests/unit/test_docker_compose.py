"""docker-compose.yml checked statically (it cannot run on the build machines)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.settings import DEFAULTS, ELASTICSEARCH_VERSION, env_name
from tests import PROJECT_ROOT

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def test_elasticsearch_image_matches_the_pinned_version(compose: dict[str, Any]) -> None:
    image = compose["services"]["elasticsearch"]["image"]
    assert image == f"docker.elastic.co/elasticsearch/elasticsearch:{ELASTICSEARCH_VERSION}"
    environment = compose["services"]["elasticsearch"]["environment"]
    assert environment["discovery.type"] == "single-node"
    assert re.search(r"-Xms(\d+[mg]) -Xmx\1", environment["ES_JAVA_OPTS"])


def test_every_published_port_is_bound_to_loopback(compose: dict[str, Any]) -> None:
    published = [(name, port) for name, service in compose["services"].items() for port in service.get("ports", [])]
    assert published, "the API and Elasticsearch should be reachable from the host"
    for name, port in published:
        assert isinstance(port, str) and port.startswith("127.0.0.1:"), f"{name} publishes {port!r} beyond loopback"
    assert "ports" not in compose["services"]["tor"]


def test_onionscope_environment_names_real_settings(compose: dict[str, Any]) -> None:
    environment = compose["services"]["onionscope"]["environment"]
    known = {env_name(key) for key in DEFAULTS}
    assert set(environment) <= known, sorted(set(environment) - known)
    for required in ("ONIONSCOPE_ES_URL", "ONIONSCOPE_TOR_SOCKS", "ONIONSCOPE_TOR_CONTROL"):
        assert required in environment
    assert environment["ONIONSCOPE_ES_URL"] == "http://elasticsearch:9200"
    assert compose["services"]["onionscope"]["command"][:2] == ["onionscope", "serve"]


def test_build_files_and_the_mounted_torrc_exist(compose: dict[str, Any]) -> None:
    onionscope = compose["services"]["onionscope"]["build"]
    assert (PROJECT_ROOT / onionscope["context"] / onionscope["dockerfile"]).is_file()
    tor_build = PROJECT_ROOT / compose["services"]["tor"]["build"]["context"] / "Dockerfile"
    assert "--defaults-torrc" in tor_build.read_text()  # never tor's default configuration
    [torrc_mount] = [v for v in compose["services"]["tor"]["volumes"] if v.endswith(":/etc/tor/torrc:ro")]
    torrc = (PROJECT_ROOT / torrc_mount.split(":", 1)[0]).resolve()
    assert torrc.is_file() and torrc.is_relative_to(PROJECT_ROOT / "config" / "torrc")
    lines = [line.strip() for line in torrc.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert "DisableNetwork 1" in lines  # shipped offline: the user supplies the real configuration
    assert "ExitRelay 0" in lines and "ORPort 0" in lines


def test_dockerfile_installs_the_locked_dependencies() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "requirements.lock" in dockerfile and re.search(r"^USER (?!root)", dockerfile, re.MULTILINE)
    assert Path(PROJECT_ROOT / ".dockerignore").read_text().count(".venv") == 1


# What Docker's embedded DNS answers on the compose network (the test's stand-in for it).
COMPOSE_NETWORK = {"tor": "172.18.0.3", "elasticsearch": "172.18.0.2", "onionscope": "172.18.0.4"}


def compose_environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as the container sees it (``${NAME:-default}`` with the variable unset)."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {str(key): re.sub(r"\$\{\w+(?::?-([^}]*))?\}", lambda match: match.group(1) or "", str(value))
            for key, value in environment.items()}


def test_each_service_environment_loads_and_the_crawl_gets_tor_as_an_address(compose: dict[str, Any], monkeypatch) -> None:
    """`tor:9050` is looked up once when the command starts; the crawl's transport gets the address."""
    import socket

    from crawler.settings import scrapy_settings
    from crawler.tor.download_handler import parse_socks_endpoints
    from crawler.tor.endpoints import resolve_tor_endpoints
    from config.settings import load_settings

    asked: list[str] = []

    def compose_dns(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        asked.append(host)
        if host not in COMPOSE_NETWORK:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (COMPOSE_NETWORK[host], int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", compose_dns)
    with_tor = []
    for name, service in compose["services"].items():
        settings = load_settings(environ=compose_environment(service))
        if settings.tor_socks is None:
            continue
        with_tor.append(name)
        endpoints = resolve_tor_endpoints(settings)  # as `onionscope crawl` does first
        scrapy_values = scrapy_settings(settings, endpoints.socks_strings())
        assert [str(address) for address in parse_socks_endpoints(scrapy_values["TOR_SOCKS_ENDPOINTS"])] == [
            f"{COMPOSE_NETWORK['tor']}:9050"]
        assert endpoints.control == (COMPOSE_NETWORK["tor"], 9051)  # stem takes IP addresses only, too
    assert with_tor == ["onionscope"]
    assert set(asked) == {"tor"}  # the operator's own service name, and nothing else
