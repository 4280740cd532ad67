"""Parse ASCII-armored OpenPGP public keys found in page text.

* :func:`find_pgp_keys` ``(text) -> list[PgpKeyBlock]`` -- one entry per
  primary key in every ``BEGIN PGP PUBLIC KEY BLOCK`` armor in the text (a
  block holding several certificates gives several entries); a block that
  cannot be read gives one entry with ``error`` set instead of raising.
* :func:`parse_armored_block` ``(armor_text) -> list[PgpKeyBlock]`` -- the
  same for one armored block.
* :func:`armored_blocks` ``(text) -> iterator of (start, end)`` -- where the
  armored blocks are (linear time; :mod:`crawler.extractors.generic_listing`
  uses it too, so both agree on what a block is).
* :func:`parse_packets` ``(data) -> list[PgpKeyBlock]`` -- the same for the
  binary (de-armored) form.
* :func:`crc24` -- the armor checksum (RFC 9580 section 6.1).

What is read: the armor checksum (when present; RFC 9580 made it optional,
so ``armor_checksum_ok`` is None when there is none); old- and new-format
packet headers; public-key packets (tag 6) and public-subkey packets (tag
14) of version 4 (fingerprint = SHA-1 of ``0x99 || 2-byte length ||
body``, key id = its last 8 bytes), version 6 (RFC 9580: fingerprint =
SHA-256 of ``0x9B || 4-byte length || body``, key id = its first 8 bytes) and
version 5 (LibrePGP, hashed like v6 with ``0x9A``); user-id packets (tag
13); creation time and public-key algorithm.  Signatures are not verified:
a fingerprint says which key the block claims, not that anyone holds it.

Written here rather than taken from a library: pgpy 0.6.0 is unmaintained
and cannot read v6 keys, and python-gnupg would need a gpg process per page.
Hostile input is bounded: at most :data:`MAX_BLOCKS` blocks per page and
:data:`MAX_BLOCK_CHARS` characters per block, user ids capped at
:data:`MAX_USER_ID_CHARS`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

MAX_BLOCKS = 32
MAX_BLOCK_CHARS = 256 * 1024
MAX_USER_ID_CHARS = 512
MAX_USER_IDS = 64
MAX_SUBKEYS = 64

PUBLIC_KEY_ALGORITHMS = {
    1: "RSA",
    2: "RSA (encrypt only)",
    3: "RSA (sign only)",
    16: "Elgamal",
    17: "DSA",
    18: "ECDH",
    19: "ECDSA",
    20: "Elgamal (sign and encrypt, deprecated)",
    22: "EdDSALegacy",
    25: "X25519",
    26: "X448",
    27: "Ed25519",
    28: "Ed448",
}

BEGIN_MARKER = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
END_MARKER = "-----END PGP PUBLIC KEY BLOCK-----"
_CRC_TOKEN = re.compile(r"^=[A-Za-z0-9+/]{4}$")

TAG_PUBLIC_KEY = 6
TAG_USER_ID = 13
TAG_PUBLIC_SUBKEY = 14


class PgpParseError(ValueError):
    """The bytes are not a readable OpenPGP key; the message says where."""


@dataclass(frozen=True)
class PgpSubkey:
    fingerprint: str
    key_id: str
    version: int
    algorithm: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PgpKeyBlock:
    """One primary key (with its user ids and subkeys), or one unreadable block."""

    fingerprint: str | None = None
    key_id: str | None = None
    version: int | None = None
    algorithm: str | None = None
    created_at: str | None = None
    user_ids: tuple[str, ...] = ()
    subkeys: tuple[PgpSubkey, ...] = ()
    armor_checksum_ok: bool | None = None
    error: str | None = None
    start: int = 0
    end: int = 0
    # Inside an element the browser does not show (set by crawler.extractors.identifiers).
    hidden: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["user_ids"] = list(self.user_ids)
        data["subkeys"] = [subkey.to_dict() for subkey in self.subkeys]
        return data


def _crc24_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
        table.append(crc & 0xFFFFFF)
    return tuple(table)


# One table lookup per byte instead of eight shifts: a page may carry a 256 KB
# armor whose checksum is tried against several candidate decodings.
_CRC24_TABLE = _crc24_table()


def crc24(data: bytes) -> int:
    """The 24-bit CRC of OpenPGP armor (init 0xB704CE, polynomial 0x1864CFB)."""
    crc = 0xB704CE
    table = _CRC24_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ table[(crc >> 16) ^ byte]
    return crc


_BASE64_TOKEN = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
# How many leading tokens of the base64-looking tail may still be armor
# header values ("Version: GnuPG v2" flattened onto one line).
_MAX_HEADER_VALUE_TOKENS = 8


def _dearmor_candidates(body: str) -> tuple[list[bytes], int | None]:
    """Possible decodings of the text between the armor lines, and the CRC if present.

    Pages often lose the armor's line structure (HTML-to-text joins every
    line with a space), so the header/body boundary is not trusted: the body
    is the longest tail of base64 tokens, and the first few tokens of that
    tail may still be header values.  The caller keeps the first candidate
    that passes the CRC (when present) and parses.
    """
    tokens = body.split()
    checksum = None
    if tokens and _CRC_TOKEN.match(tokens[-1]):
        checksum = int.from_bytes(base64.b64decode(tokens.pop()[1:]), "big")
    first_body_token = len(tokens)
    while first_body_token > 0 and _BASE64_TOKEN.match(tokens[first_body_token - 1]):
        first_body_token -= 1
    candidates = []
    for offset in range(first_body_token, min(first_body_token + _MAX_HEADER_VALUE_TOKENS, len(tokens))):
        payload = "".join(tokens[offset:])
        try:
            candidates.append(base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True))
        except (binascii.Error, ValueError):
            continue
    return candidates, checksum


def _packets(data: bytes):
    """Yield (tag, body) for each packet; raises PgpParseError on a bad header."""
    offset = 0
    while offset < len(data):
        header = data[offset]
        if not header & 0x80:
            raise PgpParseError(f"byte {offset} is not a packet header")
        offset += 1
        if header & 0x40:  # new format
            tag = header & 0x3F
            body = bytearray()
            while True:
                if offset >= len(data):
                    raise PgpParseError("truncated packet length")
                first = data[offset]
                if first < 192:
                    length, offset = first, offset + 1
                    partial = False
                elif first < 224:
                    if offset + 1 >= len(data):
                        raise PgpParseError("truncated packet length")
                    length = ((first - 192) << 8) + data[offset + 1] + 192
                    offset += 2
                    partial = False
                elif first == 255:
                    if offset + 5 > len(data):
                        raise PgpParseError("truncated packet length")
                    length = int.from_bytes(data[offset + 1 : offset + 5], "big")
                    offset += 5
                    partial = False
                else:
                    length, offset = 1 << (first & 0x1F), offset + 1
                    partial = True
                if offset + length > len(data):
                    raise PgpParseError(f"packet (tag {tag}) runs past the end of the data")
                body += data[offset : offset + length]
                offset += length
                if not partial:
                    break
            yield tag, bytes(body)
        else:  # old format
            tag = (header >> 2) & 0x0F
            length_type = header & 0x03
            if length_type == 3:
                length = len(data) - offset
            else:
                size = (1, 2, 4)[length_type]
                if offset + size > len(data):
                    raise PgpParseError("truncated packet length")
                length = int.from_bytes(data[offset : offset + size], "big")
                offset += size
            if offset + length > len(data):
                raise PgpParseError(f"packet (tag {tag}) runs past the end of the data")
            yield tag, data[offset : offset + length]
            offset += length


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key_identity(body: bytes) -> tuple[str, str, int, str, str]:
    """(fingerprint, key id, version, algorithm, created_at) of a key packet body."""
    if len(body) < 6:
        raise PgpParseError("key packet too short")
    version = body[0]
    created = int.from_bytes(body[1:5], "big")
    if version == 4:
        if len(body) > 0xFFFF:
            raise PgpParseError("v4 key packet longer than 65535 bytes")
        algorithm_id = body[5]
        digest = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).digest()
        key_id = digest[-8:]
    elif version in (5, 6):
        algorithm_id = body[5]
        prefix = b"\x9b" if version == 6 else b"\x9a"
        digest = hashlib.sha256(prefix + len(body).to_bytes(4, "big") + body).digest()
        key_id = digest[:8]
    elif version in (2, 3):
        raise PgpParseError(f"v{version} keys (MD5 fingerprints) are obsolete and not read")
    else:
        raise PgpParseError(f"unknown key packet version {version}")
    algorithm = PUBLIC_KEY_ALGORITHMS.get(algorithm_id, f"unknown ({algorithm_id})")
    return digest.hex().upper(), key_id.hex().upper(), version, algorithm, _iso(created)


def parse_packets(data: bytes, armor_checksum_ok: bool | None = None) -> list[PgpKeyBlock]:
    """Read binary OpenPGP data into one PgpKeyBlock per primary key.

    Raises PgpParseError when the data holds no public key or a packet is
    malformed (the caller turns that into an error entry).
    """
    keys: list[dict[str, Any]] = []
    for tag, body in _packets(data):
        if tag == TAG_PUBLIC_KEY:
            fingerprint, key_id, version, algorithm, created_at = _key_identity(body)
            keys.append(
                {
                    "fingerprint": fingerprint,
                    "key_id": key_id,
                    "version": version,
                    "algorithm": algorithm,
                    "created_at": created_at,
                    "user_ids": [],
                    "subkeys": [],
                }
            )
        elif not keys:
            if tag in (TAG_USER_ID, TAG_PUBLIC_SUBKEY):
                raise PgpParseError(f"packet tag {tag} appears before any public key")
        elif tag == TAG_USER_ID and len(keys[-1]["user_ids"]) < MAX_USER_IDS:
            keys[-1]["user_ids"].append(
                body.decode("utf-8", errors="replace")[:MAX_USER_ID_CHARS]
            )
        elif tag == TAG_PUBLIC_SUBKEY and len(keys[-1]["subkeys"]) < MAX_SUBKEYS:
            keys[-1]["subkeys"].append(PgpSubkey(*_key_identity(body)))
    if not keys:
        raise PgpParseError("the block holds no public key packet")
    return [
        PgpKeyBlock(
            fingerprint=key["fingerprint"],
            key_id=key["key_id"],
            version=key["version"],
            algorithm=key["algorithm"],
            created_at=key["created_at"],
            user_ids=tuple(key["user_ids"]),
            subkeys=tuple(key["subkeys"]),
            armor_checksum_ok=armor_checksum_ok,
        )
        for key in keys
    ]


def armored_blocks(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of every armored public-key block in ``text``, left to right.

    A block runs from a BEGIN line to the first END line after it, with at
    most :data:`MAX_BLOCK_CHARS` characters between them; a BEGIN whose END
    is further away (or missing) starts no block.  Each marker is found with
    ``str.find`` and the END position is reused for the BEGINs before it, so
    the cost is linear in ``len(text)`` (a lazy regex rescanned the rest of
    the text from every unterminated BEGIN).  Never raises.
    """
    position = 0
    end_marker = -1
    while True:
        start = text.find(BEGIN_MARKER, position)
        if start < 0:
            return
        body_start = start + len(BEGIN_MARKER)
        if end_marker < body_start:
            end_marker = text.find(END_MARKER, body_start)
            if end_marker < 0:
                return
        if end_marker - body_start <= MAX_BLOCK_CHARS:
            end = end_marker + len(END_MARKER)
            yield start, end
            position = end
        else:
            position = start + 1


