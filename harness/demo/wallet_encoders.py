"""The demo world's own wallet-address encoders: bytes in, address text out.

The ground truth is what the crawler's extractors are scored against, so it
must not be made by them.  This module writes every address format the demo
world uses from the published specifications, and nothing here is shared with
:mod:`crawler.extractors` (tests check both against the same published test
vectors, and that the crawler's decoders accept what this module writes).  It
only encodes: the demo never needs to read an address back.

Public API:

* :data:`BASE58_ALPHABET`, :data:`BECH32_ALPHABET` -- the two character sets
  (the demo's decoys replace one character with another from the same set);
* :func:`base58check` ``(version, payload) -> str`` -- Bitcoin's base58 with
  the 4-byte double-SHA-256 checksum;
* :func:`bech32_with_checksum` ``(hrp, values, constant) -> str`` and
  :func:`segwit_address` ``(hrp, witness_version, program) -> str`` --
  BIP-173 (bech32, witness v0) and BIP-350 (bech32m, witness v1+);
* :func:`cashaddr` ``(prefix, kind, hash_bytes) -> str`` -- Bitcoin Cash CashAddr;
* :func:`eip55` ``(address_bytes) -> str`` -- ``0x`` + the EIP-55 mixed-case form;
* :func:`monero_address` ``(network_byte, spend_key, view_key, payment_id=None) -> str``
  -- CryptoNote block base58 with a Keccak-256 checksum;
* :func:`make_address` ``(coin, kind, payload, network="mainnet") -> str`` --
  the one entry point the world builder uses, for every ``(coin, kind)`` in
  :data:`ADDRESS_KINDS`.

Every function is pure and raises ValueError for input its format cannot
hold (a wrong payload size, an unknown coin or kind).
"""

from __future__ import annotations

import hashlib

from Crypto.Hash import keccak

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BECH32_ALPHABET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

# BIP-173 / BIP-350: the value the checksum polymod must leave.
BECH32_CONSTANT = 1
BECH32M_CONSTANT = 0x2BC830A3


# --------------------------------------------------------------------------- base58check


def _base58(data: bytes) -> str:
    """Big-endian base58 of ``data``; every leading zero byte is written as ``1``."""
    value = int.from_bytes(data, "big")
    text = ""
    while value > 0:
        value, digit = divmod(value, 58)
        text = BASE58_ALPHABET[digit] + text
    zeros = 0
    while zeros < len(data) and data[zeros] == 0:
        zeros += 1
    return BASE58_ALPHABET[0] * zeros + text


def base58check(version: bytes, payload: bytes) -> str:
    """``base58(version || payload || first 4 bytes of SHA-256(SHA-256(version || payload)))``."""
    body = bytes(version) + bytes(payload)
    checksum = hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4]
    return _base58(body + checksum)


# --------------------------------------------------------------------------- bech32 / bech32m


def _bech32_polymod(values: list[int]) -> int:
    # BIP-173's BCH code over GF(32), written as in the specification.
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = ((checksum & 0x1FFFFFF) << 5) ^ value
        for bit in range(5):
            if (top >> bit) & 1:
                checksum ^= generator[bit]
    return checksum


def _regroup(data: bytes, bits_out: int) -> list[int]:
    """``data`` read as a bit string, cut into ``bits_out``-bit values (the last one zero-padded)."""
    bit_count = len(data) * 8
    padded = -bit_count % bits_out
    value = int.from_bytes(data, "big") << padded
    count = (bit_count + padded) // bits_out
    mask = (1 << bits_out) - 1
    return [(value >> (bits_out * (count - 1 - index))) & mask for index in range(count)]


def bech32_with_checksum(hrp: str, values: list[int], constant: int) -> str:
    """``hrp`` + ``1`` + the 5-bit ``values`` and their six checksum characters.

    ``constant`` is :data:`BECH32_CONSTANT` or :data:`BECH32M_CONSTANT`.  Raises
    ValueError for an hrp that is not lower-case printable ASCII or a value
    outside 0..31.
    """
    if not hrp or hrp != hrp.lower() or not all(33 <= ord(char) <= 126 for char in hrp):
        raise ValueError(f"a bech32 hrp is lower-case printable ASCII, got {hrp!r}")
    if any(not 0 <= value < 32 for value in values):
        raise ValueError("bech32 data values are 5 bits wide")
    expanded = [ord(char) >> 5 for char in hrp] + [0] + [ord(char) & 31 for char in hrp]
    remainder = _bech32_polymod(expanded + list(values) + [0] * 6) ^ constant
    checksum = [(remainder >> (5 * (5 - index))) & 31 for index in range(6)]
    return hrp + "1" + "".join(BECH32_ALPHABET[value] for value in [*values, *checksum])


