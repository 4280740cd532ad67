"""docker-compose.yml checked statically (it cannot run on the build machines).

Schema (the keys Compose needs), pinned images, a healthcheck and a data volume on every
service, Elasticsearch and Redis never published, published ports on loopback only, and every
service's command parsed by the onionscope command's own argparse parser (the subcommand and
every option must exist).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import ONIONSCOPE_VERSION
from config.settings import DEFAULTS, ELASTICSEARCH_VERSION, env_name
from tests import PROJECT_ROOT

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
ONIONSCOPE_SERVICES = ("crawler", "scheduler", "api")
# Keys a Compose service may have here; anything else is a typo Compose would reject.
SERVICE_KEYS = {"image", "build", "command", "environment", "volumes", "ports", "healthcheck", "restart",
                "depends_on", "deploy", "profiles", "ulimits"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def interpolate(value: str) -> str:
    """``${NAME:-default}`` / ``${NAME}`` as Compose expands them with the variable unset."""
    return re.sub(r"\$\{\w+(?::?-([^}]*))?\}", lambda match: match.group(1) or "", value)


def test_schema_every_service_has_what_compose_needs(compose: dict[str, Any]) -> None:
    assert set(compose) <= {"services", "volumes", "networks"} | {key for key in compose if key.startswith("x-")}
    services = compose["services"]
    assert {"redis", "elasticsearch", "es-node-2", "es-node-3", "tor-1", "tor-2", *ONIONSCOPE_SERVICES} == set(services)
    for name, service in services.items():
        assert isinstance(service, dict), name
        assert set(service) <= SERVICE_KEYS, (name, sorted(set(service) - SERVICE_KEYS))
        assert "image" in service or "build" in service, name
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
        assert service.get("restart") == "unless-stopped", name


def test_images_are_pinned_and_elasticsearch_is_the_pinned_distribution(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag and tag not in ("", "latest"), f"{name}: {image!r} is not pinned"
        assert re.fullmatch(r"[0-9][0-9A-Za-z.\-]*", tag), f"{name}: {image!r} is not pinned to a version"
        if "build" in service:  # our own images carry the project's version
            assert tag == ONIONSCOPE_VERSION, name
    nodes = [name for name, service in compose["services"].items() if "elasticsearch" in service["image"]]
    assert nodes == ["elasticsearch", "es-node-2", "es-node-3"]
    for name in nodes:
        assert compose["services"][name]["image"] == \
            f"docker.elastic.co/elasticsearch/elasticsearch:{ELASTICSEARCH_VERSION}"
    for dockerfile in (PROJECT_ROOT / "Dockerfile", PROJECT_ROOT / "docker" / "tor" / "Dockerfile"):
        for base in re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), re.MULTILINE):
            assert ":" in base and not base.endswith(":latest"), f"{dockerfile}: FROM {base} is not pinned"


def test_elasticsearch_is_one_node_by_default_and_three_in_the_cluster_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    default = [name for name, service in services.items() if "profiles" not in service]
    assert "elasticsearch" in default and "es-node-2" not in default and "es-node-3" not in default
    first = services["elasticsearch"]["environment"]
    assert interpolate(first["discovery.type"]) == "single-node"  # unless ONIONSCOPE_ES_DISCOVERY=multi-node
    assert "${ONIONSCOPE_ES_DISCOVERY" in first["discovery.type"]
    assert "cluster.initial_master_nodes" not in first  # refused next to single-node discovery
    assert re.search(r"-Xms(\d+[mg]) -Xmx\1", first["ES_JAVA_OPTS"])
    names = {services[name]["environment"]["node.name"] for name in ("elasticsearch", "es-node-2", "es-node-3")}
    for name in ("es-node-2", "es-node-3"):
        service = services[name]
        assert service["profiles"] == ["cluster"]
        environment = service["environment"]
        assert environment["cluster.name"] == first["cluster.name"]
        assert set(environment["discovery.seed_hosts"].split(",")) == names
        assert set(environment["cluster.initial_master_nodes"].split(",")) == names
        assert "discovery.type" not in environment
    # One snapshot repository folder (path.repo), the same volume in every node.
    for name in ("elasticsearch", "es-node-2", "es-node-3"):
        service = services[name]
        assert service["environment"]["path.repo"] == "/usr/share/elasticsearch/snapshots"
        assert "es-snapshots:/usr/share/elasticsearch/snapshots" in service["volumes"]
    data = [volume for name in ("elasticsearch", "es-node-2", "es-node-3")
            for volume in services[name]["volumes"] if volume.endswith(":/usr/share/elasticsearch/data")]
    assert len(set(data)) == 3  # a data volume each


def test_every_service_has_a_healthcheck_and_a_data_volume(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    for name, service in compose["services"].items():
        check = service.get("healthcheck")
        assert check and check.get("test") and check["test"][0] in ("CMD", "CMD-SHELL"), f"{name}: no healthcheck"
        assert check.get("disable") is not True, name
        named = [volume.split(":", 1)[0] for volume in service.get("volumes", []) if not volume.startswith(".")]
        assert named, f"{name}: no data volume"
        assert set(named) <= declared, (name, set(named) - declared)
        for volume in service.get("volumes", []):
            if volume.startswith("."):  # bind mounts: files of this repository, read-only
                source = PROJECT_ROOT / volume.split(":", 1)[0]
                assert source.is_file() and volume.endswith(":ro"), volume
    # No two services write the same named volume, except the snapshot repository every node shares.
    writers: dict[str, list[str]] = {}
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            if not volume.startswith(".") and not volume.endswith(":ro"):
                writers.setdefault(volume.split(":", 1)[0], []).append(name)
    assert {volume: names for volume, names in writers.items() if len(names) > 1} == {
        "es-snapshots": ["elasticsearch", "es-node-2", "es-node-3"]}


def test_elasticsearch_and_redis_are_not_published_and_the_rest_only_on_loopback(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("redis", "elasticsearch", "es-node-2", "es-node-3", "tor-1", "tor-2", "crawler", "scheduler"):
        assert "ports" not in services[name] and "expose" not in services[name], name
    published = [(name, port) for name, service in services.items() for port in service.get("ports", [])]
    assert published == [("api", "127.0.0.1:8088:8088")]


def test_the_tor_pool_reads_the_users_torrc_never_the_defaults(compose: dict[str, Any]) -> None:
    tor_build = PROJECT_ROOT / "docker" / "tor" / "Dockerfile"
    assert "--defaults-torrc" in tor_build.read_text()  # never tor's default configuration
    pool = [name for name in compose["services"] if name.startswith("tor-")]
    assert len(pool) >= 2
    state = set()
    for name in pool:
        service = compose["services"][name]
        assert (PROJECT_ROOT / service["build"]["context"] / "Dockerfile") == tor_build
        [torrc_mount] = [v for v in service["volumes"] if v.endswith(":/etc/tor/torrc:ro")]
        torrc = (PROJECT_ROOT / torrc_mount.split(":", 1)[0]).resolve()
        assert torrc.is_file() and torrc.is_relative_to(PROJECT_ROOT / "config" / "torrc")
        lines = [line.strip() for line in torrc.read_text().splitlines() if line.strip() and not line.startswith("#")]
        assert "DisableNetwork 1" in lines  # shipped offline: the user supplies the real configuration
        assert "ExitRelay 0" in lines and "ORPort 0" in lines
        state |= {volume for volume in service["volumes"] if volume.endswith(":/var/lib/tor")}
    assert len(state) == len(pool)  # tor locks its DataDirectory: one each


def test_onionscope_services_use_real_settings_and_the_whole_tor_pool(compose: dict[str, Any]) -> None:
    known = {env_name(key) for key in DEFAULTS}
    pool = {f"{name}:9050" for name in compose["services"] if name.startswith("tor-")}
    for name in ONIONSCOPE_SERVICES:
        environment = compose["services"][name]["environment"]
        assert set(environment) <= known, (name, sorted(set(environment) - known))
        assert environment["ONIONSCOPE_ES_URL"] == "http://elasticsearch:9200"
        assert environment["ONIONSCOPE_REDIS_URL"] == "redis://redis:6379/0"
        members = [member.split("=") for member in environment["ONIONSCOPE_TOR_POOL"].split(",")]
        assert {socks for socks, _control in members} == pool
        assert all(control == socks.replace(":9050", ":9051") for socks, control in members)  # its own ControlPort
        assert "ONIONSCOPE_TOR_SOCKS" not in environment and "ONIONSCOPE_TOR_EXTRA_SOCKS" not in environment
        depends = compose["services"][name]["depends_on"]
        assert {"elasticsearch", "redis", *(name for name in compose["services"] if name.startswith("tor-"))} <= set(depends)
        assert all(condition["condition"] == "service_healthy" for condition in depends.values())
    assert compose["services"]["crawler"]["deploy"]["replicas"] >= 2


def _command_parser() -> argparse.ArgumentParser:
    """The onionscope command's parser with every subcommand configured (as `onionscope X --help` sees it)."""
    from onionscope import cli

    parser = cli.build_parser()
    subparsers = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    for name, (module_name, _help) in cli.COMMANDS.items():
        cli._load(module_name).configure(subparsers.choices[name])
    return parser


