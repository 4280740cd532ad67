"""Unit tests for crawler.extractors.wallets.find_wallets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.extractors import wallet_codecs as codecs
from crawler.extractors.wallets import WalletHit, find_wallets

VECTORS = Path(__file__).parent / "vectors"
BECH32 = json.loads((VECTORS / "bech32_bip173_bip350.json").read_text())
EIP55 = json.loads((VECTORS / "eip55.json").read_text())
CASHADDR = json.loads((VECTORS / "cashaddr.json").read_text())
MONERO = json.loads((VECTORS / "monero.json").read_text())


def only_hit(text: str, hrefs=()) -> WalletHit:
    hits = find_wallets(text, hrefs)
    assert len(hits) == 1, hits
    return hits[0]


def embed(address: str) -> str:
    return f"Send payment to {address}. After 3 confirmations the order ships."


# --- published vectors: no misses, no false positives --------------------------


@pytest.mark.parametrize("address,_script", BECH32["valid_address"])
def test_every_valid_bip350_address_is_found_with_position(address, _script):
    text = embed(address)
    hit = only_hit(text)
    assert text[hit.start : hit.end] == address
    assert hit.normalized == address.lower()
    assert hit.coin == "bitcoin"
    assert hit.network == ("mainnet" if address.lower().startswith("bc1") else "testnet")
    assert hit.source == "text"


@pytest.mark.parametrize(
    "address", BECH32["invalid_address"] + BECH32["bip173_v1plus_superseded"]
)
def test_no_invalid_segwit_vector_is_reported(address):
    assert find_wallets(embed(address)) == []


def test_segwit_address_types():
    found = {
        hit.address.lower(): hit.address_type
        for hit in find_wallets(" ".join(address for address, _ in BECH32["valid_address"]))
    }
    assert found["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"] == "p2wpkh"
    assert found["tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7"] == "p2wsh"
    assert found["bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"] == "p2tr"
    assert found["bc1sw50qgdz25j"] == "witness_unknown"


@pytest.mark.parametrize("address", EIP55["checksummed"])
def test_eip55_vectors_are_found_checksummed(address):
    hit = only_hit(embed(address))
    assert (hit.coin, hit.address_type, hit.checksummed) == ("ethereum", "eoa", True)
    assert hit.normalized == address


@pytest.mark.parametrize("address", EIP55["checksummed"])
def test_unchecksummed_evm_addresses_are_accepted_but_flagged(address):
    for variant in (address.lower(), "0x" + address[2:].upper()):
        hit = only_hit(embed(variant))
        assert hit.checksummed is False
        assert hit.normalized == address


@pytest.mark.parametrize("address", EIP55["checksummed"])
def test_evm_address_with_a_wrong_mixed_case_is_dropped(address):
    index = next(i for i, char in enumerate(address) if i > 1 and char.isalpha())
    broken = address[:index] + address[index].swapcase() + address[index + 1 :]
    assert find_wallets(embed(broken)) == []


@pytest.mark.parametrize("row", CASHADDR["sized"][:3] + CASHADDR["sized"][9:12])
def test_cashaddr_spec_vectors_with_a_known_prefix_are_found(row):
    address = row["address"]
    hits = find_wallets(embed(address))
    if address.startswith("pref:"):
        # "pref" is not a Bitcoin Cash network: the bare payload fails both
        # real prefixes' checksums, so nothing is reported.
        assert hits == []
        return
    (hit,) = hits
    assert hit.coin == "bitcoin-cash"
    assert hit.network == ("mainnet" if address.startswith("bitcoincash:") else "testnet")
    assert hit.address_type == "cashaddr-" + ("p2pkh" if row["type"] == 0 else "p2sh")


@pytest.mark.parametrize("legacy,cashaddr", CASHADDR["legacy_translation"])
def test_cashaddr_with_and_without_prefix_and_the_legacy_form(legacy, cashaddr):
    bare = cashaddr.split(":")[1]
    with_prefix, without_prefix, upper, old = find_wallets(
        f"{cashaddr} / {bare} / {cashaddr.upper()} / {legacy}"
    )
    assert with_prefix.normalized == without_prefix.normalized == upper.normalized == cashaddr
    assert without_prefix.address == bare
    # Legacy BCH is byte-identical to a Bitcoin address: reported as bitcoin,
    # with Bitcoin Cash listed as equally valid.
    assert old.coin == "bitcoin"
    assert "bitcoin-cash" in old.also_valid_for


@pytest.mark.parametrize("address", CASHADDR["checksum_only"])
def test_cashaddr_checksum_only_vectors_are_not_addresses(address):
    assert find_wallets(embed(address)) == []


@pytest.mark.parametrize("network,kind,address", MONERO["valid"])
def test_monero_vectors_are_found_with_network_and_type(network, kind, address):
    hit = only_hit(embed(address))
    assert (hit.coin, hit.network, hit.address_type) == ("monero", network, kind)
    assert hit.normalized == address


def test_monero_integrated_hit_carries_its_payment_id():
    integrated, _standard, payment_id = MONERO["integrated_pairs"][0]
    assert only_hit(embed(integrated)).payment_id == payment_id


@pytest.mark.parametrize("address", MONERO["invalid"])
def test_monero_invalid_vectors_are_not_reported(address):
    assert find_wallets(embed(address)) == []


# --- every coin and kind the generator can make ----------------------------------


def generated(coin: str, kind: str, network: str, seed: int) -> str:
    if coin == "monero":
        size = 72 if kind == "integrated" else 64
    else:
        size = 32 if kind in ("p2wsh", "p2tr") else 20
    payload = bytes((seed * 31 + index * 7) % 256 for index in range(size))
    return codecs.make_address(coin, kind, payload, network)


CASES = [
    (coin, kind, network)
    for coin, kinds in codecs.ADDRESS_KINDS.items()
    for kind in kinds
    for network in ("mainnet", "testnet")
    if not (coin in ("tron", "ethereum") and network == "testnet")
]


@pytest.mark.parametrize("coin,kind,network", CASES)
def test_generated_addresses_are_found_and_the_coin_is_right_or_listed(coin, kind, network):
    address = generated(coin, kind, network, seed=len(coin) + len(kind))
    hit = only_hit(embed(address))
    assert hit.address == address
    assert hit.network == network
    assert coin == hit.coin or coin in hit.also_valid_for
    assert hit.checksummed


@pytest.mark.parametrize("coin,kind,network", CASES)
def test_one_changed_character_is_never_reported(coin, kind, network):
    address = generated(coin, kind, network, seed=3)
    index = len(address) // 2
    replacement = "2" if address[index] != "2" else "3"
    broken = address[:index] + replacement + address[index + 1 :]
    assert find_wallets(embed(broken)) == []


# --- sources, context, boundaries ------------------------------------------------------


def test_payment_uris_in_text_and_hrefs_are_tagged_uri():
    legacy = CASHADDR["legacy_translation"][0][0]
    monero = MONERO["valid"][0][2]
    text = f"Donate: bitcoin:{legacy}?amount=0.1"
    hrefs = [f"monero:{monero}?tx_amount=1", f"http://explorer.example/address/{legacy}"]
    text_hit, uri_hit, href_hit = find_wallets(text, hrefs)
    assert text_hit.source == "uri" and text_hit.address == legacy
    assert uri_hit.source == "uri" and uri_hit.coin == "monero"
    assert href_hit.source == "href" and href_hit.context.startswith("http://explorer")


def test_context_is_capped_and_surrounds_the_address():
    legacy = CASHADDR["legacy_translation"][1][0]
    text = "x" * 500 + " " + legacy + " " + "y" * 500
    hit = only_hit(text)
    assert legacy in hit.context
    assert len(hit.context) <= 80 * 2 + len(legacy) + 2


def test_an_address_glued_inside_a_longer_word_is_not_reported():
    legacy = CASHADDR["legacy_translation"][1][0]
    assert find_wallets("abc" + legacy) == []
    assert find_wallets(legacy + "xyz") == []


def test_prose_and_hashes_yield_nothing():
    text = (
        "Welcome to the market. Escrow released after 48 hours. PGP required.\n"
        "tx 4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b "
        "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 "
        "ThisIsAVeryLongWordWithoutAnyDigitsInIt and 0x123abc"
    )
    assert find_wallets(text) == []


def test_to_dict_is_json_ready():
    hit = only_hit(embed(CASHADDR["legacy_translation"][3][0]))
    data = hit.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["also_valid_for"] == ["bitcoin-cash", "litecoin"]


# --- Bitcoin Core's key_io_valid.json ---------------------------------------------

KEY_IO = json.loads((VECTORS / "bitcoin_core_key_io.json").read_text())


def script_of(hit: WalletHit) -> str:
    if hit.address_type in ("p2wpkh", "p2wsh", "p2tr", "witness_unknown"):
        _, witver, program = codecs.segwit_decode(None, hit.address)
        return (bytes([witver + 0x50 if witver else 0, len(program)]) + program).hex()
    version, payload = codecs.base58check_decode(hit.address)
    if hit.address_type == "p2pkh":
        return "76a914" + payload.hex() + "88ac"
    return "a914" + payload.hex() + "87"


@pytest.mark.parametrize("row", KEY_IO["addresses"], ids=lambda row: row["address"][:16])
def test_bitcoin_core_valid_addresses_are_found_with_the_right_script(row):
    for variant in {row["address"], row["address"].upper() if row["address"][:2] in ("bc", "tb") else row["address"]}:
        hit = only_hit(embed(variant))
        assert hit.coin == "bitcoin"
        assert hit.network == ("mainnet" if row["chain"] == "main" else "testnet")
        assert script_of(hit) == row["script"]


@pytest.mark.parametrize("private_key", KEY_IO["private_keys"])
def test_wif_private_keys_are_not_reported_as_addresses(private_key):
    codecs.base58check_decode(private_key)  # a valid base58check string...
    assert find_wallets(embed(private_key)) == []  # ...but not an address