def parse_armored_block(body: str) -> list[PgpKeyBlock]:
    """Parse the text between (or including) the BEGIN/END armor lines; never raises.

    A block whose armor checksum is present and wrong is reported as an
    error: the text was damaged, so its fingerprint cannot be trusted.
    """
    span = next(armored_blocks(body), None)
    if span is not None:
        body = body[span[0] + len(BEGIN_MARKER) : span[1] - len(END_MARKER)]
    if len(body) > MAX_BLOCK_CHARS:
        return [PgpKeyBlock(error=f"armored block longer than {MAX_BLOCK_CHARS} characters")]
    try:
        candidates, checksum = _dearmor_candidates(body)
    except (binascii.Error, ValueError) as error:
        return [PgpKeyBlock(error=f"unreadable armor ({error})")]
    if not candidates:
        return [PgpKeyBlock(error="the armored block holds no base64 data")]
    first_error = None
    checksum_failures = 0
    for data in candidates:
        if checksum is not None and crc24(data) != checksum:
            checksum_failures += 1
            continue
        try:
            return parse_packets(data, None if checksum is None else True)
        except PgpParseError as error:
            first_error = first_error or str(error)
        except (ValueError, IndexError, OverflowError) as error:
            first_error = first_error or f"unreadable key data ({error})"
    if checksum_failures == len(candidates):
        return [PgpKeyBlock(armor_checksum_ok=False, error="armor checksum (CRC24) mismatch")]
    return [PgpKeyBlock(error=first_error)]


def find_pgp_keys(text: str) -> list[PgpKeyBlock]:
    """Every public key in the armored blocks of ``text``, with positions.

    ``start``/``end`` span the whole armored block (shared by every key
    the block holds).  Never raises.
    """
    results: list[PgpKeyBlock] = []
    for count, (start, end) in enumerate(armored_blocks(text)):
        if count >= MAX_BLOCKS:
            break
        for key in parse_armored_block(text[start + len(BEGIN_MARKER) : end - len(END_MARKER)]):
            results.append(_with_span(key, start, end))
    return results


def _with_span(key: PgpKeyBlock, start: int, end: int) -> PgpKeyBlock:
    data = {name: getattr(key, name) for name in PgpKeyBlock.__dataclass_fields__}
    data.update(start=start, end=end)
    return PgpKeyBlock(**data)


__all__ = [
    "BEGIN_MARKER",
    "END_MARKER",
    "PgpKeyBlock",
    "PgpParseError",
    "PgpSubkey",
    "armored_blocks",
    "crc24",
    "find_pgp_keys",
    "parse_armored_block",
    "parse_packets",
]