class _Refused(Exception):
    pass


def _parse_strictly(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse ``argv`` with ``parser``; an unknown subcommand or option raises instead of exiting."""
    def refuse(message: str) -> None:
        raise _Refused(message)

    parsers = [parser]
    while parsers:
        current = parsers.pop()
        current.error = refuse  # type: ignore[method-assign]
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
    return parser.parse_args(argv)


def test_every_service_command_exists_in_the_project(compose: dict[str, Any]) -> None:
    """Each command parses with onionscope's own parser: the subcommand and every option exist."""
    parser = _command_parser()
    for name in ONIONSCOPE_SERVICES:
        command = [interpolate(part) for part in compose["services"][name]["command"]]
        assert command[0] == "onionscope", name
        try:
            args = _parse_strictly(parser, command[1:])
        except _Refused as refused:
            pytest.fail(f"{name}: `{' '.join(command)}` is not a command of this project: {refused}")
        assert args.command == command[1]
    crawl = [interpolate(part) for part in compose["services"]["crawler"]["command"]]
    assert crawl[:4] == ["onionscope", "crawl", "--job", "shared"] and "--shared" in crawl
    seeds = crawl[crawl.index("--seeds-file") + 1]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in compose["services"]["crawler"]["volumes"]}
    assert (PROJECT_ROOT / mounts[seeds]).is_file()
    # The parser really refuses what does not exist.
    with pytest.raises(_Refused):
        _parse_strictly(_command_parser(), ["crawl", "--job", "x", "--no-such-option"])
    with pytest.raises(_Refused):
        _parse_strictly(_command_parser(), ["no-such-command"])