def segwit_address(hrp: str, witness_version: int, program: bytes) -> str:
    """A segwit address: bech32 for witness version 0, bech32m for 1..16 (BIP-350).

    Raises ValueError for a version outside 0..16 or a program length that
    BIP-141 forbids (2..40 bytes; 20 or 32 for version 0).
    """
    if not 0 <= witness_version <= 16:
        raise ValueError(f"witness version {witness_version} is outside 0..16")
    if not 2 <= len(program) <= 40 or (witness_version == 0 and len(program) not in (20, 32)):
        raise ValueError(f"a witness v{witness_version} program cannot be {len(program)} bytes")
    constant = BECH32_CONSTANT if witness_version == 0 else BECH32M_CONSTANT
    return bech32_with_checksum(hrp, [witness_version, *_regroup(bytes(program), 5)], constant)


# --------------------------------------------------------------------------- CashAddr


_CASHADDR_TYPES = {"p2pkh": 0, "p2sh": 1}
_CASHADDR_SIZES = (20, 24, 28, 32, 40, 48, 56, 64)


def _cashaddr_polymod(values: list[int]) -> int:
    # The CashAddr specification's 40-bit BCH code.
    generator = [0x98F2BC8E61, 0x79B76D99E2, 0xF33E5FB3C4, 0xAE2EABE2A8, 0x1E4F43E470]
    checksum = 1
    for value in values:
        top = checksum >> 35
        checksum = ((checksum & 0x07FFFFFFFF) << 5) ^ value
        for bit in range(5):
            if (top >> bit) & 1:
                checksum ^= generator[bit]
    return checksum ^ 1


def cashaddr(prefix: str, kind: str, hash_bytes: bytes) -> str:
    """``prefix:payload`` where payload carries the version byte, the hash and an 8-character checksum.

    ``kind`` is ``"p2pkh"`` or ``"p2sh"``.  Raises ValueError for another kind
    or a hash size the specification does not define.
    """
    if kind not in _CASHADDR_TYPES:
        raise ValueError(f"CashAddr kind {kind!r} is not p2pkh or p2sh")
    if len(hash_bytes) not in _CASHADDR_SIZES:
        raise ValueError(f"CashAddr defines no {len(hash_bytes)}-byte hash")
    version = (_CASHADDR_TYPES[kind] << 3) | _CASHADDR_SIZES.index(len(hash_bytes))
    payload = _regroup(bytes([version]) + bytes(hash_bytes), 5)
    prefix = prefix.lower()
    remainder = _cashaddr_polymod([ord(char) & 31 for char in prefix] + [0] + payload + [0] * 8)
    checksum = [(remainder >> (5 * (7 - index))) & 31 for index in range(8)]
    return prefix + ":" + "".join(BECH32_ALPHABET[value] for value in payload + checksum)


# --------------------------------------------------------------------------- EIP-55


def _keccak256(data: bytes) -> bytes:
    # Keccak-256 as Ethereum and Monero use it (the padding before NIST's SHA-3).
    return keccak.new(digest_bits=256, data=data).digest()


def eip55(address_bytes: bytes) -> str:
    """``0x`` and the 40 hex digits of a 20-byte address, each letter upper-cased where
    the Keccak-256 of the lower-case hex has a nibble of 8 or more (EIP-55).

    Raises ValueError unless ``address_bytes`` is 20 bytes.
    """
    if len(address_bytes) != 20:
        raise ValueError("an EVM address is 20 bytes")
    digits = bytes(address_bytes).hex()
    nibbles = _keccak256(digits.encode("ascii")).hex()
    return "0x" + "".join(
        digit.upper() if digit.isalpha() and int(nibble, 16) >= 8 else digit
        for digit, nibble in zip(digits, nibbles)
    )


# --------------------------------------------------------------------------- Monero


# CryptoNote base58 writes each full 8-byte block as 11 characters and a short
# final block of n bytes as _MONERO_BLOCK_WIDTH[n] characters.
_MONERO_BLOCK_WIDTH = (0, 2, 3, 5, 6, 7, 9, 10, 11)


def _monero_base58(data: bytes) -> str:
    text = []
    for start in range(0, len(data), 8):
        block = data[start : start + 8]
        value = int.from_bytes(block, "big")
        digits = []
        for _ in range(_MONERO_BLOCK_WIDTH[len(block)]):
            value, digit = divmod(value, 58)
            digits.append(BASE58_ALPHABET[digit])
        text.append("".join(reversed(digits)))
    return "".join(text)


def _varint(value: int) -> bytes:
    """LEB128: seven bits per byte, low bits first, high bit set on every byte but the last."""
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def monero_address(network_byte: int, spend_key: bytes, view_key: bytes, payment_id: bytes | None = None) -> str:
    """``varint(network byte) || spend key || view key [|| payment id]`` and the first
    four bytes of its Keccak-256, in CryptoNote base58.

    Raises ValueError unless both keys are 32 bytes and a payment id (which
    makes the address integrated) is 8.
    """
    if len(spend_key) != 32 or len(view_key) != 32:
        raise ValueError("Monero public keys are 32 bytes each")
    if payment_id is not None and len(payment_id) != 8:
        raise ValueError("an integrated address's payment id is 8 bytes")
    body = _varint(network_byte) + bytes(spend_key) + bytes(view_key) + bytes(payment_id or b"")
    return _monero_base58(body + _keccak256(body)[:4])


