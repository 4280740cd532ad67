"""Unit tests for crawler.extractors.pgp on RFC 9580 samples and gpg-made keys."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from crawler.extractors.pgp import crc24, find_pgp_keys, parse_armored_block, parse_packets

VECTORS = json.loads((Path(__file__).parent / "vectors" / "pgp.json").read_text())
V6 = VECTORS["rfc9580_v6_certificate"]
V4_SAMPLE = VECTORS["rfc9580_v4_ed25519legacy_packet_base64"]
GPG = VECTORS["gpg_two_keys_export"]


def armor_lines(armor: str) -> list[str]:
    return armor.strip().splitlines()


def test_rfc9580_v6_certificate_fingerprint_key_id_and_subkey():
    (key,) = find_pgp_keys("Vendor key:\n" + V6["armor"] + "\nthanks")
    assert key.error is None
    assert key.fingerprint == V6["fingerprint"]
    assert key.key_id == V6["key_id"] == V6["fingerprint"][:16]
    assert (key.version, key.algorithm) == (6, V6["algorithm"])
    assert [subkey.fingerprint for subkey in key.subkeys] == V6["subkey_fingerprints"]
    assert [subkey.algorithm for subkey in key.subkeys] == V6["subkey_algorithms"]
    assert key.armor_checksum_ok is None  # RFC 9580 armor carries no CRC line


def test_rfc9580_v4_sample_packet_fingerprint():
    (key,) = parse_packets(base64.b64decode(V4_SAMPLE["base64"]))
    assert key.fingerprint == V4_SAMPLE["fingerprint"]
    assert key.key_id == V4_SAMPLE["key_id"] == V4_SAMPLE["fingerprint"][-16:]
    assert key.algorithm == V4_SAMPLE["algorithm"]


def test_gpg_export_with_two_keys_gives_two_entries_with_uids_and_subkeys():
    text = "<p>my keys</p>\n" + GPG["armor"]
    keys = find_pgp_keys(text)
    assert len(keys) == len(GPG["keys"])
    for key, expected in zip(keys, GPG["keys"]):
        assert key.error is None and key.armor_checksum_ok is True
        assert key.fingerprint == expected["fingerprint"]
        assert key.key_id == expected["key_id"]
        assert key.algorithm == expected["algorithm"]
        assert list(key.user_ids) == expected["user_ids"]
        assert [subkey.fingerprint for subkey in key.subkeys] == expected["subkey_fingerprints"]
        created = datetime.fromtimestamp(expected["created_at_unix"], tz=timezone.utc)
        assert key.created_at == created.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert text[key.start : key.end].startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")


def test_gpg_export_uses_old_format_headers_and_the_v6_sample_new_format():
    gpg_first = base64.b64decode("".join(armor_lines(GPG["armor"])[2:4]))[0]
    v6_first = base64.b64decode(armor_lines(V6["armor"])[2][:4])[0]
    assert gpg_first & 0xC0 == 0x80  # old format
    assert v6_first & 0xC0 == 0xC0  # new format


def test_armor_mangled_by_html_stripping_still_parses():
    lines = armor_lines(GPG["armor"])
    # The blank line lost and the body joined into one line with spaces.
    mangled = lines[0] + "\n" + " ".join(line for line in lines[1:-1] if line) + "\n" + lines[-1]
    keys = find_pgp_keys(mangled)
    assert [key.fingerprint for key in keys] == [key["fingerprint"] for key in GPG["keys"]]


def test_crc24_matches_the_armor_checksum_line():
    lines = armor_lines(GPG["armor"])
    crc_line = next(line for line in lines if line.startswith("="))
    body = "".join(line for line in lines[1:] if line and not line.startswith(("=", "-----")))
    assert crc24(base64.b64decode(body)).to_bytes(3, "big") == base64.b64decode(crc_line[1:])


def test_wrong_armor_checksum_is_reported_not_parsed():
    lines = armor_lines(GPG["armor"])
    index = next(i for i, line in enumerate(lines) if line.startswith("="))
    lines[index] = "=AAAA" if lines[index] != "=AAAA" else "=BBBB"
    (key,) = find_pgp_keys("\n".join(lines))
    assert key.fingerprint is None
    assert "checksum" in key.error


@pytest.mark.parametrize(
    "body",
    [
        "\n\n!!!! not base64 at all ????\n",
        "\n\nAAAA\n",  # bytes that are not a packet header
        "\n\n" + base64.b64encode(bytes([0x99, 0x01, 0x00, 0x04])).decode() + "\n",  # truncated
        "\n\n" + base64.b64encode(bytes([0xB4, 0x03]) + b"uid").decode() + "\n",  # uid, no key
        "",
    ],
)
def test_malformed_blocks_are_reported_with_an_error(body):
    text = f"-----BEGIN PGP PUBLIC KEY BLOCK-----{body}-----END PGP PUBLIC KEY BLOCK-----"
    (key,) = find_pgp_keys(text)
    assert key.error
    assert key.fingerprint is None


def test_truncated_real_key_is_an_error_not_a_crash():
    lines = armor_lines(V6["armor"])
    truncated = "\n".join(lines[:4] + lines[-1:])
    (key,) = parse_armored_block(truncated)
    assert key.error


def test_text_without_blocks_yields_nothing():
    assert find_pgp_keys("no keys here -----BEGIN PGP SIGNATURE-----") == []


@pytest.mark.parametrize("vector", [V6["armor"], GPG["armor"]], ids=["v6", "gpg"])
def test_armor_flattened_to_one_line_with_headers_still_parses(vector):
    lines = armor_lines(vector)
    body = [line for line in lines[1:-1] if line]
    flattened = " ".join(
        [lines[0], "Version: GnuPG v2", "Comment: https://keys.example.org/ vendor key"]
        + body
        + [lines[-1]]
    )
    keys = find_pgp_keys("Our key: " + flattened + " end.")
    assert all(key.error is None for key in keys)
    expected = [V6["fingerprint"]] if vector is V6["armor"] else [k["fingerprint"] for k in GPG["keys"]]
    assert [key.fingerprint for key in keys] == expected


# --- linear-time block scan ------------------------------------------------------------

import re  # noqa: E402

from hypothesis import given, settings, strategies as st  # noqa: E402

from crawler.extractors import pgp  # noqa: E402
from crawler.extractors.pgp import armored_blocks  # noqa: E402


@settings(max_examples=300)
@given(st.lists(st.sampled_from(["-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----END PGP PUBLIC KEY BLOCK-----",
                                 "-----", "ab", " ", "\n", "xyz0"]), max_size=30))
def test_armored_blocks_are_the_lazy_regex_matches(parts):
    """Same spans as the regex the scan replaced, with the block cap made small."""
    text = "".join(parts)
    limit = 12
    oracle = re.compile(
        r"-----BEGIN PGP PUBLIC KEY BLOCK-----.{0,%d}?-----END PGP PUBLIC KEY BLOCK-----" % limit, re.DOTALL
    )
    original = pgp.MAX_BLOCK_CHARS
    pgp.MAX_BLOCK_CHARS = limit
    try:
        found = list(armored_blocks(text))
    finally:
        pgp.MAX_BLOCK_CHARS = original
    assert found == [match.span() for match in oracle.finditer(text)]


def test_a_block_after_many_unterminated_begins_is_found():
    lines = armor_lines(V6["armor"])
    text = lines[0] * 20_000 + " " + "\n".join(lines)
    assert [key.fingerprint for key in find_pgp_keys(text)] == [V6["fingerprint"]]


def test_crc24_matches_the_bitwise_definition():
    def bitwise(data: bytes) -> int:
        crc = 0xB704CE
        for byte in data:
            crc ^= byte << 16
            for _ in range(8):
                crc <<= 1
                if crc & 0x1000000:
                    crc ^= 0x1864CFB
        return crc & 0xFFFFFF

    for data in (b"", b"\x00", b"\xff" * 7, bytes(range(256)), b"onionscope" * 30):
        assert crc24(data) == bitwise(data)