def test_build_files_exist_and_the_image_installs_the_locked_dependencies(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" in service:
            build = service["build"]
            assert (PROJECT_ROOT / build["context"] / build.get("dockerfile", "Dockerfile")).is_file(), name
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "requirements.lock" in dockerfile and re.search(r"^USER (?!root)", dockerfile, re.MULTILINE)
    assert Path(PROJECT_ROOT / ".dockerignore").read_text().count(".venv") == 1


# What Docker's embedded DNS answers on the compose network (the test's stand-in for it).
COMPOSE_NETWORK = {"tor-1": "172.18.0.3", "tor-2": "172.18.0.5", "elasticsearch": "172.18.0.2",
                   "redis": "172.18.0.6", "api": "172.18.0.4"}


def compose_environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as the container sees it (``${NAME:-default}`` with the variable unset)."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {str(key): interpolate(str(value)) for key, value in environment.items()}


def test_each_service_environment_loads_and_the_crawl_gets_the_tor_pool_as_addresses(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`tor-1:9050` and the others are looked up once when the command starts; the crawl's transport gets addresses."""
    import socket

    from config.settings import load_settings
    from crawler.settings import scrapy_settings
    from crawler.tor.download_handler import parse_socks_endpoints
    from crawler.tor.endpoints import resolve_tor_endpoints

    asked: list[str] = []

    def compose_dns(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        asked.append(host)
        if host not in COMPOSE_NETWORK:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (COMPOSE_NETWORK[host], int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", compose_dns)
    with_tor = []
    for name, service in compose["services"].items():
        if "environment" not in service or "ONIONSCOPE_ES_URL" not in service["environment"]:
            continue
        settings = load_settings(environ=compose_environment(service))
        if not settings.tor_pool:
            continue
        with_tor.append(name)
        endpoints = resolve_tor_endpoints(settings)  # as `onionscope crawl` does first
        scrapy_values = scrapy_settings(settings, endpoints.socks_strings(), pool=endpoints.pool_strings())  # as `onionscope crawl`
        assert [str(address) for address in parse_socks_endpoints(scrapy_values["TOR_SOCKS_ENDPOINTS"])] == [
            f"{COMPOSE_NETWORK['tor-1']}:9050", f"{COMPOSE_NETWORK['tor-2']}:9050"]
        assert scrapy_values["TOR_POOL"] == [f"{COMPOSE_NETWORK[tor]}:9050={COMPOSE_NETWORK[tor]}:9051"
                                             for tor in ("tor-1", "tor-2")]
        assert endpoints.control == (COMPOSE_NETWORK["tor-1"], 9051)  # stem takes IP addresses only, too
        assert endpoints.pool == tuple(((COMPOSE_NETWORK[tor], 9050), (COMPOSE_NETWORK[tor], 9051))
                                       for tor in ("tor-1", "tor-2"))  # the pool monitor watches both
    assert with_tor == list(ONIONSCOPE_SERVICES)
    assert set(asked) == {"tor-1", "tor-2"}  # the operator's own service names, and nothing else
