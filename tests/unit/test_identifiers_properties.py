"""Property tests (hypothesis) for crawler.extractors.identifiers and the finders it runs.

* every wallet hit re-validates through the codecs (random text never yields
  an address that fails its checksum);
* planted valid addresses are always found, wherever they sit;
* extraction never raises on arbitrary text or on arbitrary bytes decoded
  with ``errors="replace"``.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.extractors import wallet_codecs as codecs
from crawler.extractors.identifiers import Identifiers, find_identifiers
from crawler.extractors.onions import is_valid_v3_onion, v3_onion_from_pubkey
from crawler.extractors.wallets import find_wallets

VECTORS = Path(__file__).parent / "vectors"
PGP = json.loads((VECTORS / "pgp.json").read_text())

SEGWIT_TYPES = {"p2wpkh", "p2wsh", "p2tr", "witness_unknown"}
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def revalidate(hit) -> None:
    """Decode a hit's address again with the codec for its type; raises if invalid."""
    if hit.coin == "ethereum":
        checksum_form = codecs.eip55_checksum(hit.address)
        assert checksum_form == hit.normalized
        if hit.checksummed:
            assert codecs.is_eip55_checksummed(hit.address)
        else:
            hex_part = hit.address[2:]
            assert hex_part in (hex_part.lower(), hex_part.upper())
    elif hit.coin == "monero":
        network_byte, *_ = codecs.monero_decode(hit.address)
        assert codecs.MONERO_NETWORK_BYTES[network_byte] == (hit.network, hit.address_type)
    elif hit.address_type.startswith("cashaddr-"):
        prefix, kind, _ = codecs.cashaddr_decode(hit.normalized)
        assert hit.address_type == f"cashaddr-{kind}"
    elif hit.address_type in SEGWIT_TYPES:
        hrp, _, _ = codecs.segwit_decode(None, hit.address)
        assert codecs.SEGWIT_HRPS[(hit.coin, hit.network)] == hrp
    else:
        codecs.base58check_decode(hit.address)


# Text that makes candidates likely: base58/bech32/hex characters, separators
# and fragments of real prefixes.
candidate_text = st.lists(
    st.one_of(
        st.text(alphabet="123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", min_size=1, max_size=40),
        st.text(alphabet="qpzry9x8gf2tvdw0s3jn54khce6mua7l", min_size=1, max_size=64),
        st.text(alphabet="0123456789abcdefABCDEF", min_size=1, max_size=44),
        st.sampled_from(["bc1", "tb1", "ltc1", "0x", "bitcoincash:", "bitcoin:", "monero:", " ", "\n", ".", ",", ".onion", "@"]),
    ),
    max_size=40,
).map("".join)


def generated_address(draw_payload: bytes, coin: str, kind: str, network: str) -> str:
    if coin == "monero":
        size = 72 if kind == "integrated" else 64
    else:
        size = 32 if kind in ("p2wsh", "p2tr") else 20
    payload = (draw_payload * (size // max(1, len(draw_payload)) + 1))[:size] if draw_payload else bytes(size)
    return codecs.make_address(coin, kind, payload, network)


KINDS = [
    (coin, kind, network)
    for coin, kinds in codecs.ADDRESS_KINDS.items()
    for kind in kinds
    for network in ("mainnet", "testnet")
    if not (coin in ("tron", "ethereum") and network == "testnet")
]


@PROPERTY_SETTINGS
@given(candidate_text)
def test_every_wallet_hit_in_candidate_rich_text_revalidates(text):
    for hit in find_wallets(text):
        revalidate(hit)
        assert text[hit.start : hit.end] == hit.address


@PROPERTY_SETTINGS
@given(st.text(max_size=2000))
def test_every_hit_in_arbitrary_text_revalidates(text):
    identifiers = find_identifiers(text, [text[:200]])
    for hit in identifiers.wallets:
        revalidate(hit)
    for onion in identifiers.onions:
        assert onion.legacy or is_valid_v3_onion(onion.host)


@PROPERTY_SETTINGS
@given(
    st.sampled_from(KINDS),
    st.binary(min_size=1, max_size=72),
    st.text(alphabet=" \n\t.,;:()[]<>|\"'!?-", min_size=1, max_size=3),
    st.text(max_size=60),
    st.text(max_size=60),
)
def test_planted_addresses_are_always_found(kind, payload, separator, before, after):
    coin, address_kind, network = kind
    address = generated_address(payload, coin, address_kind, network)
    text = before + separator + address + separator + after
    hits = [hit for hit in find_wallets(text) if hit.address == address]
    assert hits, (address, text)
    assert coin == hits[0].coin or coin in hits[0].also_valid_for
    assert hits[0].network == network


@PROPERTY_SETTINGS
@given(st.binary(max_size=4000))
def test_extraction_never_raises_on_arbitrary_bytes(data):
    text = data.decode("utf-8", errors="replace")
    result = find_identifiers(text, [text[:100], "bitcoin:" + text[:60]])
    assert isinstance(result, Identifiers)
    json.dumps(result.page_fields())


@PROPERTY_SETTINGS
@given(st.binary(max_size=600), st.booleans())
def test_pgp_blocks_with_random_contents_never_raise(data, flatten):
    import base64

    body = base64.b64encode(data).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    separator = " " if flatten else "\n"
    text = separator.join(
        ["-----BEGIN PGP PUBLIC KEY BLOCK-----", ""] + lines + ["-----END PGP PUBLIC KEY BLOCK-----"]
    )
    for key in find_identifiers(text).pgp_keys:
        assert (key.fingerprint is None) != (key.error is None)


def test_page_fields_collects_every_kind_once():
    onion = v3_onion_from_pubkey(bytes(range(32)))
    address = codecs.make_address("bitcoin", "p2wpkh", bytes(range(20)))
    text = (
        f"Pay {address} or {address}. Mirror {onion}. Mail sales@example.org, Sales@Example.org. "
        f"Jabber: dealer@xmpp.example.net  t.me/market_channel\n{PGP['rfc9580_v6_certificate']['armor']}"
    )
    fields = find_identifiers(text).page_fields()
    assert [wallet["normalized"] for wallet in fields["wallets"]] == [address]
    assert fields["emails"] == ["sales@example.org"]
    assert fields["pgp_fingerprints"] == [PGP["rfc9580_v6_certificate"]["fingerprint"]]
    assert {(contact["kind"], contact["value"]) for contact in fields["contacts"]} == {
        ("xmpp", "dealer@xmpp.example.net"),
        ("telegram", "market_channel"),
    }
    assert find_identifiers(text).onions[0].host == onion
