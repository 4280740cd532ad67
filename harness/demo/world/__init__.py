"""The demo world's entities and how they are drawn from the seed.

This package owns *what exists* in the demo world -- markets, vendors,
listings, wallets, PGP keys, forum users and posts -- independent of any HTML.
The renderers in :mod:`harness.demo.markets` decide how each site shows it;
:mod:`harness.demo.generator` writes the pages and the ground truth.

Its modules, each one concept:

* :mod:`~harness.demo.world.lexicon` -- the data files in ``config/demo/``;
* :mod:`~harness.demo.world.seeding` -- randomness and dates from the seed;
* :mod:`~harness.demo.world.specs` -- how the markets differ;
* :mod:`~harness.demo.world.entities` -- the dataclasses;
* :mod:`~harness.demo.world.identities` -- wallets, handles, PGP keys, contacts;
* :mod:`~harness.demo.world.markets`, :mod:`~harness.demo.world.forum`,
  :mod:`~harness.demo.world.decoys` -- the builders;
* :mod:`~harness.demo.world.build` -- :func:`build_world`, which puts them together.

Public API (re-exported here):

* :data:`SITE_NAMES`, :data:`MARKET_NAMES`, :data:`FORUM_NAME`;
* :func:`build_world` ``(seed, onion_hosts) -> World`` -- deterministic: the
  same arguments give equal worlds (every random choice comes from
  :func:`seeded_random` keyed by the seed and a label, never from global state);
* the dataclasses :class:`World`, :class:`MarketWorld`, :class:`ForumWorld`,
  :class:`Vendor`, :class:`Listing`, :class:`Wallet`, :class:`ForumUser`,
  :class:`ForumThread`, :class:`ForumPost`;
* :data:`MARKET_SPECS`, :data:`HTML_TRAP_TITLES`, :data:`DEMO_DATA_DIR`, :func:`load_demo_data`.

Raises :class:`config.errors.UserError` if the data files in
``config/demo/`` are missing or malformed.  Reads those files (only when a
world is built); no network.
"""

from __future__ import annotations

from harness.demo.site_names import FORUM_NAME, MARKET_NAMES, SITE_NAMES
from harness.demo.world.build import build_world
from harness.demo.world.entities import (
    Decoy, ForumBoard, ForumPost, ForumThread, ForumUser, ForumWorld, Listing, MarketWorld, Review, Segment, Vendor,
    Wallet, World,
)
from harness.demo.world.lexicon import DEMO_DATA_DIR, Country, DemoData, Substance, load_demo_data
from harness.demo.world.seeding import WORLD_EPOCH, seeded_bytes, seeded_random
from harness.demo.world.specs import HTML_TRAP_TITLES, MARKET_SPECS, MarketSpec

__all__ = [
    "DEMO_DATA_DIR", "FORUM_NAME", "HTML_TRAP_TITLES", "MARKET_NAMES", "MARKET_SPECS", "SITE_NAMES", "WORLD_EPOCH",
    "Country", "Decoy", "DemoData", "ForumBoard", "ForumPost", "ForumThread", "ForumUser", "ForumWorld", "Listing",
    "MarketSpec", "MarketWorld", "Review", "Segment", "Substance", "Vendor", "Wallet", "World", "build_world",
    "load_demo_data", "seeded_bytes", "seeded_random",
]
