"""v3 onion hosts for the demo world, written by the demo itself (rend-spec-v3, "Encoding onion addresses").

The real onion hosts of the demo sites are only known once the private Tor
network has started; unit tests and offline use need stand-ins of the same
shape.  The ground truth checks the crawler's onion extractor, so this module
encodes hosts on its own instead of calling :mod:`crawler.extractors.onions`:
``base32(PUBKEY || CHECKSUM || VERSION) + ".onion"`` with
``CHECKSUM = SHA3-256(".onion checksum" || PUBKEY || VERSION)[:2]`` and
``VERSION = 0x03``.

Public API:

* :func:`v3_onion_host` ``(public_key) -> str`` -- the host of a 32-byte
  ed25519 public key; raises ValueError for another length;
* :func:`is_v3_onion_host` ``(host) -> bool`` -- 56 base32 characters and
  ``.onion`` whose checksum and version are right;
* :func:`derived_onion_host` ``(seed, label) -> str`` -- a placeholder host
  derived from the seed (not a real key pair: nobody can host it).

Pure functions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

_VERSION = b"\x03"
_SUFFIX = ".onion"


def _checksum(public_key: bytes) -> bytes:
    return hashlib.sha3_256(b".onion checksum" + public_key + _VERSION).digest()[:2]


def v3_onion_host(public_key: bytes) -> str:
    """``<56 base32 characters>.onion`` for a 32-byte ed25519 public key; raises ValueError otherwise."""
    if len(public_key) != 32:
        raise ValueError(f"a v3 onion key is 32 bytes, got {len(public_key)}")
    public_key = bytes(public_key)
    return base64.b32encode(public_key + _checksum(public_key) + _VERSION).decode("ascii").lower() + _SUFFIX


def is_v3_onion_host(host: str) -> bool:
    """True if ``host`` is a lower-case v3 onion host whose checksum and version byte are right."""
    label = host.removesuffix(_SUFFIX)
    if not host.endswith(_SUFFIX) or len(label) != 56 or label != label.lower():
        return False
    try:
        raw = base64.b32decode(label.upper())
    except (binascii.Error, ValueError):
        return False
    return raw[34:] == _VERSION and raw[32:34] == _checksum(raw[:32])


def derived_onion_host(seed: int, label: str) -> str:
    """A valid-format onion host derived from ``seed`` and ``label``."""
    public_key = hashlib.sha256(f"onionscope-demo/{seed}/onion/{label}".encode("utf-8")).digest()
    return v3_onion_host(public_key)
