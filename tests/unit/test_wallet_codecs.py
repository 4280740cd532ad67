"""Unit tests for crawler.extractors.wallet_codecs on the published test vectors.

Vectors live in tests/unit/vectors/*.json; each file names its source.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.extractors import wallet_codecs as codecs

VECTORS = Path(__file__).parent / "vectors"


def load(name: str) -> dict:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


BECH32 = load("bech32_bip173_bip350.json")
EIP55 = load("eip55.json")
CASHADDR = load("cashaddr.json")
MONERO = load("monero.json")


def scriptpubkey(witver: int, program: bytes) -> str:
    return (bytes([witver + 0x50 if witver else 0, len(program)]) + program).hex()


# --- bech32 / bech32m -------------------------------------------------------


@pytest.mark.parametrize("text", BECH32["valid_bech32"])
def test_valid_bech32_checksum_decodes_as_bech32(text):
    hrp, _data, variant = codecs.bech32_decode(text)
    assert variant == codecs.BECH32
    assert hrp == text[: text.rfind("1")].lower()


@pytest.mark.parametrize("text", BECH32["valid_bech32m"])
def test_valid_bech32m_checksum_decodes_as_bech32m(text):
    _hrp, _data, variant = codecs.bech32_decode(text)
    assert variant == codecs.BECH32M


@pytest.mark.parametrize("text", BECH32["valid_bech32"] + BECH32["valid_bech32m"])
def test_flipping_one_data_character_breaks_the_checksum(text):
    position = text.rfind("1") + 1
    broken = text[:position] + chr(ord(text[position]) ^ 1) + text[position + 1 :]
    with pytest.raises(ValueError):
        codecs.bech32_decode(broken)


@pytest.mark.parametrize("text", BECH32["invalid_bech32"] + BECH32["invalid_bech32m"])
def test_invalid_bech32_strings_are_rejected(text):
    with pytest.raises(ValueError):
        codecs.bech32_decode(text)


@pytest.mark.parametrize("address,script_hex", BECH32["valid_address"])
def test_valid_segwit_addresses_decode_to_their_scriptpubkey_and_reencode(address, script_hex):
    hrp, witver, program = codecs.segwit_decode(None, address)
    assert hrp in ("bc", "tb")
    assert scriptpubkey(witver, program) == script_hex
    assert codecs.segwit_encode(hrp, witver, program) == address.lower()


@pytest.mark.parametrize("address", BECH32["invalid_address"] + BECH32["bip173_v1plus_superseded"])
@pytest.mark.parametrize("hrp", ["bc", "tb"])
def test_invalid_segwit_addresses_are_rejected(address, hrp):
    with pytest.raises(ValueError):
        codecs.segwit_decode(hrp, address)


@pytest.mark.parametrize("hrp,witver,length", BECH32["invalid_address_enc"])
def test_segwit_encode_refuses_invalid_programs(hrp, witver, length):
    with pytest.raises(ValueError):
        codecs.segwit_encode(hrp, witver, bytes(length))


def test_segwit_decode_checks_expected_hrp():
    address = BECH32["valid_address"][0][0]
    with pytest.raises(ValueError):
        codecs.segwit_decode("tb", address)


# --- base58check --------------------------------------------------------------


@pytest.mark.parametrize("legacy,cashaddr", CASHADDR["legacy_translation"])
def test_base58check_round_trip_on_the_cashaddr_spec_legacy_addresses(legacy, cashaddr):
    version, payload = codecs.base58check_decode(legacy)
    assert version in (b"\x00", b"\x05")
    assert codecs.base58check_encode(version, payload) == legacy
    _prefix, kind, hash_bytes = codecs.cashaddr_decode(cashaddr)
    assert hash_bytes == payload
    assert kind == ("p2pkh" if version == b"\x00" else "p2sh")


def test_base58check_rejects_a_changed_character():
    legacy = CASHADDR["legacy_translation"][0][0]
    broken = legacy[:-1] + ("v" if legacy[-1] != "v" else "w")
    with pytest.raises(ValueError):
        codecs.base58check_decode(broken)


@pytest.mark.parametrize("text", ["", "0OIl", "1" * 3])
def test_base58check_rejects_garbage(text):
    with pytest.raises(ValueError):
        codecs.base58check_decode(text)


def test_base58_keeps_leading_zero_bytes():
    data = b"\0\0\x01\x02"
    assert codecs.base58_decode(codecs.base58_encode(data)) == data
    assert codecs.base58_encode(data).startswith("11")


# --- CashAddr -----------------------------------------------------------------


@pytest.mark.parametrize("address", CASHADDR["checksum_only"])
def test_cashaddr_checksum_only_vectors_pass_checksum_but_not_payload_rules(address):
    prefix, _, payload = address.partition(":")
    data = [codecs.BECH32_CHARSET.index(char) for char in payload]
    assert codecs._cashaddr_polymod(codecs._cashaddr_prefix_values(prefix) + data) == 0
    with pytest.raises(ValueError):
        codecs.cashaddr_decode(address)


@pytest.mark.parametrize("row", CASHADDR["sized"], ids=lambda row: row["address"][:24])
def test_cashaddr_sized_vectors_round_trip(row):
    kind = {0: "p2pkh", 1: "p2sh"}[row["type"]]
    prefix = row["address"].split(":")[0]
    hash_bytes = bytes.fromhex(row["hash"])
    assert len(hash_bytes) == row["bytes"]
    assert codecs.cashaddr_encode(prefix, kind, hash_bytes) == row["address"]
    assert codecs.cashaddr_decode(row["address"]) == (prefix, kind, hash_bytes)
    assert codecs.cashaddr_decode(row["address"].upper()) == (prefix, kind, hash_bytes)


def test_cashaddr_without_prefix_uses_the_default_and_the_checksum_decides():
    address = CASHADDR["legacy_translation"][0][1]
    bare = address.split(":")[1]
    assert codecs.cashaddr_decode(bare) == codecs.cashaddr_decode(address)
    with pytest.raises(ValueError):
        codecs.cashaddr_decode(bare, default_prefix="bchtest")


def test_cashaddr_rejects_mixed_case_and_a_changed_character():
    address = CASHADDR["legacy_translation"][1][1]
    with pytest.raises(ValueError):
        codecs.cashaddr_decode(address[:-1] + address[-1].upper())
    with pytest.raises(ValueError):
        codecs.cashaddr_decode(address[:-2] + ("q" if address[-2] != "q" else "p") + address[-1])


# --- EIP-55 -------------------------------------------------------------------


@pytest.mark.parametrize("address", EIP55["checksummed"] + EIP55["all_one_case_checksummed"])
def test_eip55_vectors_are_their_own_checksum(address):
    assert codecs.eip55_checksum(address.lower()) == address
    assert codecs.eip55_checksum(address.upper()[2:]) == address
    assert codecs.is_eip55_checksummed(address)


@pytest.mark.parametrize("address", EIP55["checksummed"])
def test_eip55_detects_a_flipped_letter_case(address):
    index = next(i for i, char in enumerate(address) if i > 1 and char.isalpha())
    flipped = address[:index] + address[index].swapcase() + address[index + 1 :]
    assert not codecs.is_eip55_checksummed(flipped)
    assert not codecs.is_eip55_checksummed(address.lower())


@pytest.mark.parametrize("text", ["0x123", "0x" + "g" * 40, ""])
def test_eip55_rejects_non_addresses(text):
    with pytest.raises(ValueError):
        codecs.eip55_checksum(text)


# --- Monero -------------------------------------------------------------------


@pytest.mark.parametrize("network,kind,address", MONERO["valid"])
def test_monero_vectors_decode_to_their_network_and_kind_and_reencode(network, kind, address):
    network_byte, spend, view, payment_id = codecs.monero_decode(address)
    assert codecs.MONERO_NETWORK_BYTES[network_byte] == (network, kind)
    assert (payment_id is not None) == (kind == "integrated")
    assert codecs.monero_encode(network_byte, spend, view, payment_id) == address


@pytest.mark.parametrize("integrated,standard,payment_id_hex", MONERO["integrated_pairs"])
def test_monero_integrated_address_splits_into_standard_and_payment_id(
    integrated, standard, payment_id_hex
):
    network_byte, spend, view, payment_id = codecs.monero_decode(integrated)
    assert network_byte == 19
    assert payment_id.hex() == payment_id_hex
    assert codecs.monero_encode(18, spend, view) == standard


@pytest.mark.parametrize("address", MONERO["invalid"])
def test_monero_invalid_vectors_are_rejected(address):
    with pytest.raises(ValueError):
        codecs.monero_decode(address)


# --- make_address ---------------------------------------------------------------


def payload_for(coin: str, kind: str) -> bytes:
    if coin == "monero":
        return bytes(range(72 if kind == "integrated" else 64))
    if kind in ("p2wsh", "p2tr"):
        return bytes(range(32))
    return bytes(range(20))


@pytest.mark.parametrize(
    "coin,kind",
    [(coin, kind) for coin, kinds in codecs.ADDRESS_KINDS.items() for kind in kinds],
)
@pytest.mark.parametrize("network", ["mainnet", "testnet"])
def test_make_address_output_decodes_back_to_the_payload(coin, kind, network):
    if coin in ("tron", "ethereum") and network == "testnet":
        with pytest.raises(ValueError):
            codecs.make_address(coin, kind, payload_for(coin, kind), network)
        return
    payload = payload_for(coin, kind)
    address = codecs.make_address(coin, kind, payload, network)
    if coin == "monero":
        _, spend, view, payment_id = codecs.monero_decode(address)
        assert spend + view + (payment_id or b"") == payload
    elif coin == "ethereum":
        assert codecs.is_eip55_checksummed(address)
        assert bytes.fromhex(address[2:]) == payload
    elif kind in ("p2wpkh", "p2wsh", "p2tr"):
        assert codecs.segwit_decode(None, address)[2] == payload
    elif kind.startswith("cashaddr-"):
        assert codecs.cashaddr_decode(address)[2] == payload
    else:
        version = codecs.BASE58_VERSIONS[(coin, network, kind)]
        raw = codecs.base58_decode(address)
        assert raw[: len(version)] == version
        assert raw[len(version) : -4] == payload


def test_make_address_rejects_unknown_combinations_and_bad_sizes():
    with pytest.raises(ValueError):
        codecs.make_address("bitcoin", "eoa", bytes(20))
    with pytest.raises(ValueError):
        codecs.make_address("bitcoin", "p2pkh", bytes(19))
    with pytest.raises(ValueError):
        codecs.make_address("monero", "standard", bytes(64), "regtest")


def test_coin_aliases_cover_every_coin_name() -> None:
    from crawler.extractors.wallet_codecs import ADDRESS_KINDS, COIN_TICKERS, coin_aliases

    assert set(COIN_TICKERS) == set(ADDRESS_KINDS)
    assert coin_aliases("XMR") == coin_aliases("monero") == ("monero", "xmr")
    assert coin_aliases("bch") == ("bch", "bitcoin-cash")
    assert coin_aliases("nothing") == ("nothing",)
