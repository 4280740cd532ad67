"""Bounded fuzzing with hypothesis: the parsers that read what others wrote never crash or hang.

Each target may raise only its documented error types, and each input must
be handled within a deadline (hypothesis fails an example that takes longer).
The runs are small (``max_examples`` below) so CI stays quick; bench/fuzz.py
runs the same targets under atheris with coverage guidance for longer.

Targets: the query parser and compiler, the settings loader
(config/settings.py: YAML file and environment), the market profile loader,
the SOCKS5 reply parsers and handshake (crawler/tor/socks5.py), the PGP
parser (crawler/extractors/pgp.py) and extract_document.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.settings import DEFAULTS, ConfigError, env_name, load_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Small runs with a deadline per input: a hang or a super-linear path fails the example.
FUZZ = settings(max_examples=150, deadline=timedelta(seconds=2),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# extract_document does much more per page: its own deadline, as its extraction budget allows.
FUZZ_PAGES = settings(max_examples=60, deadline=timedelta(seconds=5),
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# YAML-shaped values: what a configuration file can hold.
yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.one_of(st.text(max_size=12), st.integers()), children, max_size=4)),
    max_leaves=12,
)


# --- the query language ------------------------------------------------------------------------------


@FUZZ
@given(st.text(max_size=2100), st.sampled_from(["pages", "listings", "vendors", "wallets"]))
def test_query_parser_and_compiler_raise_only_query_errors(text, kind):
    from search.query import QueryError, build_query, parse

    try:
        build_query(parse(text), kind)
    except QueryError:
        pass


# --- settings ----------------------------------------------------------------------------------------


def _write(text_or_bytes: str | bytes, suffix: str = ".yml") -> Path:
    handle, name = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(handle, "wb") as file:
        file.write(text_or_bytes.encode("utf-8", "surrogatepass") if isinstance(text_or_bytes, str) else text_or_bytes)
    return Path(name)


def _load_settings_file(content: str | bytes) -> None:
    path = _write(content)
    try:
        load_settings(path, environ={})
    except ConfigError:
        pass
    finally:
        path.unlink()


@FUZZ
@given(st.dictionaries(st.one_of(st.sampled_from(sorted(DEFAULTS)), st.text(max_size=20)), yaml_values, max_size=6))
def test_settings_files_of_any_shape_raise_only_config_errors(mapping):
    _load_settings_file(yaml.safe_dump(mapping, allow_unicode=True))


@FUZZ
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400)))
def test_settings_files_of_any_bytes_raise_only_config_errors(content):
    _load_settings_file(content)


@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(DEFAULTS)), st.text(max_size=60), max_size=5))
def test_settings_from_the_environment_raise_only_config_errors(values):
    try:
        load_settings(None, environ={env_name(key): value for key, value in values.items()})
    except ConfigError:
        pass


def test_a_deeply_nested_settings_file_is_a_config_error():
    for content in ("[" * 5000, "a: " + "[" * 5000 + "]" * 5000, "{a: " * 5000):
        _load_settings_file(content)


# --- market profiles -----------------------------------------------------------------------------------

REAL_PROFILE = yaml.safe_load((PROJECT_ROOT / "config" / "markets" / "old-bazaar.yml").read_text())


def _mutations(document: Any) -> st.SearchStrategy[Any]:
    """The real profile with one value anywhere in it replaced by any YAML value."""
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, path + (key,))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, path + (index,))

    walk(document, ())

    def replace(path: tuple[Any, ...], value: Any) -> Any:
        import copy

        mutated = copy.deepcopy(document)
        if not path:
            return value
        parent = mutated
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = value
        return mutated

    return st.builds(replace, st.sampled_from(paths), yaml_values)


def _load_profile_text(content: str | bytes) -> None:
    from crawler.extractors.market_profiles import MarketProfiles, ProfileError

    path = _write(content)
    try:
        MarketProfiles.from_files([path])
    except ProfileError:
        pass
    finally:
        path.unlink()


@FUZZ
@given(_mutations(REAL_PROFILE))
def test_market_profiles_with_any_value_anywhere_raise_only_profile_errors(document):
    _load_profile_text(yaml.safe_dump(document, allow_unicode=True))


@FUZZ
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_market_profiles_of_any_bytes_raise_only_profile_errors(content):
    _load_profile_text(content)


def test_a_selector_with_a_control_character_is_a_profile_error():
    # Found by the test above: lxml raised ValueError, which the loader did not turn into a ProfileError.
    from crawler.extractors.market_profiles import ProfileError

    for key, value in (("xpath", "//div\x08"), ("css", 'div[title="\x08"]')):
        document = yaml.safe_load(yaml.safe_dump(REAL_PROFILE))
        document["pages"]["listing"]["marker"] = {key: value}
        with pytest.raises(ProfileError, match="pages.listing.marker"):
            from crawler.extractors.market_profiles import MarketProfiles

            path = _write(yaml.safe_dump(document))
            try:
                MarketProfiles.from_files([path])
            finally:
                path.unlink()


def test_a_deeply_nested_market_profile_is_a_profile_error():
    for content in ("[" * 100_000, "name: x\nmatch: " + "[" * 5000 + "]" * 5000, "{a: " * 20_000):
        _load_profile_text(content)


# --- SOCKS5 ----------------------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=300))
def test_socks_reply_parsers_raise_only_protocol_errors(data):
    from crawler.tor.errors import SocksProtocolError
    from crawler.tor.socks5 import parse_auth_reply, parse_connect_reply, parse_method_reply

    for parser in (parse_method_reply, parse_auth_reply, parse_connect_reply):
        try:
            parser(data)
        except SocksProtocolError:
            pass


@FUZZ
@given(st.lists(st.binary(min_size=1, max_size=40), max_size=12),
       st.sampled_from([b"", b"\x05\x02", b"\x05\x02\x01\x00"]))
def test_a_socks_peer_sending_anything_fails_the_handshake_only_with_socks_errors(chunks, prefix):
    from twisted.internet.address import IPv4Address
    from twisted.internet.protocol import Factory, Protocol
    from twisted.internet.testing import MemoryReactorClock, StringTransport
    from twisted.python.failure import Failure

    from crawler.tor import errors
    from crawler.tor.socks5 import SocksAddress, SocksClientEndpoint, SocksCredentials

    reactor = MemoryReactorClock()
    endpoint = SocksClientEndpoint(reactor, SocksAddress("127.0.0.1", 9050), "a" * 56 + ".onion", 80,
                                   SocksCredentials("u", "p"), connect_timeout=5, handshake_timeout=5)
    outcome: list[Any] = []
    endpoint.connect(Factory.forProtocol(Protocol)).addBoth(outcome.append)
    wrapping_factory = reactor.tcpClients[0][2]
    protocol = wrapping_factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 9050))
    transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 9050))
    protocol.makeConnection(transport)
    for chunk in ([prefix] if prefix else []) + chunks:
        protocol.dataReceived(chunk)
    protocol.connectionLost(Failure(ConnectionError("peer went away")))
    assert len(outcome) == 1
    if isinstance(outcome[0], Failure):
        documented = (errors.SocksProtocolError, errors.SocksAuthenticationError, errors.SocksReplyError,
                      errors.TorUnreachableError)
        assert isinstance(outcome[0].value, documented), repr(outcome[0].value)


# --- PGP ---------------------------------------------------------------------------------------------------

ARMOR_PARTS = st.sampled_from([
    "-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----END PGP PUBLIC KEY BLOCK-----", "\n", "\n\n", "Version: x\n",
    "=", "=AAAA", "mQINBF", "AAAA", "////", "++++", "<br>", " ", "Comment: \u202e", "\x00",
])


@FUZZ
@given(st.binary(max_size=600))
def test_pgp_packets_of_any_bytes_raise_only_parse_errors(data):
    from crawler.extractors.pgp import PgpParseError, parse_packets

    try:
        parse_packets(data)
    except PgpParseError:
        pass


@FUZZ
@given(st.one_of(st.lists(ARMOR_PARTS, max_size=40).map("".join), st.text(max_size=600)),
       st.binary(max_size=300))
def test_pgp_text_never_raises(text, body):
    import base64

    from crawler.extractors.pgp import find_pgp_keys

    armored = ("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + base64.b64encode(body).decode()
               + "\n-----END PGP PUBLIC KEY BLOCK-----")
    for candidate in (text, armored, text + armored):
        for key in find_pgp_keys(candidate):
            assert key.error or key.fingerprint


# --- extract_document ------------------------------------------------------------------------------------

HTML_PARTS = st.sampled_from([
    "<html>", "<body>", "<div class='item'>", "</div>", "<table><tr><td>", "</td></tr></table>", "<a href='",
    "http://", "a" * 56 + ".onion", "/item/1", "'>", "</a>", "<script>", "</script>", "<!--", "-->", "<![CDATA[",
    "$", "1,", "0.5 BTC", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "@", "mailto:", "<meta charset='",
    "utf-16", "'>", "\x00", "\ufffd", "\u202e", "<p>", " ", "<title>", "</title>", "-----BEGIN PGP PUBLIC KEY BLOCK-----",
    '<script type="application/ld+json">{"@type":"Product","offers":{"price":"', "]", "[", "{", "}",
])


@FUZZ_PAGES
@given(st.one_of(st.lists(HTML_PARTS, max_size=80).map("".join), st.text(max_size=2000)),
       st.binary(max_size=400), st.sampled_from(["text/html", "text/html; charset=latin-1", "text/plain"]))
def test_extract_document_never_raises_on_any_page(html, raw, content_type):
    from crawler.extractors.document import extract_document

    url = "http://" + "a" * 56 + ".onion/item/1"
    for page in (html, raw, html.encode("utf-8", "surrogatepass")):
        document = extract_document(page, url, "2026-01-01T00:00:00Z", "fuzz", content_type=content_type)
        assert document.page is not None


# --- atheris: coverage-guided, a fixed number of inputs per target ------------------------------------------


def test_atheris_finds_nothing_in_a_few_hundred_guided_inputs_per_target(tmp_path):
    # bench.fuzz runs each target in a child process under libFuzzer: an exception other than the
    # target's documented ones, or an input over its per-input timeout (a hang), fails the target.
    from bench.fuzz import TARGETS, fuzz

    failures = []
    for name in TARGETS:
        result = fuzz(name, runs=150 if name == "document" else 300, timeout=10, artifacts=tmp_path)
        if not result["ok"]:
            failures.append(f"{name}:\n{result['log_tail']}")
        else:
            assert result["cov"], name  # the target really was instrumented and run
    assert not failures, "\n\n".join(failures)
