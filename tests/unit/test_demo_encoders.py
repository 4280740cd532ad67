"""The demo world's own encoders (wallets, onion hosts, armor CRC) against published test vectors.

The ground truth checks the crawler's extractors, so the demo encodes on its
own; these tests hold its encoders to the specifications' vectors, never to
the crawler's codecs.  Only the last tests run the crawler: its decoders must
accept what the demo writes (a check of the crawler, not of the oracle).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
from pathlib import Path

import pytest

from harness.demo import wallet_encoders
from harness.demo.hosts import derived_onion_host, is_v3_onion_host, v3_onion_host
from harness.demo.openpgp import crc24, make_public_key
from harness.demo.wallet_encoders import (
    BECH32_CONSTANT, BECH32M_CONSTANT, BECH32_ALPHABET, base58check, bech32_with_checksum, cashaddr, eip55,
    make_address, monero_address, segwit_address,
)

VECTORS = Path(__file__).parent / "vectors"
HARNESS = Path(__file__).resolve().parents[2] / "harness"


def _vectors(name: str) -> dict:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- independence


def test_the_demo_world_imports_nothing_from_the_crawler() -> None:
    """The oracle must not be built with the code it checks (issue 9)."""
    offenders = []
    for path in sorted([*(HARNESS / "demo").rglob("*.py"), HARNESS / "demo_world.py"]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offenders += [f"{path.relative_to(HARNESS.parent)}:{node.lineno} imports {name}"
                          for name in names if name == "crawler" or name.startswith("crawler.")]
    assert offenders == []


# --------------------------------------------------------------------------- base58check and segwit (Bitcoin Core, BIP-173/350)

def _script_to_address(script: bytes, chain: str) -> str | None:
    """Our encoding of an output script, or None for a script type the demo has no encoder for."""
    network = "main" if chain == "main" else "test"
    if len(script) == 25 and script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac":
        return base58check(b"\x00" if network == "main" else b"\x6f", script[3:23])
    if len(script) == 23 and script[:2] == b"\xa9\x14" and script[22:] == b"\x87":
        return base58check(b"\x05" if network == "main" else b"\xc4", script[2:22])
    opcode, push = script[0], script[1]
    if (opcode == 0 or 0x51 <= opcode <= 0x60) and push == len(script) - 2:
        witness_version = 0 if opcode == 0 else opcode - 0x50
        return segwit_address("bc" if network == "main" else "tb", witness_version, script[2:])
    return None


def test_bitcoin_core_addresses_are_encoded_from_their_scripts() -> None:
    checked = 0
    for entry in _vectors("bitcoin_core_key_io.json")["addresses"]:
        ours = _script_to_address(bytes.fromhex(entry["script"]), entry["chain"])
        assert ours is not None, entry
        assert ours == entry["address"].lower() if ours.startswith(("bc1", "tb1")) else ours == entry["address"]
        checked += 1
    assert checked == 41


def test_bip173_and_bip350_addresses_are_encoded_from_their_scripts() -> None:
    for address, script_hex in _vectors("bech32_bip173_bip350.json")["valid_address"]:
        script = bytes.fromhex(script_hex)
        hrp = address.lower().rsplit("1", 1)[0]
        witness_version = 0 if script[0] == 0 else script[0] - 0x50
        assert segwit_address(hrp, witness_version, script[2:]) == address.lower()


@pytest.mark.parametrize("variant", ["valid_bech32", "valid_bech32m"])
def test_bech32_checksums_of_the_bip_vectors(variant: str) -> None:
    constant = BECH32_CONSTANT if variant == "valid_bech32" else BECH32M_CONSTANT
    for text in _vectors("bech32_bip173_bip350.json")[variant]:
        text = text.lower()
        hrp, _, data = text.rpartition("1")
        values = [BECH32_ALPHABET.index(char) for char in data[:-6]]
        assert bech32_with_checksum(hrp, values, constant) == text


def test_the_wrong_checksum_constant_gives_another_string() -> None:
    text = _vectors("bech32_bip173_bip350.json")["valid_bech32"][3]
    hrp, _, data = text.rpartition("1")
    values = [BECH32_ALPHABET.index(char) for char in data[:-6]]
    assert bech32_with_checksum(hrp, values, BECH32M_CONSTANT) != text


@pytest.mark.parametrize("hrp, version, size", [("BC", 0, 20), ("bc", 0, 21), ("bc", 17, 32), ("bc", 1, 1), ("bc", 16, 41)])
def test_segwit_refuses_what_bip173_cannot_encode(hrp: str, version: int, size: int) -> None:
    # BIP-350's invalid_address_enc list.
    with pytest.raises(ValueError):
        segwit_address(hrp, version, bytes(size))


# --------------------------------------------------------------------------- CashAddr, EIP-55, Monero


def test_cashaddr_vectors() -> None:
    kinds = {0: "p2pkh", 1: "p2sh"}
    for entry in _vectors("cashaddr.json")["sized"]:
        prefix = entry["address"].split(":")[0]
        assert cashaddr(prefix, kinds[entry["type"]], bytes.fromhex(entry["hash"])) == entry["address"]


def test_cashaddr_translations_of_legacy_addresses() -> None:
    # The spec's table pairs each legacy address with its CashAddr: read the hash out of the
    # legacy one (plain base58 here in the test), then write both forms from it.
    alphabet = wallet_encoders.BASE58_ALPHABET
    for legacy, modern in _vectors("cashaddr.json")["legacy_translation"]:
        number = 0
        for char in legacy:
            number = number * 58 + alphabet.index(char)
        raw = number.to_bytes(25, "big")
        assert base58check(raw[:1], raw[1:21]) == legacy
        kind = "p2pkh" if raw[0] == 0 else "p2sh"
        assert cashaddr("bitcoincash", kind, raw[1:21]) == modern


def test_eip55_vectors() -> None:
    vectors = _vectors("eip55.json")
    for address in [*vectors["checksummed"], *vectors["all_one_case_checksummed"]]:
        assert eip55(bytes.fromhex(address[2:])) == address


def _monero_base58_decode(text: str) -> bytes:
    """A test-side reading of CryptoNote base58 (11 characters per 8 bytes), to take published addresses apart."""
    alphabet = wallet_encoders.BASE58_ALPHABET
    widths = {0: 0, 2: 1, 3: 2, 5: 3, 6: 4, 7: 5, 9: 6, 10: 7, 11: 8}
    out = b""
    for start in range(0, len(text), 11):
        chunk = text[start : start + 11]
        number = 0
        for char in chunk:
            number = number * 58 + alphabet.index(char)
        out += number.to_bytes(widths[len(chunk)], "big")
    return out


def test_monero_addresses_are_encoded_from_their_keys() -> None:
    for network, kind, address in _vectors("monero.json")["valid"]:
        raw = _monero_base58_decode(address)
        network_byte, keys = raw[0], raw[1:-4]
        assert network_byte < 0x80  # one-byte varint for every published network
        assert monero_address(network_byte, keys[:32], keys[32:64], keys[64:] or None) == address, (network, kind)


def test_monero_integrated_addresses_from_standard_address_and_payment_id() -> None:
    # monero tests/functional_tests/integrated_address.py: make_integrated_address(standard, payment_id).
    for integrated, standard, payment_id in _vectors("monero.json")["integrated_pairs"]:
        raw = _monero_base58_decode(standard)
        assert raw[0] == 18
        assert monero_address(19, raw[1:33], raw[33:65], bytes.fromhex(payment_id)) == integrated


def test_make_address_refuses_wrong_sizes_and_unknown_kinds() -> None:
    with pytest.raises(ValueError):
        make_address("bitcoin", "p2pkh", bytes(19))
    with pytest.raises(ValueError):
        make_address("bitcoin", "p2tr", bytes(20))
    with pytest.raises(ValueError):
        make_address("monero", "standard", bytes(72))
    with pytest.raises(ValueError):
        make_address("ethereum", "eoa", bytes(20), network="testnet")
    with pytest.raises(ValueError):
        make_address("dogecoin", "p2wpkh", bytes(20))


def test_make_address_version_prefixes() -> None:
    """Each coin's published leading characters (from the coins' own documentation)."""
    payload = hashlib.sha256(b"demo").digest()
    prefixes = {
        ("bitcoin", "p2pkh"): "1", ("bitcoin", "p2sh"): "3", ("bitcoin", "p2wpkh"): "bc1q", ("bitcoin", "p2tr"): "bc1p",
        ("litecoin", "p2pkh"): "L", ("litecoin", "p2sh"): "M", ("litecoin", "p2wpkh"): "ltc1q",
        ("dogecoin", "p2pkh"): "D", ("dogecoin", "p2sh"): "9", ("dash", "p2pkh"): "X", ("dash", "p2sh"): "7",
        ("zcash", "p2pkh"): "t1", ("zcash", "p2sh"): "t3", ("tron", "p2pkh"): "T",
        ("bitcoin-cash", "cashaddr-p2pkh"): "bitcoincash:q", ("ethereum", "eoa"): "0x",
    }
    for (coin, kind), prefix in prefixes.items():
        size = 32 if kind == "p2tr" else 20
        assert make_address(coin, kind, payload[:size]).startswith(prefix), (coin, kind)
    keys = payload + payload
    assert make_address("monero", "standard", keys).startswith("4")
    assert make_address("monero", "subaddress", keys).startswith("8")
    assert make_address("bitcoin", "p2wpkh", payload[:20], network="testnet").startswith("tb1q")


# --------------------------------------------------------------------------- onion hosts and CRC-24

# Published v3 onion services (the Tor Project's website and DuckDuckGo).
PUBLISHED_ONIONS = (
    "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion",
    "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion",
)


@pytest.mark.parametrize("host", PUBLISHED_ONIONS)
def test_published_onion_hosts_are_encoded_from_their_keys(host: str) -> None:
    public_key = base64.b32decode(host.removesuffix(".onion").upper())[:32]
    assert v3_onion_host(public_key) == host
    assert is_v3_onion_host(host)


def test_onion_checksum_and_version_are_checked() -> None:
    host = v3_onion_host(bytes(range(32)))
    label = host.removesuffix(".onion")
    flipped = "a" if label[10] != "a" else "b"
    assert not is_v3_onion_host(label[:10] + flipped + label[11:] + ".onion")
    raw = bytearray(base64.b32decode(label.upper()))
    raw[34] = 4
    raw[32:34] = hashlib.sha3_256(b".onion checksum" + bytes(raw[:32]) + b"\x04").digest()[:2]
    assert not is_v3_onion_host(base64.b32encode(bytes(raw)).decode().lower() + ".onion")
    assert not is_v3_onion_host(label.upper() + ".onion")
    assert not is_v3_onion_host(label)
    with pytest.raises(ValueError):
        v3_onion_host(bytes(31))
    assert is_v3_onion_host(derived_onion_host(1, "x")) and derived_onion_host(1, "x") != derived_onion_host(2, "x")


def test_crc24_check_value_and_gpg_armor() -> None:
    # CRC-24/OPENPGP's catalogued check value (the CRC of "123456789"); RFC 4880's CRC24_INIT for no input.
    assert crc24(b"123456789") == 0x21CF02
    assert crc24(b"") == 0xB704CE
    # GnuPG's own armor: the =CRC line is the CRC-24 of the base64 body.
    text = _vectors("pgp.json")["gpg_two_keys_export"]["armor"]
    lines = text.strip().splitlines()
    checksum_line = next(line for line in lines if line.startswith("="))
    body = base64.b64decode("".join(lines[2 : lines.index(checksum_line)]))
    assert crc24(body).to_bytes(3, "big") == base64.b64decode(checksum_line[1:])


# --------------------------------------------------------------------------- the crawler accepts what the demo writes


def test_the_crawlers_decoders_accept_every_demo_address() -> None:
    from crawler.extractors import wallet_codecs

    payload = hashlib.sha512(b"crawler-accepts").digest() + hashlib.sha512(b"more").digest()
    for coin, kinds in wallet_encoders.ADDRESS_KINDS.items():
        for kind in kinds:
            size = {"p2wsh": 32, "p2tr": 32, "standard": 64, "subaddress": 64, "integrated": 72}.get(kind, 20)
            address = make_address(coin, kind, payload[:size])
            if coin == "monero":
                network_byte, spend, view, payment_id = wallet_codecs.monero_decode(address)
                assert (spend + view + (payment_id or b"")) == payload[:size]
            elif coin == "ethereum":
                assert wallet_codecs.is_eip55_checksummed(address)
            elif kind in ("p2wpkh", "p2wsh", "p2tr"):
                assert wallet_codecs.segwit_decode(None, address)[2] == payload[:size]
            elif kind.startswith("cashaddr-"):
                assert wallet_codecs.cashaddr_decode(address)[2] == payload[:size]
            else:
                assert wallet_codecs.base58check_body(address).endswith(payload[:size])


def test_the_crawlers_onion_and_armor_checks_accept_the_demos() -> None:
    from crawler.extractors.onions import is_valid_v3_onion
    from crawler.extractors.pgp import find_pgp_keys

    assert is_valid_v3_onion(derived_onion_host(5, "site"))
    key = make_public_key(b"\x07" * 32, "Demo <demo@example.test>", 1_700_000_000)
    (found,) = find_pgp_keys(key.armored)
    assert found.armor_checksum_ok is True and found.fingerprint == key.fingerprint