# --------------------------------------------------------------------------- the world's coins

# (coin, network, kind) -> base58check version bytes (from each coin's chain parameters).
_BASE58_VERSIONS: dict[tuple[str, str, str], bytes] = {
    ("bitcoin", "mainnet", "p2pkh"): bytes([0x00]),
    ("bitcoin", "mainnet", "p2sh"): bytes([0x05]),
    ("bitcoin", "testnet", "p2pkh"): bytes([0x6F]),
    ("bitcoin", "testnet", "p2sh"): bytes([0xC4]),
    ("litecoin", "mainnet", "p2pkh"): bytes([0x30]),
    ("litecoin", "mainnet", "p2sh"): bytes([0x32]),
    ("dogecoin", "mainnet", "p2pkh"): bytes([0x1E]),
    ("dogecoin", "mainnet", "p2sh"): bytes([0x16]),
    ("dash", "mainnet", "p2pkh"): bytes([0x4C]),
    ("dash", "mainnet", "p2sh"): bytes([0x10]),
    ("zcash", "mainnet", "p2pkh"): bytes([0x1C, 0xB8]),
    ("zcash", "mainnet", "p2sh"): bytes([0x1C, 0xBD]),
    ("tron", "mainnet", "p2pkh"): bytes([0x41]),
}
# (coin, network) -> segwit human-readable part.
_SEGWIT_HRPS = {("bitcoin", "mainnet"): "bc", ("bitcoin", "testnet"): "tb", ("litecoin", "mainnet"): "ltc"}
# kind -> (witness version, program size).
_SEGWIT_KINDS = {"p2wpkh": (0, 20), "p2wsh": (0, 32), "p2tr": (1, 32)}
_CASHADDR_PREFIXES = {"mainnet": "bitcoincash", "testnet": "bchtest"}
# (network, kind) -> network byte (Monero's cryptonote_config.h).
_MONERO_NETWORK_BYTES = {
    ("mainnet", "standard"): 18, ("mainnet", "integrated"): 19, ("mainnet", "subaddress"): 42,
}

#: every (coin, kind) :func:`make_address` writes.
ADDRESS_KINDS: dict[str, tuple[str, ...]] = {
    "bitcoin": ("p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr"),
    "litecoin": ("p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr"),
    "dogecoin": ("p2pkh", "p2sh"),
    "dash": ("p2pkh", "p2sh"),
    "zcash": ("p2pkh", "p2sh"),
    "tron": ("p2pkh",),
    "bitcoin-cash": ("cashaddr-p2pkh", "cashaddr-p2sh"),
    "ethereum": ("eoa",),
    "monero": ("standard", "subaddress", "integrated"),
}


def _require_size(payload: bytes, size: int, what: str) -> None:
    if len(payload) != size:
        raise ValueError(f"a {what} payload is {size} bytes, got {len(payload)}")


def make_address(coin: str, kind: str, payload: bytes, network: str = "mainnet") -> str:
    """The address of ``coin``/``kind`` on ``network`` whose hash, key or program is ``payload``.

    Payload sizes: 20 bytes for hash kinds (p2pkh, p2sh, p2wpkh, cashaddr-*,
    eoa), 32 for p2wsh and p2tr, 64 (spend key, view key) for Monero standard
    and subaddress, 72 (and an 8-byte payment id) for integrated.  Raises
    ValueError for a combination outside :data:`ADDRESS_KINDS`, a network the
    demo has no parameters for, or a payload of the wrong size.
    """
    payload = bytes(payload)
    if kind not in ADDRESS_KINDS.get(coin, ()):
        raise ValueError(f"the demo world has no {coin!r} address of kind {kind!r}")
    if coin == "monero":
        network_byte = _MONERO_NETWORK_BYTES.get((network, kind))
        if network_byte is None:
            raise ValueError(f"no Monero network byte for {kind} on {network}")
        _require_size(payload, 72 if kind == "integrated" else 64, f"Monero {kind}")
        return monero_address(network_byte, payload[:32], payload[32:64], payload[64:] or None)
    if coin == "ethereum":
        if network != "mainnet":
            raise ValueError("an EVM address has no testnet form")
        return eip55(payload)
    if kind in _SEGWIT_KINDS:
        witness_version, size = _SEGWIT_KINDS[kind]
        hrp = _SEGWIT_HRPS.get((coin, network))
        if hrp is None:
            raise ValueError(f"no segwit hrp for {coin} on {network}")
        _require_size(payload, size, kind)
        return segwit_address(hrp, witness_version, payload)
    if kind.startswith("cashaddr-"):
        prefix = _CASHADDR_PREFIXES.get(network)
        if prefix is None:
            raise ValueError(f"no CashAddr prefix for {network}")
        _require_size(payload, 20, kind)
        return cashaddr(prefix, kind.removeprefix("cashaddr-"), payload)
    version = _BASE58_VERSIONS.get((coin, network, kind))
    if version is None:
        raise ValueError(f"no base58 version for {coin} {kind} on {network}")
    _require_size(payload, 20, f"{coin} {kind}")
    return base58check(version, payload)
