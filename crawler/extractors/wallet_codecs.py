"""Exact encoders and decoders for cryptocurrency address formats.

This module owns the byte-level address formats; it knows nothing about
pages or text.  Every decoder validates the checksum and raises
:class:`ValueError` (with a message naming what is wrong) on anything that is
not a well-formed address; every encoder is its exact inverse.

* :func:`base58_encode`, :func:`base58_decode` -- Bitcoin's base58 alphabet.
* :func:`base58check_encode` ``(version, payload) -> str`` and
  :func:`base58check_decode` ``(s) -> (version, payload)`` -- double-SHA256
  checksum.  The version is returned as the first byte only; callers that
  know of two-byte versions (Zcash) split it themselves.
* :func:`bech32_encode` / :func:`bech32_decode`, and the segwit layer
  :func:`segwit_encode` ``(hrp, witver, program) -> str`` and
  :func:`segwit_decode` ``(hrp_expected, addr) -> (hrp, witver, program)``
  -- BIP-173 (bech32, witness v0) and BIP-350 (bech32m, witness v1..16).
* :func:`cashaddr_encode` ``(prefix, kind, hash) -> str`` and
  :func:`cashaddr_decode` ``(addr, default_prefix) -> (prefix, kind, hash)``
  -- the Bitcoin Cash CashAddr format.
* :func:`eip55_checksum` ``(hex40) -> str`` and :func:`is_eip55_checksummed`
  -- EIP-55 mixed-case checksums of Ethereum/EVM addresses.
* :func:`monero_encode` ``(network_byte, spend, view, payment_id) -> str``
  and :func:`monero_decode` ``(addr) -> (network_byte, spend, view,
  payment_id)`` -- CryptoNote block-wise base58 with a Keccak-256 checksum.
* :func:`make_address` ``(coin, kind, payload, network) -> str`` -- one
  entry point for generators, covering every coin and kind in
  :data:`ADDRESS_KINDS`.

The coin names here are the ones :data:`config.schema.COIN_TICKERS` maps to
tickers; :data:`COIN_TICKERS` and :func:`coin_aliases` are that module's,
imported here for callers that know them by this name.

Nothing here does I/O; all functions are pure and thread-safe.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

from Crypto.Hash import keccak

# The coin vocabulary is the index schema's; the names in ADDRESS_KINDS are its
# names (tests/unit/test_wallet_codecs.py checks that every one has a ticker).
from config.schema import COIN_TICKERS, coin_aliases  # noqa: F401 (re-exported)

# ---------------------------------------------------------------------------
# base58 / base58check

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58_encode(data: bytes) -> str:
    """Encode bytes in base58; each leading zero byte becomes a leading ``1``."""
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(BASE58_ALPHABET[remainder])
    return "1" * leading_zeros + "".join(reversed(digits))


def _digit_table(alphabet: str) -> dict[int, int]:
    """str.translate table: alphabet characters to their values, everything else to 255."""
    table = {code: 255 for code in range(256)}
    table.update({ord(char): value for value, char in enumerate(alphabet)})
    return table


_BASE58_DIGITS = _digit_table(BASE58_ALPHABET)


def _digits(text: str, table: dict[int, int], what: str) -> bytes:
    """Map each character to its digit value in C (translate), rejecting any outsider."""
    if not text.isascii():
        raise ValueError(f"{what} text has a non-ASCII character")
    digits = text.translate(table).encode("latin-1")
    if b"\xff" in digits:
        bad = text[digits.index(b"\xff")]
        raise ValueError(f"invalid {what} character {bad!r}")
    return digits


def base58_decode(text: str) -> bytes:
    """Decode base58 text; raises ValueError on a character outside the alphabet."""
    number = 0
    for digit in _digits(text, _BASE58_DIGITS, "base58"):
        number = number * 58 + digit
    leading_zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * leading_zeros + body


def _double_sha256(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def base58check_encode(version: bytes, payload: bytes) -> str:
    """Base58check of ``version + payload`` with the 4-byte double-SHA256 checksum."""
    body = bytes(version) + bytes(payload)
    return base58_encode(body + _double_sha256(body)[:4])


def base58check_decode(text: str) -> tuple[bytes, bytes]:
    """Return ``(version, payload)`` where version is the first byte.

    Raises ValueError when the text is not base58, is too short, or the
    checksum does not match.
    """
    body = base58check_body(text)
    return body[:1], body[1:]


def base58check_body(text: str) -> bytes:
    """The checksum-verified bytes (version bytes + payload); raises ValueError otherwise."""
    raw = base58_decode(text)
    if len(raw) < 5:
        raise ValueError("base58check data shorter than version + checksum")
    body, checksum = raw[:-4], raw[-4:]
    if _double_sha256(body)[:4] != checksum:
        raise ValueError("base58check checksum mismatch")
    return body


# ---------------------------------------------------------------------------
# bech32 / bech32m (BIP-173, BIP-350)

BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_DIGITS = _digit_table(BECH32_CHARSET)
BECH32 = "bech32"
BECH32M = "bech32m"
_BECH32_CONSTANTS = {BECH32: 1, BECH32M: 0x2BC830A3}
_BECH32_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _generator_table(generator: tuple[int, ...]) -> tuple[int, ...]:
    """XOR of the generator terms selected by each 5-bit value (the checksums are linear)."""
    table = []
    for top in range(32):
        term = 0
        for bit in range(5):
            if (top >> bit) & 1:
                term ^= generator[bit]
        table.append(term)
    return tuple(table)


_BECH32_TABLE = _generator_table(_BECH32_GENERATOR)


def _bech32_polymod(values: Iterable[int]) -> int:
    checksum = 1
    table = _BECH32_TABLE
    for value in values:
        checksum = ((checksum & 0x1FFFFFF) << 5) ^ value ^ table[checksum >> 25]
    return checksum


def _bech32_hrp_expand(hrp: str) -> list[int]:
    return [ord(char) >> 5 for char in hrp] + [0] + [ord(char) & 31 for char in hrp]


def bech32_encode(hrp: str, data: list[int], variant: str = BECH32) -> str:
    """Encode 5-bit values under a human-readable part, with a bech32 or bech32m checksum."""
    hrp = hrp.lower()
    values = _bech32_hrp_expand(hrp) + list(data)
    polymod = _bech32_polymod(values + [0] * 6) ^ _BECH32_CONSTANTS[variant]
    checksum = [(polymod >> 5 * (5 - index)) & 31 for index in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[value] for value in list(data) + checksum)


def bech32_decode(text: str) -> tuple[str, list[int], str]:
    """Return ``(hrp, data without checksum, variant)``; raises ValueError if invalid.

    Enforces BIP-173's rules: printable ASCII, no mixed case, at most 90
    characters, a non-empty hrp, and six checksum characters.
    """
    if not (text.isascii() and text.isprintable()) or " " in text:
        raise ValueError("bech32 string has a character outside printable ASCII")
    if text.lower() != text and text.upper() != text:
        raise ValueError("bech32 string mixes upper and lower case")
    if len(text) > 90:
        raise ValueError("bech32 string longer than 90 characters")
    text = text.lower()
    separator = text.rfind("1")
    if separator < 1:
        raise ValueError("bech32 string has no human-readable part")
    if separator + 7 > len(text):
        raise ValueError("bech32 checksum shorter than 6 characters")
    hrp = text[:separator]
    data = list(_digits(text[separator + 1 :], _BECH32_DIGITS, "bech32 data"))
    polymod = _bech32_polymod(_bech32_hrp_expand(hrp) + data)
    for variant, constant in _BECH32_CONSTANTS.items():
        if polymod == constant:
            return hrp, data[:-6], variant
    raise ValueError("bech32 checksum mismatch")


def convert_bits(data: Iterable[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    """Regroup a sequence of ``from_bits``-wide values into ``to_bits``-wide values.

    Without ``pad`` the leftover bits must be fewer than ``from_bits`` and
    all zero, as BIP-173 requires when decoding; raises ValueError otherwise.
    """
    accumulator = 0
    bits = 0
    result = []
    max_value = (1 << to_bits) - 1
    for value in data:
        if value < 0 or value >> from_bits:
            raise ValueError("value out of range for bit conversion")
        accumulator = (accumulator << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            result.append((accumulator >> bits) & max_value)
    if pad:
        if bits:
            result.append((accumulator << (to_bits - bits)) & max_value)
    elif bits >= from_bits or ((accumulator << (to_bits - bits)) & max_value):
        raise ValueError("invalid padding in bit conversion")
    return result


def segwit_encode(hrp: str, witver: int, program: bytes) -> str:
    """Encode a segwit address: bech32 for witness v0, bech32m for v1..16.

    The hrp must be lower-case printable ASCII (as the BIP-173 reference
    requires when encoding).  Raises ValueError if the hrp, the version or the
    program length breaks BIP-141/173/350.
    """
    if not hrp or hrp != hrp.lower() or any(ord(char) < 33 or ord(char) > 126 for char in hrp):
        raise ValueError(f"segwit hrp {hrp!r} must be non-empty lower-case printable ASCII")
    _check_witness_program(witver, program)
    variant = BECH32 if witver == 0 else BECH32M
    return bech32_encode(hrp, [witver] + convert_bits(program, 8, 5, True), variant)


def segwit_decode(hrp_expected: str | None, addr: str) -> tuple[str, int, bytes]:
    """Decode a segwit address into ``(hrp, witness version, program)``.

    ``hrp_expected`` (``"bc"``, ``"tb"``, ...) is compared case-insensitively;
    ``None`` accepts any hrp.  Raises ValueError on a bad checksum, the wrong
    checksum variant for the witness version, a bad program length, or an
    unexpected hrp.
    """
    hrp, data, variant = bech32_decode(addr)
    if hrp_expected is not None and hrp != hrp_expected.lower():
        raise ValueError(f"segwit hrp {hrp!r} is not the expected {hrp_expected!r}")
    if not data:
        raise ValueError("segwit address has no witness version")
    witver = data[0]
    if witver > 16:
        raise ValueError(f"witness version {witver} is above 16")
    program = _five_bit_to_bytes(data[1:])
    _check_witness_program(witver, program)
    if (witver == 0) != (variant == BECH32):
        raise ValueError(f"witness version {witver} must not use the {variant} checksum")
    return hrp, witver, program


def _five_bit_to_bytes(values: list[int]) -> bytes:
    """5-bit groups to bytes with BIP-173's padding rule (< 5 zero bits); raises ValueError."""
    number = 0
    for value in values:
        number = (number << 5) | value
    padding = (5 * len(values)) % 8
    if padding >= 5 or number & ((1 << padding) - 1):
        raise ValueError("invalid padding in bit conversion")
    return (number >> padding).to_bytes((5 * len(values)) // 8, "big")


def _check_witness_program(witver: int, program: bytes) -> None:
    if not 0 <= witver <= 16:
        raise ValueError(f"witness version {witver} outside 0..16")
    if not 2 <= len(program) <= 40:
        raise ValueError(f"witness program of {len(program)} bytes (must be 2..40)")
    if witver == 0 and len(program) not in (20, 32):
        raise ValueError(f"witness v0 program of {len(program)} bytes (must be 20 or 32)")


# ---------------------------------------------------------------------------
# CashAddr (Bitcoin Cash)

_CASHADDR_GENERATOR = (0x98F2BC8E61, 0x79B76D99E2, 0xF33E5FB3C4, 0xAE2EABE2A8, 0x1E4F43E470)
_CASHADDR_HASH_SIZES = (20, 24, 28, 32, 40, 48, 56, 64)
# Type bits in the version byte; token-aware types 2 and 3 (CHIP-2022-02) are
# recognised too because wallets now publish them.
CASHADDR_KINDS = {0: "p2pkh", 1: "p2sh", 2: "p2pkh-token", 3: "p2sh-token"}
_CASHADDR_KIND_BITS = {name: bits for bits, name in CASHADDR_KINDS.items()}


_CASHADDR_TABLE = _generator_table(_CASHADDR_GENERATOR)


def _cashaddr_polymod(values: Iterable[int]) -> int:
    checksum = 1
    table = _CASHADDR_TABLE
    for value in values:
        checksum = ((checksum & 0x07FFFFFFFF) << 5) ^ value ^ table[checksum >> 35]
    return checksum ^ 1


def _cashaddr_prefix_values(prefix: str) -> list[int]:
    return [ord(char) & 31 for char in prefix] + [0]


def cashaddr_encode(prefix: str, kind: str, hash160: bytes) -> str:
    """Encode ``prefix:payload`` for a hash of 20..64 bytes (the spec's sizes).

    ``kind`` is ``"p2pkh"`` or ``"p2sh"`` (or the token-aware variants).
    Raises ValueError for an unknown kind or hash size.
    """
    if kind not in _CASHADDR_KIND_BITS:
        raise ValueError(f"unknown CashAddr kind {kind!r}")
    if len(hash160) not in _CASHADDR_HASH_SIZES:
        raise ValueError(f"CashAddr hash of {len(hash160)} bytes is not a defined size")
    prefix = prefix.lower()
    version = (_CASHADDR_KIND_BITS[kind] << 3) | _CASHADDR_HASH_SIZES.index(len(hash160))
    data = convert_bits(bytes([version]) + bytes(hash160), 8, 5, True)
    polymod = _cashaddr_polymod(_cashaddr_prefix_values(prefix) + data + [0] * 8)
    checksum = [(polymod >> 5 * (7 - index)) & 31 for index in range(8)]
    return prefix + ":" + "".join(BECH32_CHARSET[value] for value in data + checksum)


def cashaddr_decode(addr: str, default_prefix: str = "bitcoincash") -> tuple[str, str, bytes]:
    """Decode a CashAddr into ``(prefix, kind, hash)``; the prefix is returned lower-case.

    Without a ``prefix:`` the ``default_prefix`` is assumed (the checksum
    covers the prefix, so a wrong assumption fails the checksum rather than
    guessing).  Raises ValueError on mixed case, a bad character, a bad
    checksum, or a version byte whose size bits disagree with the hash.
    """
    if addr.lower() != addr and addr.upper() != addr:
        raise ValueError("CashAddr mixes upper and lower case")
    addr = addr.lower()
    if ":" in addr:
        prefix, _, payload = addr.rpartition(":")
    else:
        prefix, payload = default_prefix.lower(), addr
    if not prefix or not payload:
        raise ValueError("CashAddr has an empty prefix or payload")
    data = list(_digits(payload, _BECH32_DIGITS, "CashAddr"))
    if len(data) < 8 + 2:
        raise ValueError("CashAddr payload too short")
    if _cashaddr_polymod(_cashaddr_prefix_values(prefix) + data) != 0:
        raise ValueError("CashAddr checksum mismatch")
    raw = _five_bit_to_bytes(data[:-8])
    if not raw:
        raise ValueError("CashAddr payload is empty")
    version, hash_bytes = raw[0], raw[1:]
    if version & 0x80:
        raise ValueError("CashAddr version byte has its reserved bit set")
    kind_bits, size_bits = version >> 3, version & 7
    if kind_bits not in CASHADDR_KINDS:
        raise ValueError(f"unknown CashAddr type {kind_bits}")
    if len(hash_bytes) != _CASHADDR_HASH_SIZES[size_bits]:
        raise ValueError("CashAddr hash length disagrees with its version byte")
    return prefix, CASHADDR_KINDS[kind_bits], hash_bytes


# ---------------------------------------------------------------------------
# EIP-55 (Ethereum and EVM chains)

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def keccak256(data: bytes) -> bytes:
    """Keccak-256 (the pre-standard SHA-3 Ethereum and Monero use)."""
    return keccak.new(digest_bits=256, data=data).digest()


def eip55_checksum(address_hex_40: str) -> str:
    """Return ``0x`` + the EIP-55 mixed-case form of a 40-hex-digit address.

    Accepts the address with or without ``0x`` and in any case; raises
    ValueError if it is not 40 hex digits.
    """
    hex_part = address_hex_40[2:] if address_hex_40[:2] in ("0x", "0X") else address_hex_40
    if len(hex_part) != 40 or not _HEX_DIGITS.issuperset(hex_part):
        raise ValueError("an EVM address is 40 hexadecimal digits")
    lower = hex_part.lower()
    digest = keccak256(lower.encode("ascii")).hex()
    upper = lower.upper()
    # A letter is upper-cased where the hash nibble at its position is >= 8.
    return "0x" + "".join(
        upper_char if nibble in "89abcdef" else char
        for char, upper_char, nibble in zip(lower, upper, digest)
    )


def is_eip55_checksummed(address: str) -> bool:
    """True if the address's letter case is exactly its EIP-55 checksum.

    All-lower and all-upper hex carry no checksum and return False; raises
    ValueError if the text is not an EVM address.
    """
    hex_part = address[2:] if address[:2] in ("0x", "0X") else address
    return eip55_checksum(hex_part)[2:] == hex_part


to_checksum_address = eip55_checksum
is_checksummed = is_eip55_checksummed


# ---------------------------------------------------------------------------
# Monero (CryptoNote base58 + Keccak-256)

# CryptoNote base58 encodes 8-byte blocks as 11 characters, and a final short
# block of n bytes as _MONERO_ENCODED_BLOCK_SIZES[n] characters.
_MONERO_ENCODED_BLOCK_SIZES = (0, 2, 3, 5, 6, 7, 9, 10, 11)
_MONERO_DECODED_BLOCK_SIZES = {width: size for size, width in enumerate(_MONERO_ENCODED_BLOCK_SIZES)}
_MONERO_FULL_BLOCK = 8
_MONERO_FULL_ENCODED = 11
MONERO_PAYMENT_ID_SIZE = 8


def monero_base58_encode(data: bytes) -> str:
    """CryptoNote block-wise base58 (fixed width per 8-byte block)."""
    parts = []
    for start in range(0, len(data), _MONERO_FULL_BLOCK):
        block = data[start : start + _MONERO_FULL_BLOCK]
        width = _MONERO_ENCODED_BLOCK_SIZES[len(block)]
        number = int.from_bytes(block, "big")
        chars = []
        for _ in range(width):
            number, remainder = divmod(number, 58)
            chars.append(BASE58_ALPHABET[remainder])
        parts.append("".join(reversed(chars)))
    return "".join(parts)


def monero_base58_decode(text: str) -> bytes:
    """Inverse of :func:`monero_base58_encode`; raises ValueError on bad length or overflow."""
    if len(text) % _MONERO_FULL_ENCODED not in _MONERO_ENCODED_BLOCK_SIZES:
        raise ValueError("Monero base58 text has an impossible length")
    digits = _digits(text, _BASE58_DIGITS, "base58")
    result = bytearray()
    for start in range(0, len(digits), _MONERO_FULL_ENCODED):
        chunk = digits[start : start + _MONERO_FULL_ENCODED]
        size = _MONERO_DECODED_BLOCK_SIZES[len(chunk)]
        number = 0
        for digit in chunk:
            number = number * 58 + digit
        if number >> (8 * size):
            raise ValueError("Monero base58 block overflows its byte width")
        result += number.to_bytes(size, "big")
    return bytes(result)


def _varint_encode(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _varint_decode(data: bytes) -> tuple[int, int]:
    value = 0
    for index, byte in enumerate(data[:10]):
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, index + 1
    raise ValueError("unterminated varint")


def monero_encode(
    network_byte: int, spend_pub: bytes, view_pub: bytes, payment_id: bytes | None = None
) -> str:
    """Encode a Monero address; a payment id (8 bytes) makes it integrated.

    Raises ValueError if a key is not 32 bytes or the payment id not 8.
    """
    if len(spend_pub) != 32 or len(view_pub) != 32:
        raise ValueError("Monero public keys are 32 bytes each")
    if payment_id is not None and len(payment_id) != MONERO_PAYMENT_ID_SIZE:
        raise ValueError("a Monero integrated payment id is 8 bytes")
    body = _varint_encode(network_byte) + bytes(spend_pub) + bytes(view_pub) + (payment_id or b"")
    return monero_base58_encode(body + keccak256(body)[:4])


def monero_decode(addr: str) -> tuple[int, bytes, bytes, bytes | None]:
    """Decode to ``(network byte, spend key, view key, payment id or None)``.

    Raises ValueError on bad base58, a bad length, or a Keccak checksum
    mismatch.  The network byte is not interpreted here (see
    :data:`MONERO_NETWORK_BYTES`).
    """
    raw = monero_base58_decode(addr)
    if len(raw) < 5:
        raise ValueError("Monero address too short")
    body, checksum = raw[:-4], raw[-4:]
    if keccak256(body)[:4] != checksum:
        raise ValueError("Monero address checksum mismatch")
    network_byte, offset = _varint_decode(body)
    keys = body[offset:]
    if len(keys) == 64:
        return network_byte, keys[:32], keys[32:], None
    if len(keys) == 64 + MONERO_PAYMENT_ID_SIZE:
        return network_byte, keys[:32], keys[32:64], keys[64:]
    raise ValueError(f"Monero address carries {len(keys)} key bytes (expected 64 or 72)")


# network byte -> (network, address type); from Monero's cryptonote_config.h.
MONERO_NETWORK_BYTES: dict[int, tuple[str, str]] = {
    18: ("mainnet", "standard"),
    19: ("mainnet", "integrated"),
    42: ("mainnet", "subaddress"),
    53: ("testnet", "standard"),
    54: ("testnet", "integrated"),
    63: ("testnet", "subaddress"),
    24: ("stagenet", "standard"),
    25: ("stagenet", "integrated"),
    36: ("stagenet", "subaddress"),
}


# ---------------------------------------------------------------------------
# Version tables and the generator entry point

# (coin, network, kind) -> base58check version bytes.  Zcash uses two bytes.
BASE58_VERSIONS: dict[tuple[str, str, str], bytes] = {
    ("bitcoin", "mainnet", "p2pkh"): b"\x00",
    ("bitcoin", "mainnet", "p2sh"): b"\x05",
    ("bitcoin", "testnet", "p2pkh"): b"\x6f",
    ("bitcoin", "testnet", "p2sh"): b"\xc4",
    ("bitcoin-cash", "mainnet", "p2pkh"): b"\x00",
    ("bitcoin-cash", "mainnet", "p2sh"): b"\x05",
    ("bitcoin-cash", "testnet", "p2pkh"): b"\x6f",
    ("bitcoin-cash", "testnet", "p2sh"): b"\xc4",
    ("litecoin", "mainnet", "p2pkh"): b"\x30",
    ("litecoin", "mainnet", "p2sh"): b"\x32",
    ("litecoin", "mainnet", "p2sh-legacy"): b"\x05",
    ("litecoin", "testnet", "p2pkh"): b"\x6f",
    ("litecoin", "testnet", "p2sh"): b"\x3a",
    ("litecoin", "testnet", "p2sh-legacy"): b"\xc4",
    ("dogecoin", "mainnet", "p2pkh"): b"\x1e",
    ("dogecoin", "mainnet", "p2sh"): b"\x16",
    ("dogecoin", "testnet", "p2pkh"): b"\x71",
    ("dogecoin", "testnet", "p2sh"): b"\xc4",
    ("dash", "mainnet", "p2pkh"): b"\x4c",
    ("dash", "mainnet", "p2sh"): b"\x10",
    ("dash", "testnet", "p2pkh"): b"\x8c",
    ("dash", "testnet", "p2sh"): b"\x13",
    ("zcash", "mainnet", "p2pkh"): b"\x1c\xb8",
    ("zcash", "mainnet", "p2sh"): b"\x1c\xbd",
    ("zcash", "testnet", "p2pkh"): b"\x1d\x25",
    ("zcash", "testnet", "p2sh"): b"\x1c\xba",
    ("tron", "mainnet", "p2pkh"): b"\x41",
}

# (coin, network) -> bech32 hrp for segwit addresses.
SEGWIT_HRPS: dict[tuple[str, str], str] = {
    ("bitcoin", "mainnet"): "bc",
    ("bitcoin", "testnet"): "tb",
    ("litecoin", "mainnet"): "ltc",
    ("litecoin", "testnet"): "tltc",
}

CASHADDR_PREFIXES: dict[str, str] = {"mainnet": "bitcoincash", "testnet": "bchtest"}

_SEGWIT_KINDS = {"p2wpkh": (0, 20), "p2wsh": (0, 32), "p2tr": (1, 32)}
_MONERO_BYTES_BY_NAME = {value: key for key, value in MONERO_NETWORK_BYTES.items()}

#: every (coin, kind) :func:`make_address` accepts, for generators to iterate over.
ADDRESS_KINDS: dict[str, tuple[str, ...]] = {
    "bitcoin": ("p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr"),
    "litecoin": ("p2pkh", "p2sh", "p2sh-legacy", "p2wpkh", "p2wsh", "p2tr"),
    "dogecoin": ("p2pkh", "p2sh"),
    "dash": ("p2pkh", "p2sh"),
    "bitcoin-cash": ("cashaddr-p2pkh", "cashaddr-p2sh", "p2pkh", "p2sh"),
    "zcash": ("p2pkh", "p2sh"),
    "ethereum": ("eoa",),
    "tron": ("p2pkh",),
    "monero": ("standard", "subaddress", "integrated"),
}


def make_address(coin: str, kind: str, payload: bytes, network: str = "mainnet") -> str:
    """Build a valid address of ``coin``/``kind`` from raw payload bytes.

    Payload sizes: 20 bytes for hash-based kinds (p2pkh, p2sh, p2wpkh,
    cashaddr-*, eoa, tron), 32 for p2wsh and p2tr, 64 (spend + view key) for
    Monero standard/subaddress and 72 (+ payment id) for integrated.  Network
    is mainnet or testnet (Monero also stagenet; Tron and Ethereum mainnet only).  The
    EVM form is EIP-55 checksummed.  Raises ValueError for an unknown
    combination or a payload of the wrong size.
    """
    payload = bytes(payload)
    if coin not in ADDRESS_KINDS or kind not in ADDRESS_KINDS[coin]:
        raise ValueError(f"make_address does not know {coin!r}/{kind!r}")
    if coin == "monero":
        network_byte = _MONERO_BYTES_BY_NAME.get((network, kind))
        if network_byte is None:
            raise ValueError(f"no Monero network byte for {network!r}/{kind!r}")
        expected = 72 if kind == "integrated" else 64
        if len(payload) != expected:
            raise ValueError(f"Monero {kind} payload is {expected} bytes")
        return monero_encode(network_byte, payload[:32], payload[32:64], payload[64:] or None)
    if coin == "ethereum":
        # An EVM address is the same on every chain and test network, so there
        # is no testnet form a page could show differently.
        if network != "mainnet":
            raise ValueError("EVM addresses have no testnet form; use network='mainnet'")
        if len(payload) != 20:
            raise ValueError("an EVM address payload is 20 bytes")
        return eip55_checksum(payload.hex())
    if kind in _SEGWIT_KINDS:
        witver, size = _SEGWIT_KINDS[kind]
        if len(payload) != size:
            raise ValueError(f"{kind} payload is {size} bytes")
        hrp = SEGWIT_HRPS.get((coin, network))
        if hrp is None:
            raise ValueError(f"no segwit hrp for {coin!r} on {network!r}")
        return segwit_encode(hrp, witver, payload)
    if kind.startswith("cashaddr-"):
        prefix = CASHADDR_PREFIXES.get(network)
        if prefix is None:
            raise ValueError(f"no CashAddr prefix for {network!r}")
        if len(payload) != 20:
            raise ValueError("a CashAddr payload for generators is a 20-byte hash")
        return cashaddr_encode(prefix, kind.removeprefix("cashaddr-"), payload)
    version = BASE58_VERSIONS.get((coin, network, kind))
    if version is None:
        raise ValueError(f"no version bytes for {coin!r}/{kind!r} on {network!r}")
    if len(payload) != 20:
        raise ValueError(f"{coin} {kind} payload is a 20-byte hash")
    return base58check_encode(version, payload)
