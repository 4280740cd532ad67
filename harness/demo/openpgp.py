"""Deterministic OpenPGP v4 public keys for the demo vendors.

The demo world needs vendor PGP keys that parse like real ones, yet are made
from the seed alone (``gpg`` picks random keys and times).  This module writes
the packets itself (RFC 4880 / RFC 9580 "legacy EdDSA" v4 format):

* a public-key packet, algorithm 22 (EdDSALegacy) on Ed25519, whose point is a
  real curve point derived from a 32-byte seed;
* a User ID packet;
* a positive self-certification (signature type 0x13, SHA-256, Ed25519) -- it
  verifies, because Ed25519 signatures are deterministic, so the keys import
  into ``gpg``;
* ASCII armor with its CRC-24 line (RFC 4880 section 6.1), computed here: the
  ground truth checks the crawler's PGP extractor, so it never borrows its code.

Public API:

* :func:`make_public_key` ``(key_seed, user_id, created) -> DemoPgpKey``;
* :func:`armor` ``(packets, block_type) -> str``;
* :func:`crc24` ``(data) -> int`` -- the armor checksum.

Pure functions; :func:`make_public_key` raises ValueError for a seed that is
not 32 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

# OID 1.3.6.1.4.1.11591.15.1 (Ed25519 in legacy EdDSA keys), DER body without tag/length.
_ED25519_OID = bytes.fromhex("2b06010401da470f01")
_ALGO_EDDSA_LEGACY = 22
_HASH_SHA256 = 8
_SIG_POSITIVE_CERTIFICATION = 0x13
# RFC 4880 section 6.1: CRC24_INIT and CRC24_POLY.
_CRC24_INIT = 0xB704CE
_CRC24_POLY = 0x1864CFB


@dataclass(frozen=True)
class DemoPgpKey:
    """One generated key: what a page shows (``armored``) and what the ground truth records."""

    fingerprint: str  # 40 upper-case hex digits (v4: SHA-1 over 0x99 || length || body)
    key_id: str  # last 16 hex digits of the fingerprint
    user_id: str
    created: int  # Unix time in the key packet
    armored: str
    algorithm: str = "EdDSA (Ed25519)"


def crc24(data: bytes) -> int:
    """The 24-bit checksum of OpenPGP armor, bit by bit as RFC 4880 section 6.1 defines it."""
    crc = _CRC24_INIT
    for octet in data:
        crc ^= octet << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= _CRC24_POLY
    return crc & 0xFFFFFF


def armor(packets: bytes, block_type: str = "PGP PUBLIC KEY BLOCK") -> str:
    """ASCII-armor ``packets``: header, blank line, 64-column base64, ``=CRC`` line, footer."""
    body = base64.b64encode(packets).decode("ascii")
    lines = [body[start : start + 64] for start in range(0, len(body), 64)]
    checksum = base64.b64encode(crc24(packets).to_bytes(3, "big")).decode("ascii")
    return "\n".join(
        [f"-----BEGIN {block_type}-----", "", *lines, f"={checksum}", f"-----END {block_type}-----"]
    )


def make_public_key(key_seed: bytes, user_id: str, created: int) -> DemoPgpKey:
    """Build a self-certified Ed25519 v4 public key from a 32-byte seed.

    The same arguments always give the same bytes.  Raises ValueError if
    ``key_seed`` is not 32 bytes.
    """
    if len(key_seed) != 32:
        raise ValueError("an Ed25519 key seed is 32 bytes")
    private_key = ECC.construct(curve="Ed25519", seed=key_seed)
    point = private_key.public_key().export_key(format="raw")
    key_body = (
        bytes([4])
        + struct.pack(">I", created)
        + bytes([_ALGO_EDDSA_LEGACY, len(_ED25519_OID)])
        + _ED25519_OID
        + _mpi(b"\x40" + point)
    )
    fingerprint_bytes = hashlib.sha1(b"\x99" + struct.pack(">H", len(key_body)) + key_body).digest()
    user_id_bytes = user_id.encode("utf-8")
    signature_body = _self_certification(private_key, key_body, user_id_bytes, fingerprint_bytes, created)
    packets = _packet(6, key_body) + _packet(13, user_id_bytes) + _packet(2, signature_body)
    fingerprint = fingerprint_bytes.hex().upper()
    return DemoPgpKey(
        fingerprint=fingerprint,
        key_id=fingerprint[-16:],
        user_id=user_id,
        created=created,
        armored=armor(packets),
    )


def _self_certification(
    private_key: ECC.EccKey, key_body: bytes, user_id: bytes, fingerprint: bytes, created: int
) -> bytes:
    hashed_subpackets = (
        _subpacket(2, struct.pack(">I", created))  # signature creation time
        + _subpacket(27, b"\x03")  # key flags: certify + sign
        + _subpacket(33, b"\x04" + fingerprint)  # issuer fingerprint
    )
    hashed_part = (
        bytes([4, _SIG_POSITIVE_CERTIFICATION, _ALGO_EDDSA_LEGACY, _HASH_SHA256])
        + struct.pack(">H", len(hashed_subpackets))
        + hashed_subpackets
    )
    digest = hashlib.sha256(
        b"\x99" + struct.pack(">H", len(key_body)) + key_body
        + b"\xb4" + struct.pack(">I", len(user_id)) + user_id
        + hashed_part
        + b"\x04\xff" + struct.pack(">I", len(hashed_part))
    ).digest()
    # Legacy EdDSA signs the hash digest itself with pure Ed25519.
    signature = eddsa.new(private_key, "rfc8032").sign(digest)
    unhashed_subpackets = _subpacket(16, fingerprint[-8:])  # issuer key id
    return (
        hashed_part
        + struct.pack(">H", len(unhashed_subpackets))
        + unhashed_subpackets
        + digest[:2]
        + _mpi(signature[:32])
        + _mpi(signature[32:])
    )


def _mpi(value: bytes) -> bytes:
    stripped = value.lstrip(b"\x00")
    bit_count = len(stripped) * 8 - (8 - stripped[0].bit_length()) if stripped else 0
    return struct.pack(">H", bit_count) + stripped


def _subpacket(subpacket_type: int, data: bytes) -> bytes:
    # Every subpacket here is shorter than 192 bytes: one-octet length.
    return bytes([len(data) + 1, subpacket_type]) + data


def _packet(tag: int, body: bytes) -> bytes:
    """A new-format packet header (RFC 4880 section 4.2.2) followed by ``body``."""
    length = len(body)
    if length < 192:
        header = bytes([length])
    elif length < 8384:
        length -= 192
        header = bytes([(length >> 8) + 192, length & 0xFF])
    else:
        header = b"\xff" + struct.pack(">I", length)
    return bytes([0xC0 | tag]) + header + body
