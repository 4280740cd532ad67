"""Placeholder v3 onion hosts for the demo world.

The real onion hosts of the demo sites are only known once the private Tor
network has started; unit tests and offline use need stand-ins of the same
shape.  The format itself (base32 of key, checksum and version) belongs to
:mod:`crawler.extractors.onions`; this module only derives keys from the seed.

* :func:`derived_onion_host` ``(seed, label) -> str`` -- a placeholder host
  derived from the seed (not a real key pair: nobody can host it).

Pure functions.
"""

from __future__ import annotations

import hashlib

from crawler.extractors.onions import v3_onion_from_pubkey


def derived_onion_host(seed: int, label: str) -> str:
    """A valid-format onion host derived from ``seed`` and ``label``."""
    public_key = hashlib.sha256(f"onionscope-demo/{seed}/onion/{label}".encode("utf-8")).digest()
    return v3_onion_from_pubkey(public_key)
