"""The process-wide network guard: its policy, its audit hook, and what a crawl does on a refusal.

Audit hooks cannot be removed, so everything that arms the guard runs in a
subprocess.  There, a second audit hook (the "safety net") is added *after* the
guard is armed: hooks run in order, so the safety net sees only what the guard
let through -- it records that and refuses it, so a broken guard fails the test
without anything leaving the machine.  Leak targets are ``.invalid`` names and
TEST-NET-1 addresses (192.0.2.0/24).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
import scrapy

from crawler.tor.network_guard import NetworkPolicy, crawl_endpoints, refusal_message
from config.errors import UserError
from config.settings import load_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INET = SimpleNamespace(family=socket.AF_INET)
INET6 = SimpleNamespace(family=socket.AF_INET6)


def _policy() -> NetworkPolicy:
    return NetworkPolicy.allowing([("127.0.0.1", 9050), ("::1", 9200)])


# --------------------------------------------------------------------------- the policy, as data


def test_lookups_are_allowed_only_for_allowed_endpoints() -> None:
    policy = _policy()
    assert policy.refusal("socket.getaddrinfo", ("127.0.0.1", 9050, 0, socket.SOCK_STREAM, 0)) is None
    assert policy.refusal("socket.getaddrinfo", (b"127.0.0.1", "9050", 0, 0, 0)) is None
    assert policy.refusal("socket.getaddrinfo", ("::1", 9200, 0, 0, socket.AI_NUMERICHOST)) is None
    assert policy.refusal("socket.getaddrinfo", (None, 0, 0, 0, socket.AI_PASSIVE)) is None  # no host, no lookup
    assert policy.refusal("socket.getaddrinfo", ("publicsuffix.org", 443, 0, 0, 0)) == "getaddrinfo of publicsuffix.org:443"
    assert policy.refusal("socket.getaddrinfo", ("127.0.0.1", 9051, 0, 0, 0)) == "getaddrinfo of 127.0.0.1:9051"
    assert policy.refusal("socket.gethostbyname", ("localhost",)) == "gethostbyname of localhost"
    assert policy.refusal("socket.gethostbyname", ("127.0.0.1",)) is None
    # Reverse lookups ask a resolver about an address: always refused.
    assert policy.refusal("socket.gethostbyaddr", ("127.0.0.1",)) is not None
    assert policy.refusal("socket.getnameinfo", (("127.0.0.1", 9050), 0)) is not None


def test_connections_are_allowed_only_to_allowed_addresses() -> None:
    policy = _policy()
    assert policy.refusal("socket.connect", (INET, ("127.0.0.1", 9050))) is None
    assert policy.refusal("socket.connect", (INET6, ("::1", 9200, 0, 0))) is None
    assert policy.refusal("socket.connect", (INET, ("127.0.0.1", 9051))) == "connect to 127.0.0.1:9051"
    assert policy.refusal("socket.connect", (INET, ("192.0.2.1", 9050))) == "connect to 192.0.2.1:9050"
    assert policy.refusal("socket.connect", (INET6, ("::1", 9050, 0, 0))) == "connect to [::1]:9050"
    # A name in connect() would be resolved inside the call, unseen: refused unless allowed.
    assert policy.refusal("socket.connect", (INET, ("localhost", 9050))) is not None
    assert policy.refusal("socket.sendto", (INET, ("192.0.2.1", 53))) == "sendto to 192.0.2.1:53"
    assert policy.refusal("socket.sendmsg", (INET, None)) is None  # connected socket: its connect was judged
    assert policy.refusal("socket.sendmsg", (INET, ("192.0.2.1", 53))) is not None
    # Unix sockets stay on the machine; other families (raw packets, netlink...) are refused.
    assert policy.refusal("socket.connect", (SimpleNamespace(family=socket.AF_UNIX), "/run/x.sock")) is None
    assert policy.refusal("socket.connect", (SimpleNamespace(family=socket.AF_PACKET), ("eth0", 0))) is not None


def test_other_events_are_not_its_business() -> None:
    policy = _policy()
    assert policy.refusal("open", ("/etc/hosts", "r", 0)) is None
    assert policy.refusal("socket.__new__", (INET, socket.AF_INET, socket.SOCK_STREAM, 0)) is None
    assert policy.refusal("socket.bind", (INET, ("127.0.0.1", 0))) is None


def test_a_host_name_is_resolved_once_and_its_addresses_allowed() -> None:
    asked: list[tuple[Any, ...]] = []

    def resolve(host: str, port: int, *rest: Any) -> list[tuple[Any, ...]]:
        asked.append((host, port))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.8.7", port)),
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fd00::7", port, 0, 0))]

    policy = NetworkPolicy.allowing([("ES.Internal.", 9243), ("127.0.0.1", 9050)], resolve=resolve)
    assert asked == [("es.internal", 9243)]  # the IP literal is not looked up
    assert policy.refusal("socket.getaddrinfo", ("es.internal", 9243, 0, 0, 0)) is None
    assert policy.refusal("socket.getaddrinfo", ("es.internal", 80, 0, 0, 0)) is not None
    assert policy.refusal("socket.connect", (INET, ("10.9.8.7", 9243))) is None
    assert policy.refusal("socket.connect", (INET6, ("fd00::7", 9243, 0, 0))) is None
    assert policy.refusal("socket.connect", (INET, ("10.9.8.7", 22))) is not None


def test_a_name_that_does_not_resolve_is_a_clear_error() -> None:
    def resolve(*args: Any) -> list[tuple[Any, ...]]:
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(UserError, match=r"es\.internal:9200 does not resolve"):
        NetworkPolicy.allowing([("es.internal", 9200)], resolve=resolve)


def test_the_crawl_allows_its_socks_ports_and_the_elasticsearch_nodes() -> None:
    settings = load_settings(None, environ={}).replace(es_url="http://127.0.0.1:9201")
    assert crawl_endpoints(["127.0.0.1:9050", "[::1]:9052"], settings) == [
        ("127.0.0.1", 9050), ("::1", 9052), ("127.0.0.1", 9201),
    ]
    with pytest.raises(UserError, match="no tor SOCKS endpoint"):
        crawl_endpoints([], settings)


def test_the_crawl_allows_its_tors_control_port_when_one_is_configured() -> None:
    settings = load_settings(None, environ={}).replace(es_url="http://127.0.0.1:9201", tor_control="127.0.0.1:9051")
    assert crawl_endpoints(["127.0.0.1:9050"], settings) == [
        ("127.0.0.1", 9050), ("127.0.0.1", 9201), ("127.0.0.1", 9051),
    ]


def test_project_settings_enable_the_tor_control_stats_after_the_guard() -> None:
    from crawler.settings import scrapy_settings

    extensions = scrapy_settings(load_settings(None, environ={}), ["127.0.0.1:9050"])["EXTENSIONS"]
    assert extensions["crawler.tor.control_stats.TorControlStats"] > extensions[
        "crawler.tor.network_guard.NetworkGuardExtension"]


def test_project_settings_enable_the_guard() -> None:
    from crawler.settings import scrapy_settings

    values = scrapy_settings(load_settings(None, environ={}), ["127.0.0.1:9050"])
    assert values["EXTENSIONS"]["crawler.tor.network_guard.NetworkGuardExtension"] == 0
    assert values["COMMANDS_MODULE"] == "crawler.commands"


# --------------------------------------------------------------------------- the armed hook, in a subprocess


def _guard_probe() -> None:
    """Run in the subprocess: arm the guard, try allowed and forbidden operations, report."""
    import logging

    from crawler.tor.network_guard import NetworkAccessRefused, process_guard

    logging.basicConfig(level=logging.INFO)
    allowed = socket.create_server(("127.0.0.1", 0))
    other = socket.create_server(("127.0.0.1", 0))
    other.setblocking(False)
    allowed_address = allowed.getsockname()
    guard = process_guard()
    guard.arm(NetworkPolicy.allowing([allowed_address]))
    let_through: list[str] = []
    disarmed = threading.Event()

    def safety_net(event: str, args: tuple[Any, ...]) -> None:
        if event == "socket.getaddrinfo" and (args[0], args[1]) == allowed_address:
            return
        if event in ("socket.connect", "socket.sendto") and args[1] == allowed_address:
            return
        if disarmed.is_set() and event == "socket.connect" and args[1] == other.getsockname():
            return
        if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.connect", "socket.sendto"):
            let_through.append(f"{event} {args[-1] if event.endswith(('connect', 'sendto')) else args[0]!r}")
            raise OSError("safety net: the guard let this through")

    sys.addaudithook(safety_net)
    outcomes: dict[str, str] = {}

    def attempt(name: str, action: Any) -> None:
        try:
            action()
        except NetworkAccessRefused:
            outcomes[name] = "refused"
        except OSError as exc:
            outcomes[name] = f"other error: {exc}"
        else:
            outcomes[name] = "ok"

    attempt("connect to the allowed endpoint", lambda: socket.create_connection(allowed_address, timeout=5).close())
    attempt("getaddrinfo of the allowed endpoint", lambda: socket.getaddrinfo(*allowed_address))
    attempt("getaddrinfo of a name", lambda: socket.getaddrinfo("leak-test.invalid", 443))
    attempt("gethostbyname of a name", lambda: socket.gethostbyname("leak-test.invalid"))

    def connect(address: tuple[str, int]) -> None:
        with socket.socket() as client:
            client.settimeout(5)
            client.connect(address)

    attempt("connect to another loopback port", lambda: connect(other.getsockname()))
    attempt("connect to a non-loopback address", lambda: connect(("192.0.2.1", 80)))

    def send_datagram() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(b"x", ("192.0.2.1", 53))

    attempt("sendto a non-loopback address", send_datagram)
    worker = threading.Thread(target=attempt, args=("getaddrinfo in another thread",
                                                    lambda: socket.getaddrinfo("thread-leak.invalid", 80)))
    worker.start()
    worker.join()
    try:
        other.accept()
        arrived = True
    except BlockingIOError:
        arrived = False

    # A caller that swallows the error, as tldextract does: the refusal still counts.
    import tldextract

    before = guard.refused
    stock = tldextract.TLDExtract(cache_dir=sys.argv[1])
    outcomes["tldextract still answers"] = stock("www.example.co.uk").domain
    swallowed = guard.refused - before
    counts = guard.refused_by_operation()
    guard.disarm()
    disarmed.set()
    attempt("connect to another loopback port, disarmed", lambda: connect(other.getsockname()))
    print(json.dumps({"outcomes": outcomes, "counts": counts, "swallowed": swallowed,
                      "arrived": arrived, "let_through": let_through}))


@pytest.fixture(scope="module")
def guard_probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    environment = {key: value for key, value in os.environ.items() if not key.lower().endswith("_proxy")}
    environment.pop("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", None)
    cache = tmp_path_factory.mktemp("tldextract-cache")
    result = subprocess.run(
        [sys.executable, "-c", "from tests.unit.test_network_guard import _guard_probe; _guard_probe()", str(cache)],
        cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    report["log"] = result.stderr
    yield report


def test_allowed_endpoints_pass(guard_probe: dict[str, Any]) -> None:
    outcomes = guard_probe["outcomes"]
    assert outcomes["connect to the allowed endpoint"] == "ok"
    assert outcomes["getaddrinfo of the allowed endpoint"] == "ok"


def test_everything_else_is_refused_before_it_happens(guard_probe: dict[str, Any]) -> None:
    assert guard_probe["let_through"] == []
    outcomes = guard_probe["outcomes"]
    for name in ("getaddrinfo of a name", "gethostbyname of a name", "connect to another loopback port",
                 "connect to a non-loopback address", "sendto a non-loopback address", "getaddrinfo in another thread"):
        assert outcomes[name] == "refused", name
    assert guard_probe["arrived"] is False  # the refused loopback connect never reached the listener


def test_every_refusal_is_counted_and_logged_even_when_swallowed(guard_probe: dict[str, Any]) -> None:
    assert guard_probe["outcomes"]["tldextract still answers"] == "example"  # it fell back to its snapshot
    assert guard_probe["swallowed"] == 2  # publicsuffix.org and its GitHub mirror
    assert guard_probe["counts"] == {"getaddrinfo": 4, "gethostbyname": 1, "connect": 2, "sendto": 1}
    log = guard_probe["log"]
    assert "network guard refused getaddrinfo of leak-test.invalid:443" in log
    assert "network guard refused getaddrinfo of publicsuffix.org:443" in log
    assert "network guard refused connect to 192.0.2.1:80" in log


def test_the_guard_can_be_disarmed(guard_probe: dict[str, Any]) -> None:
    assert guard_probe["outcomes"]["connect to another loopback port, disarmed"] == "ok"


# --------------------------------------------------------------------------- a crawl that meets a refusal


def _connect_quietly(address: tuple[str, int]) -> None:
    try:
        with socket.socket() as client:
            client.settimeout(5)
            client.connect(address)
    except OSError:
        pass  # as a careless library would


class LeakySpider(scrapy.Spider):
    """Misbehaves the way a library could: a lookup and a connection outside tor, errors swallowed."""

    name = "leaky"
    custom_settings = {"ITEM_PIPELINES": {}, "DOWNLOAD_TIMEOUT": 3, "RETRY_TIMES": 0}

    async def start(self) -> Any:
        from crawler.tor.network_guard import process_guard

        assert process_guard().armed, "the guard must be armed before the spider starts"
        sys.addaudithook(_safety_net)
        try:
            socket.getaddrinfo("leak-test.invalid", 443)
        except OSError:
            pass
        worker = threading.Thread(target=_connect_quietly, args=(("192.0.2.1", 80),))
        worker.start()
        worker.join()
        # tor's SOCKS port here is a listener that never answers: the crawl is still
        # running when the refusals close it.
        yield scrapy.Request("http://" + "c" * 56 + ".onion/")

    def parse(self, response: Any) -> Any:
        return iter(())


def _safety_net(event: str, args: tuple[Any, ...]) -> None:
    if event in ("socket.getaddrinfo", "socket.gethostbyname") and str(args[0]).endswith(".invalid"):
        raise OSError("safety net: the guard let a lookup through")
    if event == "socket.connect" and isinstance(args[1], tuple) and str(args[1][0]).startswith("192.0.2."):
        raise OSError("safety net: the guard let a connection through")


def test_scrapy_crawl_counts_the_refusals_stops_and_exits_non_zero(tmp_path: Path) -> None:
    silent_socks = socket.create_server(("127.0.0.1", 0))  # accepts nothing, answers nothing
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ONIONSCOPE_")}
    environment.update(
        ONIONSCOPE_TOR_SOCKS=f"127.0.0.1:{silent_socks.getsockname()[1]}",
        ONIONSCOPE_ES_URL="http://127.0.0.1:9",  # never contacted: no item pipeline
        ONIONSCOPE_VAR_DIR=str(tmp_path / "var"),
        ONIONSCOPE_TESTNET_DIR=str(tmp_path / "no-testnet"),
    )
    with silent_socks:
        result = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "leaky", "-s", "SPIDER_MODULES=tests.unit.test_network_guard"],
            cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False,
        )
    log = result.stderr
    assert result.returncode == 1, log[-4000:]
    assert f"error: {refusal_message(2)}" in log
    assert "network guard refused getaddrinfo of leak-test.invalid:443" in log
    assert "network guard refused connect to 192.0.2.1:80" in log
    assert "safety net" not in log
    assert re.search(r"'network_guard/refused': 2\b", log), log[-4000:]
    assert "'network_guard/refused/connect': 1" in log and "'network_guard/refused/getaddrinfo': 1" in log
    assert "'finish_reason': 'network_guard_refused'" in log


def test_the_crawl_allows_the_control_ports_of_its_tor_pool() -> None:
    settings = load_settings(None, environ={}).replace(
        es_url="http://127.0.0.1:9201", tor_pool=("127.0.0.1:9060=127.0.0.1:9061", "127.0.0.1:9070=127.0.0.1:9071"))
    assert crawl_endpoints(["127.0.0.1:9060", "127.0.0.1:9070"], settings) == [
        ("127.0.0.1", 9060), ("127.0.0.1", 9070), ("127.0.0.1", 9201), ("127.0.0.1", 9061), ("127.0.0.1", 9071),
    ]
