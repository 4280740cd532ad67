"""Unit tests for crawler.extractors.onions."""

from __future__ import annotations

import hashlib

import pytest

from crawler.extractors.onions import find_onions, is_valid_v3_onion, v3_onion_from_pubkey

# Published v3 addresses (strings only; nothing is contacted): the Tor
# Project's own site and DuckDuckGo's, as listed on their public pages.
PUBLISHED_V3 = [
    "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion",
    "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion",
]


@pytest.mark.parametrize("host", PUBLISHED_V3)
def test_published_v3_addresses_validate(host):
    assert is_valid_v3_onion(host)
    (hit,) = find_onions(f"mirror: http://{host}/market and more")
    assert (hit.host, hit.version, hit.valid, hit.legacy) == (host, 3, True, False)


@pytest.mark.parametrize("host", PUBLISHED_V3)
def test_a_changed_character_fails_the_checksum(host):
    broken = ("a" if host[10] != "a" else "b").join((host[:10], host[11:]))
    assert not is_valid_v3_onion(broken)
    assert find_onions(f"see {broken}") == []


def test_generated_addresses_round_trip_and_wrong_version_is_rejected():
    pubkey = hashlib.sha256(b"onionscope test key").digest()
    host = v3_onion_from_pubkey(pubkey)
    assert len(host) == 62 and is_valid_v3_onion(host)
    import base64

    raw = bytearray(base64.b32decode(host[:56].upper()))
    raw[34] = 4  # version 4 with a checksum recomputed for it is still not v3
    raw[32:34] = hashlib.sha3_256(b".onion checksum" + bytes(raw[:32]) + b"\x04").digest()[:2]
    wrong_version = base64.b32encode(bytes(raw)).decode().lower() + ".onion"
    assert not is_valid_v3_onion(wrong_version)


def test_legacy_v2_is_recognised_and_flagged():
    (hit,) = find_onions("old link: expyuzz4wqqyqhjn.onion (dead)")
    assert (hit.version, hit.valid, hit.legacy) == (2, False, True)
    assert hit.host == "expyuzz4wqqyqhjn.onion"


def test_upper_case_subdomain_and_href_positions():
    host = PUBLISHED_V3[0]
    text = f"Visit WWW.{host.upper()}!"
    (hit,) = find_onions(text, [f"http://{host}/page"])[:1]
    assert hit.host == host
    assert text[hit.start : hit.end].lower() == host
    href_hit = find_onions("", [f"http://{host}/page"])[0]
    assert href_hit.source == "href" and href_hit.start == len("http://")


def test_labels_of_other_lengths_and_glued_text_are_ignored():
    host = PUBLISHED_V3[1]
    assert find_onions("x" + host) == []
    assert find_onions("abcdefghijklmnopq.onion abc.onion") == []


OBFUSCATED_FORMS = [
    "{label} dot onion", "{label} DOT Onion", "{label}[.]onion", "{label} [.] onion", "{label}(.)onion",
    "{label} (dot) onion", "{label}[dot]onion", "{label}{{.}}onion", "{label}<dot>onion", "{label} .onion",
    "{label}. onion", "{label} . onion", "{label}\u3002onion", "{label}\uff0eonion", "http://{label}[.]onion/market",
]


@pytest.mark.parametrize("form", OBFUSCATED_FORMS)
def test_obfuscated_v3_addresses_are_found_and_flagged(form: str) -> None:
    host = PUBLISHED_V3[0]
    written = form.format(label=host[:56])
    text = f"new mirror: {written} (copy it by hand)"
    (hit,) = find_onions(text)
    assert (hit.host, hit.version, hit.valid, hit.obfuscated, hit.source) == (host, 3, True, True, "text")
    assert hit.address in written and hit.address.endswith(("onion", "Onion"))


@pytest.mark.parametrize("form", ["{label} dot onion", "{label}[.]onion", "{label}. onion"])
def test_obfuscated_v2_addresses_are_legacy(form: str) -> None:
    (hit,) = find_onions("old link: " + form.format(label="expyuzz4wqqyqhjn"))
    assert (hit.host, hit.version, hit.legacy, hit.valid, hit.obfuscated) == ("expyuzz4wqqyqhjn.onion", 2, True, False, True)


def test_a_plain_address_is_not_flagged_and_not_found_twice() -> None:
    host = PUBLISHED_V3[1]
    hits = find_onions(f"{host} and {host[:56]} dot onion and {host}")
    assert [(hit.host, hit.obfuscated) for hit in hits] == [(host, False), (host, True), (host, False)]
    assert [hit.start for hit in hits] == sorted(hit.start for hit in hits)


@pytest.mark.parametrize("text", [
    # Prose: a sentence ending in a 16-letter word, then "Onion".
    "We take our responsibilities. Onion services are safer.",
    "Ask about the dot onion address at the desk.",
    # A label that is not whole, or a v3 label with a broken checksum.
    "x" + PUBLISHED_V3[0][:56] + " dot onion",
    PUBLISHED_V3[0][:55] + "a dot onion",
    "expyuzz4wqqyqhjnx dot onion",
    # Words glued to "dot" or "onion".
    PUBLISHED_V3[0][:56] + "dotonion",
    PUBLISHED_V3[0][:56] + " dot onions",
])
def test_prose_and_broken_labels_are_not_addresses(text: str) -> None:
    # Beside a real obfuscated address, which alone is found.
    hits = find_onions(f"{text} -- mirror: {PUBLISHED_V3[1][:56]} [dot] onion")
    assert [(hit.host, hit.obfuscated) for hit in hits] == [(PUBLISHED_V3[1], True)]
