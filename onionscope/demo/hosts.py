"""v3 onion host names for the demo world: placeholders and a format check.

The real onion hosts of the demo sites are only known once the private Tor
network has started; unit tests and offline use need stand-ins of the same
shape.  This module owns that shape:

* :func:`encode_v3_onion_host` ``(public_key) -> "<56 chars>.onion"`` --
  base32(pubkey || checksum || version 3), checksum =
  ``sha3_256(b".onion checksum" || pubkey || b"\\x03")[:2]``;
* :func:`is_valid_v3_onion_host` ``(host) -> bool`` -- length, alphabet,
  version and checksum;
* :func:`derived_onion_host` ``(seed, label) -> str`` -- a placeholder host
  derived from the seed (not a real key pair: nobody can host it).

Pure functions; :func:`encode_v3_onion_host` raises ValueError for a key
that is not 32 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import re

_V3_LABEL = re.compile(r"^[a-z2-7]{56}$")


def encode_v3_onion_host(public_key: bytes) -> str:
    """The ``.onion`` host for a 32-byte ed25519 public key."""
    if len(public_key) != 32:
        raise ValueError("a v3 onion public key is 32 bytes")
    checksum = hashlib.sha3_256(b".onion checksum" + public_key + b"\x03").digest()[:2]
    return base64.b32encode(public_key + checksum + b"\x03").decode("ascii").lower() + ".onion"


def is_valid_v3_onion_host(host: str) -> bool:
    """True for ``<56 base32 chars>.onion`` with version 3 and a matching checksum."""
    label = host.lower().removesuffix(".onion")
    if not _V3_LABEL.match(label):
        return False
    raw = base64.b32decode(label.upper())
    public_key, checksum, version = raw[:32], raw[32:34], raw[34]
    expected = hashlib.sha3_256(b".onion checksum" + public_key + b"\x03").digest()[:2]
    return version == 3 and checksum == expected


def derived_onion_host(seed: int, label: str) -> str:
    """A valid-format onion host derived from ``seed`` and ``label``."""
    public_key = hashlib.sha256(f"onionscope-demo/{seed}/onion/{label}".encode("utf-8")).digest()
    return encode_v3_onion_host(public_key)
