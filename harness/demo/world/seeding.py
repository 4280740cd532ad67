"""Every random choice and every date of the demo world, drawn from the seed alone.

Public API:

* :func:`seeded_random` ``(seed, *labels) -> random.Random`` -- a private RNG
  for one purpose (never the global one);
* :func:`seeded_bytes` ``(seed, size, *labels) -> bytes`` -- key and hash material;
* :data:`WORLD_EPOCH` and :func:`iso_date` ``(rand, earliest_days, latest_days) -> str``
  -- dates before the world's fixed "today", never the wall clock.

Pure functions.
"""

from __future__ import annotations

import datetime
import hashlib
import random

# The world's "today": dates on pages are before it, never the wall clock.
WORLD_EPOCH = 1_764_547_200  # 2025-12-01T00:00:00Z


def seeded_random(seed: int, *labels: object) -> random.Random:
    """A private RNG for one purpose; str seeds hash with SHA-512, stable across runs."""
    return random.Random("/".join(["onionscope-demo", str(seed), *map(str, labels)]))


def seeded_bytes(seed: int, size: int, *labels: object) -> bytes:
    """``size`` bytes derived from the seed and labels (SHA-256 in counter mode)."""
    stem = "/".join(["onionscope-demo-bytes", str(seed), *map(str, labels)]).encode("utf-8")
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(stem + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:size]


def iso_date(seed_random: random.Random, earliest_days: int, latest_days: int) -> str:
    """A ``YYYY-MM-DD`` day between ``earliest_days`` and ``latest_days`` before :data:`WORLD_EPOCH`."""
    moment = WORLD_EPOCH - seed_random.randint(latest_days, earliest_days) * 86_400
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).strftime("%Y-%m-%d")
